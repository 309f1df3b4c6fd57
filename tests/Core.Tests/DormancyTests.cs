using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;
using static RoleGen.Core.Tests.TestSupport;

namespace RoleGen.Core.Tests;

public class DormancyPolicyTests
{
    [Fact]
    public void Validate_Defaults_IsValid()
    {
        var policy = new DormancyPolicy();

        Assert.Null(policy.Validate());
        Assert.Equal(30, policy.LookbackDays);
        Assert.Equal(10, policy.MinViews);
        Assert.Equal(0.02, policy.MaxConversionRate);
    }

    [Fact]
    public void Validate_EdgeValues_AreValid()
    {
        Assert.Null(new DormancyPolicy { LookbackDays = 1, MinViews = 0, MaxConversionRate = 0, MinActiveDays = 0 }.Validate());
        Assert.Null(new DormancyPolicy { LookbackDays = 3650, MaxConversionRate = 1.0, MinActiveDays = 64 }.Validate());
    }

    [Theory]
    [InlineData(0, 10, 0.02, 0, "LookbackDays")]
    [InlineData(3651, 10, 0.02, 0, "LookbackDays")]
    [InlineData(30, -1, 0.02, 0, "MinViews")]
    [InlineData(30, 10, -0.01, 0, "MaxConversionRate")]
    [InlineData(30, 10, 1.5, 0, "MaxConversionRate")]
    [InlineData(30, 10, 0.02, 65, "MinActiveDays")]
    [InlineData(30, 10, 0.02, -1, "MinActiveDays")]
    public void Validate_OutOfRangeValue_NamesTheProperty(int lookback, int minViews, double maxRate, int minDays, string property)
    {
        var policy = new DormancyPolicy { LookbackDays = lookback, MinViews = minViews, MaxConversionRate = maxRate, MinActiveDays = minDays };

        var error = policy.Validate();

        Assert.NotNull(error);
        Assert.Contains(property, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralBadValues_ReportsAll()
    {
        var error = new DormancyPolicy { LookbackDays = 0, MinViews = -5 }.Validate();

        Assert.NotNull(error);
        Assert.Contains("LookbackDays", error, StringComparison.Ordinal);
        Assert.Contains("MinViews", error, StringComparison.Ordinal);
    }
}

public class DormantCohortSelectorTests
{
    private const long Day = 86_400;
    private const long AsOf = 1_700_000_000;

    private static readonly DormancyPolicy Policy = new()
    {
        LookbackDays = 10,
        MinViews = 5,
        MaxConversionRate = 0.1,
        MinActiveDays = 2,
        AsOfUnixSeconds = AsOf,
    };

    private static DormantCohortSelector Selector(IBlobStore store) => new(store, NullLogger<DormantCohortSelector>.Instance);

    private static IEnumerable<BehaviorEvent> Views(string user, int count, long firstTs, long step, string itemPrefix = "i")
        => Enumerable.Range(0, count).Select(i => Ev(user, $"{itemPrefix}{i}", EventType.View, firstTs + i * step));

    /// <summary>Hand-made users, one per rule (window: (AsOf - 10 days, AsOf]).</summary>
    private static List<BehaviorEvent> SmallWorld()
    {
        var events = new List<BehaviorEvent>();
        // d1: 10 views over 5 days and exactly 1 purchase: 1 <= 0.1 * 10 (the bound is inclusive) → dormant.
        events.AddRange(Views("d1", 10, AsOf - 5 * Day, Day / 2));
        events.Add(Ev("d1", "p1", EventType.Purchase, AsOf - Day));
        // d2: 6 views on 2 days, no purchase → dormant.
        events.AddRange(Views("d2", 3, AsOf - 3 * Day + 3_600, 60));
        events.AddRange(Views("d2", 3, AsOf - Day + 3_600, 60, "j"));
        // few: 4 views → too-few-views.
        events.AddRange(Views("few", 4, AsOf - 4 * Day, Day));
        // buyer: 10 views, 2 purchases → converts-too-often.
        events.AddRange(Views("buyer", 10, AsOf - 6 * Day, Day / 2));
        events.Add(Ev("buyer", "p1", EventType.Purchase, AsOf - 2 * Day));
        events.Add(Ev("buyer", "p2", EventType.Purchase, AsOf - 2 * Day + 10));
        // oneday: 8 views within an hour → too-few-active-days.
        events.AddRange(Views("oneday", 8, AsOf - 2 * Day + 3_600, 300));
        // old: engaged, but only before the window → not in the window at all.
        events.AddRange(Views("old", 10, AsOf - 30 * Day, Day / 2));
        // late: engaged, but only after as-of → not in the window at all.
        events.AddRange(Views("late", 10, AsOf + 1, 60));
        // edge: 4 views inside, one exactly at the window start (excluded) and one after as-of → too-few-views.
        events.AddRange(Views("edge", 4, AsOf - 3 * Day, Day / 2));
        events.Add(Ev("edge", "start", EventType.View, AsOf - 10 * Day));
        events.Add(Ev("edge", "after", EventType.View, AsOf + 1));
        // edge2: 4 views inside plus one exactly at as-of (included) → 5 views → dormant.
        events.AddRange(Views("edge2", 4, AsOf - 3 * Day, Day / 2));
        events.Add(Ev("edge2", "at", EventType.View, AsOf));
        // oldbuyer: 6 views on 2 days; its purchases are before the window and after as-of → ignored → dormant.
        events.Add(Ev("oldbuyer", "x", EventType.Purchase, AsOf - 20 * Day));
        events.AddRange(Views("oldbuyer", 6, AsOf - 2 * Day, Day / 3));
        events.Add(Ev("oldbuyer", "y", EventType.Purchase, AsOf + 100));
        return events;
    }

    private static async Task<List<UserTrajectory>> AllUsersAsync(IBlobStore store, CohortResult result)
    {
        var users = new List<UserTrajectory>();
        foreach (var shard in result.Shards)
        {
            users.AddRange(await ReadJsonLinesAsync<UserTrajectory>(store, shard.UsersPath));
        }
        return users;
    }

    [Fact]
    public async Task SelectAsync_SmallWorld_SelectsExactlyTheDormantUsersAndCountsReasons()
    {
        var store = new InMemoryBlobStore();
        await IngestEventsAsync(store, "small", SmallWorld());

        var result = await Selector(store).SelectAsync("r1", "small", Policy, shardSize: 100);

        var users = await AllUsersAsync(store, result);
        Assert.Equal(["d1", "d2", "edge2", "oldbuyer"], users.Select(u => u.UserId).Order(StringComparer.Ordinal));
        Assert.Equal(4, result.Dormant);
        Assert.Equal(8, result.UsersInWindow);
        Assert.Equal(2, result.NotDormantReasons["too-few-views"]);
        Assert.Equal(1, result.NotDormantReasons["converts-too-often"]);
        Assert.Equal(1, result.NotDormantReasons["too-few-active-days"]);
        Assert.Equal(3, result.NotDormantReasons.Count);
    }

    [Fact]
    public async Task SelectAsync_WindowBoundaries_IgnoreEventsOutsideLookbackAndAfterAsOf()
    {
        var store = new InMemoryBlobStore();
        var events = SmallWorld();
        await IngestEventsAsync(store, "small", events);

        var result = await Selector(store).SelectAsync("r1", "small", Policy, shardSize: 100);
        var users = (await AllUsersAsync(store, result)).ToDictionary(u => u.UserId);

        Assert.Equal(AsOf, result.AsOfUnixSeconds);
        Assert.Equal(AsOf - 10 * Day, result.WindowStartUnixSeconds);
        Assert.Equal(events.Count, result.EventsRead);
        var inWindow = events.Count(e => e.Timestamp > AsOf - 10 * Day && e.Timestamp <= AsOf);
        Assert.Equal(inWindow, result.EventsInWindow);
        Assert.Equal(5, users["edge2"].Views);
        Assert.Contains(users["edge2"].Steps, s => s.Item == "at");
        Assert.Equal(0, users["oldbuyer"].Purchases);
        Assert.Empty(users["oldbuyer"].Purchased);
        Assert.All(users.Values.SelectMany(u => u.Steps), s => Assert.InRange(s.Ts, AsOf - 10 * Day + 1, AsOf));
        Assert.Equal(1, users["d1"].Purchases);
        Assert.Equal(["p1"], users["d1"].Purchased);
        Assert.Equal(2, users["d2"].ActiveDays);
    }

    [Fact]
    public async Task SelectAsync_AsOfNull_UsesLatestIngestedTimestamp()
    {
        var store = new InMemoryBlobStore();
        var events = SmallWorld();
        await IngestEventsAsync(store, "small", events);

        var result = await Selector(store).SelectAsync("r1", "small", Policy with { AsOfUnixSeconds = null }, shardSize: 100);

        Assert.Equal(events.Max(e => e.Timestamp), result.AsOfUnixSeconds);
        Assert.Equal(result.AsOfUnixSeconds - 10 * Day, result.WindowStartUnixSeconds);
    }

    [Fact]
    public async Task SelectAsync_ManyUsers_EachDormantUserInExactlyOneShardSortedById()
    {
        var store = new InMemoryBlobStore();
        var events = new List<BehaviorEvent>();
        for (var u = 0; u < 300; u++)
        {
            events.AddRange(Views($"user{u:D4}", 6, AsOf - 4 * Day + u, Day / 2));
        }
        events.AddRange(Views("not-dormant", 2, AsOf - Day, 60));
        await IngestEventsAsync(store, "many", events);

        var result = await Selector(store).SelectAsync("r2", "many", Policy, shardSize: 50);

        Assert.Equal(8, result.ShardCount);
        Assert.Equal(300, result.Dormant);
        Assert.Equal(result.ShardCount - result.Shards.Count, result.EmptyShards);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var shard in result.Shards)
        {
            Assert.Equal(BlobLayout.ShardUsers("r2", shard.Shard), shard.UsersPath);
            var users = await ReadJsonLinesAsync<UserTrajectory>(store, shard.UsersPath);
            Assert.Equal(shard.Users, users.Count);
            Assert.Equal(users.Select(u => u.UserId).Order(StringComparer.Ordinal), users.Select(u => u.UserId));
            Assert.All(users, u => Assert.Equal(shard.Shard, ShardPlan.ShardOf(u.UserId, result.ShardCount)));
            Assert.All(users, u => Assert.True(seen.Add(u.UserId), $"{u.UserId} appears in more than one shard"));
        }
        Assert.Equal(300, seen.Count);
        Assert.DoesNotContain("not-dormant", seen);
    }

    [Fact]
    public async Task SelectAsync_TwoRunsSameInput_WriteIdenticalUsersFiles()
    {
        var events = new List<BehaviorEvent>();
        for (var u = 0; u < 120; u++)
        {
            events.AddRange(Views($"u{u}", 7, AsOf - 5 * Day + u * 7, Day / 3));
        }
        // Shuffle the input order: output must not depend on it.
        var shuffled = events.OrderBy(e => StableHash.Hash64($"{e.UserId}/{e.ItemId}")).ToList();
        var first = new InMemoryBlobStore();
        await IngestEventsAsync(first, "det", events);
        var second = new InMemoryBlobStore();
        await IngestEventsAsync(second, "det", shuffled);

        var a = await Selector(first).SelectAsync("r", "det", Policy, shardSize: 30);
        var b = await Selector(second).SelectAsync("r", "det", Policy, shardSize: 30);

        Assert.Equal(a.Shards, b.Shards);
        foreach (var shard in a.Shards)
        {
            Assert.Equal(await ReadBytesAsync(first, shard.UsersPath), await ReadBytesAsync(second, shard.UsersPath));
        }
    }

    [Fact]
    public async Task SelectAsync_MaxSteps_TruncatesToLatestStepsButKeepsAllPurchases()
    {
        var store = new InMemoryBlobStore();
        var events = new List<BehaviorEvent>
        {
            Ev("u", "bought-early", EventType.Purchase, AsOf - 8 * Day),
            Ev("u", "bought-twice", EventType.Purchase, AsOf - 7 * Day),
            Ev("u", "bought-twice", EventType.Purchase, AsOf - 6 * Day),
        };
        events.AddRange(Views("u", 30, AsOf - 5 * Day, 3_600));
        events.Reverse(); // input out of time order
        await IngestEventsAsync(store, "trunc", events);

        var result = await Selector(store).SelectAsync("r", "trunc", Policy with { MaxConversionRate = 0.2 }, shardSize: 10, maxSteps: 5);

        var user = Assert.Single(await AllUsersAsync(store, result));
        Assert.Equal(5, user.Steps.Count);
        Assert.Equal(["i25", "i26", "i27", "i28", "i29"], user.Steps.Select(s => s.Item));
        Assert.Equal(user.Steps.OrderBy(s => s.Ts).Select(s => s.Ts), user.Steps.Select(s => s.Ts));
        Assert.Equal(["bought-early", "bought-twice"], user.Purchased);
        Assert.Equal(30, user.Views);
        Assert.Equal(3, user.Purchases);
    }

    [Fact]
    public async Task SelectAsync_NoDormantUsers_WritesNoUsersFilesAndCohortJson()
    {
        var store = new InMemoryBlobStore();
        await IngestEventsAsync(store, "none", Views("few", 2, AsOf - Day, 60));

        var result = await Selector(store).SelectAsync("empty", "none", Policy, shardSize: 10);

        Assert.Equal(0, result.Dormant);
        Assert.Empty(result.Shards);
        Assert.Equal(result.ShardCount, result.EmptyShards);
        Assert.DoesNotContain(store.Paths, p => p.EndsWith("users.jsonl", StringComparison.Ordinal));
        Assert.True(await store.ExistsAsync(BlobLayout.Cohort("empty")));
    }

    [Fact]
    public async Task SelectAsync_Always_WritesCohortJsonMatchingResult()
    {
        var store = new InMemoryBlobStore();
        await IngestEventsAsync(store, "small", SmallWorld());

        var result = await Selector(store).SelectAsync("r1", "small", Policy, shardSize: 2);
        var written = await store.ReadJsonAsync<CohortResult>(BlobLayout.Cohort("r1"));

        Assert.Equal("runs/r1/cohort.json", BlobLayout.Cohort("r1"));
        Assert.Equal(result.Dormant, written.Dormant);
        Assert.Equal(result.ShardCount, written.ShardCount);
        Assert.Equal(2, written.ShardCount);
        Assert.Equal(result.Shards, written.Shards);
        Assert.Equal(Policy, written.Policy);
        Assert.Equal(result.NotDormantReasons.OrderBy(kv => kv.Key), written.NotDormantReasons.OrderBy(kv => kv.Key));
    }

    [Fact]
    public async Task SelectAsync_PinnedShardCount_UsesIt()
    {
        var store = new InMemoryBlobStore();
        await IngestEventsAsync(store, "small", SmallWorld());

        var result = await Selector(store).SelectAsync("r1", "small", Policy, shardSize: 1, pinnedShardCount: 3);

        Assert.Equal(3, result.ShardCount);
        Assert.All(result.Shards, s => Assert.InRange(s.Shard, 0, 2));
        Assert.Equal(4, result.Shards.Sum(s => s.Users));
    }

    [Fact]
    public async Task SelectAsync_InvalidPolicy_ThrowsPermanentFailure()
    {
        var store = new InMemoryBlobStore();
        await IngestEventsAsync(store, "small", SmallWorld());

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(
            () => Selector(store).SelectAsync("r1", "small", Policy with { LookbackDays = 0 }, shardSize: 10));
        Assert.Contains("LookbackDays", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelectAsync_MissingDataset_ThrowsPermanentFailure()
    {
        var store = new InMemoryBlobStore();

        await Assert.ThrowsAsync<PermanentFailureException>(() => Selector(store).SelectAsync("r1", "nothing", Policy, shardSize: 10));
        await Assert.ThrowsAsync<PermanentFailureException>(() => Selector(store).SelectAsync("r1", "nothing", Policy with { AsOfUnixSeconds = null }, shardSize: 10));
    }

    [Fact]
    public async Task SelectAsync_UserIdLooksLikeHeader_KeepsAllItsSteps()
    {
        // A dormant user whose id is literally "user_id": the shard spool file has no header, so its first row must not be
        // mistaken for one.
        var store = new InMemoryBlobStore();
        await IngestEventsAsync(store, "hdr", Views("user_id", 6, AsOf - 3 * Day, Day / 2));

        var result = await Selector(store).SelectAsync("r", "hdr", Policy, shardSize: 10);

        var user = Assert.Single(await AllUsersAsync(store, result));
        Assert.Equal(6, user.Views);
        Assert.Equal(6, user.Steps.Count);
    }
}
