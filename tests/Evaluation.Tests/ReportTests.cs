using RoleGen.Core.Reporting;
using RoleGen.Evaluation;

namespace RoleGen.Evaluation.Tests;

public sealed class ReportTests
{
    private static HashSet<string> Set(params string[] items) => new(items, StringComparer.Ordinal);

    private static readonly Dictionary<string, string> Categories = new(StringComparer.Ordinal)
    {
        ["a"] = "c1", ["b"] = "c1", ["c"] = "c2", ["d"] = "c3",
    };

    [Fact]
    public void Diversity_CountsCategoriesAndDifferentPairs()
    {
        // a, b (c1), c (c2), d (c3): 3 categories; 6 pairs, only {a, b} share a category.
        Assert.Equal(3, RankingMath.DistinctCategories(["a", "b", "c", "d"], Categories, 10));
        Assert.Equal(5.0 / 6, RankingMath.IntraListDiversity(["a", "b", "c", "d"], Categories, 10), 12);
        Assert.Equal(0.0, RankingMath.IntraListDiversity(["a", "b"], Categories, 10), 12);
        Assert.Equal(1.0, RankingMath.IntraListDiversity(["a", "c"], Categories, 10), 12);
        // Fewer than two items: no pairs, ILD 0.
        Assert.Equal(0.0, RankingMath.IntraListDiversity(["a"], Categories, 10), 12);
        Assert.Equal(0.0, RankingMath.IntraListDiversity([], Categories, 10), 12);
        // The cut-off applies.
        Assert.Equal(1, RankingMath.DistinctCategories(["a", "b", "c"], Categories, 2));
        // Unknown items share one "unknown" category.
        Assert.Equal(0.0, RankingMath.IntraListDiversity(["x", "y"], Categories, 10), 12);
    }

    [Fact]
    public void Accumulator_KeepsPerUserVectorsAndCoverage()
    {
        var acc = new MetricAccumulator([1], [10], Categories);
        acc.Add(["a", "b"], Set("a"), ["all", "dormant"], "u1");
        acc.Add(["c", "d"], Set("x"), ["all"], "u2");
        var all = acc.Results()[0];
        Assert.Equal([1.0, 0.0], all.Values("Recall@1"));
        Assert.Equal([1.0, 2.0], all.Values(MetricNames.Categories));
        Assert.Equal([0.0, 1.0], all.Values(MetricNames.Ild));
        Assert.Equal(["u1", "u2"], all.UserIds);
        Assert.Equal(1.5, all.CategoriesAt10!.Value, 12);
        Assert.Equal(0.5, all.IldAt10!.Value, 12);
        Assert.Equal(3, all.ListCategories);
        Assert.Equal(1.0, all.CategoryCoverage!.Value, 12); // c1, c2, c3 of 3 train categories
        var dormant = acc.Results()[1];
        Assert.Equal(1.0 / 3, dormant.CategoryCoverage!.Value, 12);
        Assert.Throws<KeyNotFoundException>(() => all.Values("Recall@99"));
    }

    [Fact]
    public void Accumulator_WithoutCategories_ReportsDiversityAsNull()
    {
        var acc = new MetricAccumulator([1], [10], new Dictionary<string, string>());
        acc.Add(["a"], Set("a"), ["all"], "u1");
        var c = acc.Results()[0].WithIntervals(100);
        Assert.Null(c.CategoriesAt10);
        Assert.Null(c.IldAt10);
        Assert.Null(c.CategoryCoverage);
        Assert.Equal(new ConfidenceInterval(1, 1), c.RecallCi!["@1"]);
    }

    private static EvalReport Report(string modelName = "popularity")
    {
        ModelResult Model(string name, double[] recall1, string[] lists)
        {
            var acc = new MetricAccumulator([1, 5], [10], Categories);
            for (var i = 0; i < recall1.Length; i++)
            {
                acc.Add(recall1[i] > 0 ? ["a", lists[i]] : [lists[i], "a"], Set("a"), ["all"], $"u{i}");
            }
            return new ModelResult(name, $"{name} <desc>", 1.5, 1, 0.5, [.. acc.Results().Select(c => c.WithIntervals(200))]);
        }
        return new EvalReport("rolegen-eval/2", "taobao", "/data/x.csv", "temporal", "purchased", [1, 5], [10],
            new Dictionary<string, long> { ["users"] = 4 },
            [Model(modelName, [0, 1, 0, 0], ["b", "c", "d", "b"]), Model("backbone", [1, 1, 0, 1], ["c", "c", "d", "b"])],
            new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero)) { Resamples = 200 };
    }

    [Fact]
    public void Compare_PairsTheSameUsers()
    {
        var report = Report();
        var c = report.Compare("backbone", "popularity", "all", "Recall@1", 1.062);
        Assert.Equal(4, c.Users);
        Assert.Equal(0.75, c.MeanA, 12);
        Assert.Equal(0.25, c.MeanB, 12);
        Assert.Equal(3.0, c.Ratio!.Value, 12);
        Assert.Equal(0.5, c.Diff, 12);
        Assert.Throws<ArgumentException>(() => report.Compare("rolegen", "backbone", "all", "Recall@1"));
        Assert.Throws<ArgumentException>(() => report.Compare("backbone", "popularity", "dormant", "Recall@1"));
        var with = report.WithComparisons([new("backbone", "popularity", "all", "Recall@1", 1.062), new("rolegen", "backbone", "all", "Recall@1")]);
        Assert.Single(with.Comparisons); // rolegen was not evaluated: skipped
    }

    [Fact]
    public void Markdown_HasCiColumnsDiversityAndComparisons()
    {
        var report = Report().WithComparisons([new("backbone", "popularity", "all", "Recall@1", 1.062)]);
        var md = report.ToMarkdown();
        Assert.Contains("| model | cohort | users | Recall@1 | Recall@5 | NDCG@10 | categories/top-10 | ILD@10 | category coverage | wall s |", md, StringComparison.Ordinal);
        Assert.Contains("| popularity | all | 4 | 0.2500 [", md, StringComparison.Ordinal);
        Assert.Contains("| backbone | all | 4 | 0.7500 [", md, StringComparison.Ordinal);
        Assert.Contains("| backbone | popularity | all | Recall@1 | 4 | 0.7500 | 0.2500 | 3.000 [", md, StringComparison.Ordinal);
        Assert.Contains("(target 1.062)", md, StringComparison.Ordinal);
        Assert.DoesNotContain(report.ToMarkdown("dormant").Split('\n'), l => l.StartsWith("| popularity", StringComparison.Ordinal));
    }

    [Fact]
    public void Html_IsSelfContained_HasSvgChartsWithCiAndEscapesText()
    {
        var html = Report("pop<script>alert(1)</script>&").ToHtml(chartCohort: "all");
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.Contains("pop&lt;script&gt;alert(1)&lt;/script&gt;&amp;", html, StringComparison.Ordinal);
        Assert.Contains("&lt;desc&gt;", html, StringComparison.Ordinal);
        Assert.Equal(2, html.Split("<svg ").Length - 1); // Recall@K and categories per list
        Assert.Contains("class=\"ci\"", html, StringComparison.Ordinal);
        Assert.Contains("0.7500", html, StringComparison.Ordinal);
        Assert.Contains("Recall@5", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href=", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_WithoutCategories_SaysNotAvailable()
    {
        var acc = new MetricAccumulator([1], [10]);
        acc.Add(["a"], Set("a"), ["all"], "u1");
        var report = new EvalReport("f", "beauty", "d", "s", "history", [1], [10], new Dictionary<string, long>(),
            [new ModelResult("popularity", "p", 0, 0, 0, [.. acc.Results().Select(c => c.WithIntervals(10))])], DateTimeOffset.UnixEpoch);
        var html = report.ToHtml();
        Assert.Contains("n/a, the dataset has no item categories", html, StringComparison.Ordinal);
        Assert.Equal(1, html.Split("<svg ").Length - 1);
        var md = report.ToMarkdown();
        Assert.Contains("| popularity | all | 1 | 1.0000 [1.0000, 1.0000] | 1.0000 [1.0000, 1.0000] | 0.0 |", md, StringComparison.Ordinal);
        Assert.Contains("Diversity (categories per top-10 list, ILD@10, category coverage): n/a", md, StringComparison.Ordinal);
        Assert.DoesNotContain("ILD@10 |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void NiceScale_RoundsUp()
    {
        void Check(double max, double expectedMax, double expectedStep)
        {
            var (m, s) = HtmlReport.NiceScale(max);
            Assert.Equal(expectedMax, m, 9);
            Assert.Equal(expectedStep, s, 9);
        }
        Check(0.187, 0.2, 0.05);
        Check(0, 1, 0.2);
        Check(7.3, 8, 2);
    }
}
