using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;
using static RoleGen.Core.Tests.TestSupport;

namespace RoleGen.Core.Tests;

/// <summary>One 5,000-user world (default options otherwise), generated once for the statistical tests.</summary>
public sealed class DemoWorldFixture : IAsyncLifetime
{
    public const int Users = 5_000;
    public const string Dataset = "demo";

    public DemoWorldOptions Options { get; } = new() { Users = Users, Seed = 7 };

    public InMemoryBlobStore Store { get; } = new();

    public List<BehaviorEvent> Events { get; private set; } = [];

    public IngestSummary Summary { get; private set; } = null!;

    public DemoWorldTruth Truth { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        (Summary, Truth) = await new DemoWorldWriter(Store, NullLogger<DemoWorldWriter>.Instance).WriteAsync(Options, Dataset);
        Events = [.. new DemoWorldGenerator(Options).Generate()];
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

public class DemoWorldTests(DemoWorldFixture world) : IClassFixture<DemoWorldFixture>
{
    private static DemoWorldOptions Small(int seed) => new() { Users = 300, Seed = seed };

    private static async Task<(InMemoryBlobStore Store, IngestSummary Summary)> WriteAsync(DemoWorldOptions options, long rowsPerPart = EventIngestor.DefaultRowsPerPart)
    {
        var store = new InMemoryBlobStore();
        var (summary, _) = await new DemoWorldWriter(store, NullLogger<DemoWorldWriter>.Instance).WriteAsync(options, "w", rowsPerPart: rowsPerPart);
        return (store, summary);
    }

    private static async Task<Dictionary<string, byte[]>> ContentAsync(InMemoryBlobStore store)
    {
        var content = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var path in store.Paths.Where(p => !p.EndsWith("_ingest.json", StringComparison.Ordinal)))
        {
            content[path] = await ReadBytesAsync(store, path);
        }
        return content;
    }

    [Fact]
    public async Task WriteAsync_SameSeed_WritesIdenticalBytes()
    {
        var (a, _) = await WriteAsync(Small(11), rowsPerPart: 2_000);
        var (b, _) = await WriteAsync(Small(11), rowsPerPart: 2_000);

        var ca = await ContentAsync(a);
        var cb = await ContentAsync(b);
        Assert.Equal(ca.Keys.Order(StringComparer.Ordinal), cb.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(BlobLayout.DemoTruth("w"), ca.Keys);
        Assert.True(ca.Keys.Count(k => k.Contains("part-", StringComparison.Ordinal)) > 1, "expected several parts");
        foreach (var (path, bytes) in ca)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(cb[path]), $"{path} differs between two runs with the same seed");
        }
    }

    [Fact]
    public async Task WriteAsync_DifferentSeed_WritesDifferentWorld()
    {
        var (a, _) = await WriteAsync(Small(11));
        var (b, _) = await WriteAsync(Small(12));

        Assert.NotEqual(await ReadBytesAsync(a, BlobLayout.EventPart("w", 0)), await ReadBytesAsync(b, BlobLayout.EventPart("w", 0)));
        Assert.NotEqual(await ReadBytesAsync(a, BlobLayout.DemoTruth("w")), await ReadBytesAsync(b, BlobLayout.DemoTruth("w")));
    }

    [Fact]
    public void Generate_SameSeedInAnotherProcess_ProducesSameEvents()
    {
        var here = DemoDigest.Compute(seed: 42, users: 50);

        var there = DemoDigest.ComputeInChildProcess(seed: 42, users: 50);

        Assert.Equal(here, there);
    }

    [Fact]
    public async Task WriteAsync_SmallRowsPerPart_KeepsEachUserInOnePart()
    {
        var (store, summary) = await WriteAsync(Small(3), rowsPerPart: 500);

        Assert.True(summary.Parts > 2);
        var owner = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var p = 0; p < summary.Parts; p++)
        {
            await using var stream = await store.OpenReadAsync(BlobLayout.EventPart("w", p));
            foreach (var row in EventReader.Read(stream, EventFormat.Normalized))
            {
                Assert.Equal(p, owner.TryAdd(row.Event.UserId, p) ? p : owner[row.Event.UserId]);
            }
        }
        Assert.Equal(300, owner.Count);
    }

    [Fact]
    public void Generate_EveryEvent_IsWellFormed()
    {
        var o = world.Options;
        var generator = new DemoWorldGenerator(o);
        var start = o.Start.ToUnixTimeSeconds();
        var end = start + o.Days * 86_400L;

        Assert.NotEmpty(world.Events);
        foreach (var e in world.Events)
        {
            Assert.Matches("^u[0-9]+$", e.UserId);
            Assert.Matches("^i[0-9]+$", e.ItemId);
            var item = int.Parse(e.ItemId.AsSpan(1), CultureInfo.InvariantCulture);
            Assert.InRange(item, 0, o.Categories * o.ItemsPerCategory - 1);
            Assert.Equal(DemoWorldGenerator.CategoryId(generator.CategoryOf(item)), e.CategoryId);
            Assert.InRange(e.Timestamp, start, end);
            Assert.True(Enum.IsDefined(e.Type));
        }
        Assert.Equal(DemoWorldFixture.Users, world.Events.Select(e => e.UserId).Distinct().Count());
        // Users come out in id order.
        var firstSeen = world.Events.Select(e => e.UserId).Distinct().Select(u => long.Parse(u.AsSpan(1), CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(firstSeen.Order(), firstSeen);
    }

    [Fact]
    public void Generate_EachUser_EventsAreInTimeOrder()
    {
        var outOfOrder = world.Events.Zip(world.Events.Skip(1))
            .Where(p => p.First.UserId == p.Second.UserId && p.Second.Timestamp < p.First.Timestamp)
            .Select(p => p.First.UserId)
            .Distinct()
            .ToList();

        Assert.True(outOfOrder.Count == 0, $"{outOfOrder.Count} users have events going back in time, e.g. {string.Join(", ", outOfOrder.Take(5))}");
    }

    [Fact]
    public async Task WriteAsync_Truth_RecordsTriggersInWorldJson()
    {
        var o = world.Options;
        var generator = new DemoWorldGenerator(o);
        var stored = await world.Store.ReadJsonAsync<DemoWorldTruth>(BlobLayout.DemoTruth(DemoWorldFixture.Dataset));

        var expectedTriggers = (int)Math.Round(o.Categories * o.ItemsPerCategory * o.TriggerShare);
        Assert.Equal(expectedTriggers, stored.Triggers.Count);
        Assert.Equal(generator.Triggers, stored.Triggers);
        Assert.Equal(world.Truth.Triggers, stored.Triggers);
        Assert.All(stored.Triggers, t =>
        {
            var item = int.Parse(t.ItemId.AsSpan(1), CultureInfo.InvariantCulture);
            Assert.Equal(DemoWorldGenerator.CategoryId(generator.CategoryOf(item)), t.CategoryId);
            Assert.NotEqual(t.CategoryId, t.TargetCategoryId);
            Assert.Contains(t.TargetCategoryId, stored.CategoryIds);
            Assert.Equal(o.TriggerUplift, t.Uplift);
        });
        Assert.Equal(stored.Triggers.Count, stored.Triggers.Select(t => t.ItemId).Distinct().Count());
        Assert.Equal(world.Events.Count, stored.Events);
        Assert.Equal(world.Events.Count(e => e.Type == EventType.Purchase), stored.Purchases);
        Assert.Equal(o.Categories * o.ItemsPerCategory, stored.Items);
        Assert.InRange(stored.LowIntentUsers, (long)(0.65 * DemoWorldFixture.Users), (long)(0.75 * DemoWorldFixture.Users));
        Assert.True(stored.UsersExposedToTriggers > 0);
        using var doc = JsonDocument.Parse(await world.Store.ReadTextAsync(BlobLayout.DemoTruth(DemoWorldFixture.Dataset)));
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("triggers").ValueKind);
    }

    [Fact]
    public async Task WriteAsync_Summary_MatchesGeneratedEventsAndIsReadable()
    {
        var stored = await world.Store.ReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary(DemoWorldFixture.Dataset));

        Assert.Equal(world.Events.Count, world.Summary.Events);
        Assert.Equal(world.Summary.Events, stored.Events);
        Assert.Equal(0, stored.Quarantined);
        Assert.Equal(DemoWorldFixture.Users, stored.Users);
        Assert.Equal(world.Events.Min(e => e.Timestamp), stored.MinTimestamp);
        Assert.Equal(world.Events.Max(e => e.Timestamp), stored.MaxTimestamp);
        Assert.Equal(world.Events, await ReadDatasetAsync(world.Store, DemoWorldFixture.Dataset));
    }

    [Fact]
    public async Task DefaultPolicy_DemoWorld_MostUsersAreEngagedButRarelyBuy()
    {
        var selector = new DormantCohortSelector(world.Store, NullLogger<DormantCohortSelector>.Instance);

        var result = await selector.SelectAsync("demo-run", DemoWorldFixture.Dataset, new DormancyPolicy(), shardSize: 5_000);

        var share = (double)result.Dormant / result.UsersInWindow;
        Assert.True(share > 0.4, $"dormant share {share:P1} ({result.Dormant} of {result.UsersInWindow})");
        Assert.True(share < 0.9, $"dormant share {share:P1} is implausibly high");
        Assert.True(result.NotDormantReasons.GetValueOrDefault("converts-too-often") > 0);
    }

    [Fact]
    public void Generate_TriggerExposure_RaisesPurchaseRateInTargetCategory()
    {
        var targetsByItem = world.Truth.Triggers
            .GroupBy(t => t.ItemId)
            .ToDictionary(g => g.Key, g => g.First().TargetCategoryId, StringComparer.Ordinal);
        var targets = targetsByItem.Values.Distinct(StringComparer.Ordinal).ToArray();
        long exposedPairs = 0, exposedBought = 0, unexposedPairs = 0, unexposedBought = 0;

        // Per user, in generation (causal) order: after the first exposure to a trigger of target T, did the user buy in T?
        foreach (var user in world.Events.GroupBy(e => e.UserId))
        {
            var exposed = new HashSet<string>(StringComparer.Ordinal);
            var boughtAfterExposure = new HashSet<string>(StringComparer.Ordinal);
            var boughtAny = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in user)
            {
                if (e.Type == EventType.Purchase)
                {
                    boughtAny.Add(e.CategoryId);
                    if (exposed.Contains(e.CategoryId))
                    {
                        boughtAfterExposure.Add(e.CategoryId);
                    }
                }
                else if (e.Type == EventType.View && targetsByItem.TryGetValue(e.ItemId, out var target))
                {
                    exposed.Add(target);
                }
            }
            foreach (var t in targets)
            {
                if (exposed.Contains(t))
                {
                    exposedPairs++;
                    exposedBought += boughtAfterExposure.Contains(t) ? 1 : 0;
                }
                else
                {
                    unexposedPairs++;
                    unexposedBought += boughtAny.Contains(t) ? 1 : 0;
                }
            }
        }

        Assert.True(exposedPairs > 200, $"only {exposedPairs} exposed (user, target) pairs");
        var exposedRate = (double)exposedBought / exposedPairs;
        var unexposedRate = (double)unexposedBought / unexposedPairs;
        Assert.True(exposedRate > 1.5 * unexposedRate,
            $"exposed rate {exposedRate:P2} ({exposedBought}/{exposedPairs}) vs unexposed {unexposedRate:P2} ({unexposedBought}/{unexposedPairs})");
    }

    [Fact]
    public void Generate_NoTriggers_HasNoTriggerTruthAndNoExposure()
    {
        var options = new DemoWorldOptions { Users = 200, TriggerShare = 0, Seed = 5 };
        var generator = new DemoWorldGenerator(options);
        var exposed = 0;

        var events = generator.Generate(o => exposed += o.SawTrigger ? 1 : 0).ToList();

        Assert.Empty(generator.Triggers);
        Assert.Equal(0, exposed);
        Assert.NotEmpty(events);
    }

    [Fact]
    public async Task WriteAsync_RewriteSmallerWorld_DeletesStaleParts()
    {
        var store = new InMemoryBlobStore();
        var writer = new DemoWorldWriter(store, NullLogger<DemoWorldWriter>.Instance);
        await writer.WriteAsync(Small(1), "w", rowsPerPart: 500);
        var before = store.Paths.Count(p => p.Contains("part-", StringComparison.Ordinal));

        var (summary, _) = await writer.WriteAsync(new DemoWorldOptions { Users = 5, Seed = 1 }, "w", rowsPerPart: 500);

        Assert.True(before > summary.Parts);
        Assert.Equal(summary.Parts, store.Paths.Count(p => p.Contains("part-", StringComparison.Ordinal)));
        Assert.Equal(summary.Events, (await ReadDatasetAsync(store, "w")).Count);
    }
}
