using RoleGen.Core.Cohort;
using RoleGen.Core.Scoring;

namespace RoleGen.Core.Runs;

/// <summary>What a nightly run is asked to do. Crosses the durable boundary: small, ids and options only.</summary>
public sealed record RunRequest
{
    public required string RunId { get; init; }

    public required string Dataset { get; init; }

    public DormancyPolicy Policy { get; init; } = new();

    /// <summary>Target users per shard (the shard count is the next power of two that honours it).</summary>
    public int ShardSize { get; init; } = 5000;

    /// <summary>Pin the shard count (0 = derive from <see cref="ShardSize"/>). Pinned counts keep shards stable across nights.</summary>
    public int ShardCount { get; init; }

    public int TopK { get; init; } = 20;

    /// <summary>The Conversion Trajectory Reasoner and fusion (on by default; <c>Enabled = false</c> scores with the model alone).</summary>
    public Reasoning.ReasonerOptions Reasoner { get; init; } = new();

    /// <summary>The A/B experiment the run belongs to: control users get the model alone, treatment users RoleGen.
    /// Null: no experiment (every user gets RoleGen).</summary>
    public Experiments.ExperimentOptions? Experiment { get; init; } = new();

    /// <summary>Shard sub-orchestrations in flight at once.</summary>
    public int MaxParallelShards { get; init; } = 8;

    /// <summary>Attempts per activity (first try + retries) before a shard is reported failed.</summary>
    public int MaxAttempts { get; init; } = 3;

    public double FirstRetrySeconds { get; init; } = 2;

    public string TriggeredBy { get; init; } = "cli";

    public static string ValidateRunId(string runId)
    {
        if (string.IsNullOrWhiteSpace(runId) || runId.Length > 80 ||
            !runId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException($"Run id '{runId}' is not valid: use 1-80 letters, digits, '-', '_' or '.'.", nameof(runId));
        }
        return runId;
    }

    public string? Validate()
    {
        var errors = new List<string>();
        try
        {
            ValidateRunId(RunId);
        }
        catch (ArgumentException ex)
        {
            errors.Add(ex.Message);
        }
        try
        {
            Ingest.EventStore.ValidateDataset(Dataset);
        }
        catch (ArgumentException ex)
        {
            errors.Add(ex.Message);
        }
        if (Policy.Validate() is { } p)
        {
            errors.Add(p);
        }
        if (ShardSize < 1)
        {
            errors.Add("ShardSize must be at least 1.");
        }
        if (ShardCount < 0)
        {
            errors.Add("ShardCount must be 0 (derive) or positive.");
        }
        if (TopK is < 1 or > 1000)
        {
            errors.Add("TopK must be between 1 and 1000.");
        }
        if (Reasoner is null)
        {
            errors.Add("Reasoner options are missing.");
        }
        else if (Reasoner.Validate() is { } r)
        {
            errors.Add(r);
        }
        if (Experiment?.Validate() is { } x)
        {
            errors.Add(x);
        }
        if (MaxParallelShards is < 1 or > 1000)
        {
            errors.Add("MaxParallelShards must be between 1 and 1000.");
        }
        if (MaxAttempts is < 1 or > 20)
        {
            errors.Add("MaxAttempts must be between 1 and 20.");
        }
        if (!double.IsFinite(FirstRetrySeconds) || FirstRetrySeconds is < 0.1 or > 60)
        {
            errors.Add("FirstRetrySeconds must be between 0.1 and 60 (retries back off from it up to 60 s).");
        }
        return errors.Count == 0 ? null : string.Join(" ", errors);
    }
}

/// <summary>Progress published as the run orchestration's custom status.</summary>
public sealed record RunProgress(string Phase, int ShardsDone, int ShardsTotal, int ShardsFailed, long UsersScored, long UsersTotal);

public enum ShardStatus
{
    Succeeded,
    Failed,
}

public sealed record ShardOutcome(
    int Shard,
    ShardStatus Status,
    int Users,
    int Scored,
    int Published,
    string? CandidatesPath,
    string? Error,
    int Attempts,
    double ScoreSeconds,
    double PublishSeconds,
    DateTime StartedAt,
    DateTime FinishedAt)
{
    /// <summary>Model that scored the shard (kind@version) and where it ran (execution provider).</summary>
    public string? Model { get; init; }

    public string? Runtime { get; init; }

    /// <summary>The shard's reasoning (null when the shard was scored without it).</summary>
    public ShardReasoning? Reasoning { get; init; }

    public IReadOnlyDictionary<string, long>? ItemsBySource { get; init; }

    public IReadOnlyDictionary<string, long>? ItemsByRole { get; init; }

    /// <summary>Users per A/B arm (control, treatment) in the shard's candidates.</summary>
    public IReadOnlyDictionary<string, long>? UsersByArm { get; init; }
}

/// <summary>What the reasoner did for one shard (counts, cost, which reasoner and world model).</summary>
/// <param name="Reasoners">Users per reasoner kind (embedded, llm, embedded-fallback).</param>
/// <param name="PathsByRole">Kept conversion paths per role of the shown item.</param>
/// <param name="MeanDelta">Mean counterfactual uplift Δ of the kept paths with a finite Δ.</param>
/// <param name="Llm">LLM counters (null when the LLM reasoner is not configured).</param>
public sealed record ShardReasoning(
    int Users,
    long Paths,
    IReadOnlyDictionary<string, long> Reasoners,
    IReadOnlyDictionary<string, long> PathsByRole,
    double MeanDelta,
    string WorldModel,
    string? PromptVersion,
    string FusionVersion,
    double Seconds,
    double RolesSeconds,
    double WorldModelSeconds,
    IReadOnlyDictionary<string, long>? Llm);

public enum RunStatus
{
    Succeeded,
    PartiallySucceeded,
    Failed,
}

/// <summary>The small result of a run (the orchestration's output); the details are in the manifest.</summary>
public sealed record RunSummary(
    string RunId,
    RunStatus Status,
    string Dataset,
    long UsersInWindow,
    long Dormant,
    long Published,
    int Shards,
    int FailedShards,
    string? Model,
    string ManifestPath,
    string ReportPath,
    string CandidatesPrefix,
    double Seconds,
    string? Error);

public sealed record RunTimings(DateTime StartedAt, DateTime FinishedAt, double SelectSeconds, double ModelSeconds, double ShardsSeconds, double TotalSeconds)
{
    public double ModelActivitySeconds { get; init; }

    /// <summary>Seconds spent inside activities along the run (select, model build, every shard's score + publish).</summary>
    public double ActivitySeconds { get; init; }

    /// <summary>Seconds spent inside shard activities (score + publish of every shard).</summary>
    public double ShardActivitySeconds { get; init; }

    /// <summary>Orchestration overhead: 1 − (ideal time / <see cref="TotalSeconds"/>), where the ideal time is the
    /// select and model activities plus the shard activities spread over <paramref name="activitySlots"/> (the host's
    /// concurrent activity limit, capped by the number of shards and the parallel-shard width). What remains is dispatch,
    /// queue polling and history replay.</summary>
    public double OverheadShare(int activitySlots, int shards, int maxParallelShards, double selectActivitySeconds)
    {
        if (TotalSeconds <= 0)
        {
            return 0;
        }
        var width = Math.Max(1, Math.Min(activitySlots, Math.Min(Math.Max(shards, 1), maxParallelShards)));
        var ideal = selectActivitySeconds + ModelActivitySeconds + ShardActivitySeconds / width;
        return Math.Clamp(1 - ideal / TotalSeconds, 0, 1);
    }
}

public sealed record RunManifest(
    string RunId,
    RunStatus Status,
    string? Error,
    RunRequest Request,
    Ingest.IngestSummary? Input,
    CohortSummary? Cohort,
    ScoringModelRef? Model,
    RunCounts Counts,
    RunTimings Timings,
    IReadOnlyList<ShardOutcome> Shards,
    DateTimeOffset WrittenAt)
{
    /// <summary>What the reasoner did over the run (null for manifests written before the reasoner existed).</summary>
    public RunReasoning? Reasoning { get; init; }

    /// <summary>The run's experiment and its users per arm (null: no experiment).</summary>
    public RunExperiment? Experiment { get; init; }

    public static string Path(string runId) => $"runs/{runId}/manifest.json";

    public static string ReportPath(string runId) => $"runs/{runId}/report.md";
}

/// <summary>The run's reasoning, summed over shards. <see cref="Note"/> says why there was none when <see cref="Enabled"/>
/// is false or the statistics could not be built. <see cref="ReasoningOverScoring"/> = reasoning activity seconds / score
/// activity seconds (the cost target is at most 3 with the embedded reasoner).</summary>
public sealed record RunReasoning(
    bool Enabled,
    string? Note,
    string? StatsPath,
    double StatsSeconds,
    long Users,
    long Paths,
    IReadOnlyDictionary<string, long> Reasoners,
    IReadOnlyDictionary<string, long> PathsByRole,
    IReadOnlyDictionary<string, long> ItemsBySource,
    IReadOnlyDictionary<string, long> ItemsByRole,
    double MeanDelta,
    IReadOnlyList<string> WorldModels,
    string? PromptVersion,
    string FusionVersion,
    double ReasonSeconds,
    double ScoreSeconds,
    double ReasoningOverScoring,
    IReadOnlyDictionary<string, long>? Llm)
{
    public static RunReasoning Summarize(RunRequest request, IReadOnlyList<ShardOutcome> shards, string? statsPath, double statsSeconds, string? note)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(shards);
        static Dictionary<string, long> Sum(IEnumerable<IReadOnlyDictionary<string, long>?> parts)
        {
            var total = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var part in parts)
            {
                foreach (var (k, v) in part ?? new Dictionary<string, long>())
                {
                    total[k] = total.GetValueOrDefault(k) + v;
                }
            }
            return total.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        }
        var reasoned = shards.Where(s => s.Reasoning is not null).ToArray();
        var paths = reasoned.Sum(s => s.Reasoning!.Paths);
        var reasonSeconds = reasoned.Sum(s => s.Reasoning!.Seconds);
        var scoreSeconds = reasoned.Sum(s => s.ScoreSeconds);
        var llm = reasoned.Any(s => s.Reasoning!.Llm is not null) ? Sum(reasoned.Select(s => s.Reasoning!.Llm)) : null;
        return new RunReasoning(
            request.Reasoner.Enabled && statsPath is not null,
            note,
            statsPath,
            Math.Round(statsSeconds, 3),
            reasoned.Sum(s => (long)s.Reasoning!.Users),
            paths,
            Sum(reasoned.Select(s => s.Reasoning!.Reasoners)),
            Sum(reasoned.Select(s => s.Reasoning!.PathsByRole)),
            Sum(shards.Select(s => s.ItemsBySource)),
            Sum(shards.Select(s => s.ItemsByRole)),
            paths == 0 ? 0 : Math.Round(reasoned.Sum(s => s.Reasoning!.MeanDelta * s.Reasoning.Paths) / paths, 6),
            reasoned.Select(s => s.Reasoning!.WorldModel).Distinct(StringComparer.Ordinal).ToArray(),
            reasoned.Select(s => s.Reasoning!.PromptVersion).FirstOrDefault(v => v is not null),
            request.Reasoner.Fusion.Version,
            Math.Round(reasonSeconds, 3),
            Math.Round(scoreSeconds, 3),
            scoreSeconds <= 0 ? 0 : Math.Round(reasonSeconds / scoreSeconds, 3),
            llm);
    }
}

/// <summary>The experiment of a run and how many users each arm got.</summary>
public sealed record RunExperiment(string Name, double TreatmentShare, double AttributionDays, IReadOnlyDictionary<string, long> UsersByArm)
{
    /// <summary><c>experiments/{name}/latest-run.json</c>: the last finished run of the experiment (the nightly chain's
    /// "previous run").</summary>
    public static string LatestRunPath(string experiment) => $"experiments/{experiment}/latest-run.json";
}

/// <summary>The content of <see cref="RunExperiment.LatestRunPath"/>.</summary>
public sealed record LatestRun(string RunId, string Dataset, DateTimeOffset FinishedAt, RunStatus Status);

public sealed record CohortSummary(
    string Path,
    long AsOfUnixSeconds,
    long WindowStartUnixSeconds,
    long EventsInWindow,
    long UsersInWindow,
    long Dormant,
    IReadOnlyDictionary<string, long> NotDormantReasons,
    int ShardCount,
    int EmptyShards,
    double Seconds);

public sealed record RunCounts(long UsersInWindow, long Dormant, long Scored, long Published, int Shards, int ShardsSucceeded, int ShardsFailed, long UsersInFailedShards);
