using RoleGen.Core.Cohort;
using RoleGen.Core.Scoring;

namespace RoleGen.Core.Runs;

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

    /// <summary>Seconds the run spent interrupted (shards waiting while the host was down): excluded from the overhead.</summary>
    public double DowntimeSeconds { get; init; }

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
        var running = TotalSeconds - DowntimeSeconds;
        if (running <= 0)
        {
            return 0;
        }
        var width = Math.Max(1, Math.Min(activitySlots, Math.Min(Math.Max(shards, 1), maxParallelShards)));
        var ideal = selectActivitySeconds + ModelActivitySeconds + ShardActivitySeconds / width;
        return Math.Clamp(1 - ideal / running, 0, 1);
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

    /// <summary>How the ranker was chosen: the dataset's validated tuning (if any) and what the run made of it.</summary>
    public RunRanker? Ranker { get; init; }

    /// <summary>The one pass over the run's events: what it read and how long each part took.</summary>
    public RunPreparation? Preparation { get; init; }

    /// <summary>Interruptions seen while the shards ran (a killed or starved host): how many shards waited in the queue far
    /// longer than usual and for how long in all. This downtime is not counted as orchestration overhead.</summary>
    public RunInterruptions? Interruptions { get; init; }
}

/// <summary>The run's one pass over its events (<see cref="RunInputsBuilder"/>): events and bytes read (each event once),
/// and seconds streaming the events, replaying the users, and writing the shards, the model and the statistics.</summary>
public sealed record RunPreparation(long EventsRead, long EventsUsed, long Users, long BytesRead, double StreamSeconds, double UsersSeconds, double WriteSeconds, double Seconds);

/// <summary>Shards whose activity started long after it was scheduled, and the downtime that adds up to.</summary>
public sealed record RunInterruptions(int Shards, double DowntimeSeconds, int Executions, int Attempts);

/// <summary>The validated tuning a run applied (null: none published) and a note (why none, or what was validated).</summary>
public sealed record RunRanker(RankerTuning? Tuning, string? Note);

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
public sealed record RunExperiment(string Name, double TreatmentShare, double AttributionDays, IReadOnlyDictionary<string, long> UsersByArm);

/// <summary>The content of <see cref="Storage.BlobLayout.LatestRun"/>.</summary>
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
