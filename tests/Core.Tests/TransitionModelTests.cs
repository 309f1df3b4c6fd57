using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using static RoleGen.Core.Tests.TestSupport;

namespace RoleGen.Core.Tests;

public class TransitionModelTests
{
    private const long T0 = 1_700_000_000;

    /// <summary>12 users view A then (10×) B or (2×) C; 15 users only view D (the most popular item, no transitions).</summary>
    private static List<BehaviorEvent> TinyWorld()
    {
        var events = new List<BehaviorEvent>();
        for (var u = 0; u < 12; u++)
        {
            events.Add(Ev($"ab{u}", "A", EventType.View, T0 + u * 100, "ca"));
            events.Add(Ev($"ab{u}", u < 10 ? "B" : "C", EventType.View, T0 + u * 100 + 10, u < 10 ? "cb" : "cc"));
        }
        for (var u = 0; u < 15; u++)
        {
            events.Add(Ev($"d{u}", "D", EventType.View, T0 + 5_000 + u, "cd"));
        }
        return events;
    }

    private static async Task<(InMemoryBlobStore Store, TransitionModelInfo Info, TransitionModel Model)> BuildAsync(
        IEnumerable<BehaviorEvent> events, long asOf, TransitionModelOptions? options = null)
    {
        var store = new InMemoryBlobStore();
        await IngestEventsAsync(store, "tiny", events);
        var info = await new TransitionModelBuilder(store, NullLogger<TransitionModelBuilder>.Instance).BuildAsync("run1", "tiny", asOf, options);
        await using var stream = await store.OpenReadAsync(info.Path);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        buffer.Position = 0;
        return (store, info, TransitionModel.Load(buffer));
    }

    private static TransitionRecommender Recommender(TransitionModel model) =>
        new(model, new ScoringModelRef(TransitionModel.Kind, "test", "memory"));

    [Fact]
    public async Task Recommend_LastItemA_RanksFrequentSuccessorBFirst()
    {
        var (_, _, model) = await BuildAsync(TinyWorld(), T0 + 10_000);

        var result = Recommender(model).Recommend([Trajectory("x", [("A", EventType.View)])], topK: 3);

        var items = Assert.Single(result).Items;
        Assert.Equal("B", items[0].ItemId);
        Assert.Equal("cb", items[0].CategoryId);
        Assert.Equal("transition", items[0].Source);
        Assert.Equal("C", items[1].ItemId);
        Assert.True(items[0].Score > items[1].Score);
        Assert.Equal(items.OrderByDescending(i => i.Score).Select(i => i.ItemId), items.Select(i => i.ItemId));
    }

    [Fact]
    public async Task Recommend_BoughtItems_AreNeverRecommended()
    {
        var (_, _, model) = await BuildAsync(TinyWorld(), T0 + 10_000);

        var result = Recommender(model).Recommend(
        [
            Trajectory("buyer", [("A", EventType.View), ("B", EventType.Purchase)], "B"),
            Trajectory("cold-buyer", [], "D", "A"),
        ], topK: 10);

        Assert.DoesNotContain(result[0].Items, i => i.ItemId == "B");
        Assert.Equal("C", result[0].Items[0].ItemId);
        Assert.DoesNotContain(result[1].Items, i => i.ItemId is "D" or "A");
        Assert.NotEmpty(result[1].Items);
    }

    [Fact]
    public async Task Recommend_ColdOrUnknownUser_GetsPopularItemsBestFirst()
    {
        var (_, _, model) = await BuildAsync(TinyWorld(), T0 + 10_000);

        var result = Recommender(model).Recommend(
        [
            Trajectory("no-steps", []),
            Trajectory("unknown-items", [("never-seen", EventType.View), ("other", EventType.Cart)]),
        ], topK: 2);

        foreach (var user in result)
        {
            Assert.Equal(["D", "A"], user.Items.Select(i => i.ItemId));
            Assert.All(user.Items, i => Assert.Equal("popularity", i.Source));
            Assert.All(user.Items, i => Assert.InRange(i.Score, 1e-9, 1e-3));
            Assert.True(user.Items[0].Score >= user.Items[1].Score);
        }
    }

    [Fact]
    public async Task Recommend_ShortTransitionList_IsFilledWithPopularityBelowTransitionScores()
    {
        var (_, _, model) = await BuildAsync(TinyWorld(), T0 + 10_000);

        var items = Recommender(model).Recommend([Trajectory("x", [("A", EventType.View)])], topK: 4)[0].Items;

        Assert.Equal(["B", "C"], items.Take(2).Select(i => i.ItemId));
        Assert.Equal(["transition", "transition", "popularity", "popularity"], items.Select(i => i.Source));
        Assert.Equal(4, items.Select(i => i.ItemId).Distinct().Count());
        Assert.True(items[1].Score > items[2].Score);
    }

    [Fact]
    public async Task Recommend_SeveralUsers_ReturnsOneResultPerUserInInputOrder()
    {
        var (_, _, model) = await BuildAsync(TinyWorld(), T0 + 10_000);
        var users = new[] { "u3", "u1", "u2", "u1-dup" }
            .Select((u, i) => Trajectory(u, i % 2 == 0 ? [("A", EventType.View)] : []))
            .ToArray();

        var result = Recommender(model).Recommend(users, topK: 2);

        Assert.Equal(users.Select(u => u.UserId), result.Select(r => r.UserId));
        Assert.Empty(Recommender(model).Recommend([], topK: 5));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(50, 4)]
    public async Task Recommend_TopK_LimitsListToAvailableItems(int topK, int expected)
    {
        var (_, _, model) = await BuildAsync(TinyWorld(), T0 + 10_000);

        var result = Recommender(model).Recommend([Trajectory("x", [("A", EventType.View)]), Trajectory("cold", [])], topK);

        Assert.All(result, r => Assert.Equal(expected, r.Items.Count));
        Assert.All(result, r => Assert.Equal(r.Items.Count, r.Items.Select(i => i.ItemId).Distinct().Count()));
    }

    [Fact]
    public async Task Recommend_TopKZero_Throws()
    {
        var (_, _, model) = await BuildAsync(TinyWorld(), T0 + 10_000);

        Assert.Throws<ArgumentOutOfRangeException>(() => Recommender(model).Recommend([Trajectory("x", [])], topK: 0));
    }

    [Fact]
    public async Task Recommend_RecentItemVotesMoreThanOlderOne()
    {
        // X → Y and Z → W are equally strong; the user saw X long ago and Z last: W must outrank Y.
        var events = new List<BehaviorEvent>();
        for (var u = 0; u < 5; u++)
        {
            events.Add(Ev($"p{u}", "X", EventType.View, T0 + u));
            events.Add(Ev($"p{u}", "Y", EventType.View, T0 + u + 100));
            events.Add(Ev($"q{u}", "Z", EventType.View, T0 + u));
            events.Add(Ev($"q{u}", "W", EventType.View, T0 + u + 100));
        }
        var (_, _, model) = await BuildAsync(events, T0 + 1_000);

        var items = Recommender(model).Recommend([Trajectory("x", [("X", EventType.View), ("Z", EventType.View)])], topK: 2)[0].Items;

        Assert.Equal(["W", "Y"], items.Select(i => i.ItemId));
    }

    [Fact]
    public async Task BuildAsync_AsOf_ExcludesLaterEvents()
    {
        var events = TinyWorld();
        // After as-of: a new item E and a flood of A → C transitions that would otherwise beat A → B.
        for (var u = 0; u < 30; u++)
        {
            events.Add(Ev($"late{u}", "A", EventType.View, T0 + 20_000 + u, "ca"));
            events.Add(Ev($"late{u}", "C", EventType.Purchase, T0 + 20_100 + u, "cc"));
            events.Add(Ev($"late{u}", "E", EventType.View, T0 + 20_200 + u, "ce"));
        }

        var (_, info, model) = await BuildAsync(events, T0 + 10_000);

        Assert.Equal(TinyWorld().Count, info.Events);
        Assert.Equal(27, info.Users);
        Assert.DoesNotContain("E", model.ItemIds);
        Assert.Equal(4, model.ItemCount);
        Assert.Equal(T0 + 10_000, model.AsOfUnixSeconds);
        var items = Recommender(model).Recommend([Trajectory("x", [("A", EventType.View)])], topK: 1)[0].Items;
        Assert.Equal("B", items[0].ItemId);
    }

    [Fact]
    public async Task BuildAsync_Model_IsWrittenUnderRunWithTopNeighboursAndPopularity()
    {
        var (store, info, model) = await BuildAsync(TinyWorld(), T0 + 10_000, new TransitionModelOptions { MaxNeighbours = 1, PopularHead = 3 });

        Assert.Equal("runs/run1/model/baseline-transitions.bin", info.Path);
        Assert.Equal(BlobLayout.RunModel("run1", TransitionModel.Kind), info.Path);
        Assert.True(await store.ExistsAsync(info.Path));
        Assert.Equal(4, info.Items);
        var a = model.Index["A"];
        var neighbour = Assert.Single(model.Neighbours[a]);
        Assert.Equal("B", model.ItemIds[neighbour.Item]);
        Assert.Equal(10f / 12f, neighbour.Weight, 5);
        Assert.Empty(model.Neighbours[model.Index["D"]]);
        Assert.Equal(["D", "A", "B"], model.Popular.Select(i => model.ItemIds[i]));
        Assert.Equal("cd", model.Categories[model.Index["D"]]);
    }

    [Fact]
    public async Task BuildAsync_ManyUserPartitions_GivesSameModelAsOnePartition()
    {
        var events = TinyWorld();
        var (_, one, single) = await BuildAsync(events, T0 + 10_000);

        var (_, many, split) = await BuildAsync(events, T0 + 10_000, new TransitionModelOptions { EventsPerPartition = 5 });

        Assert.Equal(one.Users, many.Users);
        Assert.Equal(one.Pairs, many.Pairs);
        Assert.Equal(single.ItemIds, split.ItemIds);
        Assert.Equal(single.Popular, split.Popular);
        for (var i = 0; i < single.ItemCount; i++)
        {
            Assert.Equal(single.Neighbours[i].Select(n => n.Item), split.Neighbours[i].Select(n => n.Item));
            Assert.Equal(single.Neighbours[i].Select(n => n.Weight), split.Neighbours[i].Select(n => n.Weight), (a, b) => Math.Abs(a - b) < 1e-5);
        }
    }

    [Fact]
    public async Task BuildAsync_PairBudgetExceededBriefly_PrunesLightPairsAndKeepsHeavyOne()
    {
        await AssertPruningKeepsHeavyPairAsync(noiseUsers: 10);
    }

    [Fact]
    public async Task BuildAsync_PairBudgetExceededRepeatedly_StillKeepsHeaviestPair()
    {
        await AssertPruningKeepsHeavyPairAsync(noiseUsers: 40);
    }

    /// <summary>TinyWorld (A → B has weight 10) plus noise users, each adding one unique weight-1 pair, over a 5-pair budget.</summary>
    private static async Task AssertPruningKeepsHeavyPairAsync(int noiseUsers)
    {
        var events = TinyWorld();
        for (var u = 0; u < noiseUsers; u++)
        {
            events.Add(Ev($"n{u}", $"n{u}a", EventType.View, T0 + 9_000 + u));
            events.Add(Ev($"n{u}", $"n{u}b", EventType.View, T0 + 9_001 + u));
        }

        var (_, info, model) = await BuildAsync(events, T0 + 10_000, new TransitionModelOptions { MaxPairs = 5 });

        Assert.True(info.PrunedPairs > 0);
        Assert.True(info.Pairs <= 5, $"{info.Pairs} pairs kept");
        var items = Recommender(model).Recommend([Trajectory("x", [("A", EventType.View)])], topK: 1)[0].Items;
        Assert.Equal("B", items[0].ItemId);
        Assert.Equal("transition", items[0].Source);
    }

    [Fact]
    public async Task BuildAsync_ImmediateRepeatOfSameItem_CollapsesIntoStrongestAction()
    {
        // view A, cart A, view B: one A step (no A → A pair), A → B at distance 1.
        var events = new List<BehaviorEvent>
        {
            Ev("u", "A", EventType.View, T0),
            Ev("u", "A", EventType.Cart, T0 + 1),
            Ev("u", "B", EventType.View, T0 + 2),
        };

        var (_, info, model) = await BuildAsync(events, T0 + 10);

        Assert.Equal(1, info.Pairs);
        var (item, weight) = Assert.Single(model.Neighbours[model.Index["A"]]);
        Assert.Equal("B", model.ItemIds[item]);
        Assert.Equal(1f, weight);
    }

    [Fact]
    public async Task SaveLoad_BuiltModel_RoundTripsEveryField()
    {
        var (_, _, model) = await BuildAsync(TinyWorld(), T0 + 10_000);
        using var buffer = new MemoryStream();

        model.Save(buffer);
        buffer.Position = 0;
        var loaded = TransitionModel.Load(buffer);

        Assert.Equal(model.ItemIds, loaded.ItemIds);
        Assert.Equal(model.Categories, loaded.Categories);
        Assert.Equal(model.Popularity, loaded.Popularity);
        Assert.Equal(model.Popular, loaded.Popular);
        Assert.Equal(model.AsOfUnixSeconds, loaded.AsOfUnixSeconds);
        Assert.Equal(model.Neighbours.Length, loaded.Neighbours.Length);
        for (var i = 0; i < model.Neighbours.Length; i++)
        {
            Assert.Equal(model.Neighbours[i], loaded.Neighbours[i]);
        }
        Assert.Equal(model.Index, loaded.Index);
        Assert.Equal(buffer.Length, buffer.Position);
    }

    [Fact]
    public void SaveLoad_HandMadeModelWithUnicodeIds_RoundTrips()
    {
        var model = new TransitionModel(["ä,1", "b\"2"], ["c", "ç"], [1.5f, 0.25f], [[(1, 0.75f)], []], [0, 1], 42);
        using var buffer = new MemoryStream();

        model.Save(buffer);
        buffer.Position = 0;
        var loaded = TransitionModel.Load(buffer);

        Assert.Equal(model.ItemIds, loaded.ItemIds);
        Assert.Equal(model.Categories, loaded.Categories);
        Assert.Equal(model.Popularity, loaded.Popularity);
        Assert.Equal((1, 0.75f), Assert.Single(loaded.Neighbours[0]));
        Assert.Empty(loaded.Neighbours[1]);
        Assert.Equal(42, loaded.AsOfUnixSeconds);
    }

    [Fact]
    public void Load_NotAModel_ThrowsInvalidData()
    {
        using var junk = new MemoryStream([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

        Assert.Throws<InvalidDataException>(() => TransitionModel.Load(junk));
    }

    [Fact]
    public async Task ProviderGetAsync_SamePath_LoadsOnceAndServesModel()
    {
        var (store, info, _) = await BuildAsync(TinyWorld(), T0 + 10_000);
        var provider = new TransitionRecommenderProvider(store);
        var reference = new ScoringModelRef(TransitionModel.Kind, "v1", info.Path);

        var first = await provider.GetAsync(reference);
        var second = await provider.GetAsync(reference);

        Assert.Same(first, second);
        Assert.Equal(reference, first.Model);
        Assert.Equal("B", first.Recommend([Trajectory("x", [("A", EventType.View)])], 1)[0].Items[0].ItemId);
    }

    [Fact]
    public async Task ProviderGetAsync_OtherKind_ThrowsNotSupported()
    {
        var provider = new TransitionRecommenderProvider(new InMemoryBlobStore());

        await Assert.ThrowsAsync<NotSupportedException>(() => provider.GetAsync(new ScoringModelRef("onnx", "v1", "x")));
    }

    [Fact]
    public async Task BuildAsync_MissingDataset_ThrowsPermanentFailure()
    {
        var builder = new TransitionModelBuilder(new InMemoryBlobStore(), NullLogger<TransitionModelBuilder>.Instance);

        await Assert.ThrowsAsync<Ingest.PermanentFailureException>(() => builder.BuildAsync("r", "missing", T0));
    }

    [Fact]
    public void ActionWeight_StrongerActions_WeighMore()
    {
        Assert.True(TransitionModelBuilder.ActionWeight(EventType.Purchase) > TransitionModelBuilder.ActionWeight(EventType.Cart));
        Assert.True(TransitionModelBuilder.ActionWeight(EventType.Cart) > TransitionModelBuilder.ActionWeight(EventType.Fav));
        Assert.True(TransitionModelBuilder.ActionWeight(EventType.Fav) > TransitionModelBuilder.ActionWeight(EventType.View));
    }
}
