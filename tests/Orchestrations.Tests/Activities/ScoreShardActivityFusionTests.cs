using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Pipeline;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Tests.Activities;

public sealed class ScoreShardActivityFusionTests
{
    private static readonly string ReasoningPath = BlobLayout.ShardReasoning("r", 0);

    private static readonly ScoreShardInput Input = new("r", 0, ReasoningShardWorld.UsersPath, 3, ReasoningShardWorld.Model, 3)
    {
        ReasoningPath = BlobLayout.ShardReasoning("r", 0),
        Reasoning = new ReasoningWork(ReasoningShardWorld.StatsPath, new ReasonerOptions()),
    };

    /// <summary>Every user gets the backbone list b0, b1, b2 (cX), whatever the list size asked.</summary>
    private static (ScoreShardActivity Activity, Mock<IRecommender> Recommender) Activity(IBlobStore store)
    {
        var recommender = new Mock<IRecommender>();
        recommender.SetupGet(r => r.Model).Returns(ReasoningShardWorld.Model);
        recommender.Setup(r => r.Recommend(It.IsAny<IReadOnlyList<UserTrajectory>>(), It.IsAny<int>()))
            .Returns<IReadOnlyList<UserTrajectory>, int>((users, _) => users.Select(u => new UserRecommendations(u.UserId,
                [new RecommendedItem("b0", "cX", 0.9, "backbone"), new RecommendedItem("b1", "cX", 0.8, "backbone"), new RecommendedItem("b2", "cX", 0.7, "backbone")]))
                .ToArray());
        var provider = new Mock<IRecommenderProvider>();
        provider.Setup(p => p.GetAsync(ReasoningShardWorld.Model, It.IsAny<CancellationToken>())).ReturnsAsync(recommender.Object);
        return (new ScoreShardActivity(store, new ShardRecommenderFactory(provider.Object, new StatisticalCounterfactualModelProvider(), new ReasoningStatisticsCache(store), []), NullLogger<ScoreShardActivity>.Instance), recommender);
    }

    /// <summary>Paths: b2 as a Converter with Δ 0 (prior 1) and the unlisted r1 as an Anchor with Δ 0 (prior 0.8); base 0.2.</summary>
    private static UserReasoning Reasoning(string userId) => new(userId, ReasonerKinds.Embedded, 0.2, [],
    [
        new ConversionPath("b2", "cX", FunctionalRole.Converter, "cX", 0, 0.2, 1.0, "carted, not bought"),
        new ConversionPath("r1", "cR", FunctionalRole.Anchor, "cR", 0, 0.2, 0.8, "revisit"),
    ], "summary");

    private static async Task<InMemoryBlobStore> StoreAsync(params string[] reasoningOrder)
    {
        var store = await ReasoningShardWorld.StoreAsync();
        await store.WriteJsonLinesAsync(ReasoningPath, reasoningOrder.Select(Reasoning));
        return store;
    }

    [Fact]
    public async Task RunAsync_WithMatchingReasoning_WritesFusedListsWithSourceAndRole()
    {
        var store = await StoreAsync("u1", "u2", "u3");
        var (activity, recommender) = Activity(store);

        var result = await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input);

        var rows = new List<UserRecommendations>();
        await foreach (var row in store.ReadJsonLinesAsync<UserRecommendations>(result.ScoresPath))
        {
            rows.Add(row);
        }
        Assert.Equal(["u1", "u2", "u3"], rows.Select(r => r.UserId));
        // b2: 1/log2(4) + 1.0 = 1.5; b0: 1; r1: 0.8; b1: 1/log2(3) ≈ 0.63 is cut at top-3.
        Assert.All(rows, r =>
        {
            Assert.Equal(["b2", "b0", "r1"], r.Items.Select(i => i.ItemId));
            Assert.Equal([1.5, 1.0, 0.8], r.Items.Select(i => i.Score));
            Assert.Equal(["backbone+reasoned", "backbone", "reasoned"], r.Items.Select(i => i.Source));
            Assert.Equal<FunctionalRole?>([FunctionalRole.Converter, null, FunctionalRole.Anchor], r.Items.Select(i => i.Role));
        });
        Assert.Equal(3, result.Users);
        Assert.Equal(3, result.Scored);
        Assert.Equal(new Dictionary<string, long> { ["backbone+reasoned"] = 3, ["backbone"] = 3, ["reasoned"] = 3 }, result.ItemsBySource);
        Assert.Equal(new Dictionary<string, long> { ["converter"] = 3, ["none"] = 3, ["anchor"] = 3 }, result.ItemsByRole);
        // The model is asked for top-K + PathsPerUser items, so reasoned items can enter without emptying the tail.
        recommender.Verify(r => r.Recommend(It.IsAny<IReadOnlyList<UserTrajectory>>(), 3 + new ReasonerOptions().PathsPerUser), Times.Once);
    }

    [Fact]
    public async Task RunAsync_ReasoningInAnotherUserOrder_FailsPermanentlyAsOutOfStep()
    {
        var store = await StoreAsync("u2", "u1", "u3");

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() => Activity(store).Activity.RunAsync(Mock.Of<TaskActivityContext>(), Input));

        Assert.Contains("out of step", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'u2' where 'u1' was expected", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ReasoningWithFewerLines_FailsPermanently()
    {
        var store = await StoreAsync("u1", "u2");

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() => Activity(store).Activity.RunAsync(Mock.Of<TaskActivityContext>(), Input));

        Assert.Contains("ends before user 'u3'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ReasoningWithMoreLines_FailsPermanently()
    {
        var store = await StoreAsync("u1", "u2", "u3", "u4");

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() => Activity(store).Activity.RunAsync(Mock.Of<TaskActivityContext>(), Input));

        Assert.Contains("holds more users than the shard (e.g. 'u4')", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_FusionStatisticsMissing_FailsPermanently()
    {
        var store = await StoreAsync("u1", "u2", "u3");
        await store.DeleteAsync(ReasoningShardWorld.StatsPath);

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() => Activity(store).Activity.RunAsync(Mock.Of<TaskActivityContext>(), Input));

        Assert.Contains("reasoning statistics are missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WithoutReasoning_KeepsTheModelListAndAsksForTopK()
    {
        var store = await ReasoningShardWorld.StoreAsync(withStats: false);
        var (activity, recommender) = Activity(store);

        var result = await activity.RunAsync(Mock.Of<TaskActivityContext>(),
            new ScoreShardInput("r", 0, ReasoningShardWorld.UsersPath, 3, ReasoningShardWorld.Model, 3));

        Assert.Equal(new Dictionary<string, long> { ["backbone"] = 9 }, result.ItemsBySource);
        Assert.Equal(new Dictionary<string, long> { ["none"] = 9 }, result.ItemsByRole);
        recommender.Verify(r => r.Recommend(It.IsAny<IReadOnlyList<UserTrajectory>>(), 3), Times.Once);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(0.5)]
    public async Task RunAsync_Experiment_GivesControlTheModelListAndTreatmentTheFusedOne_AndRecordsTheArm(double share)
    {
        var store = await StoreAsync("u1", "u2", "u3");
        var (activity, _) = Activity(store);
        var experiment = new RoleGen.Core.Experiments.ExperimentOptions { Name = "ab-test", TreatmentShare = share };

        var result = await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input with { Experiment = experiment });

        var rows = new List<UserRecommendations>();
        await foreach (var row in store.ReadJsonLinesAsync<UserRecommendations>(result.ScoresPath))
        {
            rows.Add(row);
        }
        foreach (var row in rows)
        {
            var arm = RoleGen.Core.Experiments.ArmAssignment.Of("ab-test", row.UserId, share);
            Assert.Equal(arm, row.Arm);
            Assert.Equal(arm == RoleGen.Core.Experiments.Arm.Treatment ? ["b2", "b0", "r1"] : ["b0", "b1", "b2"], row.Items.Select(i => i.ItemId));
            if (arm == RoleGen.Core.Experiments.Arm.Control)
            {
                Assert.All(row.Items, i => Assert.Equal("backbone", i.Source));
            }
        }
        var treatment = rows.Count(r => r.Arm == RoleGen.Core.Experiments.Arm.Treatment);
        Assert.Equal(share switch { 0.0 => 0, 1.0 => 3, _ => treatment }, treatment);
        Assert.Equal(rows.Count - treatment, result.UsersByArm!.GetValueOrDefault("control"));
        Assert.Equal(treatment, result.UsersByArm!.GetValueOrDefault("treatment"));
    }
}
