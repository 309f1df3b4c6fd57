using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Reasoning;

namespace RoleGen.Core.Tests.Reasoning;

/// <summary>
/// A hand-built behaviour graph whose uplifts and lifts are known. p0 = 100/1000 = 0.1, α = 20, 1 000 users.
/// <list type="bullet">
/// <item>Trigger candidates (users ≥ 3, uplift ≥ 1.3): tdom (cD) K=80 → (80+2)/120/0.1 ≈ 6.83; t1 (cT1) K=60 → ≈ 5.17;
/// t3 (cT1) K=50 → ≈ 4.33; t2 (cT2) K=40 → 3.5. "rare" (cR) has uplift (2+2)/22/0.1 ≈ 1.82 but only 2 users.</item>
/// <item>Every other item has K=10 of N=100 → uplift exactly 1.</item>
/// <item>Best items of cD (most purchased first): p1 (80), dbest (50), tdom (0 purchasers, 100 users). cC: c1 (30), c2 (20).
/// cE: e1.</item>
/// <item>Transitions: cD (100 users) → cC 50 users, cC bought by 100 of 1 000 → lift (50+2)/120/0.1 ≈ 4.33;
/// cD → cE 20 users, cE bought by 100 → lift (20+2)/120/0.1 ≈ 1.83. Both above the complement lift 1.5.</item>
/// </list>
/// </summary>
internal static class ReasonerWorld
{
    public const long T0 = 1_700_000_000;

    public static BehaviorGraphStatistics Stats() => new(
        asOf: T0 + 100 * 86_400, horizonDays: 7, sessionGapSeconds: 1_800, priorStrength: 20,
        users: 1_000, events: 10_000, usersWithPurchase: 300, baselineExposed: 1_000, baselineConverted: 100,
        items:
        [
            new ItemStatistics("p1", "cD", 200, 100, 10, 10, 5, 80),
            new ItemStatistics("dbest", "cD", 200, 100, 10, 10, 5, 50),
            new ItemStatistics("tdom", "cD", 200, 100, 80, 80, 5, 0),
            new ItemStatistics("t1", "cT1", 200, 100, 60, 60, 5, 0),
            new ItemStatistics("t3", "cT1", 200, 100, 50, 50, 5, 0),
            new ItemStatistics("t2", "cT2", 200, 100, 40, 40, 5, 0),
            new ItemStatistics("c1", "cC", 200, 100, 10, 10, 5, 30),
            new ItemStatistics("c2", "cC", 200, 100, 10, 10, 5, 20),
            new ItemStatistics("e1", "cE", 200, 100, 10, 10, 5, 10),
            new ItemStatistics("rare", "cR", 2, 2, 2, 2, 0, 0),
        ],
        categories:
        [
            new CategoryStatistics("cD", 1_000, 100, 50, 10, 130, 200),
            new CategoryStatistics("cC", 500, 300, 10, 10, 100, 250),
            new CategoryStatistics("cE", 500, 300, 10, 10, 100, 250),
        ],
        transitions: [new CategoryTransition("cD", "cC", 50), new CategoryTransition("cD", "cE", 20)]);

    public static UserTrajectory Traj(string userId, params (string Item, string Category, EventType Type, long Dt)[] steps)
    {
        var list = steps.Select(s => new TrajectoryStep(s.Item, s.Category, s.Type, T0 + s.Dt)).ToArray();
        return new UserTrajectory(userId, list.Count(s => s.Type == EventType.View), list.Count(s => s.Type == EventType.Cart),
            list.Count(s => s.Type == EventType.Purchase), 1, list,
            [.. list.Where(s => s.Type == EventType.Purchase).Select(s => s.Item).Distinct()]);
    }

    /// <summary>Dominant and live category cD (weights 1/8+1/7+1/5+1/4+1/2+1 vs cA 1/6+1/3). k1 carted and not bought;
    /// a1 revisited (another item in between) → Anchor; d1, d2, d3 compared within cD; p1 carted and then bought.</summary>
    public static UserTrajectory FullUser(string userId = "u") => Traj(userId,
        ("d1", "cD", EventType.View, 0),
        ("k1", "cD", EventType.Cart, 60),
        ("a1", "cA", EventType.View, 120),
        ("p1", "cD", EventType.Cart, 150),
        ("d2", "cD", EventType.View, 180),
        ("a1", "cA", EventType.View, 240),
        ("d3", "cD", EventType.View, 300),
        ("p1", "cD", EventType.Purchase, 360));
}

/// <summary>A world model that returns chosen probabilities and records every call.</summary>
internal sealed class FakeWorldModel(Func<UserTrajectory, double> baseline, Func<UserTrajectory, Intervention, double> with) : ICounterfactualModel
{
    public List<(IReadOnlyList<UserTrajectory> Users, IReadOnlyList<IReadOnlyList<Intervention>> Interventions)> Calls { get; } = [];

    public string Name => "fake world";

    public CounterfactualEstimates Evaluate(IReadOnlyList<UserTrajectory> users, IReadOnlyList<IReadOnlyList<Intervention>> interventions)
    {
        Calls.Add((users.ToArray(), interventions.Select(i => (IReadOnlyList<Intervention>)i.ToArray()).ToArray()));
        return new CounterfactualEstimates(
            [.. users.Select(baseline)],
            [.. users.Select((u, i) => interventions[i].Select(x => with(u, x)).ToArray())]);
    }
}

public class EmbeddedReasonerTests
{
    private static readonly FakeWorldModel Flat = new(_ => 0.2, (_, _) => 0.2);

    private static EmbeddedReasoner Reasoner(ReasonerOptions options, ICounterfactualModel? world = null)
    {
        var stats = ReasonerWorld.Stats();
        return new EmbeddedReasoner(new InterventionCatalog(stats, options), world ?? Flat, options);
    }

    private static IReadOnlyList<Intervention> Propose(UserTrajectory user, int max)
    {
        var options = new ReasonerOptions { MaxInterventions = max, PathsPerUser = Math.Min(4, max) };
        var roles = new EmbeddedRoleAssigner(ReasonerWorld.Stats()).Assign(user);
        return Reasoner(options).Propose(user, roles);
    }

    [Fact]
    public void Catalog_KeepsHighUpliftItemsWithEnoughUsers_AsTriggers_HighestFirst()
    {
        var catalog = new InterventionCatalog(ReasonerWorld.Stats(), new ReasonerOptions());

        Assert.Equal(["tdom", "t1", "t3", "t2"], catalog.Triggers.Select(t => t.Item));
        Assert.Equal(82.0 / 120 / 0.1, catalog.Triggers[0].Uplift, 9);
        Assert.Equal(["p1", "dbest", "tdom"], catalog.BestOf("cD"));
        Assert.Equal(["c1", "c2"], catalog.BestOf("cC"));
        Assert.Empty(catalog.BestOf("cR")); // 2 users, no purchaser: below MinTriggerUsers
        Assert.Empty(catalog.BestOf("nope"));
    }

    [Fact]
    public void Propose_FirstRound_PicksOnePerRole_ConverterAnchorComplementTrigger()
    {
        var chosen = Propose(ReasonerWorld.FullUser(), 4);

        Assert.Equal(
        [
            new Intervention("k1", "cD", FunctionalRole.Converter, "cD", "carted, not bought"),
            new Intervention("a1", "cA", FunctionalRole.Anchor, "cA", "revisit #1 of a1"),
            new Intervention("c1", "cC", FunctionalRole.Complement, "cC", "cC is bought after cD (lift 4.33)"),
            new Intervention("t1", "cT1", FunctionalRole.Trigger, "cT1", "opens a new intent (uplift 5.17)"),
        ], chosen);
    }

    [Fact]
    public void Propose_FifthSlot_GoesToComparison_MostRecentInLiveIntentFirst()
    {
        var chosen = Propose(ReasonerWorld.FullUser(), 5);

        Assert.Equal(["k1", "a1", "c1", "t1", "d3"], chosen.Select(x => x.Item));
        Assert.Equal(new Intervention("d3", "cD", FunctionalRole.Comparison, "cD", "compared within the live intent"), chosen[4]);
    }

    [Fact]
    public void Propose_RoundRobin_DefersASecondTriggerOfAChosenCategoryToTheSecondPass()
    {
        var chosen = Propose(ReasonerWorld.FullUser(), 32);

        // Round 2: e1 (new category cE), t3 skipped (cT1 already chosen) so t2, then d2; rounds 3-5 drain Comparison
        // (unseen best-of-cD alternatives after the seen ones; p1 is bought); only the second pass admits t3.
        Assert.Equal(["k1", "a1", "c1", "t1", "d3", "e1", "t2", "d2", "d1", "dbest", "tdom", "t3"], chosen.Select(x => x.Item));
        Assert.Equal(
        [
            FunctionalRole.Converter, FunctionalRole.Anchor, FunctionalRole.Complement, FunctionalRole.Trigger, FunctionalRole.Comparison,
            FunctionalRole.Complement, FunctionalRole.Trigger, FunctionalRole.Comparison, FunctionalRole.Comparison, FunctionalRole.Comparison,
            FunctionalRole.Comparison, FunctionalRole.Trigger,
        ], chosen.Select(x => x.Role));
        Assert.Equal("most bought alternative in the live intent", chosen[9].Why);
        Assert.Equal("cE is bought after cD (lift 1.83)", chosen[5].Why);
    }

    [Fact]
    public void Propose_NeverProposesAPurchasedItem_EvenWhenCartedOrBestOfItsCategory()
    {
        var chosen = Propose(ReasonerWorld.FullUser(), 32);

        Assert.DoesNotContain(chosen, x => x.Item == "p1");
        Assert.Equal(chosen.Count, chosen.Select(x => x.Item).Distinct().Count());
    }

    [Fact]
    public void Propose_NeverProposesAnItemWithTooFewUsers_AsTrigger()
    {
        var chosen = Propose(ReasonerWorld.FullUser(), 32);

        Assert.DoesNotContain(chosen, x => x.Item == "rare");
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(7, 7)]
    [InlineData(12, 12)]
    [InlineData(20, 12)]
    public void Propose_ReturnsAtMostMaxInterventions(int max, int expected)
    {
        var chosen = Propose(ReasonerWorld.FullUser(), max);

        Assert.Equal(expected, chosen.Count);
    }

    [Fact]
    public void Propose_OneSlot_IsTheCartedItem()
    {
        Assert.Equal(["k1"], Propose(ReasonerWorld.FullUser(), 1).Select(x => x.Item));
    }

    [Fact]
    public void Propose_TriggersSkipTheDominantCategory_EvenItsHighestUpliftItem()
    {
        // Dominant cD (1/4 + 1/3 + 1/2 > 1), live cA: tdom (cD, the best uplift) is not a trigger and not a comparison.
        var user = ReasonerWorld.Traj("u",
            ("d1", "cD", EventType.View, 0), ("d2", "cD", EventType.View, 60), ("d3", "cD", EventType.View, 120), ("x", "cA", EventType.View, 180));

        var chosen = Propose(user, 32);

        Assert.Equal(["c1", "t1", "e1", "t2", "t3"], chosen.Select(x => x.Item));
        Assert.DoesNotContain(chosen, x => x.Category == "cD");
    }

    [Fact]
    public void Propose_TriggerFromAnotherThanTheDominantCategory_TargetsItsHeaviestTransition()
    {
        // Dominant and live cA (1/2 + 1 > 1/3): tdom (cD) is now the first trigger, targeting cD's heaviest transition cC.
        var user = ReasonerWorld.Traj("u",
            ("d1", "cD", EventType.View, 0), ("x1", "cA", EventType.View, 60), ("x2", "cA", EventType.View, 120));

        var chosen = Propose(user, 32);

        Assert.Equal(["c1", "tdom", "x2", "e1", "t1", "x1", "t2", "t3"], chosen.Select(x => x.Item));
        Assert.Equal(new Intervention("tdom", "cD", FunctionalRole.Trigger, "cC", "opens a new intent (uplift 6.83)"), chosen[1]);
        Assert.Equal(FunctionalRole.Comparison, chosen[2].Role);
    }

    [Fact]
    public void Propose_EmptyTrajectory_OffersOnlyTriggers()
    {
        var chosen = Propose(ReasonerWorld.Traj("u"), 32);

        // No dominant category: every trigger qualifies; cT1's second item only in the second pass.
        Assert.Equal(["tdom", "t1", "t2", "t3"], chosen.Select(x => x.Item));
        Assert.All(chosen, x => Assert.Equal(FunctionalRole.Trigger, x.Role));
    }

    [Fact]
    public void Reason_DeltaIsWithMinusBase_PathsSortedByPathScoreAndCut()
    {
        var world = new FakeWorldModel(_ => 0.2, (_, x) => x.Item switch
        {
            "k1" => 0.25, // Δ 0.05 → scaled 0.25
            "a1" => 0.18, // Δ −0.02 → scaled −0.1
            "c1" => 0.5,  // Δ 0.3 → scaled 1.5, clamped to 1
            _ => 0.2,     // t1: Δ 0
        });
        var options = new ReasonerOptions { MaxInterventions = 4, PathsPerUser = 3, Fusion = new FusionWeights { Uplift = 2 } };

        var result = Reasoner(options, world).Reason([ReasonerWorld.FullUser()]);

        var r = Assert.Single(result);
        Assert.Equal("u", r.UserId);
        Assert.Equal(ReasonerKinds.Embedded, r.Reasoner);
        Assert.Equal(0.2, r.BaseConversion);
        // Scores: c1 0.3 + 2·1 = 2.3; k1 1 + 2·0.25 = 1.5; a1 0.8 − 2·0.1 = 0.6; t1 0.3 (cut by PathsPerUser = 3).
        Assert.Equal(["c1", "k1", "a1"], r.Paths.Select(p => p.Item));
        Assert.Equal([0.3, 0.05, -0.02], r.Paths.Select(p => p.Delta));
        Assert.Equal([0.5, 0.25, 0.18], r.Paths.Select(p => p.Conversion));
        Assert.Equal([0.3, 1.0, 0.8], r.Paths.Select(p => p.Prior));
        Assert.Equal([2.3, 1.5, 0.6], r.Paths.Select(p => Math.Round(EmbeddedReasoner.PathScore(p, 0.2, options.Fusion), 9)));
        Assert.Equal("cC is bought after cD (lift 4.33); Δ +0.3000", r.Paths[0].Rationale);
        Assert.Equal("revisit #1 of a1; Δ -0.0200", r.Paths[2].Rationale);
        Assert.EndsWith("best path: show c1 (complement) → cC, Δ +0.3000", r.Rationale, StringComparison.Ordinal);
    }

    [Fact]
    public void Reason_ItemOutsideTheWorldModel_GetsZeroDeltaAndBaseConversion()
    {
        var world = new FakeWorldModel(_ => 0.2, (_, x) => x.Item == "t1" ? double.NaN : 0.2);
        var options = new ReasonerOptions { MaxInterventions = 4, PathsPerUser = 4 };

        var r = Assert.Single(Reasoner(options, world).Reason([ReasonerWorld.FullUser()]));

        var t1 = Assert.Single(r.Paths, p => p.Item == "t1");
        Assert.Equal(0, t1.Delta);
        Assert.Equal(0.2, t1.Conversion);
        Assert.Equal("opens a new intent (uplift 5.17); Δ unknown (item outside the world model)", t1.Rationale);
        Assert.Equal(0.3, EmbeddedReasoner.PathScore(t1, 0.2, options.Fusion), 12);
    }

    [Fact]
    public void Reason_ManyUsers_OneWorldModelCall_ResultsInInputOrder_RolesCoverEverySteps()
    {
        var world = new FakeWorldModel(u => u.UserId switch { "z" => 0.1234567, "a" => 0.5, _ => 0.3 }, (_, _) => 0.4);
        var users = new[]
        {
            ReasonerWorld.FullUser("z"),
            ReasonerWorld.Traj("a", ("d1", "cD", EventType.View, 0), ("x1", "cA", EventType.View, 60)),
            ReasonerWorld.Traj("m"),
        };
        var reasoner = Reasoner(new ReasonerOptions { MaxInterventions = 4, PathsPerUser = 4 }, world);

        var result = reasoner.Reason(users);

        var call = Assert.Single(world.Calls);
        Assert.Equal(["z", "a", "m"], call.Users.Select(u => u.UserId));
        Assert.Equal(["z", "a", "m"], result.Select(r => r.UserId));
        Assert.Equal([8, 2, 0], result.Select(r => r.Roles.Count));
        Assert.Equal([0.123457, 0.5, 0.3], result.Select(r => r.BaseConversion));
        Assert.Equal([4, 4, 4], call.Interventions.Select(i => i.Count));
        Assert.Equal(["k1", "a1", "c1", "t1"], call.Interventions[0].Select(x => x.Item));
        Assert.All(result, r => Assert.Equal(4, r.Paths.Count));
        Assert.Equal("fake world", reasoner.WorldModel);
    }

    [Fact]
    public void Reason_EmptyBatch_StillOneCallAndNoResults()
    {
        var world = new FakeWorldModel(_ => 0.2, (_, _) => 0.2);

        var result = Reasoner(new ReasonerOptions(), world).Reason([]);

        Assert.Empty(result);
        Assert.Single(world.Calls);
    }

    [Fact]
    public void Reason_NoInterventionsAllowed_KeepsRolesAndSaysSo()
    {
        var world = new FakeWorldModel(_ => 0.2, (_, _) => 0.2);
        var options = new ReasonerOptions { MaxInterventions = 0, PathsPerUser = 0 };

        var r = Assert.Single(Reasoner(options, world).Reason([ReasonerWorld.FullUser()]));

        Assert.Empty(r.Paths);
        Assert.Empty(Assert.Single(world.Calls).Interventions[0]);
        Assert.Equal(8, r.Roles.Count);
        // 3 converters (k1 cart, p1 cart, p1 purchase), 3 comparisons, 1 anchor.
        Assert.Equal("3 comparison, 1 anchor, 3 converter; no intervention proposed", r.Rationale);
    }

    [Fact]
    public void Propose_CartedItemRevisitedLater_IsStillAConverter()
    {
        // k carted, another item, then k viewed again (an Anchor step): k is still carted and not bought.
        var user = ReasonerWorld.Traj("u", ("k", "cD", EventType.Cart, 0), ("x", "cA", EventType.View, 60), ("k", "cD", EventType.View, 120));

        var k = Assert.Single(Propose(user, 4), x => x.Item == "k");

        Assert.Equal(new Intervention("k", "cD", FunctionalRole.Converter, "cD", "carted, not bought"), k);
    }

    [Fact]
    public void Reason_PathRationale_IsCultureInvariant()
    {
        var world = new FakeWorldModel(_ => 0.2, (_, x) => x.Item == "c1" ? 0.5 : 0.2);
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        IReadOnlyList<UserReasoning> result;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            result = Reasoner(new ReasonerOptions(), world).Reason([ReasonerWorld.FullUser()]);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }

        Assert.Equal("cC is bought after cD (lift 4.33); Δ +0.3000", Assert.Single(result[0].Paths, p => p.Item == "c1").Rationale);
    }

    [Theory]
    [InlineData(0.05, 0.2, 0.25)]
    [InlineData(-0.02, 0.2, -0.1)]
    [InlineData(0.5, 0.2, 1.0)]      // clamped above
    [InlineData(-0.5, 0.2, -1.0)]    // clamped below
    [InlineData(0.0005, 0.0, 0.5)]   // base below 0.001 divides by 0.001
    [InlineData(0.0005, 0.0001, 0.5)]
    [InlineData(-0.0002, -0.3, -0.2)]
    [InlineData(0.01, 0.0, 1.0)]
    [InlineData(0.0, 0.2, 0.0)]
    public void ScaledUplift_IsDeltaOverBase_FlooredAt0001_ClampedToUnit(double delta, double baseConversion, double expected)
    {
        Assert.Equal(expected, EmbeddedReasoner.ScaledUplift(delta, baseConversion), 12);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void ScaledUplift_NonFiniteDelta_IsZero(double delta)
    {
        Assert.Equal(0, EmbeddedReasoner.ScaledUplift(delta, 0.2));
    }

    [Fact]
    public void PathScore_IsRoleWeightTimesPriorPlusUpliftWeightTimesScaledUplift()
    {
        var weights = new FusionWeights { Role = 2, Uplift = 0.5, AnchorPrior = 0.7 };
        var anchor = new ConversionPath("a", "cA", FunctionalRole.Anchor, "cA", 0.05, 0.25, 0.7, "r");
        var noise = new ConversionPath("n", "cN", FunctionalRole.Noise, "cN", -0.9, 0.0, 0, "r");
        var tiny = new ConversionPath("t", "cT", FunctionalRole.Trigger, "cT", 0.0004, 0.0009, 0.3, "r");

        Assert.Equal(2 * 0.7 + 0.5 * 0.25, EmbeddedReasoner.PathScore(anchor, 0.2, weights), 12); // 1.525
        Assert.Equal(-0.5, EmbeddedReasoner.PathScore(noise, 0.2, weights), 12);                   // prior 0, scaled clamped to −1
        Assert.Equal(2 * 0.3 + 0.5 * 0.4, EmbeddedReasoner.PathScore(tiny, 0.0005, weights), 12);  // 0.0004 / 0.001
    }
}
