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

    /// <summary>The ranker candidates RoleGen fuses into: the transition baseline, and with a backbone the backbone and rank
    /// blends of both (<see cref="BlendedRecommender"/>; the number is the backbone's weight).</summary>
    public static readonly IReadOnlyList<double> BackboneWeights = [0, 0.25, 0.5, 0.75, 1];

    /// <summary>The ranker of a backbone weight: 0 = the transition model, 1 = the backbone, else their blend.</summary>
    public static IRecommender Ranker(double backboneWeight, IRecommender transition, IRecommender? backbone) => backboneWeight switch
    {
        0 => transition,
        1 => backbone ?? throw new InvalidOperationException("no backbone"),
        _ => new BlendedRecommender(backbone ?? throw new InvalidOperationException("no backbone"), transition, backboneWeight),
    };

    public static string RankerName(double backboneWeight) => backboneWeight switch
    {
        0 => "transition",
        1 => "backbone",
        _ => string.Create(CultureInfo.InvariantCulture, $"blend (backbone {backboneWeight:0.##}, transition {1 - backboneWeight:0.##})"),
    };

    /// <summary>RoleGen = the strongest ranker (transition, backbone or a blend, chosen on validation) + the embedded
    /// reasoner + fusion, through <see cref="ShardRecommender"/>. The ranker and the fusion weights are chosen together on the
    /// validation split carved from the train window (its own models, statistics and reasoning, all from the validation train
    /// part); the test part is scored once, with the choice. Without a validation split: the backbone (else the transition
    /// model) and the default weights, with a note.</summary>
    private static async Task<(ModelResult Result, IReadOnlyList<string> Notes)> RoleGenAsync(EvalDataset data, EvalOptions options, string? backboneDir,
        IReadOnlyList<UserTrajectory> trajectories, IReadOnlyList<IReadOnlySet<string>> excluded, Action<string> log, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var notes = new List<string>();
        var details = new Dictionary<string, object?>();
        var topK = TopK(data);
        var chosen = options.Reasoner.Fusion;
        double backboneWeight = backboneDir is null ? 0 : 1;
        var validation = data.ValidationSplit?.Invoke();
        if (validation is null)
        {
            var note = $"rolegen: no validation split ({data.ValidationNote ?? "this protocol carves none"}; no evaluable user in it): {RankerName(backboneWeight)} with the default fusion weights.";
            notes.Add(note);
            log(note);
        }
        else
        {
            log($"rolegen: validation split from the train window only: {validation.Split} ({validation.Users.Count} users)");
            var vTrajectories = validation.Users.Select(u => u.ToTrajectory(options.Exclusion!.Value)).ToArray();
            var vExcluded = validation.Users.Select(u => u.Excluded(options.Exclusion!.Value)).ToArray();
            var vStats = await RoleGenEval.StatisticsAsync(validation.TrainEvents, validation.AsOf, cancellationToken).ConfigureAwait(false);
            var (vTransition, _) = await TransitionBaseline.BuildAsync(validation.TrainEvents, validation.AsOf, cancellationToken).ConfigureAwait(false);
            BackboneRecommender? vBackbone = null;
            try
            {
                if (backboneDir is not null)
                {
                    try
                    {
                        var (vDir, vDetails) = await TrainOrLoadBackboneAsync(validation, options, null, options.WorkDir + "-validation", log, cancellationToken).ConfigureAwait(false);
                        details["validationBackbone"] = vDetails;
                        vBackbone = LoadBackbone(vDir, options);
                    }
                    catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or InvalidDataException)
                    {
                        notes.Add($"rolegen: the validation backbone could not be trained ({ex.Message}): only the transition ranker was validated.");
                    }
                }
                var world = vBackbone is null ? (ICounterfactualModel)new StatisticalCounterfactualModel(vStats) : WorldOf(vBackbone, options);
                var reasonings = await RoleGenEval.ReasonAllAsync(vTrajectories, world, vStats, options.Reasoner, options.ScoreBatch, cancellationToken).ConfigureAwait(false);
                var signal = RoleGenEval.DeltaAuc(validation.Users, reasonings, EvalDataset.CategoriesOf(data.TrainEvents));
                details["deltaSignal"] = signal;
                var rankers = new List<RankerValidation>();
                foreach (var w in vBackbone is null ? [0.0] : BackboneWeights)
                {
                    var vRanker = Ranker(w, vTransition, vBackbone);
                    var plainLists = new List<UserRecommendations>(vTrajectories.Length);
                    for (var start = 0; start < vTrajectories.Length; start += options.ScoreBatch)
                    {
                        plainLists.AddRange(vRanker.Recommend(vTrajectories.Skip(start).Take(options.ScoreBatch).ToArray(), topK));
                    }
                    var plain = Measure(validation, plainLists, vExcluded, resamples: 0).First(c => c.Cohort == "all");
                    var grid = RoleGenEval.SearchWeights(validation, vTrajectories, vExcluded, vRanker, reasonings, vStats, options.Reasoner,
                        topK, options.ScoreBatch, cancellationToken);
                    rankers.Add(new RankerValidation(w, plain.Recall["@1"], plain.Recall.GetValueOrDefault("@10"), grid));
                }
                var best = RankerSelection.Choose(rankers);
                backboneWeight = best.BackboneWeight;
                chosen = best.Weights with { Version = "validated-" + best.Weights.Version };
                log(string.Create(CultureInfo.InvariantCulture,
                    $"rolegen: chose {chosen.Version} over {RankerName(backboneWeight)} on validation (Recall@1 {best.Recall1:F4}, Recall@10 {best.Recall10:F4}; " +
                    $"floor: the strongest plain ranker's Recall@10 {best.FloorRecall10:F4}, {(best.KeepsFloor ? "kept" : "NOT kept by any configuration: the closest served")}); " +
                    $"plain rankers: {string.Join(", ", rankers.Select(r => $"{RankerName(r.BackboneWeight)} {r.PlainRecall1:F4}/{r.PlainRecall10:F4}"))}"));
                if (!best.KeepsFloor)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture,
                        $"rolegen: on validation no ranker + fusion configuration kept the strongest plain ranker's Recall@10 ({best.FloorRecall10:F4}); the closest ({best.Recall10:F4}) is served."));
                }
                details["validationUsers"] = validation.Users.Count;
                details["validationRecallAt1"] = best.Recall1;
                details["validationRecallAt10"] = best.Recall10;
                details["validationFloorRecallAt10"] = best.FloorRecall10;
                details["validationKeepsFloor"] = best.KeepsFloor;
                details["validationRankers"] = rankers.Select(r =>
                {
                    var top = FusionWeightSearch.Choose(r.Grid);
                    return new { ranker = RankerName(r.BackboneWeight), backboneWeight = r.BackboneWeight, plainRecallAt1 = r.PlainRecall1, plainRecallAt10 = r.PlainRecall10, weights = top.Weights.Version, recallAt1 = top.Recall1, recallAt10 = top.Recall10 };
                }).ToArray();
                notes.Add(DeltaNote(signal, chosen));
            }
            finally
            {
                vBackbone?.Dispose();
            }
        }
        details["chosenWeights"] = chosen;
        details["backboneWeight"] = backboneWeight;
        var reasoner = options.Reasoner with { Fusion = chosen };
        var build = watch.Elapsed.TotalSeconds;

        // Test: the models trained on the whole train window, its statistics, the chosen ranker and weights.
        var stats = await RoleGenEval.StatisticsAsync(data.TrainEvents, data.AsOf, cancellationToken).ConfigureAwait(false);
        var (transition, _) = await TransitionBaseline.BuildAsync(data.TrainEvents, data.AsOf, cancellationToken).ConfigureAwait(false);
        using var backbone = backboneDir is null ? null : LoadBackbone(backboneDir, options);
        var ranker = Ranker(backboneWeight, transition, backbone);
        var pipeline = EvalPipeline.ForRoleGen(ranker, stats, backbone is null ? new StatisticalCounterfactualModel(stats) : WorldOf(backbone, options), reasoner, topK);
        var (metrics, score) = await ScoreAsync(data, pipeline, trajectories, excluded, options.ScoreBatch, cancellationToken, options.Resamples).ConfigureAwait(false);
        var r = pipeline.Reasoning;
        var reasonSeconds = pipeline.Reasoner.RolesAndProposalTime.TotalSeconds + pipeline.Reasoner.WorldModelTime.TotalSeconds;
        details["ranker"] = RankerName(backboneWeight);
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
        var result = new ModelResult("rolegen",
            $"RoleGen: {details["ranker"]} + embedded reasoner (roles, {reasoner.MaxInterventions} role-diverse interventions, Δ from {pipeline.Reasoner.WorldModel}) + fusion, weights {chosen.Version}; through ShardRecommender",
            watch.Elapsed.TotalSeconds, build, score, metrics, details);
        return (result, notes);
    }

    /// <summary>What the validation says about Δ, and what the weight search made of it.</summary>
    private static string DeltaNote(DeltaSignal signal, FusionWeights chosen)
    {
        string Auc(double? a) => a is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "n/a";
        var predicts = signal.CategoryAuc is > 0.55;
        return string.Create(CultureInfo.InvariantCulture,
            $"counterfactuals: on validation, Δ of {signal.Paths} evaluated interventions {(predicts ? "predicts" : "does not predict")} a later purchase in the path's target category " +
            $"(AUC {Auc(signal.CategoryAuc)}, {signal.CategoryPositives} positives; purchase of the shown item: AUC {Auc(signal.ItemAuc)}, {signal.ItemPositives} positives); " +
            $"the validated uplift weight is {chosen.Uplift}{(predicts || chosen.Uplift == 0 ? "" : " (kept by the search although Δ alone ranks poorly: it breaks ties among reasoned items)")}.");
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
                // Leave-one-out: the trainer's own test case is this split's test case; its TorchSharp score is reported next to
                // the ONNX one as a train/serve consistency check (never used for a choice). A temporal split's is a placeholder.
                EvaluateTest = options.Exclusion == ExclusionMode.History,
                // Early stopping ranks as this split is scored: leave-one-out excludes the history, a temporal split keeps it.
                ExcludeHistory = options.Exclusion == ExclusionMode.History,
                TimeBudget = options.BudgetSeconds > 0 ? TimeSpan.FromSeconds(options.BudgetSeconds) : null,
                Log = line => log("  " + line),
            };
            log($"training the backbone on the train part ({data.BackboneCorpus.ItemSeqs.Count} sequences, {data.BackboneCorpus.NumItems} items); validation: {data.BackboneValidation}");
            await Task.Yield();
            using var trained = BackboneTrainer.Train(data.BackboneCorpus, new BackboneOptions(), training, cancellationToken);
            BackboneExport.Write(trained, data.BackboneCorpus.Vocabulary, modelDir, data.BackboneCorpus.CollapseRepeats);
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
            details["validationConversion"] = m.ValidationConversion;
            details["torchTestRecallAt10"] = m.Test?.Recall;
            details["torchTestNdcgAt10"] = m.Test?.Ndcg;
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
    /// fusion with <paramref name="options"/>' weights — what <c>RecommendShardActivity</c> runs.</summary>
    public static ShardRecommender ForRoleGen(IRecommender ranker, BehaviorGraphStatistics stats, ICounterfactualModel world, ReasonerOptions options, int topK,
        Core.Experiments.ExperimentOptions? experiment = null) =>
        new(ranker, ShardRecommenderFactory.CreateReasoner(stats, world, options), stats,
            new ShardRecommenderOptions { TopK = topK, Reasoner = options, Experiment = experiment });
}
