using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Reasoning;

namespace RoleGen.Core.Tests.Reasoning;

public class StatisticalCounterfactualModelTests
{
    /// <summary>p0 = 100/1000 = 0.1, α = 20, population purchase share = usersWithPurchase/1000. Average item purchase rate
    /// = Σ purchasers / Σ exposed users = (30 + 10 + 10)/(100 + 100 + 200) = 0.125.
    /// seen: K=10 of 100 (trigger uplift exactly 1), 30 purchasers; hot: K=60 of 100; cold: K=0 of 200.</summary>
    private static BehaviorGraphStatistics Stats(long usersWithPurchase = 300, long users = 1_000) => new(
        asOf: 0, horizonDays: 7, sessionGapSeconds: 1_800, priorStrength: 20,
        users: users, events: 10_000, usersWithPurchase: usersWithPurchase, baselineExposed: 1_000, baselineConverted: 100,
        items:
        [
            new ItemStatistics("seen", "cS", 150, 100, 10, 10, 5, 30),
            new ItemStatistics("hot", "cH", 150, 100, 60, 60, 5, 10),
            new ItemStatistics("cold", "cC", 300, 200, 0, 0, 5, 10),
        ],
        categories: [],
        transitions: []);

    private static UserTrajectory User(string id, params (string Item, EventType Type)[] steps) =>
        new(id, 0, 0, 0, 1, [.. steps.Select((s, i) => new TrajectoryStep(s.Item, "cat", s.Type, 1_000 + i))], []);

    private static Intervention Show(string item) => new(item, "cat", FunctionalRole.Trigger, "cat", "why");

    /// <summary>4 steps, 2 of them conversions (cart + purchase): base = (2 + 10·0.3)/(4 + 10) = 5/14.</summary>
    private static UserTrajectory Shopper() => User("u", ("seen", EventType.View), ("x", EventType.Cart), ("y", EventType.View), ("z", EventType.Purchase));

    [Fact]
    public void Base_IsOwnConversionsShrunkTowardsThePopulationRate()
    {
        var model = new StatisticalCounterfactualModel(Stats());

        var e = model.Evaluate([Shopper(), User("empty"), User("viewer", ("a", EventType.View), ("b", EventType.Fav))], [[], [], []]);

        Assert.Equal(5.0 / 14, e.Base[0], 12);
        Assert.Equal(0.3, e.Base[1], 12);        // no steps: the population rate itself
        Assert.Equal(3.0 / 12, e.Base[2], 12);   // (0 + 3)/(2 + 10): a fav is not a conversion
        Assert.Equal([0, 0, 0], e.WithIntervention.Select(w => w.Length));
    }

    [Fact]
    public void UnseenItem_AddsItsSmoothedTriggerRateMinusTheBaseRate()
    {
        var model = new StatisticalCounterfactualModel(Stats());

        var e = model.Evaluate([Shopper()], [[Show("hot"), Show("cold"), Show("unknown")]]);

        // hot: (60 + 20·0.1)/(100 + 20) − 0.1 = 0.416667; cold: (0 + 2)/(200 + 20) − 0.1 = −0.090909; unknown: 2/20 − 0.1 = 0.
        Assert.Equal(5.0 / 14 + (62.0 / 120 - 0.1), e.WithIntervention[0][0], 12);
        Assert.Equal(5.0 / 14 + (2.0 / 220 - 0.1), e.WithIntervention[0][1], 12);
        Assert.Equal(5.0 / 14, e.WithIntervention[0][2], 12);
        Assert.Equal(0.773810, e.WithIntervention[0][0], 6);
        Assert.Equal(0.266234, e.WithIntervention[0][1], 6);
    }

    [Fact]
    public void SeenItem_AddsItsSmoothedPurchaseRateExcessOverTheAverageItem()
    {
        var model = new StatisticalCounterfactualModel(Stats());

        // "seen" is in the trajectory: (30 + 20·0.125)/(100 + 20) − 0.125 = 0.145833 (its trigger uplift alone would add 0).
        // "y" is in the trajectory but not in the statistics: (0 + 2.5)/20 − 0.125 = 0.
        var e = model.Evaluate([Shopper()], [[Show("seen"), Show("y")]]);

        Assert.Equal(5.0 / 14 + (32.5 / 120 - 0.125), e.WithIntervention[0][0], 12);
        Assert.Equal(0.502976, e.WithIntervention[0][0], 6);
        Assert.Equal(5.0 / 14, e.WithIntervention[0][1], 12);
    }

    [Fact]
    public void Results_AreClampedToTheUnitInterval()
    {
        // Ten purchases: base (10 + 3)/20 = 0.65, + 0.416667 for hot → 1.0667 → 1.
        var buyer = User("buyer", [.. Enumerable.Range(0, 10).Select(i => ($"p{i}", EventType.Purchase))]);
        // Nobody purchases: base 0, − 0.090909 for cold → 0.
        var nobody = new StatisticalCounterfactualModel(Stats(usersWithPurchase: 0));
        var high = new StatisticalCounterfactualModel(Stats()).Evaluate([buyer], [[Show("hot")]]);
        var low = nobody.Evaluate([User("idle", ("a", EventType.View))], [[Show("cold"), Show("hot")]]);

        Assert.Equal(0.65, high.Base[0], 12);
        Assert.Equal(1.0, high.WithIntervention[0][0]);
        Assert.Equal(0.0, low.Base[0]);
        Assert.Equal(0.0, low.WithIntervention[0][0]);
        Assert.Equal(62.0 / 120 - 0.1, low.WithIntervention[0][1], 12);
    }

    [Fact]
    public void NoUsersInTheStatistics_PopulationRateIsZero()
    {
        var e = new StatisticalCounterfactualModel(Stats(usersWithPurchase: 0, users: 0)).Evaluate([Shopper()], [[]]);

        Assert.Equal(2.0 / 14, e.Base[0], 12);
    }

    [Fact]
    public void Evaluate_OneRowPerUserAndOneColumnPerIntervention_InInputOrder()
    {
        var model = new StatisticalCounterfactualModel(Stats());

        var e = model.Evaluate([User("a"), Shopper()], [[Show("hot")], [Show("cold"), Show("hot")]]);

        Assert.Equal(2, e.Base.Length);
        Assert.Equal([1, 2], e.WithIntervention.Select(w => w.Length));
        Assert.Equal(0.3 + (62.0 / 120 - 0.1), e.WithIntervention[0][0], 12);
        Assert.Equal(5.0 / 14 + (62.0 / 120 - 0.1), e.WithIntervention[1][1], 12);
        Assert.Equal("behaviour-graph statistics (no backbone)", model.Name);
    }

    [Fact]
    public async Task Provider_AlwaysReturnsTheStatisticalModel()
    {
        var model = await new StatisticalCounterfactualModelProvider().GetAsync(new Scoring.ScoringModelRef("backbone", "3", "models/b/"), Stats());

        Assert.IsType<StatisticalCounterfactualModel>(model);
    }
}
