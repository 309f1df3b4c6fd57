using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;

namespace RoleGen.Core.Tests.Reasoning;

public class RoleGenFusionTests
{
    private static readonly double Rank1 = 1 / Math.Log2(3); // ≈ 0.630930
    private static readonly double Rank3 = 1 / Math.Log2(5); // ≈ 0.430677

    /// <summary>Carted k (cD), viewed s (cA), bought p1 (cD), live intent cL (last step v).</summary>
    private static UserTrajectory User() => ReasonerWorld.Traj("u",
        ("k", "cD", EventType.Cart, 0),
        ("s", "cA", EventType.View, 60),
        ("p1", "cD", EventType.Purchase, 90),
        ("v", "cL", EventType.View, 120));

    private static UserRecommendations Backbone(params (string Item, string Category, string Source)[] items) =>
        new("u", [.. items.Select((x, r) => new RecommendedItem(x.Item, x.Category, 0.9 - r * 0.1, x.Source))]);

    private static ConversionPath Path(string item, string category, FunctionalRole role, double delta) =>
        new(item, category, role, category, delta, 0.2 + delta, new FusionWeights().PriorOf(role), "why");

    private static UserReasoning Reasoning(params ConversionPath[] paths) =>
        new("u", ReasonerKinds.Embedded, 0.2, [], paths, "summary");

    [Fact]
    public void Fuse_ItemInBothLists_AddsPathScoreToDiscountedBackbone_AndMarksSource()
    {
        var fusion = new RoleGenFusion(new FusionWeights());
        var model = Backbone(("b0", "cX", "backbone"), ("b1", "cX", "backbone"), ("b2", "cX", "transition"), ("b3", "cX", "backbone"));
        // b2: 1/log2(4) = 0.5 backbone + Converter 1.0 + 0.25 · clamp(0.1/0.2) = 1.625.
        // r1: reasoned only, Trigger 0.3 + 0.25 · (0.1 / 0.2) = 0.425 (below b3's 0.430677).
        var reasoning = Reasoning(Path("b2", "cX", FunctionalRole.Converter, 0.1), Path("r1", "cR", FunctionalRole.Trigger, 0.1));

        var fused = fusion.Fuse(User(), model, reasoning, 10);

        Assert.Equal("u", fused.UserId);
        Assert.Equal(["b2", "b0", "b1", "b3", "r1"], fused.Items.Select(i => i.ItemId));
        Assert.Equal([1.625, 1.0, Math.Round(Rank1, 6), Math.Round(Rank3, 6), 0.425], fused.Items.Select(i => i.Score));
        Assert.Equal(["transition+reasoned", "backbone", "backbone", "backbone", "reasoned"], fused.Items.Select(i => i.Source));
        Assert.Equal("cR", fused.Items[4].CategoryId);
        Assert.Equal(FunctionalRole.Converter, fused.Items[0].Role);
        Assert.Equal(FunctionalRole.Trigger, fused.Items[4].Role);
    }

    [Fact]
    public void Fuse_BackboneSourceItemInBothLists_IsBackbonePlusReasoned()
    {
        var fusion = new RoleGenFusion(new FusionWeights());

        var fused = fusion.Fuse(User(), Backbone(("b0", "cX", "backbone")), Reasoning(Path("b0", "cX", FunctionalRole.Anchor, 0)), 10);

        var item = Assert.Single(fused.Items);
        Assert.Equal("backbone+reasoned", item.Source);
        Assert.Equal(1.8, item.Score); // 1/log2(2) + 0.8
        Assert.Equal(FunctionalRole.Anchor, item.Role);
    }

    [Fact]
    public void Fuse_WeightsScaleEachTerm()
    {
        var fusion = new RoleGenFusion(new FusionWeights { Backbone = 3, Role = 0.5, Uplift = 2 });

        var fused = fusion.Fuse(User(), Backbone(("b0", "cX", "backbone"), ("b1", "cX", "backbone")),
            Reasoning(Path("b1", "cX", FunctionalRole.Comparison, -0.05)), 10);

        // b1: 3 / log2(3) + 0.5 · 0.4 + 2 · (−0.05 / 0.2) = 1.892789 + 0.2 − 0.5.
        Assert.Equal(["b0", "b1"], fused.Items.Select(i => i.ItemId));
        Assert.Equal([3.0, Math.Round(3 * Rank1 + 0.2 - 0.5, 6)], fused.Items.Select(i => i.Score));
    }

    [Fact]
    public void Fuse_NeverReturnsPurchasedItems_FromEitherList()
    {
        var fusion = new RoleGenFusion(new FusionWeights(), ReasonerWorld.Stats());

        var fused = fusion.Fuse(User(), Backbone(("p1", "cD", "backbone"), ("b1", "cX", "backbone")),
            Reasoning(Path("p1", "cD", FunctionalRole.Converter, 0.5)), 10);

        var item = Assert.Single(fused.Items);
        Assert.Equal("b1", item.ItemId);
        Assert.Equal(Math.Round(Rank1, 6), item.Score); // keeps its backbone rank 1 though p1 is dropped
    }

    [Fact]
    public void Fuse_CutsToTopK_AfterFusing()
    {
        var fusion = new RoleGenFusion(new FusionWeights());
        var model = Backbone(("b0", "cX", "backbone"), ("b1", "cX", "backbone"), ("b2", "cX", "backbone"));

        var fused = fusion.Fuse(User(), model, Reasoning(Path("b2", "cX", FunctionalRole.Converter, 0), Path("r1", "cR", FunctionalRole.Anchor, 0)), 2);

        // b2 1.5, b0 1.0, r1 0.8, b1 0.63: top 2.
        Assert.Equal(["b2", "b0"], fused.Items.Select(i => i.ItemId));
        Assert.Empty(fusion.Fuse(User(), model, null, 0).Items);
    }

    [Fact]
    public void Fuse_Ties_BrokenByBackboneRankThenId()
    {
        var fusion = new RoleGenFusion(new FusionWeights());
        // "zz" at backbone rank 0 scores exactly 1; "ab" and "aa" are reasoned-only Converters with Δ 0 also scoring 1.
        var fused = fusion.Fuse(User(), Backbone(("zz", "cX", "backbone")),
            Reasoning(Path("ab", "cX", FunctionalRole.Converter, 0), Path("aa", "cX", FunctionalRole.Converter, 0)), 10);

        Assert.Equal(["zz", "aa", "ab"], fused.Items.Select(i => i.ItemId));
        Assert.All(fused.Items, i => Assert.Equal(1.0, i.Score));
    }

    [Fact]
    public void Fuse_DuplicateBackboneItem_KeepsItsFirstRank()
    {
        var fusion = new RoleGenFusion(new FusionWeights());

        var fused = fusion.Fuse(User(), Backbone(("b0", "cX", "backbone"), ("b0", "cX", "backbone"), ("b2", "cX", "backbone")), null, 10);

        Assert.Equal(["b0", "b2"], fused.Items.Select(i => i.ItemId));
        Assert.Equal([1.0, 0.5], fused.Items.Select(i => i.Score));
    }

    [Fact]
    public void Fuse_BackboneOnlyItems_GetRolesFromTrajectoryAndStatistics()
    {
        var fusion = new RoleGenFusion(new FusionWeights(), ReasonerWorld.Stats());
        var model = Backbone(
            ("k", "cD", "backbone"),   // carted → Converter
            ("s", "cA", "backbone"),   // seen → Anchor
            ("n1", "cL", "backbone"),  // live intent's category → Comparison
            ("c2", "cC", "backbone"),  // cD → cC lift ≈ 4.33 → Complement
            ("e1", "cE", "backbone"),  // cD → cE lift ≈ 1.83 → Complement
            ("t1", "cT1", "backbone"), // no lift towards cT1; item uplift ≈ 5.17 → Trigger
            ("dbest", "cD", "backbone"), // user's own category, uplift 1 → none
            ("z", "cZ", "backbone"));  // unknown → none

        var fused = fusion.Fuse(User(), model, null, 10);

        Assert.Equal(["k", "s", "n1", "c2", "e1", "t1", "dbest", "z"], fused.Items.Select(i => i.ItemId));
        Assert.Equal<FunctionalRole?>(
            [FunctionalRole.Converter, FunctionalRole.Anchor, FunctionalRole.Comparison, FunctionalRole.Complement,
                FunctionalRole.Complement, FunctionalRole.Trigger, null, null],
            fused.Items.Select(i => i.Role));
    }

    [Fact]
    public void Fuse_TriggerAndComplementThresholds_ComeFromTheReasonerOptions()
    {
        var strict = new ReasonerOptions { ComplementLift = 5, TriggerUplift = 6 };
        var fusion = new RoleGenFusion(new FusionWeights(), ReasonerWorld.Stats(), strict);

        var fused = fusion.Fuse(User(), Backbone(("c2", "cC", "backbone"), ("t1", "cT1", "backbone"), ("tdom", "cQ", "backbone")), null, 10);

        // c2: lift 4.33 < 5; t1: uplift 5.17 < 6; tdom: 6.83 ≥ 6 (as an unseen item of a category the user never saw).
        Assert.Equal<FunctionalRole?>([null, null, FunctionalRole.Trigger], fused.Items.Select(i => i.Role));
    }

    [Fact]
    public void Fuse_PathRole_WinsOverTheDerivedRole()
    {
        var fusion = new RoleGenFusion(new FusionWeights(), ReasonerWorld.Stats());

        // k was carted (derived role Converter), but the reasoned path shows it as an Anchor.
        var fused = fusion.Fuse(User(), Backbone(("k", "cD", "backbone")), Reasoning(Path("k", "cD", FunctionalRole.Anchor, 0)), 10);

        Assert.Equal(FunctionalRole.Anchor, Assert.Single(fused.Items).Role);
    }

    [Fact]
    public void Fuse_WithoutStatistics_BackboneOnlyItemsHaveNoRole_ReasonedItemsKeepTheirs()
    {
        var fusion = new RoleGenFusion(new FusionWeights());

        var fused = fusion.Fuse(User(), Backbone(("k", "cD", "backbone"), ("s", "cA", "backbone")),
            Reasoning(Path("r1", "cR", FunctionalRole.Complement, 0)), 10);

        Assert.Equal(["k", "s", "r1"], fused.Items.Select(i => i.ItemId));
        Assert.Equal<FunctionalRole?>([null, null, FunctionalRole.Complement], fused.Items.Select(i => i.Role));
    }

    [Fact]
    public void Fuse_BackboneItemRoleFromTheModel_IsKept()
    {
        var fusion = new RoleGenFusion(new FusionWeights(), ReasonerWorld.Stats());
        var model = new UserRecommendations("u", [new RecommendedItem("z", "cZ", 0.9, "backbone") { Role = FunctionalRole.Trigger }]);

        Assert.Equal(FunctionalRole.Trigger, Assert.Single(fusion.Fuse(User(), model, null, 10).Items).Role);
    }
}
