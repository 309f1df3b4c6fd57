using System.Globalization;
using System.Text;

namespace RoleGen.Evaluation;

/// <summary>One log of a suite: its name, where it came from and how to split it.</summary>
/// <param name="Generated">A log RoleGen generated itself (a demo world): pooled with the others, and left out of the
/// "pooled-real" comparison, which pools the real logs alone.</param>
public sealed record SuiteLog(string Name, string Source, Func<EvalDataset> Split, bool Generated = false);

/// <summary>RoleGen against the strongest baseline over one or more datasets and seeds: the ratio of means with a paired CI
/// that accounts for users and training seeds (hierarchical bootstrap: seeds, then users, within each dataset).</summary>
public sealed record SuiteComparison(
    string Scope,
    string Cohort,
    string Metric,
    string Baseline,
    int Users,
    int Seeds,
    double MeanRoleGen,
    double MeanBaseline,
    double? Ratio,
    ConfidenceInterval? RatioCi,
    double Diff,
    ConfidenceInterval DiffCi)
{
    public string Verdict => DiffCi.Lower > 0 ? "better" : DiffCi.Upper < 0 ? "worse" : "not distinguishable";
}

/// <summary>One model's mean of one metric on one dataset, over the seeds (with the spread).</summary>
public sealed record SuiteModelRow(string Dataset, string Cohort, string Model, string Metric, int Users, int Seeds, double Mean, double Min, double Max, double StdDev);

public sealed record SuiteReport(
    string Format,
    IReadOnlyList<string> Datasets,
    IReadOnlyList<long> Seeds,
    IReadOnlyList<SuiteModelRow> Models,
    IReadOnlyList<SuiteComparison> Comparisons,
    IReadOnlyList<string> Notes,
    int Resamples,
    DateTimeOffset CreatedUtc)
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        foreach (var c in Comparisons.Where(c => c.Scope is "pooled" or "pooled-real"))
        {
            var what = c.Scope == "pooled" ? $"Pooled over {Datasets.Count} datasets" : "Pooled over the real logs only";
            sb.Append(string.Create(Ci, $"**{what}, cohort {c.Cohort}, {c.Metric}: RoleGen {c.MeanRoleGen:F4} vs the strongest baseline of each dataset {c.MeanBaseline:F4} "));
            sb.AppendLine(string.Create(Ci, $"(×{c.Ratio:F3} {c.RatioCi?.ToString("F3")}, {c.Verdict}; {c.Users} users, {c.Seeds} seeds).**"));
            sb.AppendLine();
        }
        sb.AppendLine("| scope | cohort | metric | strongest baseline | users | seeds | RoleGen | baseline | RoleGen/baseline [95% CI] | difference [95% CI] | verdict |");
        sb.AppendLine("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var c in Comparisons)
        {
            sb.AppendLine(string.Create(Ci,
                $"| {c.Scope} | {c.Cohort} | {c.Metric} | {c.Baseline} | {c.Users} | {c.Seeds} | {c.MeanRoleGen:F4} | {c.MeanBaseline:F4} | {(c.Ratio is { } r ? $"{r:F3} {c.RatioCi?.ToString("F3")}" : "n/a")} | {c.Diff:F4} {c.DiffCi.ToString("F4")} | {c.Verdict} |"));
        }
        sb.AppendLine();
        sb.AppendLine("| dataset | cohort | model | metric | users | seeds | mean | min | max | sd |");
        sb.AppendLine("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var m in Models)
        {
            sb.AppendLine(string.Create(Ci, $"| {m.Dataset} | {m.Cohort} | {m.Model} | {m.Metric} | {m.Users} | {m.Seeds} | {m.Mean:F4} | {m.Min:F4} | {m.Max:F4} | {m.StdDev:F4} |"));
        }
        sb.AppendLine();
        sb.Append(string.Create(Ci, $"CIs: hierarchical paired bootstrap (B = {Resamples}): "));
        sb.AppendLine("each resample draws the training seeds with replacement, then the users of each dataset with replacement, " +
                                        "and compares RoleGen with the same users' strongest baseline (the non-RoleGen model with the highest mean on the metric in that dataset, over seeds). " +
                                        "Pooled: all datasets' users together, each dataset resampled within itself.");
        foreach (var note in Notes)
        {
            sb.AppendLine("- " + note);
        }
        return sb.ToString();
    }
}

/// <summary>Runs <see cref="Evaluator"/> on every log for every training seed and pools RoleGen against the strongest
/// baseline (#11: more than one dataset, ≥ 5 seeds, a CI over users and seeds).</summary>
public static class EvalSuite
{
    public static readonly IReadOnlyList<string> Metrics = [MetricNames.Recall(1), MetricNames.Recall(10), MetricNames.Ndcg(10)];

    public static Task<SuiteReport> RunAsync(IReadOnlyList<SuiteLog> logs, IReadOnlyList<long> seeds, EvalOptions options, Action<string> log,
        CancellationToken cancellationToken) => RunAsync(logs, seeds, options, log, null, null, cancellationToken);

    /// <summary>As above; with <paramref name="store"/>, each finished (log, seed) run is written there as it ends, and with
    /// its resume on, runs already there are read instead of run again (same source and <see cref="Settings"/> required).</summary>
    public static Task<SuiteReport> RunAsync(IReadOnlyList<SuiteLog> logs, IReadOnlyList<long> seeds, EvalOptions options, Action<string> log,
        SuiteRunStore? store, CancellationToken cancellationToken) => RunAsync(logs, seeds, options, log, store, null, cancellationToken);

    /// <summary>As above; <paramref name="runOne"/> replaces <see cref="Evaluator.RunAsync"/> (tests).</summary>
    internal static async Task<SuiteReport> RunAsync(IReadOnlyList<SuiteLog> logs, IReadOnlyList<long> seeds, EvalOptions options, Action<string> log,
        SuiteRunStore? store, Func<EvalDataset, string, EvalOptions, Action<string>, CancellationToken, Task<EvalReport>>? runOne,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(logs);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var notes = new List<string>();
        // Without a backbone nothing is trained: every seed would give the same numbers, so one run stands for all.
        var runSeeds = options.SkipBackbone ? seeds.Take(1).ToArray() : seeds.ToArray();
        if (options.SkipBackbone && seeds.Count > 1)
        {
            notes.Add("no backbone: the evaluation is deterministic, so one run stands for every seed (the seed CI reduces to the user CI).");
        }
        var runs = new List<(string Dataset, long Seed, EvalReport Report)>();
        var settings = Settings(options);
        foreach (var l in logs)
        {
            var data = l.Split();
            log($"suite: {l.Name}: {data.Users.Count} evaluated users ({data.Users.Count(u => u.Dormant)} dormant); {data.Split}");
            notes.AddRange(data.Notes.Select(n => $"{l.Name}: {n}"));
            foreach (var seed in runSeeds)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var report = store is null ? null : await store.TryReadAsync(l.Name, seed, l.Source, settings, cancellationToken).ConfigureAwait(false);
                if (report is not null)
                {
                    log(string.Create(CultureInfo.InvariantCulture, $"suite: {l.Name}, seed {seed}: read from {store!.PathOf(l.Name, seed)} (--resume)"));
                }
                else
                {
                    log(string.Create(CultureInfo.InvariantCulture, $"suite: {l.Name}, seed {seed}"));
                    try
                    {
                        report = await (runOne ?? Evaluator.RunAsync)(data, l.Source, options with
                        {
                            Seed = seed,
                            WorkDir = string.Create(CultureInfo.InvariantCulture, $"{options.WorkDir}-{l.Name}-s{seed}"),
                        }, line => log("  " + line), cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // One failed evaluation must not cost the hour of runs around it: it is left out, said in the
                        // report, and the suite goes on (the pooled figures then have fewer seeds for that log).
                        var why = e.Message.Split('\n', 2)[0].Trim();
                        var failure = string.Create(CultureInfo.InvariantCulture, $"{l.Name}, seed {seed}: the evaluation failed ({e.GetType().Name}: {why}) and is left out; run the suite again with --resume to retry it.");
                        log("suite: FAILED " + failure);
                        notes.Add(failure);
                        continue;
                    }
                    if (store is not null)
                    {
                        await store.WriteAsync(l.Name, seed, l.Source, settings, report, cancellationToken).ConfigureAwait(false);
                    }
                }
                runs.Add((l.Name, seed, report));
                foreach (var h in report.Headline())
                {
                    log("  " + h);
                }
            }
            notes.AddRange(runs.Where(r => r.Dataset == l.Name).SelectMany(r => r.Report.Notes).Distinct(StringComparer.Ordinal).Select(n => $"{l.Name}: {n}"));
        }
        return Summarize(runs, logs.Select(l => l.Name).ToArray(), runSeeds, options.Resamples, notes,
            logs.Where(l => l.Generated).Select(l => l.Name).ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>What a stored run must have been made with to be pooled with a new one: every option that changes the
    /// numbers (not the thread count or the work folder).</summary>
    public static string Settings(EvalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return string.Create(CultureInfo.InvariantCulture,
            $"epochs={options.Epochs} budget-seconds={options.BudgetSeconds} skip-backbone={options.SkipBackbone} skip-rolegen={options.SkipRoleGen} exclusion={options.Exclusion?.ToString() ?? "default"} model-dir={options.ModelDir ?? "none"} score-batch={options.ScoreBatch} reasoner={System.Text.Json.JsonSerializer.Serialize(options.Reasoner)}");
    }

    /// <summary>The per-dataset and pooled comparisons of <paramref name="runs"/> (one report per dataset and seed; the
    /// reports of one dataset list the same users in the same order).</summary>
    public static SuiteReport Summarize(IReadOnlyList<(string Dataset, long Seed, EvalReport Report)> runs, IReadOnlyList<string> datasets,
        IReadOnlyList<long> seeds, int resamples, IReadOnlyList<string> notes, IReadOnlySet<string>? generated = null)
    {
        generated ??= new HashSet<string>(StringComparer.Ordinal);
        ArgumentNullException.ThrowIfNull(runs);
        var rows = new List<SuiteModelRow>();
        var comparisons = new List<SuiteComparison>();
        var allNotes = new List<string>(notes);
        foreach (var cohort in EvalDataset.AllCohorts)
        {
            foreach (var metric in Metrics)
            {
                var strata = new List<Stratum>();
                foreach (var dataset in datasets)
                {
                    var reports = runs.Where(r => r.Dataset == dataset).Select(r => r.Report).ToArray();
                    var withCohort = reports.Where(r => r.Models.Any(m => m.Model == "rolegen" && m.Cohorts.Any(c => c.Cohort == cohort))).ToArray();
                    if (withCohort.Length == 0)
                    {
                        if (metric == Metrics[0])
                        {
                            allNotes.Add($"{dataset}: no '{cohort}' users (or RoleGen not evaluated): left out of the '{cohort}' comparisons.");
                        }
                        continue;
                    }
                    var models = withCohort[0].Models.Select(m => m.Model).ToArray();
                    var means = new Dictionary<string, double>(StringComparer.Ordinal);
                    foreach (var model in models)
                    {
                        var perSeed = withCohort.Select(r => r.Models.FirstOrDefault(m => m.Model == model)?.Cohorts.FirstOrDefault(c => c.Cohort == cohort))
                            .Where(c => c is not null).Select(c => c!.Values(metric).DefaultIfEmpty(0).Average()).ToArray();
                        if (perSeed.Length == 0)
                        {
                            continue;
                        }
                        means[model] = perSeed.Average();
                        var users = withCohort[0].Models.First(m => m.Model == model).Cohorts.First(c => c.Cohort == cohort).Users;
                        var sd = perSeed.Length < 2 ? 0 : Math.Sqrt(perSeed.Select(x => (x - perSeed.Average()) * (x - perSeed.Average())).Sum() / (perSeed.Length - 1));
                        rows.Add(new SuiteModelRow(dataset, cohort, model, metric, users, perSeed.Length, perSeed.Average(), perSeed.Min(), perSeed.Max(), sd));
                    }
                    var baseline = means.Where(kv => kv.Key != "rolegen").OrderByDescending(kv => kv.Value).ThenBy(kv => Array.IndexOf(models, kv.Key)).Select(kv => kv.Key).FirstOrDefault();
                    if (baseline is null)
                    {
                        continue;
                    }
                    var a = withCohort.Select(r => r.Model("rolegen").Cohorts.First(c => c.Cohort == cohort).Values(metric)).ToArray();
                    var b = withCohort.Select(r => r.Models.First(m => m.Model == baseline).Cohorts.First(c => c.Cohort == cohort).Values(metric)).ToArray();
                    var stratum = new Stratum(dataset, baseline, a, b);
                    strata.Add(stratum);
                    comparisons.Add(Compare(dataset, cohort, metric, baseline, [stratum], resamples));
                }
                if (strata.Count > 1)
                {
                    comparisons.Add(Compare("pooled", cohort, metric, string.Join(", ", strata.Select(s => $"{s.Dataset}: {s.Baseline}")), strata, resamples));
                    // Generated worlds can hold most of the users: the real logs are pooled on their own too.
                    var real = strata.Where(s => !generated.Contains(s.Dataset)).ToArray();
                    if (real.Length > 1 && real.Length < strata.Count)
                    {
                        comparisons.Add(Compare("pooled-real", cohort, metric, string.Join(", ", real.Select(s => $"{s.Dataset}: {s.Baseline}")), real, resamples));
                    }
                }
            }
        }
        return new SuiteReport("rolegen-eval-suite/1", datasets, seeds, rows, comparisons, allNotes.Distinct(StringComparer.Ordinal).ToArray(), resamples, DateTimeOffset.UtcNow);
    }

    /// <summary>One dataset's paired per-user values: [seed][user] for RoleGen (A) and the strongest baseline (B).</summary>
    private sealed record Stratum(string Dataset, string Baseline, double[][] A, double[][] B)
    {
        public int Users => A[0].Length;

        public int Seeds => A.Length;
    }

    /// <summary>Hierarchical paired bootstrap over <paramref name="strata"/>: per resample and stratum, draw seeds then users
    /// with replacement; the statistic is the ratio (and difference) of the pooled means.</summary>
    private static SuiteComparison Compare(string scope, string cohort, string metric, string baseline, IReadOnlyList<Stratum> strata, int resamples)
    {
        static (double A, double B, int N) Sums(IEnumerable<Stratum> strata)
        {
            double a = 0, b = 0;
            var n = 0;
            foreach (var s in strata)
            {
                for (var u = 0; u < s.Users; u++)
                {
                    a += s.A.Average(seed => seed[u]);
                    b += s.B.Average(seed => seed[u]);
                }
                n += s.Users;
            }
            return (a, b, n);
        }
        var (sa, sb, total) = Sums(strata);
        var rng = new Random(Bootstrap.DefaultSeed);
        var ratios = new List<double>(resamples);
        var diffs = new double[resamples];
        for (var r = 0; r < resamples; r++)
        {
            double ra = 0, rb = 0;
            foreach (var s in strata)
            {
                var seedDraw = Enumerable.Range(0, s.Seeds).Select(_ => rng.Next(s.Seeds)).ToArray();
                for (var i = 0; i < s.Users; i++)
                {
                    var u = rng.Next(s.Users);
                    double ua = 0, ub = 0;
                    foreach (var k in seedDraw)
                    {
                        ua += s.A[k][u];
                        ub += s.B[k][u];
                    }
                    ra += ua / seedDraw.Length;
                    rb += ub / seedDraw.Length;
                }
            }
            diffs[r] = (ra - rb) / Math.Max(1, total);
            if (rb > 0)
            {
                ratios.Add(ra / rb);
            }
            else if (ra > 0)
            {
                ratios.Add(double.PositiveInfinity);
            }
        }
        var meanA = total == 0 ? 0 : sa / total;
        var meanB = total == 0 ? 0 : sb / total;
        return new SuiteComparison(scope, cohort, metric, baseline, total, strata.Max(s => s.Seeds), meanA, meanB,
            sb > 0 ? sa / sb : null, ratios.Count > 0 && sb > 0 ? Bootstrap.Percentile([.. ratios]) : null, meanA - meanB, Bootstrap.Percentile(diffs));
    }
}
