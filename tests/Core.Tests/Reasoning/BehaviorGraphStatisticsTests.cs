using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Events;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;
using static RoleGen.Core.Tests.TestSupport;

namespace RoleGen.Core.Tests.Reasoning;

public class BehaviorGraphStatisticsTests
{
    private const long T0 = 1_700_000_000;
    private const long Day = 86_400;

    /// <summary>u1: X(A) then buys P1(B) a day later (converts). u2: X(A), buys P2(B) 10 days later (outside H = 7).
    /// u3: Y(A) then buys Y (same category). u4: Z(C) twice an hour apart (a revisit), and a purchase after the as-of time.</summary>
    private static List<BehaviorEvent> Tiny() =>
    [
        Ev("u1", "X", EventType.View, T0, "A"),
        Ev("u1", "P1", EventType.Purchase, T0 + Day, "B"),
        Ev("u2", "X", EventType.View, T0, "A"),
        Ev("u2", "P2", EventType.Purchase, T0 + 10 * Day, "B"),
        Ev("u3", "Y", EventType.View, T0, "A"),
        Ev("u3", "Y", EventType.Purchase, T0 + 100, "A"),
        Ev("u4", "Z", EventType.View, T0, "C"),
        Ev("u4", "Z", EventType.View, T0 + 3_600, "C"),
        Ev("u4", "Q", EventType.Purchase, T0 + 30 * Day, "A"),
    ];

    private static async Task<(InMemoryBlobStore Store, BehaviorGraphStatistics Stats)> BuildAsync(BehaviorGraphOptions? options = null, long partitionEvents = 4_000_000)
    {
        var store = new InMemoryBlobStore();
        await IngestEventsAsync(store, "tiny", Tiny());
        var builder = new BehaviorGraphStatisticsBuilder(store, NullLogger<BehaviorGraphStatisticsBuilder>.Instance);
        var stats = await builder.BuildAsync("run1", "tiny", T0 + 20 * Day,
            (options ?? new BehaviorGraphOptions { PriorStrength = 2 }) with { EventsPerPartition = partitionEvents });
        return (store, stats);
    }

    [Fact]
    public async Task Build_TinyWorld_CountsMatchHandComputation()
    {
        var (_, s) = await BuildAsync();

        Assert.Equal(4, s.Users);
        Assert.Equal(8, s.Events); // u4's purchase after the as-of time is excluded
        Assert.Equal(3, s.UsersWithPurchase);
        Assert.Equal(6, s.BaselineExposed); // (u1,X) (u1,P1) (u2,X) (u2,P2) (u3,Y) (u4,Z)
        Assert.Equal(1, s.BaselineConverted); // only (u1,X)
        Assert.Equal(1.0 / 6, s.BaseRate, 12);

        Assert.Equal(new ItemStatistics("X", "A", 2, 2, 1, 2, 0, 0), s.Item("X"));
        Assert.Equal(new ItemStatistics("Y", "A", 2, 1, 0, 0, 0, 1), s.Item("Y"));
        Assert.Equal(new ItemStatistics("Z", "C", 2, 1, 0, 0, 1, 0), s.Item("Z"));
        Assert.Null(s.Item("Q"));

        Assert.Equal(new CategoryStatistics("A", 4, 3, 1, 0, 1, 2), s.Category("A"));
        Assert.Equal(new CategoryStatistics("B", 2, 2, 0, 0, 2, 1), s.Category("B"));
        Assert.Equal(new CategoryStatistics("C", 2, 1, 0, 1, 0, 3), s.Category("C"));
        Assert.Equal([new CategoryTransition("A", "B", 1)], s.Transitions);
    }

    [Fact]
    public async Task Uplift_TinyWorld_MatchesHandComputedSmoothing()
    {
        var (_, s) = await BuildAsync();

        // X: K=1, N=2, p0=1/6, α=2 → (1 + 2/6) / (2 + 2) = 1/3; uplift = (1/3) / (1/6) = 2.
        var x = s.ItemUplift("X");
        Assert.Equal(0.5, x.RawRate, 12);
        Assert.Equal(1.0 / 3, x.SmoothedRate, 12);
        Assert.Equal(2.0, x.Value, 12);
        // Y: K=0, N=1 → (0 + 1/3) / 3 = 1/9; uplift 2/3. Unknown item: shrinks to exactly 1.
        Assert.Equal(2.0 / 3, s.ItemUplift("Y").Value, 12);
        Assert.Equal(1.0, s.ItemUplift("nope").Value, 12);
        // A stronger prior shrinks harder: α=100 → (1 + 100/6)/102 / (1/6) ≈ 1.0392.
        Assert.Equal((1 + 100.0 / 6) / 102 * 6, s.ItemUplift("X", 100).Value, 12);
        // Category A: K=1, N=3 → (1 + 1/3)/5 = 4/15; uplift 1.6.
        Assert.Equal(1.6, s.CategoryUplift("A").Value, 12);
        // A→B: 1 of 3 exposed to A; base P(buy B) = 2/4 → (1 + 1)/(3 + 2) / 0.5 = 0.8.
        Assert.Equal(0.8, s.TransitionLift("A", "B").Value, 12);
        // Exposed vs never for X: both exposed users bought outside A; of the 2 never-exposed users none did (u3 only bought A).
        Assert.Equal((1.0, 0.0), s.ExposedVsNever("X"));
        Assert.Equal("X", s.RankItemsByUplift()[0].Item.Item);
    }

    [Fact]
    public async Task Build_ManyPartitions_GivesTheSameStatistics()
    {
        var (_, one) = await BuildAsync();
        var (_, many) = await BuildAsync(partitionEvents: 1);

        Assert.Equal(one.Items.OrderBy(i => i.Item, StringComparer.Ordinal), many.Items.OrderBy(i => i.Item, StringComparer.Ordinal));
        Assert.Equal(one.Categories.OrderBy(c => c.Category, StringComparer.Ordinal), many.Categories.OrderBy(c => c.Category, StringComparer.Ordinal));
        Assert.Equal(one.Transitions, many.Transitions);
        Assert.Equal(one.BaselineConverted, many.BaselineConverted);
    }

    [Fact]
    public async Task Build_ShorterHorizon_DropsLateConversions()
    {
        var (_, s) = await BuildAsync(new BehaviorGraphOptions { PriorStrength = 2, HorizonDays = 0.5 });

        Assert.Equal(0, s.Item("X")!.ConvertedOther);
        Assert.Equal(0, s.BaselineConverted);
        Assert.Empty(s.Transitions);
    }

    [Fact]
    public async Task Json_RoundTrip_ThroughBlobStore()
    {
        var (store, built) = await BuildAsync();

        Assert.True(await store.ExistsAsync("runs/run1/reasoning/graph-stats.json"));
        var loaded = await BehaviorGraphStatisticsBuilder.LoadAsync(store, "run1");

        Assert.Equal(built.Items, loaded.Items);
        Assert.Equal(built.Categories, loaded.Categories);
        Assert.Equal(built.Transitions, loaded.Transitions);
        Assert.Equal(built.BaseRate, loaded.BaseRate);
        Assert.Equal(built.ItemUplift("X"), loaded.ItemUplift("X"));
        Assert.Equal((built.AsOf, built.HorizonDays, built.PriorStrength, built.Users), (loaded.AsOf, loaded.HorizonDays, loaded.PriorStrength, loaded.Users));
    }
}
