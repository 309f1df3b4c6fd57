using System.Globalization;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Events;
using RoleGen.Core.Experiments;
using RoleGen.Core.Runs;
using Xunit.Abstractions;

namespace RoleGen.Core.Tests.Demo;

/// <summary>The outcome simulator on the default demo world's ground truth (40 categories × 60 items, seed 42; the
/// catalogue, complements and triggers only — no users are generated): determinism, the event window, which items
/// events may name, the relevance ordering, the trigger effect, the run-id share and the CSV format.</summary>
public class OutcomeSimulatorTests(ITestOutputHelper output)
{
    private const long Start = 1_800_000_000;
    private const string RunId = "run-1";
    private static readonly DemoWorldTruth Truth = new DemoWorldGenerator(new DemoWorldOptions()).Truth(0, 0, 0, 0);
    private static readonly int PerCategory = Truth.Options.ItemsPerCategory;
    private static readonly HashSet<string> TriggerItems = [.. Truth.Triggers.Select(t => t.ItemId)];

    private static string Item(int index) => DemoWorldGenerator.ItemId(index);

    private static int Index(string item) => int.Parse(item.AsSpan(1), CultureInfo.InvariantCulture);

    private static string CategoryOf(string item) => DemoWorldGenerator.CategoryId(Index(item) / PerCategory);

    private static Candidate Cand(int rank, string item) => new(rank, item, CategoryOf(item), 1.0 / rank, "backbone");

    private static CandidateRow Row(string user, params string[] items) =>
        new(RunId, user, 0, [.. items.Select((item, i) => Cand(i + 1, item))]);

    private static UserTrajectory User(string user, IEnumerable<(string Item, EventType Type)> steps, params string[] purchased)
    {
        var list = steps.Select((s, i) => new TrajectoryStep(s.Item, CategoryOf(s.Item), s.Type, Start - 86_400 * 10 + i * 60)).ToArray();
        return new UserTrajectory(user, list.Count(s => s.Type == EventType.View), list.Count(s => s.Type == EventType.Cart),
            list.Count(s => s.Type == EventType.Purchase) + purchased.Length, 3, list, purchased);
    }

    /// <summary>A non-trigger item of category <paramref name="category"/> at in-category rank ≥ <paramref name="from"/>.</summary>
    private static string NonTrigger(int category, int from = 0) =>
        Enumerable.Range(category * PerCategory + from, PerCategory - from).Select(Item).First(i => !TriggerItems.Contains(i));

    /// <summary>A random population: 1–3 intent categories, 3–30 steps mostly in them (some carts), and a list of 12
    /// candidates mixing intent items, viewed items, trigger items and random items.</summary>
    private static IEnumerable<(UserTrajectory User, CandidateRow Row)> Population(int users, int seed)
    {
        var rng = new Random(seed);
        var categories = Truth.CategoryIds.Count;
        for (var u = 0; u < users; u++)
        {
            var id = $"u{u}";
            var intents = Enumerable.Range(0, 1 + rng.Next(3)).Select(_ => rng.Next(categories)).ToArray();
            var steps = new List<(string, EventType)>();
            for (var s = 3 + rng.Next(28); s > 0; s--)
            {
                var c = rng.NextDouble() < 0.9 ? intents[rng.Next(intents.Length)] : rng.Next(categories);
                var item = Item(c * PerCategory + rng.Next(PerCategory));
                steps.Add((item, EventType.View));
                if (rng.NextDouble() < 0.1)
                {
                    steps.Add((item, EventType.Cart));
                }
            }
            var shown = new List<string>();
            while (shown.Count < 12)
            {
                var x = rng.NextDouble();
                var item = x < 0.3 ? steps[rng.Next(steps.Count)].Item1
                    : x < 0.6 ? Item(intents[rng.Next(intents.Length)] * PerCategory + rng.Next(PerCategory))
                    : x < 0.8 ? Truth.Triggers[rng.Next(Truth.Triggers.Count)].ItemId
                    : Item(rng.Next(Truth.Items));
                if (!shown.Contains(item))
                {
                    shown.Add(item);
                }
            }
            yield return (User(id, steps), Row(id, [.. shown]));
        }
    }

    [Fact]
    public void Simulate_IsDeterministicPerSeedNightAndUser()
    {
        var sim = new OutcomeSimulator(Truth);
        var (user, row) = Population(1, 3).Single();
        var a = sim.Simulate(RunId, 1, user, row, Start).ToList();
        var b = new OutcomeSimulator(Truth).Simulate(RunId, 1, user, row, Start).ToList();
        Assert.Equal(a, b);
        Assert.NotEqual(a, sim.Simulate(RunId, 2, user, row, Start).ToList());
        Assert.NotEqual(a, new OutcomeSimulator(Truth, new OutcomeSimulatorOptions { Seed = 7 }).Simulate(RunId, 1, user, row, Start).ToList());
        // The run id only labels events: another run id gives the same events with the same known/unknown pattern.
        var other = sim.Simulate("run-2", 1, user, row, Start).ToList();
        Assert.Equal(a.Select(e => e with { RunId = e.RunId is null ? null : "run-2" }), other);
        // Other users in the batch do not matter (per-user random streams).
        var all = Population(50, 3).Select(x => sim.Simulate(RunId, 1, x.User, x.Row, Start).ToList()).ToList();
        var reversed = Population(50, 3).Reverse().Select(x => sim.Simulate(RunId, 1, x.User, x.Row, Start).ToList()).Reverse().ToList();
        Assert.Equal(all.SelectMany(x => x), reversed.SelectMany(x => x));
    }

    [Fact]
    public void Simulate_EventsLieInTheWindowAndNameShownItemsIntentsOrTriggerTargets()
    {
        var sim = new OutcomeSimulator(Truth);
        var triggers = Truth.Triggers.ToDictionary(t => t.ItemId);
        long organicOrTarget = 0, orders = 0, clicks = 0, impressions = 0;
        foreach (var (user, row) in Population(3_000, 11))
        {
            var events = sim.Simulate(RunId, 4, user, row, Start).ToList();
            var profile = sim.Profile(user);
            var shown = row.Items.Take(sim.Options.ShownPerUser).Select(c => c.ItemId).ToHashSet();
            Assert.Equal(shown.Order(StringComparer.Ordinal), events.Where(e => e.Type == OutcomeType.Impression).Select(e => e.ItemId).Order(StringComparer.Ordinal));
            Assert.Equal(events.OrderBy(e => e.Timestamp).ToList(), events);
            var targets = events.Where(e => e.Type == OutcomeType.Click && triggers.ContainsKey(e.ItemId))
                .Select(e => triggers[e.ItemId].TargetCategoryId).ToHashSet();
            foreach (var e in events)
            {
                Assert.Equal(user.UserId, e.UserId);
                Assert.InRange(e.Timestamp, Start, Start + OutcomeSimulatorOptions.WindowSeconds - 1);
                Assert.True(e.RunId is null or RunId);
                if (shown.Contains(e.ItemId))
                {
                    continue;
                }
                Assert.Equal(OutcomeType.Order, e.Type);
                var category = CategoryOf(e.ItemId);
                Assert.True(targets.Contains(category) || profile.Intents.Any(kv => kv.Key == category),
                    $"{e.ItemId} ({category}) is neither shown, nor in {user.UserId}'s intents, nor a clicked trigger's target.");
                organicOrTarget++;
            }
            orders += events.Count(e => e.Type == OutcomeType.Order);
            clicks += events.Count(e => e.Type == OutcomeType.Click);
            impressions += events.Count(e => e.Type == OutcomeType.Impression);
            // Funnel order per item: a cart or order follows a click of the same item (organic/target orders excepted).
            foreach (var e in events.Where(e => e.Type == OutcomeType.Cart))
            {
                Assert.Contains(events, c => c.Type == OutcomeType.Click && c.ItemId == e.ItemId && c.Timestamp < e.Timestamp);
            }
        }
        output.WriteLine($"impressions={impressions} clicks={clicks} CTR={clicks / (double)impressions:F4} orders={orders} off-list orders={organicOrTarget}");
        Assert.Equal(3_000L * 10, impressions);
        Assert.True(organicOrTarget > 0, "Some organic or trigger-target orders are expected among 3,000 users.");
    }

    [Fact]
    public void CartedNotBoughtItems_OrderFarMoreOftenThanUnrelatedItems()
    {
        var sim = new OutcomeSimulator(Truth);
        const int X = 5;
        var carted = NonTrigger(X, 3);
        var related = new HashSet<string>(Truth.Complements[DemoWorldGenerator.CategoryId(X)]) { DemoWorldGenerator.CategoryId(X) };
        var unrelatedCategory = Enumerable.Range(0, Truth.CategoryIds.Count).First(c => !related.Contains(DemoWorldGenerator.CategoryId(c)));
        var unrelated = NonTrigger(unrelatedCategory, 3);
        const int Draws = 20_000;
        int cartedOrders = 0, unrelatedOrders = 0;
        for (var u = 0; u < Draws; u++)
        {
            var id = $"u{u}";
            var user = User(id, [(Item(X * PerCategory), EventType.View), (carted, EventType.View), (carted, EventType.Cart), (Item(X * PerCategory + 1), EventType.View)]);
            Assert.Equal(OutcomeRelevance.CartedNotBought, OutcomeSimulator.Relevance(sim.Profile(user), Cand(1, carted)));
            Assert.Equal(OutcomeRelevance.Other, OutcomeSimulator.Relevance(sim.Profile(user), Cand(1, unrelated)));
            cartedOrders += sim.Simulate(RunId, 1, user, Row(id, carted), Start).Count(e => e.Type == OutcomeType.Order && e.ItemId == carted);
            unrelatedOrders += sim.Simulate(RunId, 1, user, Row(id, unrelated), Start).Count(e => e.Type == OutcomeType.Order && e.ItemId == unrelated);
        }
        var cartedRate = cartedOrders / (double)Draws;
        var unrelatedRate = unrelatedOrders / (double)Draws;
        output.WriteLine($"order rate: carted-not-bought={cartedRate:F4} unrelated={unrelatedRate:F5}");
        Assert.True(cartedRate > 2 * unrelatedRate, $"carted {cartedRate:F4} vs unrelated {unrelatedRate:F5}");
        Assert.InRange(cartedRate, 0.05, 0.3); // 0.30 click × ≈0.27 order at p ≈ 2.3%: ≈ 0.08

        // A bought item is no longer carted-not-bought.
        var bought = User("b", [(carted, EventType.Cart)], carted);
        Assert.Empty(sim.Profile(bought).CartedNotBought);
    }

    [Fact]
    public void ClickedTriggers_RaiseOrdersInTheirTargetCategory_VersusNonTriggersOfTheSameCategory()
    {
        var sim = new OutcomeSimulator(Truth);
        var trigger = Truth.Triggers[0];
        var x = int.Parse(trigger.CategoryId.AsSpan(1), CultureInfo.InvariantCulture);
        var control = NonTrigger(x, 2);
        var targetItem = Item(int.Parse(trigger.TargetCategoryId.AsSpan(1), CultureInfo.InvariantCulture) * PerCategory);
        const int Draws = 20_000;
        int triggerOrders = 0, controlOrders = 0;
        for (var u = 0; u < Draws; u++)
        {
            var id = $"u{u}";
            // Both shown items are of the user's only intent category and were not viewed: same relevance (Intent).
            var user = User(id, Enumerable.Range(0, 6).Select(i => (Item(x * PerCategory + i % 2), EventType.View)));
            var withTrigger = sim.Simulate(RunId, 1, user, Row(id, trigger.ItemId), Start).Where(e => e.Type == OutcomeType.Order && CategoryOf(e.ItemId) == trigger.TargetCategoryId).ToList();
            Assert.All(withTrigger, e => Assert.Equal(targetItem, e.ItemId)); // most popular item of the target category
            Assert.All(withTrigger, e => Assert.InRange(e.Timestamp, Start + 86_400, Start + 3 * 86_400 - 1));
            triggerOrders += withTrigger.Count;
            controlOrders += sim.Simulate(RunId, 1, user, Row(id, control), Start).Count(e => e.Type == OutcomeType.Order && CategoryOf(e.ItemId) == trigger.TargetCategoryId);
        }
        output.WriteLine($"target-category orders per user: after trigger {triggerOrders / (double)Draws:F4}, after non-trigger {controlOrders / (double)Draws:F4}");
        // Expected ≈ 0.08 click × min(0.6, 0.0212 × 8) ≈ 0.0136 vs 0.
        Assert.True(triggerOrders > 100, $"trigger orders {triggerOrders}");
        Assert.True(triggerOrders > 3 * controlOrders, $"trigger {triggerOrders} vs control {controlOrders}");

        // A shown item of the target category is the one ordered.
        var shownTarget = NonTrigger(int.Parse(trigger.TargetCategoryId.AsSpan(1), CultureInfo.InvariantCulture), 5);
        var targetOrders = Enumerable.Range(0, 5_000).SelectMany(u =>
        {
            var id = $"u{u}";
            var user = User(id, Enumerable.Range(0, 6).Select(i => (Item(x * PerCategory + i % 2), EventType.View)));
            return sim.Simulate(RunId, 1, user, Row(id, trigger.ItemId, shownTarget), Start).Where(e => e.Type == OutcomeType.Order && CategoryOf(e.ItemId) == trigger.TargetCategoryId && e.Timestamp >= Start + 86_400);
        }).ToList();
        Assert.NotEmpty(targetOrders);
        Assert.All(targetOrders, e => Assert.Equal(shownTarget, e.ItemId));
    }

    [Fact]
    public void OrganicOrders_DoNotDependOnTheList()
    {
        var sim = new OutcomeSimulator(Truth);
        var organic = 0;
        foreach (var (user, row) in Population(10_000, 5))
        {
            // Two lists without triggers and disjoint from each other: off-list orders are organic in both.
            var a = Row(user.UserId, [.. row.Items.Select(c => c.ItemId).Where(i => !TriggerItems.Contains(i)).Take(5)]);
            var b = Row(user.UserId, NonTrigger(0, 50), NonTrigger(1, 50));
            var offA = sim.Simulate("a", 2, user, a, Start).Where(e => e.Type == OutcomeType.Order && a.Items.All(c => c.ItemId != e.ItemId)).Select(e => (e.ItemId, e.Timestamp)).ToList();
            var offB = sim.Simulate("b", 2, user, b, Start).Where(e => e.Type == OutcomeType.Order && b.Items.All(c => c.ItemId != e.ItemId)).Select(e => (e.ItemId, e.Timestamp)).ToList();
            if (!offA.SequenceEqual(offB))
            {
                // The organic item may happen to be on one list; then it is not off-list there.
                Assert.True(offA.Concat(offB).All(o => a.Items.Any(c => c.ItemId == o.ItemId) || b.Items.Any(c => c.ItemId == o.ItemId)), user.UserId);
            }
            organic += offA.Count;
        }
        output.WriteLine($"organic orders: {organic} / 10000 users");
        Assert.InRange(organic, 40, 200); // ≈ 1% × p / 3% ≈ 0.9% per user: ≈ 90
    }

    [Fact]
    public void RunId_IsUnknownForAboutOneFifthOfEvents()
    {
        var sim = new OutcomeSimulator(Truth);
        var events = Population(3_000, 17).SelectMany(x => sim.Simulate(RunId, 3, x.User, x.Row, Start)).ToList();
        var share = events.Count(e => e.RunId is null) / (double)events.Count;
        output.WriteLine($"events={events.Count} null run id share={share:F4}");
        Assert.InRange(share, 0.18, 0.22);
    }

    [Fact]
    public void Profile_WeighsIntentsByRecency_AndPropensityByBrowsingAndCarts()
    {
        var sim = new OutcomeSimulator(Truth, new OutcomeSimulatorOptions { MaxIntents = 1 });
        var older = Item(3 * PerCategory);
        var newer = Item(7 * PerCategory);
        var profile = sim.Profile(User("u", [(older, EventType.View), (newer, EventType.View)]));
        Assert.Equal("c7", Assert.Single(profile.Intents).Key);
        Assert.DoesNotContain("c7", profile.Complements);
        Assert.Equal(0.02 + 0.02 * 2 / 50.0, profile.Propensity, 12);

        var browser = sim.Profile(User("v", Enumerable.Range(0, 80).Select(i => (Item(i), EventType.View)).Append((Item(1), EventType.Cart))));
        Assert.Equal(0.04 * 1.25, browser.Propensity, 12);
        Assert.Equal(OutcomeRelevance.Viewed, OutcomeSimulator.Relevance(browser, Cand(1, Item(5))));

        Assert.Throws<ArgumentException>(() => new OutcomeSimulator(Truth, new OutcomeSimulatorOptions { ClickIntent = 1.5 }));
        Assert.Throws<ArgumentException>(() => sim.Simulate(RunId, 1, User("u", []), Row("someone-else", older), Start).ToList());
    }

    [Fact]
    public void OutcomeCsv_WritesTheFeedbackFormatExactly()
    {
        OutcomeEvent[] events =
        [
            new("u1", "i5", OutcomeType.Impression, 1_800_000_001, "run-1"),
            new("u1", "i5", OutcomeType.Click, 1_800_000_010, null),
            new("u1", "i5", OutcomeType.Cart, 1_800_000_020, "run-1"),
            new("u,2", "i\"7", OutcomeType.Order, 1_800_086_400, "run-1"),
        ];
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        OutcomeCsv.Write(writer, events);
        Assert.Equal(
            "user,item,type,timestamp,runId\n" +
            "u1,i5,impression,1800000001,run-1\n" +
            "u1,i5,click,1800000010,\n" +
            "u1,i5,cart,1800000020,run-1\n" +
            "\"u,2\",\"i\"\"7\",order,1800086400,run-1\n",
            writer.ToString());

        using var empty = new StringWriter(CultureInfo.InvariantCulture);
        OutcomeCsv.Write(empty, []);
        Assert.Equal("user,item,type,timestamp,runId\n", empty.ToString());
    }
}
