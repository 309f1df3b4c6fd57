using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Pipeline;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;
using RoleGen.Infrastructure.Scoring;
using RoleGen.Training;
using RoleGen.Training.Model;

namespace RoleGen.Evaluation;

public sealed record EvalOptions
{
    /// <summary>Items never recommended nor counted; null = the split's default (history for leave-one-out, purchased otherwise).</summary>
    public ExclusionMode? Exclusion { get; init; }

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

    /// <summary>Skip RoleGen (reasoner + fusion).</summary>
    public bool SkipRoleGen { get; init; }

    /// <summary>Reasoner options for RoleGen; the fusion weights in it are replaced by the ones chosen on validation.</summary>
    public ReasonerOptions Reasoner { get; init; } = new();

    /// <summary>Bootstrap resamples (B) for every CI and comparison.</summary>
    public int Resamples { get; init; } = Bootstrap.DefaultResamples;

    /// <summary>Extra paired comparisons to compute (each model is always compared with the strongest other model).</summary>
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

/// <summary>
/// Evaluates popularity, the transition baseline, the ONNX backbone and RoleGen on one split and scores them identically,
/// all through Core's <see cref="ShardRecommender"/> — the pipeline the nightly run's shard activities call — with no
/// experiment (every user gets the model's list, or RoleGen's fused list). Each returns its top-K (K = the largest cut-off)
/// with the user's exclusion list masked; the list is filtered once more (defensive) and compared with the user's
/// relevant items.
/// </summary>
public static class Evaluator
{
    public static async Task<EvalReport> RunAsync(EvalDataset data, string dataPath, EvalOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var exclusion = options.Exclusion ?? data.DefaultExclusion;
        options = options with { Exclusion = exclusion };
        var notes = new List<string>(data.Notes);
        var models = new List<ModelResult>();
        var trajectories = data.Users.Select(u => u.ToTrajectory(exclusion)).ToArray();
        var excluded = data.Users.Select(u => u.Excluded(exclusion)).ToArray();
        var topK = TopK(data);

        // Popularity.
        var watch = Stopwatch.StartNew();
        var popularity = new PopularityRecommender(data.TrainEvents);
        var build = watch.Elapsed.TotalSeconds;
        var (metrics, score) = await ScoreAsync(data, EvalPipeline.ForModel(popularity, topK), trajectories, excluded, options.ScoreBatch, cancellationToken, options.Resamples).ConfigureAwait(false);
        models.Add(new ModelResult("popularity", "items by number of train events", watch.Elapsed.TotalSeconds, build, score, metrics));
        log(Line(models[^1]));

        // Transition baseline (Core), built from the train events only.
        watch.Restart();
        var (transition, info) = await TransitionBaseline.BuildAsync(data.TrainEvents, data.AsOf, cancellationToken).ConfigureAwait(false);
        build = watch.Elapsed.TotalSeconds;
        (metrics, score) = await ScoreAsync(data, EvalPipeline.ForModel(transition, topK), trajectories, excluded, options.ScoreBatch, cancellationToken, options.Resamples).ConfigureAwait(false);
        models.Add(new ModelResult("transition", "Core TransitionModelBuilder + TransitionRecommender (train part only)",
            watch.Elapsed.TotalSeconds, build, score, metrics,
            new Dictionary<string, object?> { ["items"] = info.Items, ["events"] = info.Events, ["pairs"] = info.Pairs, ["prunedPairs"] = info.PrunedPairs }));
        log(Line(models[^1]));

        string? backboneDir = null;
        if (!options.SkipBackbone)
        {
            try
            {
                var (result, dir) = await BackboneAsync(data, options, trajectories, excluded, log, cancellationToken).ConfigureAwait(false);
                models.Add(result);
                backboneDir = dir;
                log(Line(models[^1]));
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or InvalidDataException)
            {
                // A log too small (or too odd) to train on is a finding, not a crash: the report says so.
                var note = $"backbone: not evaluated — training failed on this split ({ex.Message})";
                notes.Add(note);
                log(note);
            }
        }

        if (!options.SkipRoleGen)
        {
            var (rolegen, rolegenNotes) = await RoleGenAsync(data, options, backboneDir, trajectories, excluded, log, cancellationToken).ConfigureAwait(false);
            models.Add(rolegen);
            notes.AddRange(rolegenNotes);
            log(Line(models[^1]));
        }

        var stats = new Dictionary<string, long>(data.Stats, StringComparer.Ordinal);
        var report = new EvalReport("rolegen-eval/3", data.Name, dataPath, data.Split, exclusion.ToString().ToLowerInvariant(),
            data.RecallKs, data.NdcgKs, stats, models, DateTimeOffset.UtcNow) { Resamples = options.Resamples, Notes = notes };
        return report.WithComparisons(report.StrongestComparisons().Concat(options.Comparisons ?? []));
    }

    /// <summary>RoleGen's acceptance target on the dormant cohort: Recall@1 at least 1.062 × the strongest baseline.</summary>
    public const double RoleGenRecallAt1Target = 1.062;

    /// <summary>Candidates per user: the largest cut-off of the split's metrics (and the top-10 of the diversity metrics).</summary>
    public static int TopK(EvalDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Math.Max(Math.Max(data.RecallKs.Max(), data.NdcgKs.Max()), MetricNames.DiversityK);
    }

    private static async Task<(ModelResult Result, string ModelDir)> BackboneAsync(EvalDataset data, EvalOptions options, IReadOnlyList<UserTrajectory> trajectories,
        IReadOnlyList<IReadOnlySet<string>> excluded, Action<string> log, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var (modelDir, details) = await TrainOrLoadBackboneAsync(data, options, options.ModelDir, options.WorkDir, log, cancellationToken).ConfigureAwait(false);
        var build = watch.Elapsed.TotalSeconds;
        using var recommender = LoadBackbone(modelDir, options);
        details["runtime"] = recommender.Runtime;
        details["items"] = recommender.Vocabulary.NumItems;
        var (metrics, score) = await ScoreAsync(data, EvalPipeline.ForModel(recommender, TopK(data)), trajectories, excluded, options.ScoreBatch, cancellationToken, options.Resamples).ConfigureAwait(false);
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

    /// <summary>The world model of a backbone, batched as the production provider batches it.</summary>
    public static ICounterfactualModel WorldOf(BackboneRecommender backbone, EvalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new BackboneCounterfactualModel(backbone, Math.Max(BackboneCounterfactualModelProvider.MinBatch, options.ScoreBatch));
    }

    /// <summary>RoleGen = the ranker (the backbone, or the transition baseline without one) + the embedded reasoner +
    /// fusion, through <see cref="ShardRecommender"/>. The fusion weights are chosen on the validation split carved from
    /// the train window (its own ranker, statistics and reasoning, all from the validation train part); the test part is
    /// scored once, with the chosen weights. Without a validation split the default weights are used, and a note says so.</summary>
    private static async Task<(ModelResult Result, IReadOnlyList<string> Notes)> RoleGenAsync(EvalDataset data, EvalOptions options, string? backboneDir,
        IReadOnlyList<UserTrajectory> trajectories, IReadOnlyList<IReadOnlySet<string>> excluded, Action<string> log, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var notes = new List<string>();
        var details = new Dictionary<string, object?>();
        var topK = TopK(data);
        var chosen = options.Reasoner.Fusion;
        var validation = data.ValidationSplit?.Invoke();
        if (validation is null)
        {
            var note = $"rolegen: no validation split ({data.ValidationNote ?? "this protocol carves none"}; no evaluable user in it): the default fusion weights are used.";
            notes.Add(note);
            log(note);
        }
        else
        {
            log($"rolegen: validation split from the train window only: {validation.Split} ({validation.Users.Count} users)");
            var vTrajectories = validation.Users.Select(u => u.ToTrajectory(options.Exclusion!.Value)).ToArray();
            var vExcluded = validation.Users.Select(u => u.Excluded(options.Exclusion!.Value)).ToArray();
            var vStats = await RoleGenEval.StatisticsAsync(validation.TrainEvents, validation.AsOf, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<(FusionWeights Weights, double Recall1, double Recall10)> grid;
            if (backboneDir is not null)
            {
                var (vDir, vDetails) = await TrainOrLoadBackboneAsync(validation, options, null, options.WorkDir + "-validation", log, cancellationToken).ConfigureAwait(false);
                details["validationBackbone"] = vDetails;
                using var vBackbone = LoadBackbone(vDir, options);
                grid = await RoleGenEval.SearchWeightsAsync(validation, vTrajectories, vExcluded, vBackbone, WorldOf(vBackbone, options), vStats, options.Reasoner, topK,
                    options.ScoreBatch, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var (vTransition, _) = await TransitionBaseline.BuildAsync(validation.TrainEvents, validation.AsOf, cancellationToken).ConfigureAwait(false);
                grid = await RoleGenEval.SearchWeightsAsync(validation, vTrajectories, vExcluded, vTransition, new StatisticalCounterfactualModel(vStats), vStats,
                    options.Reasoner, topK, options.ScoreBatch, cancellationToken).ConfigureAwait(false);
            }
            var best = FusionWeightSearch.Choose(grid);
            chosen = best.Weights with { Version = "validated-" + best.Weights.Version };
            log(string.Create(CultureInfo.InvariantCulture,
                $"rolegen: chose {chosen.Version} on validation (Recall@1 {best.Recall1:F4}, Recall@10 {best.Recall10:F4}) from {grid.Count} weight sets"));
            details["validationUsers"] = validation.Users.Count;
            details["validationGrid"] = grid.OrderByDescending(g => g.Recall1).ThenByDescending(g => g.Recall10).Take(5)
                .Select(g => new { weights = g.Weights.Version, recallAt1 = g.Recall1, recallAt10 = g.Recall10 }).ToArray();
        }
        details["chosenWeights"] = chosen;
        var reasoner = options.Reasoner with { Fusion = chosen };
        var build = watch.Elapsed.TotalSeconds;

        // Test: the ranker trained on the whole train window, statistics of the whole train window, the chosen weights.
        var stats = await RoleGenEval.StatisticsAsync(data.TrainEvents, data.AsOf, cancellationToken).ConfigureAwait(false);
        BackboneRecommender? backbone = null;
        ShardRecommender pipeline;
        try
        {
            if (backboneDir is not null)
            {
                backbone = LoadBackbone(backboneDir, options);
                pipeline = EvalPipeline.ForRoleGen(backbone, stats, WorldOf(backbone, options), reasoner, topK);
            }
            else
            {
                var (transition, _) = await TransitionBaseline.BuildAsync(data.TrainEvents, data.AsOf, cancellationToken).ConfigureAwait(false);
                pipeline = EvalPipeline.ForRoleGen(transition, stats, new StatisticalCounterfactualModel(stats), reasoner, topK);
            }
            var (metrics, score) = await ScoreAsync(data, pipeline, trajectories, excluded, options.ScoreBatch, cancellationToken, options.Resamples).ConfigureAwait(false);
            var r = pipeline.Reasoning;
            var reasonSeconds = pipeline.Reasoner.RolesAndProposalTime.TotalSeconds + pipeline.Reasoner.WorldModelTime.TotalSeconds;
            details["ranker"] = backboneDir is not null ? "backbone" : "transition";
            details["worldModel"] = pipeline.Reasoner.WorldModel;
            details["reasoningUsersPerSecond"] = r.Users / Math.Max(reasonSeconds, 1e-9);
            details["reasoningRolesSeconds"] = pipeline.Reasoner.RolesAndProposalTime.TotalSeconds;
            details["reasoningWorldModelSeconds"] = pipeline.Reasoner.WorldModelTime.TotalSeconds;
            details["usersWithPaths"] = r.UsersWithPaths;
            details["pathsByRole"] = r.PathsByRole;
            details["meanDelta"] = r.MeanDelta;
            details["itemsBySource"] = pipeline.Scoring.ItemsBySource;
            details["maxInterventions"] = reasoner.MaxInterventions;
            details["pathsPerUser"] = reasoner.PathsPerUser;
            return (new ModelResult("rolegen",
                $"RoleGen: {details["ranker"]} + embedded reasoner (roles, {reasoner.MaxInterventions} role-diverse interventions, Δ from {pipeline.Reasoner.WorldModel}) + fusion, weights {chosen.Version}; through ShardRecommender",
                watch.Elapsed.TotalSeconds, build, score, metrics, details), notes);
        }
        finally
        {
            backbone?.Dispose();
        }
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

    /// <summary>Scores every user through <paramref name="pipeline"/> and collects the metrics per cohort: means, per-user
    /// vectors (for paired comparisons; users in <see cref="EvalDataset.Users"/> order, so every model pairs the same users)
    /// and percentile bootstrap 95% CIs with <paramref name="resamples"/> resamples (0 = no CIs). Cohorts without users are
    /// left out. Diversity is measured against <see cref="EvalDataset.ItemCategories"/> when the dataset has categories.</summary>
    public static async Task<(IReadOnlyList<CohortMetrics> Metrics, double Seconds)> ScoreAsync(EvalDataset data, ShardRecommender pipeline,
        IReadOnlyList<UserTrajectory> trajectories, IReadOnlyList<IReadOnlySet<string>> excluded, int batch, CancellationToken cancellationToken,
        int resamples = Bootstrap.DefaultResamples)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(pipeline);
        var watch = Stopwatch.StartNew();
        var lists = new List<UserRecommendations>(trajectories.Count);
        for (var start = 0; start < trajectories.Count; start += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lists.AddRange(await pipeline.RecommendAsync(trajectories.Skip(start).Take(batch).ToArray(), cancellationToken).ConfigureAwait(false));
        }
        var seconds = watch.Elapsed.TotalSeconds;
        return (Measure(data, lists, excluded, resamples), seconds);
    }

    /// <summary>The metrics of ready lists (one per user of <paramref name="data"/>, same order).</summary>
    public static IReadOnlyList<CohortMetrics> Measure(EvalDataset data, IReadOnlyList<UserRecommendations> lists, IReadOnlyList<IReadOnlySet<string>> excluded,
        int resamples)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(lists);
        ArgumentNullException.ThrowIfNull(excluded);
        if (lists.Count != data.Users.Count)
        {
            throw new InvalidOperationException($"{lists.Count} lists for {data.Users.Count} users.");
        }
        var acc = new MetricAccumulator(data.RecallKs, data.NdcgKs, data.ItemCategories);
        var k = acc.MaxK;
        for (var i = 0; i < lists.Count; i++)
        {
            var user = data.Users[i];
            var ranked = RankingMath.WithoutExcluded(lists[i].Items.Select(x => x.ItemId), excluded[i], k);
            acc.Add(ranked, user.Targets, CohortsOf(user, data.Cohorts), user.UserId);
        }
        var results = acc.Results().Where(c => c.Users > 0).ToArray();
        return resamples > 0 ? [.. results.Select(c => c.WithIntervals(resamples))] : results;
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
        var all = m.Cohorts.FirstOrDefault();
        return all is null
            ? $"{m.Model}: no evaluated users"
            : string.Create(CultureInfo.InvariantCulture,
                $"{m.Model}: {all.Users} users, Recall@10 {all.Recall.GetValueOrDefault("@10"):F4}, NDCG@10 {all.Ndcg.GetValueOrDefault("@10"):F4} ({m.WallSeconds:F1} s: build {m.BuildSeconds:F1} s, score {m.ScoreSeconds:F1} s)");
    }
}

/// <summary>How the evaluation builds the production pipeline: one <see cref="ShardRecommender"/> per model, exactly as
/// the shard activities do (no experiment: every user gets the list being evaluated).</summary>
public static class EvalPipeline
{
    /// <summary>A model alone (the reasoner off): the model's top-<paramref name="topK"/>.</summary>
    public static ShardRecommender ForModel(IRecommender model, int topK) =>
        new(model, null, null, new ShardRecommenderOptions { TopK = topK, Reasoner = new ReasonerOptions { Enabled = false } });

    /// <summary>RoleGen: the ranker, the embedded reasoner over <paramref name="stats"/> and <paramref name="world"/>, and
    /// fusion with <paramref name="options"/>' weights — what <c>ReasonShardActivity</c> + <c>ScoreShardActivity</c> run.</summary>
    public static ShardRecommender ForRoleGen(IRecommender ranker, BehaviorGraphStatistics stats, ICounterfactualModel world, ReasonerOptions options, int topK,
        Core.Experiments.ExperimentOptions? experiment = null) =>
        new(ranker, ShardRecommenderFactory.CreateReasoner(stats, world, options), stats,
            new ShardRecommenderOptions { TopK = topK, Reasoner = options, Experiment = experiment });
}
