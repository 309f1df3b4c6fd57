using System.Globalization;

namespace RoleGen.Core.Storage;

/// <summary>
/// Every blob path RoleGen reads or writes, in one place (container <c>rolegen</c>, one prefix per concern). Names are
/// deterministic, so a retried or replayed activity overwrites its own output and never duplicates it. Path segments that
/// come from outside (run ids, dataset, experiment and version names) are validated by their owners before they get here
/// (<see cref="Runs.RunId"/>, <see cref="Ingest.EventStore.ValidateDataset"/>, <see cref="BlobNames.ValidateSegment"/>).
/// </summary>
/// <remarks>
/// <code>
/// events/{dataset}/part-NNNNN.csv  _ingest.json  _quarantine.jsonl  _truth/world.json
/// models/backbone/{version}/model.onnx  conversion.onnx  vocab.json  train-metrics.json;  models/backbone/current
/// prompts/reasoner/{version};  prompts/reasoner/current  candidates/{version}  history.json
/// priors/{version}/fusion.json  reflection.json  candidates/{NNNNN}.jsonl
/// experiments/{experiment}/latest-run.json  priors-current.json
/// feedback/{experiment}/*.csv
/// runs/{runId}/manifest.json  report.md  cohort.json  feedback.json  model/{kind}.bin  reasoning/graph-stats.json
/// runs/{runId}/feedback/outcomes/{NNNNN}.jsonl.gz  refinable/{NNNNN}.jsonl.gz  partials/{NNNNN}.json
/// runs/{runId}/shards/{NNNNN}/users.jsonl  reasoning.jsonl  candidates.jsonl  shard.json  executions.txt
/// reasoning/llm-cache/{promptVersion}/{xx}/{key}.json
/// tuning/{dataset}/current.json
/// reports/eval/{dataset}/{yyyyMMddTHHmmssZ}/report.json|md|html
/// </code>
/// </remarks>
public static class BlobLayout
{
    // ---- events/{dataset}/ : behaviour logs as ingested

    public static string EventsPrefix(string dataset) => $"events/{dataset}/";

    public static string EventPart(string dataset, int part) => string.Create(CultureInfo.InvariantCulture, $"events/{dataset}/part-{part:D5}.csv");

    public static string IngestSummary(string dataset) => $"events/{dataset}/_ingest.json";

    /// <summary>An ingest's staged generation <c>events/{dataset}/gen-{generation}/</c>: its parts and quarantine are written
    /// there and go live when <see cref="IngestSummary"/> names it (one blob write: the swap).</summary>
    public static string EventGeneration(string dataset, string generation) => $"events/{dataset}/gen-{generation}/";

    /// <summary>Part <paramref name="part"/> under a parts prefix (<see cref="EventsPrefix"/> or <see cref="EventGeneration"/>).</summary>
    public static string PartUnder(string prefix, int part) => string.Create(CultureInfo.InvariantCulture, $"{prefix}part-{part:D5}.csv");

    public static string Quarantine(string dataset) => $"events/{dataset}/_quarantine.jsonl";

    /// <summary>The demo world's ground truth (trigger items, complements) next to its events.</summary>
    public static string DemoTruth(string dataset) => $"events/{dataset}/_truth/world.json";

    // ---- models/backbone/ : published backbones and the pointer runs resolve

    public const string BackboneCurrent = "models/backbone/current";

    /// <summary>Why <paramref name="version"/> cannot name a stored version (backbone, prompt, priors), or null when it can.
    /// The rule of run ids and experiment names: 1-100 of <c>A-Z a-z 0-9 - _ .</c> with a letter or digit and no "..", so a
    /// pointer's content can never become a path step (the storage SDK resolves "../").</summary>
    public static string? VersionProblem(string? version) =>
        string.IsNullOrEmpty(version) ? "empty version"
        : version.Length > 100 ? $"version is {version.Length} characters long (at most 100)"
        : !version.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || !version.Any(char.IsAsciiLetterOrDigit)
            || version.Contains("..", StringComparison.Ordinal)
            ? $"version '{(version.Length <= 40 ? version : version[..40] + "…")}' is not valid: use 1-100 letters, digits, '-', '_' or '.' (no '..')"
            : null;

    public static string BackboneFolder(string version) => $"models/backbone/{version}/";

    public const string BackboneModelFile = "model.onnx";

    /// <summary>The conversion-only graph of the same weights (counterfactual passes).</summary>
    public const string BackboneConversionFile = "conversion.onnx";

    public const string BackboneVocabularyFile = "vocab.json";

    public const string BackboneMetricsFile = "train-metrics.json";

    public static string BackboneModel(string version) => BackboneFolder(version) + BackboneModelFile;

    public static string BackboneConversionModel(string version) => BackboneFolder(version) + BackboneConversionFile;

    public static string BackboneVocabulary(string version) => BackboneFolder(version) + BackboneVocabularyFile;

    public static string BackboneMetrics(string version) => BackboneFolder(version) + BackboneMetricsFile;

    // ---- tuning/{dataset}/ : the ranker and fusion weights validated offline for a dataset

    public static string Tuning(string dataset) => $"tuning/{dataset}/current.json";

    // ---- prompts/reasoner/ : the LLM reasoner's prompt versions (immutable) and the current pointer

    public const string PromptsPrefix = "prompts/reasoner/";

    public const string PromptCurrent = PromptsPrefix + "current";

    public static string Prompt(string version) => PromptsPrefix + version;

    /// <summary>A staged revision: <c>prompts/reasoner/candidates/{version}</c> (JSON; the template itself is the immutable
    /// <see cref="Prompt"/> blob). Staging never moves <see cref="PromptCurrent"/>.</summary>
    public const string PromptCandidatesPrefix = PromptsPrefix + "candidates/";

    public static string PromptCandidate(string version) => PromptCandidatesPrefix + version;

    /// <summary>Every move of <see cref="PromptCurrent"/> (promote, rollback), oldest first (JSON array).</summary>
    public const string PromptHistory = PromptsPrefix + "history.json";

    // ---- priors/{version}/ : written by reflection

    public static string PriorsFolder(string version) => $"priors/{version}/";

    public static string PriorsFusion(string version) => PriorsFolder(version) + "fusion.json";

    public static string PriorsReflection(string version) => PriorsFolder(version) + "reflection.json";

    /// <summary>Refined candidate lists, one file per shard of the reflected run that has any.</summary>
    public static string PriorsCandidatesPrefix(string version) => PriorsFolder(version) + "candidates/";

    public static string PriorsCandidates(string version, int shard) =>
        PriorsCandidatesPrefix(version) + shard.ToString("D5", CultureInfo.InvariantCulture) + ".jsonl";

    // ---- experiments/{experiment}/ and feedback/{experiment}/

    /// <summary>The experiment's last finished run (the nightly chain's "previous run").</summary>
    public static string LatestRun(string experiment) => $"experiments/{experiment}/latest-run.json";

    /// <summary>The experiment's pointer to its newest priors (per experiment: two experiments never share priors).</summary>
    public static string PriorsCurrent(string experiment) => $"experiments/{experiment}/priors-current.json";

    /// <summary>Outcome CSV files of the experiment (impressions, clicks, carts, orders).</summary>
    public static string FeedbackPrefix(string experiment) => $"feedback/{experiment}/";

    // ---- runs/{runId}/ : one run

    public static string RunPrefix(string runId) => $"runs/{runId}/";

    public static string Manifest(string runId) => RunPrefix(runId) + "manifest.json";

    public static string Report(string runId) => RunPrefix(runId) + "report.md";

    /// <summary>The self-contained HTML report (charts, shards, reasoning, per-user explanations), next to report.md.</summary>
    public static string ReportHtml(string runId) => RunPrefix(runId) + "report.html";

    public static string Cohort(string runId) => RunPrefix(runId) + "cohort.json";

    public static string RunFeedback(string runId) => RunPrefix(runId) + "feedback.json";

    /// <summary>The feedback step's working files: the outcomes split by the run's shard of their user, and each shard's
    /// partial sums (what feedback.json and the reflection add up).</summary>
    public static string RunFeedbackWork(string runId) => RunPrefix(runId) + "feedback/";

    /// <summary>The outcomes of the shard's users, as gzip-compressed JSON lines (<see cref="BlobStoreExtensions.GzipExtension"/>).</summary>
    public static string FeedbackOutcomes(string runId, int shard) =>
        RunFeedbackWork(runId) + "outcomes/" + shard.ToString("D5", CultureInfo.InvariantCulture) + ".jsonl.gz";

    /// <summary>The shard's candidate rows the reflection may refine, with their users' attributed outcomes
    /// (<see cref="Experiments.RefinableRow"/>), as gzip-compressed JSON lines: written by the feedback step, read by the
    /// reflection instead of the shard's candidates and outcomes.</summary>
    public static string FeedbackRefinable(string runId, int shard) =>
        RunFeedbackWork(runId) + "refinable/" + shard.ToString("D5", CultureInfo.InvariantCulture) + ".jsonl.gz";

    /// <summary>Where a version before compression wrote a working file (<see cref="FeedbackOutcomes"/>,
    /// <see cref="FeedbackRefinable"/>): the same path without <see cref="BlobStoreExtensions.GzipExtension"/>. Read when
    /// the compressed file is missing, so a feedback step split by the previous version still reads back.</summary>
    public static string Uncompressed(string path) =>
        BlobStoreExtensions.IsGzip(path) ? path[..^BlobStoreExtensions.GzipExtension.Length] : path;

    public static string FeedbackPartial(string runId, int shard) =>
        RunFeedbackWork(runId) + "partials/" + shard.ToString("D5", CultureInfo.InvariantCulture) + ".json";

    /// <summary>The run's baseline model (<paramref name="kind"/>: the model kind, e.g. <c>transition</c>).</summary>
    public static string RunModel(string runId, string kind) => RunPrefix(runId) + $"model/{kind}.bin";

    public const string GraphStatisticsFile = "graph-stats.json";

    /// <summary>The run's behaviour-graph statistics (computed once per run for every shard's reasoner).</summary>
    public static string GraphStatistics(string runId) => RunPrefix(runId) + "reasoning/" + GraphStatisticsFile;

    public static string ShardsPrefix(string runId) => RunPrefix(runId) + "shards/";

    public static string ShardFolder(string runId, int shard) => ShardsPrefix(runId) + shard.ToString("D5", CultureInfo.InvariantCulture) + "/";

    /// <summary>The shard's input trajectories.</summary>
    public static string ShardUsers(string runId, int shard) => ShardFolder(runId, shard) + "users.jsonl";

    /// <summary>The reasoner's output for the shard: one <c>UserReasoning</c> line per user, in users.jsonl order.</summary>
    public static string ShardReasoning(string runId, int shard) => ShardFolder(runId, shard) + "reasoning.jsonl";

    public static string ShardCandidates(string runId, int shard) => ShardFolder(runId, shard) + "candidates.jsonl";

    public const string CandidatesFile = "candidates.jsonl";

    /// <summary>A shard's outcome (counts, timings, reasoning and scoring tallies), written by its activity; the run's
    /// finalize step reads these instead of carrying every outcome through the orchestration history.</summary>
    public static string ShardReport(string runId, int shard) => ShardFolder(runId, shard) + "shard.json";

    /// <summary>How many times the shard's activity has started (a crash re-delivery counts): the real attempts.</summary>
    public static string ShardExecutions(string runId, int shard) => ShardFolder(runId, shard) + "executions.txt";

    /// <summary>LLM tokens the shard's attempts have spent so far ("{run start ticks} {tokens}"), written after each batch
    /// and when an attempt fails: a re-attempt spends only what is left of the shard's share of the run budget.</summary>
    public static string ShardLlmLedger(string runId, int shard) => ShardFolder(runId, shard) + "llm-tokens.txt";

    // ---- reasoning/llm-cache/ : valid LLM answers by trajectory signature

    public const string LlmCachePrefix = "reasoning/llm-cache/";

    public static string LlmCache(string promptVersion, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return $"{LlmCachePrefix}{promptVersion}/{key[..Math.Min(2, key.Length)]}/{key}.json";
    }

    // ---- reports/eval/ : offline evaluation reports

    public static string EvalReportPrefix(string dataset, DateTimeOffset created) =>
        string.Create(CultureInfo.InvariantCulture, $"reports/eval/{dataset}/{created.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}/");
}

/// <summary>Rules for a name that becomes one path segment (a version, an experiment): 1-80 characters of letters, digits,
/// '-', '_' or '.', at least one letter or digit, so that "." and ".." (which the storage SDK resolves) are refused.</summary>
public static class BlobNames
{
    public const int MaxLength = 80;

    public static bool IsValidSegment(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && name.Any(char.IsAsciiLetterOrDigit) &&
        name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>Returns <paramref name="name"/> or throws <see cref="ArgumentException"/> saying what <paramref name="what"/> must look like.</summary>
    public static string ValidateSegment(string? name, string what) => IsValidSegment(name)
        ? name!
        : throw new ArgumentException($"{what} '{name}' is not valid: use 1-{MaxLength} letters, digits, '-', '_' or '.', with at least one letter or digit.");
}
