using RoleGen.Evaluation;
using RoleGen.Core.Events;

namespace RoleGen.Evaluation.Tests;

public sealed class RankingMathTests
{
    private static HashSet<string> Set(params string[] items) => new(items, StringComparer.Ordinal);

    [Theory]
    [InlineData(0, 1, 1.0, 1.0)] // hit at rank 1
    [InlineData(2, 5, 1.0, 0.5)] // hit at rank 3: 1/log2(4)
    [InlineData(2, 2, 0.0, 0.0)] // outside the cut-off
    public void OneRelevantItem(int position, int k, double recall, double ndcg)
    {
        var ranked = new[] { "a", "b", "c", "d", "e" };
        var relevant = Set(ranked[position]);
        Assert.Equal(recall, RankingMath.Recall(ranked, relevant, k), 12);
        Assert.Equal(ndcg, RankingMath.Ndcg(ranked, relevant, k), 12);
    }

    [Fact]
    public void SeveralRelevantItems_IdealDcgUsesMinOfKAndRelevantCount()
    {
        string[] ranked = ["a", "x", "b", "y"];
        var relevant = Set("a", "b", "c");
        Assert.Equal(2.0 / 3, RankingMath.Recall(ranked, relevant, 3), 12);
        var dcg = 1.0 + 1.0 / Math.Log2(4);
        var idcg = 1.0 + 1.0 / Math.Log2(3) + 1.0 / Math.Log2(4);
        Assert.Equal(dcg / idcg, RankingMath.Ndcg(ranked, relevant, 3), 12);
        // K = 1: one relevant item fits, so a hit at rank 1 is perfect NDCG but recall 1/3.
        Assert.Equal(1.0, RankingMath.Ndcg(ranked, relevant, 1), 12);
        Assert.Equal(1.0 / 3, RankingMath.Recall(ranked, relevant, 1), 12);
        // K = 2: IDCG = 1 + 1/log2(3); only rank 1 hits.
        Assert.Equal(1.0 / (1.0 + 1.0 / Math.Log2(3)), RankingMath.Ndcg(ranked, relevant, 2), 12);
    }

    [Fact]
    public void DuplicatesCountOnce_AndEmptyRelevantIsZero()
    {
        string[] ranked = ["a", "a", "b"];
        Assert.Equal(0.5, RankingMath.Recall(ranked, Set("a", "c"), 3), 12);
        Assert.Equal(1.0 / (1.0 + 1.0 / Math.Log2(3)), RankingMath.Ndcg(ranked, Set("a", "c"), 3), 12);
        Assert.Equal(0.0, RankingMath.Recall(ranked, Set(), 3));
        Assert.Equal(0.0, RankingMath.Ndcg(ranked, Set(), 3));
        Assert.Equal(0.0, RankingMath.Recall([], Set("a"), 10));
    }

    [Fact]
    public void WithoutExcluded_DropsHistoryItemsAndKeepsOrder()
    {
        var ranked = RankingMath.WithoutExcluded(["h1", "a", "h2", "b", "c"], Set("h1", "h2"), 2);
        Assert.Equal(["a", "b"], ranked);
        // An excluded target can never be hit.
        Assert.Equal(0.0, RankingMath.Recall(RankingMath.WithoutExcluded(["h1", "a"], Set("h1"), 10), Set("h1"), 10));
    }

    [Fact]
    public void Accumulator_AveragesPerCohort()
    {
        var acc = new MetricAccumulator([1, 2], [2]);
        acc.AddCohort("all");
        acc.AddCohort("dormant");
        acc.Add(["a", "b"], Set("a"), ["all", "dormant"]);
        acc.Add(["a", "b"], Set("b"), ["all"]);
        var results = acc.Results();
        Assert.Equal(2, results[0].Users);
        Assert.Equal(0.5, results[0].Recall["@1"], 12);
        Assert.Equal(1.0, results[0].Recall["@2"], 12);
        Assert.Equal((1.0 + 1.0 / Math.Log2(3)) / 2, results[0].Ndcg["@2"], 12);
        Assert.Equal(1, results[1].Users);
        Assert.Equal(1.0, results[1].Recall["@1"], 12);
    }

    [Fact]
    public void Popularity_TiesBreakByItemId_AndHistoryIsExcluded()
    {
        BehaviorEvent E(string user, string item) => new(user, item, "0", EventType.View, 1);
        var pop = new PopularityRecommender([E("u1", "b"), E("u2", "b"), E("u1", "a"), E("u3", "a"), E("u1", "c")]);
        var user = new EvalUser("u9", [new("a", "0", EventType.View, 1)], new HashSet<string>(["c"], StringComparer.Ordinal), false);
        var all = pop.Recommend([user.ToTrajectory(ExclusionMode.Purchased)], 3)[0].Items.Select(i => i.ItemId);
        Assert.Equal(["a", "b", "c"], all); // a viewed, not purchased: kept under "purchased" exclusion
        var excluded = pop.Recommend([user.ToTrajectory(ExclusionMode.History)], 3)[0].Items.Select(i => i.ItemId);
        Assert.Equal(["b", "c"], excluded);
        Assert.Equal(0.5, RankingMath.Recall(["b", "c"], user.Targets, 2) / 2, 12);
    }
}
