using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Reasoning;

namespace RoleGen.Core.Tests.Reasoning;

public class EmbeddedRoleAssignerTests
{
    private const long T0 = 1_700_000_000;

    /// <summary>p0 = 100/1000 = 0.1, α = 20. "trig" (cT): K=60 of N=100 → uplift (60+2)/120/0.1 ≈ 5.17; "mild" (cM): K=16 of
    /// N=100 → (16+2)/120/0.1 = 1.5; "plain" (cP): K=10 of N=100 → exactly 1. Category cX → cBuy: 50 of 100 users exposed to
    /// cX bought cBuy within H, P(buy cBuy) = 100/1000 → lift (50+2)/120/0.1 ≈ 4.33.</summary>
    private static BehaviorGraphStatistics Stats() => new(
        asOf: T0 + 100 * 86_400, horizonDays: 7, sessionGapSeconds: 1_800, priorStrength: 20,
        users: 1_000, events: 10_000, usersWithPurchase: 300, baselineExposed: 1_000, baselineConverted: 100,
        items:
        [
            new ItemStatistics("trig", "cT", 150, 100, 60, 70, 5, 1),
            new ItemStatistics("mild", "cM", 150, 100, 16, 20, 5, 1),
            new ItemStatistics("plain", "cP", 150, 100, 10, 12, 5, 1),
        ],
        categories:
        [
            new CategoryStatistics("cX", 200, 100, 55, 10, 5, 290),
            new CategoryStatistics("cBuy", 300, 200, 10, 10, 100, 250),
            new CategoryStatistics("cP", 300, 200, 20, 10, 30, 280),
        ],
        transitions: [new CategoryTransition("cX", "cBuy", 50), new CategoryTransition("cP", "cBuy", 10)]);

    private static UserTrajectory Traj(params (string Item, string Category, EventType Type, long Dt)[] steps)
    {
        var list = steps.Select(s => new TrajectoryStep(s.Item, s.Category, s.Type, T0 + s.Dt)).ToArray();
        return new UserTrajectory("u", list.Count(s => s.Type == EventType.View), list.Count(s => s.Type == EventType.Cart),
            list.Count(s => s.Type == EventType.Purchase), 1, list, [.. list.Where(s => s.Type == EventType.Purchase).Select(s => s.Item)]);
    }

    private static FunctionalRole[] Roles(UserTrajectory t) => [.. new EmbeddedRoleAssigner(Stats()).Assign(t).Select(r => r.Role)];

    [Fact]
    public void CartAndPurchase_AreConverters()
    {
        var roles = new EmbeddedRoleAssigner(Stats()).Assign(Traj(("a", "cQ", EventType.Cart, 0), ("a", "cQ", EventType.Purchase, 60)));

        Assert.Equal([FunctionalRole.Converter, FunctionalRole.Converter], roles.Select(r => r.Role));
        Assert.Equal(1.0, roles[1].Confidence);
        Assert.True(roles[0].Confidence < roles[1].Confidence);
    }

    [Fact]
    public void Revisit_IsAnchor_ButAnImmediateRepeatIsNot()
    {
        Assert.Equal([FunctionalRole.Noise, FunctionalRole.Noise, FunctionalRole.Anchor],
            Roles(Traj(("a", "cQ", EventType.View, 0), ("b", "cR", EventType.View, 10), ("a", "cQ", EventType.View, 20))));
        Assert.Equal([FunctionalRole.Noise, FunctionalRole.Noise],
            Roles(Traj(("a", "cQ", EventType.View, 0), ("a", "cQ", EventType.View, 10))));
        Assert.Equal([FunctionalRole.Noise, FunctionalRole.Anchor],
            Roles(Traj(("a", "cQ", EventType.View, 0), ("a", "cQ", EventType.View, 7_200))));
    }

    [Fact]
    public void SameCategoryAlternativesInOneSession_AreComparisons()
    {
        var roles = Roles(Traj(("p1", "cQ", EventType.View, 0), ("p2", "cQ", EventType.View, 60), ("p3", "cQ", EventType.View, 10_000)));

        Assert.Equal([FunctionalRole.Comparison, FunctionalRole.Comparison, FunctionalRole.Noise], roles);
    }

    [Fact]
    public void HighUpliftFirstExposure_IsTrigger_WithOrWithoutLaterConversion()
    {
        var confirmed = new EmbeddedRoleAssigner(Stats()).Assign(Traj(("trig", "cT", EventType.View, 0), ("b", "cBuy", EventType.Purchase, 86_400)));
        var unconfirmed = new EmbeddedRoleAssigner(Stats()).Assign(Traj(("trig", "cT", EventType.View, 0)));

        Assert.Equal([FunctionalRole.Trigger, FunctionalRole.Converter], confirmed.Select(r => r.Role));
        Assert.Equal(FunctionalRole.Trigger, unconfirmed[0].Role);
        Assert.True(confirmed[0].Confidence > unconfirmed[0].Confidence);
        Assert.Contains("cBuy", confirmed[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MildUplift_IsTriggerOnlyWhenAnotherCategoryConvertsWithinHorizon()
    {
        Assert.Equal([FunctionalRole.Trigger, FunctionalRole.Converter],
            Roles(Traj(("mild", "cM", EventType.View, 0), ("b", "cZ", EventType.Cart, 3_600))));
        Assert.Equal([FunctionalRole.Noise], Roles(Traj(("mild", "cM", EventType.View, 0))));
        // Same-category conversion does not confirm a trigger; neither does one after H = 7 days.
        Assert.Equal([FunctionalRole.Noise, FunctionalRole.Converter],
            Roles(Traj(("mild", "cM", EventType.View, 0), ("m2", "cM", EventType.Purchase, 100_000))));
        Assert.Equal([FunctionalRole.Noise, FunctionalRole.Converter],
            Roles(Traj(("mild", "cM", EventType.View, 0), ("b", "cZ", EventType.Purchase, 8 * 86_400))));
        // A revisited trigger item is an Anchor (first exposures only can trigger).
        Assert.Equal([FunctionalRole.Trigger, FunctionalRole.Noise, FunctionalRole.Anchor],
            Roles(Traj(("trig", "cT", EventType.View, 0), ("q", "cQ", EventType.View, 10), ("trig", "cT", EventType.View, 20))));
    }

    [Fact]
    public void CategoryWithHighLiftTowardsLaterPurchase_IsComplement()
    {
        Assert.Equal([FunctionalRole.Complement, FunctionalRole.Converter],
            Roles(Traj(("x1", "cX", EventType.View, 0), ("b", "cBuy", EventType.Purchase, 3_600))));
        // cP → cBuy: (10 + 2)/(200 + 20)/0.1 ≈ 0.55: not a complement.
        Assert.Equal([FunctionalRole.Noise, FunctionalRole.Converter],
            Roles(Traj(("p9", "cP", EventType.View, 0), ("b", "cBuy", EventType.Purchase, 3_600))));
        // No later purchase: nothing to complement.
        Assert.Equal([FunctionalRole.Noise], Roles(Traj(("x1", "cX", EventType.View, 0))));
    }

    [Fact]
    public void Assign_IsDeterministic_AndCoversEveryPosition()
    {
        var t = Traj(("trig", "cT", EventType.View, 0), ("p1", "cP", EventType.View, 30), ("p2", "cP", EventType.View, 60),
            ("x1", "cX", EventType.View, 90), ("p1", "cP", EventType.View, 5_000), ("b", "cBuy", EventType.Purchase, 9_000), ("plain", "cP", EventType.View, 20_000));
        var a = new EmbeddedRoleAssigner(Stats()).Assign(t);
        var b = new EmbeddedRoleAssigner(Stats()).Assign(t);

        Assert.Equal(a, b);
        Assert.Equal(Enumerable.Range(0, t.Steps.Count), a.Select(r => r.Position));
        Assert.Equal([FunctionalRole.Trigger, FunctionalRole.Comparison, FunctionalRole.Comparison, FunctionalRole.Complement,
            FunctionalRole.Anchor, FunctionalRole.Converter, FunctionalRole.Noise], a.Select(r => r.Role));
        Assert.All(a, r => Assert.InRange(r.Confidence, 0, 1));
    }
}
