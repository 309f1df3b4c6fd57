using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;
using RoleGen.Infrastructure.Scoring;
using RoleGen.Training;
using RoleGen.Training.Model;

namespace RoleGen.Evaluation;

public sealed record EvalOptions
{
    public ExclusionMode Exclusion { get; init; } = ExclusionMode.History;

    /// <summary>Folder with model.onnx + vocab.json of an already trained backbone; null = train one on the train part.</summary>
    public string? ModelDir { get; init; }

    /// <summary>Where a freshly trained backbone is written.</summary>
    public string WorkDir { get; init; } = "rolegen-eval-backbone";

    public int Epochs { get; init; } = 200;

    public double BudgetSeconds { get; init; }

    public long Seed { get; init; } = 42;

    public int Threads { get; init; }

    public int ScoreBatch { get; init; } = 256;

    public bool SkipBackbone { get; init; }

    /// <summary>Skip RoleGen (reasoner + fusion). It runs only on datasets with a validation split (Taobao).</summary>
    public bool SkipRoleGen { get; init; }

    /// <summary>Reasoner options for RoleGen; the fusion weights in it are replaced by the ones chosen on validation.</summary>
    public ReasonerOptions Reasoner { get; init; } = new();

    /// <summary>Bootstrap resamples (B) for every CI and comparison.</summary>
    public int Resamples { get; init; } = Bootstrap.DefaultResamples;

    /// <summary>Paired comparisons to compute; null = <see cref="Evaluator.DefaultComparisons"/> for every cohort.</summary>
    public IReadOnlyList<ComparisonRequest>? Comparisons { get; init; }
}

public sealed record ModelResult(
    string Model,
    string Description,
    double WallSeconds,
    double BuildSeconds,
    double ScoreSeconds,
    IReadOnlyList<CohortMetrics> Cohorts,
    IReadOnlyDictionary<string, object?>? Details = null);

/// <summary>Runs popularity, the transition baseline and the ONNX backbone on one split and scores them identically:
/// each model returns its top-K (K = the largest cut-off) with the user's exclusion list masked, the list is filtered
/// once more (defensive) and compared with the user's relevant items.</summary>
public static class Evaluator
{
    public static async Task<EvalReport> RunAsync(EvalDataset data, string dataPath, EvalOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var models = new List<ModelResult>();
        var trajectories = data.Users.Select(u => u.ToTrajectory(options.Exclusion)).ToArray();
        var excluded = data.Users.Select(u => u.Excluded(options.Exclusion)).ToArray();

        // Popularity.
        var watch = Stopwatch.StartNew();
        var popularity = new PopularityRecommender(data.TrainEvents);
        var build = watch.Elapsed.TotalSeconds;
        var (metrics, score) = Score(data, popularity, trajectories, excluded, options.ScoreBatch, cancellationToken, options.Resamples);
        models.Add(new ModelResult("popularity", "items by number of train events", watch.Elapsed.TotalSeconds, build, score, metrics));
        log(Line(models[^1]));

        // Transition baseline (Core), built from the train events only.
        watch.Restart();
        var (transition, info) = await TransitionBaseline.BuildAsync(data.TrainEvents, data.AsOf, cancellationToken).ConfigureAwait(false);
        build = watch.Elapsed.TotalSeconds;
        (metrics, score) = Score(data, transition, trajectories, excluded, options.ScoreBatch, cancellationToken, options.Resamples);
        models.Add(new ModelResult("transition", "Core TransitionModelBuilder + TransitionRecommender (train part only)",
            watch.Elapsed.TotalSeconds, build, score, metrics,
            new Dictionary<string, object?> { ["items"] = info.Items, ["events"] = info.Events, ["pairs"] = info.Pairs, ["prunedPairs"] = info.PrunedPairs }));
        log(Line(models[^1]));

        string? backboneDir = null;
        if (!options.SkipBackbone)
        {
            var (result, dir) = await BackboneAsync(data, options, trajectories, excluded, log, cancellationToken).ConfigureAwait(false);
            models.Add(result);
            backboneDir = dir;
            log(Line(models[^1]));
        }

        if (!options.SkipRoleGen && data.ValidationSplit is not null)
        {
            models.Add(await RoleGenAsync(data, options, backboneDir, trajectories, excluded, log, cancellationToken).ConfigureAwait(false));
            log(Line(models[^1]));
        }
        else if (!options.SkipRoleGen)
        {
            log($"rolegen: skipped on {data.Name} (no validation split carved from the train window to choose fusion weights on)");
        }


        var report = new EvalReport("rolegen-eval/2", data.Name, dataPath, data.Split, options.Exclusion.ToString().ToLowerInvariant(),
            data.RecallKs, data.NdcgKs, data.Stats, models, DateTimeOffset.UtcNow) { Resamples = options.Resamples };
        return report.WithComparisons(options.Comparisons ?? data.Cohorts.SelectMany(DefaultComparisons));
    }

    /// <summary>RoleGen's acceptance target on the dormant cohort: Recall@1 at least 1.062 × the backbone alone.</summary>
    public const double RoleGenRecallAt1Target = 1.062;

    /// <summary>Each model against the next simpler one (rolegen → backbone → transition → popularity) on Recall@1,
    /// Recall@10 and NDCG@10 in <paramref name="cohort"/>; rolegen vs backbone uses <see cref="RoleGenRecallAt1Target"/>,
    /// the others 1 ("A beats B"). Pairs whose models were not evaluated are skipped by <see cref="EvalReport.WithComparisons"/>.</summary>
    public static IEnumerable<ComparisonRequest> DefaultComparisons(string cohort)
    {
        (string A, string B, double Target)[] pairs =
        [
            ("rolegen", "backbone", RoleGenRecallAt1Target),
            ("backbone", "transition", 1.0),
            ("transition", "popularity", 1.0),
        ];
        foreach (var (a, b, target) in pairs)
        {
            foreach (var metric in new[] { MetricNames.Recall(1), MetricNames.Recall(10), MetricNames.Ndcg(10) })
            {
                yield return new ComparisonRequest(a, b, cohort, metric, target);
            }
        }
    }

    private static async Task<(ModelResult Result, string ModelDir)> BackboneAsync(EvalDataset data, EvalOptions options, IReadOnlyList<Core.Cohort.UserTrajectory> trajectories,
        IReadOnlyList<IReadOnlySet<string>> excluded, Action<string> log, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var (modelDir, details) = await TrainOrLoadBackboneAsync(data, options, options.ModelDir, options.WorkDir, log, cancellationToken).ConfigureAwait(false);
        var build = watch.Elapsed.TotalSeconds;
        using var recommender = LoadBackbone(modelDir, options);
        details["runtime"] = recommender.Runtime;
        details["items"] = recommender.Vocabulary.NumItems;
        var scoreWatch = Stopwatch.StartNew();
        var (metrics, _) = Score(data, recommender, trajectories, excluded, options.ScoreBatch, cancellationToken, options.Resamples);
        var score = scoreWatch.Elapsed.TotalSeconds;
        details["usersPerSecond"] = trajectories.Count / Math.Max(score, 1e-9);
        return (new ModelResult("backbone", "SASRec-style backbone (src/Training), scored by ONNX Runtime via Infrastructure's BackboneRecommender",
            watch.Elapsed.TotalSeconds, build, score, metrics, details), modelDir);
    }

    /// <summary>The ONNX backbone in <paramref name="modelDir"/> behind the production scoring port.</summary>
    public static BackboneRecommender LoadBackbone(string modelDir, EvalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var bytes = File.ReadAllBytes(Path.Combine(modelDir, TrainingArtifacts.ModelFileName));
        BackboneVocabulary vocab;
        using (var json = File.OpenRead(Path.Combine(modelDir, TrainingArtifacts.VocabularyFileName)))
        {
            vocab = BackboneVocabulary.Parse(json);
        }
        var scoring = new ScoringOptions { IntraOpThreads = options.Threads, BatchSize = options.ScoreBatch };
        var conversionFile = Path.Combine(modelDir, TrainingArtifacts.ConversionModelFileName);
        var conversion = File.Exists(conversionFile)
            ? OnnxBackbone.Create(File.ReadAllBytes(conversionFile), vocab.MaxLength, scoring, NullLogger.Instance)
            : null;
        return new BackboneRecommender(OnnxBackbone.Create(bytes, vocab.MaxLength, scoring, NullLogger.Instance), vocab,
            new ScoringModelRef(BackboneRecommender.Kind, "eval", modelDir), options.ScoreBatch, conversion);
    }

    /// <summary>RoleGen = the backbone (or, with --skip-backbone, the transition baseline) + the embedded reasoner + fusion.
    /// The fusion weights are chosen on the validation split carved from the train window (its own backbone, statistics
    /// and reasoning, all from events before the validation cut); the test part is scored once, with the chosen weights.</summary>
    private static async Task<ModelResult> RoleGenAsync(EvalDataset data, EvalOptions options, string? backboneDir,
        IReadOnlyList<Core.Cohort.UserTrajectory> trajectories, IReadOnlyList<IReadOnlySet<string>> excluded, Action<string> log, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var details = new Dictionary<string, object?>();
        var validation = data.ValidationSplit!();
        log($"rolegen: validation split from the train window only: {validation.Split} ({validation.Users.Count} users)");
        var vTrajectories = validation.Users.Select(u => u.ToTrajectory(options.Exclusion)).ToArray();
        var vExcluded = validation.Users.Select(u => u.Excluded(options.Exclusion)).ToArray();

        // Validation: a ranker that saw only the validation train part, then a grid over the fusion weights.
        RoleGenEval vPrepared;
        if (backboneDir is not null)
        {
            var (vDir, vDetails) = await TrainOrLoadBackboneAsync(validation, options, null, options.WorkDir + "-validation", log, cancellationToken).ConfigureAwait(false);
            details["validationBackbone"] = vDetails;
            using var vBackbone = LoadBackbone(vDir, options);
            vPrepared = await RoleGenEval.PrepareAsync(validation.TrainEvents, validation.AsOf, vTrajectories, vBackbone,
                _ => new BackboneCounterfactualModel(vBackbone, options.ScoreBatch), options.Reasoner, options.ScoreBatch, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var (vTransition, _) = await TransitionBaseline.BuildAsync(validation.TrainEvents, validation.AsOf, cancellationToken).ConfigureAwait(false);
            vPrepared = await RoleGenEval.PrepareAsync(validation.TrainEvents, validation.AsOf, vTrajectories, vTransition,
                stats => new StatisticalCounterfactualModel(stats), options.Reasoner, options.ScoreBatch, cancellationToken).ConfigureAwait(false);
        }
        var grid = new List<(FusionWeights Weights, double Recall1, double Recall10)>();
        foreach (var weights in FusionWeightSearch.Grid(options.Reasoner.Fusion))
        {
            var (m, _) = Score(validation, vPrepared.Fused(weights), vTrajectories, vExcluded, options.ScoreBatch, cancellationToken, resamples: 0);
            grid.Add((weights, m[0].Recall["@1"], m[0].Recall["@10"]));
        }
        var best = grid.OrderByDescending(g => g.Recall1).ThenByDescending(g => g.Recall10).First();
        var (defaultMetrics, _) = Score(validation, vPrepared.Fused(options.Reasoner.Fusion), vTrajectories, vExcluded, options.ScoreBatch, cancellationToken, resamples: 0);
        var chosen = best.Weights with { Version = "validated-" + best.Weights.Version };
        log(string.Create(CultureInfo.InvariantCulture,
            $"rolegen: chose {chosen.Version} on validation (Recall@1 {best.Recall1:F4}, Recall@10 {best.Recall10:F4}; default weights {defaultMetrics[0].Recall["@1"]:F4}) from {grid.Count} weight sets"));
        details["validationUsers"] = validation.Users.Count;
        details["validationGrid"] = grid.OrderByDescending(g => g.Recall1).ThenByDescending(g => g.Recall10).Take(5)
            .Select(g => new { weights = g.Weights.Version, recallAt1 = g.Recall1, recallAt10 = g.Recall10 }).ToArray();
        details["validationDefaultRecallAt1"] = defaultMetrics[0].Recall["@1"];
        details["chosenWeights"] = chosen;
        var build = watch.Elapsed.TotalSeconds;

        // Test: the ranker trained on the whole train window, statistics of the whole train window, the chosen weights.
        RoleGenEval prepared;
        BackboneRecommender? backbone = null;
        try
        {
            if (backboneDir is not null)
            {
                backbone = LoadBackbone(backboneDir, options);
                var b = backbone;
                prepared = await RoleGenEval.PrepareAsync(data.TrainEvents, data.AsOf, trajectories, b,
                    _ => new BackboneCounterfactualModel(b, options.ScoreBatch), options.Reasoner, options.ScoreBatch, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var (transition, _) = await TransitionBaseline.BuildAsync(data.TrainEvents, data.AsOf, cancellationToken).ConfigureAwait(false);
                prepared = await RoleGenEval.PrepareAsync(data.TrainEvents, data.AsOf, trajectories, transition,
                    stats => new StatisticalCounterfactualModel(stats), options.Reasoner, options.ScoreBatch, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            backbone?.Dispose();
        }
        var scoreWatch = Stopwatch.StartNew();
        var (metrics, _) = Score(data, prepared.Fused(chosen), trajectories, excluded, options.ScoreBatch, cancellationToken, options.Resamples);
        var fuseSeconds = scoreWatch.Elapsed.TotalSeconds;
        var (defaultTest, _) = Score(data, prepared.Fused(options.Reasoner.Fusion), trajectories, excluded, options.ScoreBatch, cancellationToken, resamples: 0);
        details["ranker"] = backboneDir is not null ? "backbone" : "transition";
        details["worldModel"] = prepared.WorldModel;
        details["rankerUsersPerSecond"] = prepared.Users / Math.Max(prepared.ModelSeconds, 1e-9);
        details["reasoningUsersPerSecond"] = prepared.Users / Math.Max(prepared.ReasonSeconds, 1e-9);
        details["reasoningOverScoringTime"] = prepared.ReasonSeconds / Math.Max(prepared.ModelSeconds, 1e-9);
        details["reasoningRolesSeconds"] = prepared.RolesSeconds;
        details["reasoningWorldModelSeconds"] = prepared.WorldModelSeconds;
        details["fusionSeconds"] = fuseSeconds;
        details["defaultWeightsTestRecallAt1"] = defaultTest.Select(c => new { cohort = c.Cohort, recallAt1 = c.Recall["@1"] }).ToArray();
        var reasonings = prepared.Reasonings.ToArray();
        details["usersWithPaths"] = reasonings.Count(r => r.Paths.Count > 0);
        details["pathsByRole"] = reasonings.SelectMany(r => r.Paths).GroupBy(p => p.Role.ToString().ToLowerInvariant())
            .ToDictionary(g => g.Key, g => new { paths = g.Count(), meanDelta = g.Where(p => double.IsFinite(p.Delta)).Select(p => p.Delta).DefaultIfEmpty(0).Average() });
        details["maxInterventions"] = options.Reasoner.MaxInterventions;
        details["pathsPerUser"] = options.Reasoner.PathsPerUser;
        return new ModelResult("rolegen",
            $"RoleGen: {details["ranker"]} + embedded reasoner (roles, {options.Reasoner.MaxInterventions} role-diverse interventions, Δ from {prepared.WorldModel}) + fusion, weights chosen on validation",
            watch.Elapsed.TotalSeconds, build + prepared.ModelSeconds + prepared.ReasonSeconds, prepared.ReasonSeconds + fuseSeconds, metrics, details);
    }

    private static async Task<(string ModelDir, Dictionary<string, object?> Details)> TrainOrLoadBackboneAsync(EvalDataset data, EvalOptions options,
        string? given, string workDir, Action<string> log, CancellationToken cancellationToken)
    {
        var details = new Dictionary<string, object?>();
        string modelDir;
        if (given is not null)
        {
            modelDir = given;
            details["source"] = $"pre-trained: {Path.GetFullPath(given)}";
        }
        else
        {
            modelDir = workDir;
            var training = new TrainingOptions
            {
                Epochs = options.Epochs,
                Seed = options.Seed,
                Threads = options.Threads,
                EvaluateTest = false,
                TimeBudget = options.BudgetSeconds > 0 ? TimeSpan.FromSeconds(options.BudgetSeconds) : null,
                Log = line => log("  " + line),
            };
            log($"training the backbone on the train part ({data.BackboneCorpus.ItemSeqs.Count} sequences, {data.BackboneCorpus.NumItems} items); validation: {data.BackboneValidation}");
            await Task.Yield();
            using var trained = BackboneTrainer.Train(data.BackboneCorpus, new BackboneOptions(), training, cancellationToken);
            BackboneExport.Write(trained, data.BackboneCorpus.Vocabulary, modelDir);
            var m = trained.Metrics;
            details["source"] = $"trained: {Path.GetFullPath(modelDir)}";
            details["validation"] = data.BackboneValidation;
            details["bestEpoch"] = m.BestEpoch;
            details["epochs"] = m.Epochs.Count;
            details["stopReason"] = m.StopReason;
            details["bestValidationRecallAt10"] = m.BestValidation?.Recall;
            details["bestValidationNdcgAt10"] = m.BestValidation?.Ndcg;
            details["meanTrainSecondsPerEpoch"] = m.MeanTrainSecondsPerEpoch;
            details["trainingSeconds"] = m.TotalSeconds;
        }
        return (modelDir, details);
    }

    /// <summary>Scores every user with <paramref name="recommender"/> and collects the metrics per cohort: means, per-user
    /// vectors (for paired comparisons; users in <see cref="EvalDataset.Users"/> order, so every model pairs the same users)
    /// and percentile bootstrap 95% CIs with <paramref name="resamples"/> resamples (0 = no CIs). Diversity is measured
    /// against <see cref="EvalDataset.ItemCategories"/> when the dataset has categories. Any <see cref="IRecommender"/>
    /// can be evaluated this way; the seconds are the scoring time (CIs excluded).</summary>
    public static (IReadOnlyList<CohortMetrics> Metrics, double Seconds) Score(EvalDataset data, IRecommender recommender,
        IReadOnlyList<Core.Cohort.UserTrajectory> trajectories, IReadOnlyList<IReadOnlySet<string>> excluded, int batch, CancellationToken cancellationToken,
        int resamples = Bootstrap.DefaultResamples)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(recommender);
        ArgumentNullException.ThrowIfNull(trajectories);
        ArgumentNullException.ThrowIfNull(excluded);
        var watch = Stopwatch.StartNew();
        var acc = new MetricAccumulator(data.RecallKs, data.NdcgKs, data.ItemCategories);
        foreach (var cohort in data.Cohorts)
        {
            acc.AddCohort(cohort);
        }
        var k = acc.MaxK;
        for (var start = 0; start < trajectories.Count; start += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var slice = trajectories.Skip(start).Take(batch).ToArray();
            var recs = recommender.Recommend(slice, k);
            for (var i = 0; i < slice.Length; i++)
            {
                var user = data.Users[start + i];
                var ranked = RankingMath.WithoutExcluded(recs[i].Items.Select(x => x.ItemId), excluded[start + i], k);
                acc.Add(ranked, user.Targets, CohortsOf(user, data.Cohorts), user.UserId);
            }
        }
        var seconds = watch.Elapsed.TotalSeconds;
        var results = acc.Results();
        return (resamples > 0 ? [.. results.Select(c => c.WithIntervals(resamples))] : results, seconds);
    }

    public static IEnumerable<string> CohortsOf(EvalUser user, IReadOnlyList<string> cohorts)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(cohorts);
        foreach (var c in cohorts)
        {
            if (c == "all" || (c == "dormant" && user.Dormant))
            {
                yield return c;
            }
        }
    }

    private static string Line(ModelResult m)
    {
        var all = m.Cohorts[0];
        return string.Create(CultureInfo.InvariantCulture,
            $"{m.Model}: {all.Users} users, Recall@10 {all.Recall["@10"]:F4}, NDCG@10 {all.Ndcg["@10"]:F4} ({m.WallSeconds:F1} s: build {m.BuildSeconds:F1} s, score {m.ScoreSeconds:F1} s)");
    }
}
