using RoleGen.Core.Pipeline;
using RoleGen.Core.Reasoning;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Tests.Activities;

public sealed class ScoreShardActivityTests
{
    private static readonly ScoringModelRef Model = new("fake", "1", "models/fake/");

    private static ScoreShardActivity Activity(IBlobStore store)
    {
        var recommender = new Mock<IRecommender>();
        recommender.SetupGet(r => r.Model).Returns(Model);
        recommender.SetupGet(r => r.Runtime).Returns("fake-runtime");
        recommender.Setup(r => r.Recommend(It.IsAny<IReadOnlyList<UserTrajectory>>(), It.IsAny<int>()))
            .Returns<IReadOnlyList<UserTrajectory>, int>((users, _) => users.Select(u => new UserRecommendations(u.UserId, [])).ToArray());
        var provider = new Mock<IRecommenderProvider>();
        provider.Setup(p => p.GetAsync(Model, It.IsAny<CancellationToken>())).ReturnsAsync(recommender.Object);
        return new ScoreShardActivity(store, new ShardRecommenderFactory(provider.Object, new StatisticalCounterfactualModelProvider(), new ReasoningStatisticsCache(store), []), NullLogger<ScoreShardActivity>.Instance);
    }

    [Fact]
    public async Task RunAsync_CorruptUsersLine_FailsPermanentlyNamingTheLine()
    {
        var store = new InMemoryBlobStore();
        await store.WriteTextAsync("runs/r/shards/00000/users.jsonl",
            "{\"userId\":\"u1\",\"views\":10,\"carts\":0,\"purchases\":0,\"activeDays\":1,\"steps\":[],\"purchased\":[]}\n{not json\n");

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() =>
            Activity(store).RunAsync(Mock.Of<TaskActivityContext>(), new ScoreShardInput("r", 0, "runs/r/shards/00000/users.jsonl", 2, Model, 10)));

        Assert.Contains("users.jsonl:2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ValidShard_WritesOneScoreRowPerUser()
    {
        var store = new InMemoryBlobStore();
        await store.WriteJsonLinesAsync("runs/r/shards/00001/users.jsonl",
            Enumerable.Range(0, 700).Select(i => new UserTrajectory($"u{i}", 10, 0, 0, 1, [], [])));

        var result = await Activity(store).RunAsync(Mock.Of<TaskActivityContext>(),
            new ScoreShardInput("r", 1, "runs/r/shards/00001/users.jsonl", 700, Model, 10));

        Assert.Equal(700, result.Users);
        Assert.Equal(700, result.Scored);
        var rows = 0;
        await foreach (var _ in store.ReadJsonLinesAsync<UserRecommendations>(result.ScoresPath))
        {
            rows++;
        }
        Assert.Equal(700, rows);
        Assert.Equal("fake-runtime", result.Runtime); // recorded per shard in the manifest
    }
}
