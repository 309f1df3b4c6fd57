using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RoleGen.Core.Reporting;

namespace RoleGen.Evaluation;

/// <summary>A comparison to compute: is <paramref name="ModelA"/> better than <paramref name="ModelB"/> on
/// <paramref name="Metric"/> (a <see cref="MetricNames"/> name, e.g. "Recall@1") in <paramref name="Cohort"/>, and how
/// sure are we that it reaches <paramref name="Target"/> × B.</summary>
public sealed record ComparisonRequest(string ModelA, string ModelB, string Cohort, string Metric, double Target = 1.0);

/// <summary>A paired-bootstrap comparison of two models on one metric and cohort (see <see cref="PairedBootstrapResult"/>).</summary>
public sealed record ModelComparison(
    string ModelA,
    string ModelB,
    string Cohort,
    string Metric,
    int Users,
    double MeanA,
    double MeanB,
    double? Ratio,
    ConfidenceInterval? RatioCi,
    double Diff,
    ConfidenceInterval DiffCi,
    double Target,
    double? ShareAtLeastTarget,
    int Resamples,
    string? Note);

/// <summary>The result of <c>rolegen eval</c> on beauty/taobao: every model × cohort with means, bootstrap CIs and
/// diversity, plus paired comparisons. Written as JSON (all cohorts), markdown and HTML.</summary>
public sealed record EvalReport(
    string Format,
    string Dataset,
    string Data,
    string Split,
    string Exclusion,
    IReadOnlyList<int> RecallKs,
    IReadOnlyList<int> NdcgKs,
    IReadOnlyDictionary<string, long> Stats,
    IReadOnlyList<ModelResult> Models,
    DateTimeOffset CreatedUtc)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>Bootstrap resamples behind every CI and comparison (B).</summary>
    public int Resamples { get; init; } = Bootstrap.DefaultResamples;

    /// <summary>Paired comparisons computed so far (<see cref="WithComparisons"/>).</summary>
    public IReadOnlyList<ModelComparison> Comparisons { get; init; } = [];

    /// <summary>What the reader, the split and the models say about this evaluation (quarantined rows, cohorts without
    /// users and why, models that could not be evaluated, defaults used for lack of a validation split).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The metrics every model is compared on with the strongest other model.</summary>
    public static readonly IReadOnlyList<string> HeadlineMetrics = [MetricNames.Recall(1), MetricNames.Recall(10), MetricNames.Ndcg(10)];

    /// <summary>The strongest model other than <paramref name="model"/> on <paramref name="metric"/> in <paramref name="cohort"/>
    /// (highest mean; ties: the earlier model in the report), or null when there is none. <paramref name="baselinesOnly"/>
    /// leaves RoleGen out of the candidates.</summary>
    public string? StrongestOther(string model, string cohort, string metric, bool baselinesOnly = false)
    {
        var best = Models
            .Where(m => m.Model != model && (!baselinesOnly || m.Model != "rolegen"))
            .Select((m, i) => (m.Model, Index: i, Cohort: m.Cohorts.FirstOrDefault(c => c.Cohort == cohort)))
            .Where(x => x.Cohort is not null)
            .OrderByDescending(x => x.Cohort!.Values(metric).DefaultIfEmpty(0).Average())
            .ThenBy(x => x.Index)
            .FirstOrDefault();
        return best.Cohort is null ? null : best.Model;
    }

    /// <summary>Every model against the strongest other model, per cohort and headline metric (RoleGen's Recall@1 with
    /// the paper's +6.2% as the target, the others "A beats B").</summary>
    public IEnumerable<ComparisonRequest> StrongestComparisons()
    {
        foreach (var cohort in Models.SelectMany(m => m.Cohorts).Select(c => c.Cohort).Distinct(StringComparer.Ordinal))
        {
            foreach (var metric in HeadlineMetrics)
            {
                foreach (var m in Models.Where(m => m.Cohorts.Any(c => c.Cohort == cohort)))
                {
                    if (StrongestOther(m.Model, cohort, metric) is { } other)
                    {
                        var target = m.Model == "rolegen" && metric == MetricNames.Recall(1) ? Evaluator.RoleGenRecallAt1Target : 1.0;
                        yield return new ComparisonRequest(m.Model, other, cohort, metric, target);
                    }
                }
            }
        }
    }

    /// <summary>The verdict of a comparison: better / worse when the paired 95% CI of the difference excludes 0, else not
    /// distinguishable.</summary>
    public static string Verdict(ModelComparison c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return c.DiffCi.Lower > 0 ? "better" : c.DiffCi.Upper < 0 ? "worse" : "not distinguishable";
    }

    /// <summary>The headline: per cohort, RoleGen against the strongest baseline (the best non-RoleGen model on each
    /// metric) — ratio with its paired CI and a verdict. Empty when RoleGen was not evaluated.</summary>
    public IReadOnlyList<string> Headline()
    {
        var lines = new List<string>();
        var rolegen = Models.FirstOrDefault(m => m.Model == "rolegen");
        if (rolegen is null)
        {
            return lines;
        }
        foreach (var cohort in rolegen.Cohorts)
        {
            var parts = new List<string>();
            foreach (var metric in HeadlineMetrics)
            {
                var other = StrongestOther("rolegen", cohort.Cohort, metric, baselinesOnly: true);
                if (other is null)
                {
                    continue;
                }
                var c = Comparisons.FirstOrDefault(x => x.ModelA == "rolegen" && x.ModelB == other && x.Cohort == cohort.Cohort && x.Metric == metric)
                        ?? Compare("rolegen", other, cohort.Cohort, metric, metric == MetricNames.Recall(1) ? Evaluator.RoleGenRecallAt1Target : 1.0);
                var ratio = c.Ratio is { } r ? string.Create(Ci, $"×{r:F2} {c.RatioCi?.ToString("F2")}") : "ratio n/a";
                parts.Add(string.Create(Ci, $"{metric} {c.MeanA:F4} vs {other} {c.MeanB:F4} ({ratio}, {Verdict(c)})"));
            }
            // Interest collapse against the strongest baseline (by Recall@10): categories per list, ILD@10, coverage.
            if (cohort.CategoriesAt10 is not null && StrongestOther("rolegen", cohort.Cohort, MetricNames.Recall(10), baselinesOnly: true) is { } reference)
            {
                var other = Model(reference).Cohorts.First(c => c.Cohort == cohort.Cohort);
                var ild = Comparisons.FirstOrDefault(x => x.ModelA == "rolegen" && x.ModelB == reference && x.Cohort == cohort.Cohort && x.Metric == MetricNames.Ild)
                          ?? Compare("rolegen", reference, cohort.Cohort, MetricNames.Ild);
                parts.Add(string.Create(Ci,
                    $"diversity vs {reference}: categories/top-10 {cohort.CategoriesAt10:F2} vs {other.CategoriesAt10:F2}, ILD@10 {ild.MeanA:F3} vs {ild.MeanB:F3} ({Verdict(ild)}), " +
                    $"category coverage {cohort.CategoryCoverage:F3} vs {other.CategoryCoverage:F3}"));
            }
            if (parts.Count > 0)
            {
                lines.Add(string.Create(Ci, $"RoleGen vs the strongest baseline, cohort {cohort.Cohort} ({cohort.Users} users): {string.Join("; ", parts)}."));
            }
        }
        return lines;
    }

    /// <summary>The model result called <paramref name="model"/>, or a clear error listing the evaluated ones.</summary>
    public ModelResult Model(string model) => Models.FirstOrDefault(m => m.Model == model)
        ?? throw new ArgumentException($"model '{model}' was not evaluated (models: {string.Join(", ", Models.Select(m => m.Model))}).", nameof(model));

    /// <summary>Paired bootstrap of model <paramref name="a"/> against <paramref name="b"/> over the users of
    /// <paramref name="cohort"/>, from the per-user vectors kept by <see cref="Evaluator.Score"/>. Throws when a model,
    /// cohort or metric is missing, or when the two models' cohorts do not list the same users in the same order.</summary>
    public ModelComparison Compare(string a, string b, string cohort, string metric, double target = 1.0, int? resamples = null, int seed = Bootstrap.DefaultSeed)
    {
        var ca = CohortOf(Model(a), cohort);
        var cb = CohortOf(Model(b), cohort);
        if (!ca.UserIds.SequenceEqual(cb.UserIds, StringComparer.Ordinal))
        {
            throw new InvalidOperationException($"{a} and {b} were scored on different users in cohort '{cohort}': a paired comparison needs the same users.");
        }
        var r = Bootstrap.Paired(ca.Values(metric), cb.Values(metric), target, resamples ?? Resamples, seed);
        return new ModelComparison(a, b, cohort, metric, r.Users, r.MeanA, r.MeanB, r.Ratio, r.RatioCi, r.Diff, r.DiffCi, r.Target,
            r.ShareAtLeastTarget, r.Resamples, r.Note);
    }

    /// <summary>This report with the comparisons of <paramref name="requests"/> appended; a request naming a model or cohort
    /// that this report does not have is skipped (so one default list serves every dataset and model set).</summary>
    public EvalReport WithComparisons(IEnumerable<ComparisonRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var added = requests
            .Where(q => Models.Any(m => m.Model == q.ModelA) && Models.Any(m => m.Model == q.ModelB)
                        && Models.First(m => m.Model == q.ModelA).Cohorts.Any(c => c.Cohort == q.Cohort))
            .Select(q => Compare(q.ModelA, q.ModelB, q.Cohort, q.Metric, q.Target))
            .ToArray();
        return this with { Comparisons = [.. Comparisons, .. added] };
    }

    private static CohortMetrics CohortOf(ModelResult model, string cohort) => model.Cohorts.FirstOrDefault(c => c.Cohort == cohort)
        ?? throw new ArgumentException($"model '{model.Model}' has no cohort '{cohort}' (cohorts: {string.Join(", ", model.Cohorts.Select(c => c.Cohort))}).", nameof(cohort));

    /// <summary>"0.0123 [0.0080, 0.0170]" (the CI omitted when not computed).</summary>
    public static string WithCi(double value, ConfidenceInterval? ci) =>
        ci is null ? value.ToString("F4", Ci) : string.Create(Ci, $"{value:F4} {ci.ToString("F4")}");

    private static string Optional(double? value, ConfidenceInterval? ci, string format = "F4") =>
        value is { } v ? (ci is null ? v.ToString(format, Ci) : string.Create(Ci, $"{v.ToString(format, Ci)} {ci.ToString(format)}")) : "n/a";

    /// <summary>Whether diversity was measured (the dataset has item categories). Without categories the diversity columns
    /// are left out of the tables and a note says they are n/a (a 0 would read as total interest collapse).</summary>
    [JsonIgnore]
    public bool HasCategories => Models.Any(m => m.Cohorts.Any(c => c.CategoriesAt10 is not null));

    private const string NoCategories = "Diversity (categories per top-10 list, ILD@10, category coverage): n/a, the dataset has no item categories.";

    private IReadOnlyList<string> MetricHeader() =>
    [
        "model", "cohort", "users",
        .. RecallKs.Select(MetricNames.Recall),
        .. NdcgKs.Select(MetricNames.Ndcg),
        .. HasCategories ? new[] { "categories/top-10", "ILD@10", "category coverage" } : [],
        "wall s",
    ];

    private IEnumerable<IReadOnlyList<string>> MetricRows(string? cohort) =>
        from m in Models
        from c in m.Cohorts
        where cohort is null || c.Cohort == cohort
        select (IReadOnlyList<string>)
        [
            m.Model, c.Cohort, c.Users.ToString(Ci),
            .. RecallKs.Select(k => WithCi(c.Recall[$"@{k}"], c.RecallCi?.GetValueOrDefault($"@{k}"))),
            .. NdcgKs.Select(k => WithCi(c.Ndcg[$"@{k}"], c.NdcgCi?.GetValueOrDefault($"@{k}"))),
            .. HasCategories
                ? new[]
                {
                    Optional(c.CategoriesAt10, c.CategoriesAt10Ci, "F2"),
                    Optional(c.IldAt10, c.IldAt10Ci, "F3"),
                    c.CategoryCoverage is { } cov ? string.Create(Ci, $"{cov:F3} ({c.ListCategories} categories)") : "n/a",
                }
                : [],
            m.WallSeconds.ToString("F1", Ci),
        ];

    private static readonly string[] ComparisonHeader =
        ["A", "B", "cohort", "metric", "users", "mean A", "mean B", "A/B [95% CI]", "A−B [95% CI]", "P(A/B ≥ target)", "verdict", "note"];

    private IEnumerable<IReadOnlyList<string>> ComparisonRows(string? cohort) =>
        Comparisons.Where(c => cohort is null || c.Cohort == cohort).Select(c => (IReadOnlyList<string>)
        [
            c.ModelA, c.ModelB, c.Cohort, c.Metric, c.Users.ToString(Ci), c.MeanA.ToString("F4", Ci), c.MeanB.ToString("F4", Ci),
            c.Ratio is { } r ? string.Create(Ci, $"{r:F3} {c.RatioCi?.ToString("F3")}") : "n/a",
            string.Create(Ci, $"{c.Diff:F4} {c.DiffCi.ToString("F4")}"),
            c.ShareAtLeastTarget is { } s ? string.Create(Ci, $"{s:F3} (target {c.Target:F3})") : "n/a",
            Verdict(c),
            c.Note ?? "",
        ]);

    /// <summary>Markdown: the metrics table (mean [95% CI] per cell; rows of <paramref name="cohort"/> only when given)
    /// and the comparisons.</summary>
    public string ToMarkdown(string? cohort = null)
    {
        var sb = new StringBuilder();
        foreach (var line in Headline())
        {
            sb.AppendLine("**" + line + "**");
            sb.AppendLine();
        }
        AppendTable(sb, MetricHeader(), MetricRows(cohort));
        sb.AppendLine();
        sb.AppendLine(string.Create(Ci, $"Cells: mean [95% percentile bootstrap CI over users, B = {Resamples}]. categories/top-10: distinct categories per top-10 list; ") +
                                        (HasCategories
                          ? "ILD@10: share of top-10 item pairs in different categories (lists shorter than 2: 0); category coverage: distinct categories over all the cohort's top-10 lists / categories in the train events."
                          : NoCategories));
        if (Notes.Count > 0)
        {
            sb.AppendLine();
            foreach (var note in Notes)
            {
                sb.AppendLine("- " + note);
            }
        }
        var comparisons = ComparisonRows(cohort).ToArray();
        if (comparisons.Length > 0)
        {
            sb.AppendLine();
            sb.AppendLine(string.Create(Ci, $"Paired comparisons, each model against the strongest other model (same users resampled for A and B, B = {Resamples}):"));
            sb.AppendLine();
            AppendTable(sb, ComparisonHeader, comparisons, textColumns: 4);
        }
        return sb.ToString();
    }

    /// <summary>Self-contained HTML: the same tables, a grouped bar chart of Recall@K per model with CI whiskers and a bar
    /// chart of mean categories per top-10 list, both for <paramref name="chartCohort"/> (default: the first cohort).
    /// Tables show <paramref name="cohort"/> only when given.</summary>
    public string ToHtml(string? cohort = null, string? chartCohort = null)
    {
        var chart = chartCohort ?? cohort ?? Models.SelectMany(m => m.Cohorts).Select(c => c.Cohort).FirstOrDefault() ?? "all";
        var body = new List<string>();
        body.AddRange(Headline().Select(line => HtmlReport.Paragraph(line, "headline")));
        body.AddRange(new[]
        {
            HtmlReport.Paragraph(string.Create(Ci, $"Dataset {Dataset} ({Data}); split: {Split}; exclusion: {Exclusion}; created {CreatedUtc:yyyy-MM-dd HH:mm:ss} UTC."), "meta"),
            HtmlReport.Paragraph("Stats: " + string.Join(", ", Stats.Select(kv => string.Create(Ci, $"{kv.Key} {kv.Value}"))), "meta"),
            HtmlReport.Heading("Metrics"),
            HtmlReport.Table(MetricHeader(), MetricRows(cohort)),
            HtmlReport.Paragraph(string.Create(Ci, $"Cells: mean [95% percentile bootstrap CI over users, B = {Resamples}]. ") + (HasCategories
                ? "categories/top-10: distinct categories per top-10 list; ILD@10: share of pairs of top-10 items in different categories (lists shorter than 2 score 0); category coverage: distinct categories over all the cohort's top-10 lists / categories in the train events."
                : NoCategories)),
        });
        body.AddRange(Notes.Select(n => HtmlReport.Paragraph(n, "note")));
        var cohorts = Models.Select(m => m.Cohorts.FirstOrDefault(c => c.Cohort == chart)).ToArray();
        if (cohorts.All(c => c is not null))
        {
            var present = cohorts.Select(c => c!).ToArray();
            var groups = RecallKs.Select(MetricNames.Recall).ToArray();
            var series = Models.Select((m, i) => new BarSeries(m.Model,
                RecallKs.Select(k => present[i].Recall[$"@{k}"]).ToArray(),
                RecallKs.Select(k => present[i].RecallCi?.GetValueOrDefault($"@{k}")?.Lower ?? double.NaN).ToArray(),
                RecallKs.Select(k => present[i].RecallCi?.GetValueOrDefault($"@{k}")?.Upper ?? double.NaN).ToArray())).ToArray();
            var users = present.Length > 0 ? present[0].Users : 0;
            body.Add(HtmlReport.Heading(string.Create(Ci, $"Recall@K, cohort {chart} ({users} users)")));
            body.Add(HtmlReport.GroupedBarChart(string.Create(Ci, $"{Dataset} / {chart}: Recall@K per model (95% CI)"), groups, series, "Recall"));
            body.Add(HtmlReport.Heading("Interest collapse: categories per top-10 list"));
            if (present.All(c => c.CategoriesAt10 is not null))
            {
                body.Add(HtmlReport.GroupedBarChart(string.Create(Ci, $"{Dataset} / {chart}: mean distinct categories per top-10 list"), ["categories/top-10"],
                    Models.Select((m, i) => new BarSeries(m.Model, [present[i].CategoriesAt10!.Value],
                        [present[i].CategoriesAt10Ci?.Lower ?? double.NaN], [present[i].CategoriesAt10Ci?.Upper ?? double.NaN])).ToArray(),
                    "categories", width: 520));
            }
            else
            {
                body.Add(HtmlReport.Paragraph(NoCategories));
            }
        }
        var comparisons = ComparisonRows(cohort).ToArray();
        if (comparisons.Length > 0)
        {
            body.Add(HtmlReport.Heading("Paired comparisons"));
            body.Add(HtmlReport.Table(ComparisonHeader, comparisons));
        }
        body.Add(HtmlReport.Heading("Models"));
        body.Add(HtmlReport.Table(["model", "description", "build s", "score s"],
            Models.Select(m => (IReadOnlyList<string>)[m.Model, m.Description, m.BuildSeconds.ToString("F1", Ci), m.ScoreSeconds.ToString("F1", Ci)])));
        return HtmlReport.Page($"rolegen eval: {Dataset}", body);
    }

    internal static void AppendTable(StringBuilder sb, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, int textColumns = 2)
    {
        sb.Append('|');
        foreach (var h in header)
        {
            sb.Append(' ').Append(h).Append(" |");
        }
        sb.AppendLine();
        sb.Append('|');
        for (var i = 0; i < header.Count; i++)
        {
            sb.Append(i < textColumns || header[i] is "note" or "verdict" ? " --- |" : " ---: |");
        }
        sb.AppendLine();
        foreach (var row in rows)
        {
            sb.Append('|');
            foreach (var cell in row)
            {
                sb.Append(' ').Append(cell.Replace("|", "\\|", StringComparison.Ordinal)).Append(" |");
            }
            sb.AppendLine();
        }
    }
}
