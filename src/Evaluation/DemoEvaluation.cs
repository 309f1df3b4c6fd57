using System.Diagnostics;
using System.Globalization;
using System.Text;
using RoleGen.Core.Demo;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Reporting;

namespace RoleGen.Evaluation;

/// <summary>The result of <c>rolegen eval --dataset demo</c>: does the reasoner recover the demo generator's ground-truth
/// trigger items? Rankings (smoothed uplift vs popularity vs chance) and the Trigger role's step-level precision/recall.</summary>
public sealed record DemoEvalReport(
    string Format,
    string Dataset,
    int Users,
    int Seed,
    long Events,
    int Items,
    TriggerRecoveryResult Recovery,
    double Seconds,
    DateTimeOffset CreatedUtc)
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    private static readonly string[] RankingHeader = ["ranking", "K", "hits", "precision@K", "recall@K", "chance precision", "chance recall"];

    private IEnumerable<IReadOnlyList<string>> RankingRows() =>
        Rows("smoothed uplift (reasoner)", Recovery.Uplift).Concat(Rows("popularity (exposed users)", Recovery.Popularity));

    private static IEnumerable<IReadOnlyList<string>> Rows(string name, IReadOnlyList<TriggerRankingAtK> rows) => rows.Select(r => (IReadOnlyList<string>)
    [
        name, r.K.ToString(Ci), r.Hits.ToString(Ci), r.Precision.ToString("F3", Ci), r.Recall.ToString("F3", Ci),
        r.ChancePrecision.ToString("F3", Ci), r.ChanceRecall.ToString("F3", Ci),
    ]);

    private static readonly string[] StepHeader = ["Trigger role (step level)", "value"];

    private IEnumerable<IReadOnlyList<string>> StepRows()
    {
        var s = Recovery.Steps;
        return
        [
            ["precision (labelled Trigger that are first exposures to true triggers)", Opt(s.Precision)],
            ["recall (first exposures to true triggers labelled Trigger)", Opt(s.Recall)],
            ["true positives", s.TruePositives.ToString(Ci)],
            ["false positives", s.FalsePositives.ToString(Ci)],
            ["false negatives", s.FalseNegatives.ToString(Ci)],
            ["Trigger label rate on views of true triggers", s.TriggerViewLabelRate.ToString("F4", Ci)],
            ["Trigger label rate on other views", s.OtherViewLabelRate.ToString("F4", Ci)],
            ["roles assigned", string.Join(", ", s.RoleCounts.Select(kv => string.Create(Ci, $"{kv.Key} {kv.Value}")))],
        ];
    }

    private static string Opt(double? v) => v is { } x ? x.ToString("F3", Ci) : "n/a";

    private string Summary => string.Create(Ci,
        $"Demo world: {Users} users, seed {Seed}, {Events} events, {Items} items with exposure; ground truth: {Recovery.Triggers} trigger items ({Recovery.ExposedTriggers} ever exposed). Built and scored in {Seconds:F1} s.");

    private const string Definitions = "Rankings: items ordered by the behaviour-graph statistics' smoothed trigger uplift, against items ordered by exposed users; " +
                                       "chance = a uniformly random order of the same items. A true trigger step is a user's first exposure to a ground-truth trigger item; " +
                                       "the Trigger role is the EmbeddedRoleAssigner's.";

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine(Summary);
        sb.AppendLine();
        EvalReport.AppendTable(sb, RankingHeader, RankingRows(), textColumns: 1);
        sb.AppendLine();
        EvalReport.AppendTable(sb, StepHeader, StepRows(), textColumns: 1);
        sb.AppendLine();
        sb.AppendLine(Definitions);
        return sb.ToString();
    }

    /// <summary>Self-contained HTML: the tables and a grouped bar chart of precision@K per ranking with chance.</summary>
    public string ToHtml()
    {
        var groups = Recovery.Uplift.Select(r => string.Create(Ci, $"precision@{r.K}")).ToArray();
        BarSeries[] series =
        [
            new("smoothed uplift", Recovery.Uplift.Select(r => r.Precision).ToArray()),
            new("popularity", Recovery.Popularity.Select(r => r.Precision).ToArray()),
            new("chance", Recovery.Uplift.Select(r => r.ChancePrecision).ToArray()),
        ];
        var recall = new BarSeries[]
        {
            new("smoothed uplift", Recovery.Uplift.Select(r => r.Recall).ToArray()),
            new("popularity", Recovery.Popularity.Select(r => r.Recall).ToArray()),
            new("chance", Recovery.Uplift.Select(r => r.ChanceRecall).ToArray()),
        };
        return HtmlReport.Page("rolegen eval: demo trigger recovery", Sections(groups, series, recall));
    }

    /// <summary>The trigger-recovery tables and charts as HTML to append to another report page.</summary>
    public string ToHtmlSection()
    {
        var groups = Recovery.Uplift.Select(r => string.Create(Ci, $"precision@{r.K}")).ToArray();
        BarSeries[] series =
        [
            new("smoothed uplift", Recovery.Uplift.Select(r => r.Precision).ToArray()),
            new("popularity", Recovery.Popularity.Select(r => r.Precision).ToArray()),
            new("chance", Recovery.Uplift.Select(r => r.ChancePrecision).ToArray()),
        ];
        var recall = new BarSeries[]
        {
            new("smoothed uplift", Recovery.Uplift.Select(r => r.Recall).ToArray()),
            new("popularity", Recovery.Popularity.Select(r => r.Recall).ToArray()),
            new("chance", Recovery.Uplift.Select(r => r.ChanceRecall).ToArray()),
        };
        return HtmlReport.Heading("Trigger recovery (demo ground truth)") + string.Concat(Sections(groups, series, recall));
    }

    private IEnumerable<string> Sections(string[] groups, BarSeries[] series, BarSeries[] recall) =>
        [
            HtmlReport.Paragraph(Summary, "meta"),
            HtmlReport.Heading("Ranking the ground-truth trigger items"),
            HtmlReport.Table(RankingHeader, RankingRows()),
            HtmlReport.GroupedBarChart("Precision@K of ground-truth triggers", groups, series, "precision"),
            HtmlReport.GroupedBarChart("Recall@K of ground-truth triggers", Recovery.Uplift.Select(r => string.Create(Ci, $"recall@{r.K}")).ToArray(), recall, "recall"),
            HtmlReport.Heading("Trigger role per step"),
            HtmlReport.Table(StepHeader, StepRows()),
            HtmlReport.Paragraph(Definitions),
        ];
}

/// <summary>Runs the demo trigger recovery through Core's <see cref="TriggerRecovery"/> (the same numbers as the held-out
/// recovery test).</summary>
public static class DemoEvaluation
{
    public static async Task<DemoEvalReport> RunAsync(int users, int seed, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var sample = await TriggerRecovery.GenerateAsync(new DemoWorldOptions { Users = users, Seed = seed }, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        var result = TriggerRecovery.Evaluate(sample);
        return new DemoEvalReport("rolegen-eval-demo/1", "demo", users, seed, sample.Statistics.Events, result.RankedItems, result,
            watch.Elapsed.TotalSeconds, DateTimeOffset.UtcNow);
    }
}
