using RoleGen.Core.Cohort;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;

namespace RoleGen.Orchestrations.Models;

// Claim-check messages: ids, counts, options and blob paths only. Payloads stay in blob storage.

/// <summary>The run's one pass over its events: the cohort and shards, the transition model (when the ranker uses it) and
/// the reasoner's statistics (when the reasoner is on).</summary>
public sealed record PrepareRunInput(string RunId, string Dataset, DormancyPolicy Policy, int ShardSize, int ShardCount, bool BuildTransition, bool BuildStatistics)
{
    /// <summary>Who started the run (<see cref="RunRequest.TriggeredBy"/>: timer, http, cli): the rolegen.runs.started attribute.</summary>
    public string TriggeredBy { get; init; } = "cli";
}

/// <summary>The pass's result. <see cref="ShardUsers"/>: users per shard, indexed by shard number (0 = empty shard) — the
/// compact form of the shard list (the paths are <c>BlobLayout.ShardUsers</c>).</summary>
public sealed record PrepareRunResult(
    CohortSummary Cohort,
    IReadOnlyList<int> ShardUsers,
    ScoringModelRef? Transition,
    BuildReasoningStatsResult? Statistics,
    string? StatisticsNote,
    RunPreparation Preparation);

/// <summary>Where the run's behaviour-graph statistics are (built once per run, in the prepare pass).</summary>
public sealed record BuildReasoningStatsResult(string Path, long Users, long Events, int Items, int Categories, double BaseRate, double Seconds);

/// <summary>A batch of a run's shards for one <see cref="Orchestrators.ShardBatchOrchestrator"/>: shard numbers and their users,
/// and everything a shard needs (model, options, reasoning, experiment).</summary>
public sealed record ShardBatchWork(string RunId, int Batch, IReadOnlyList<int> Shards, IReadOnlyList<int> Users, ScoringModelRef Model, int TopK,
    int MaxAttempts, double FirstRetrySeconds, int Width)
{
    public DateTime RunStartedAt { get; init; }

    public Core.Experiments.ExperimentOptions? Experiment { get; init; }

    /// <summary>Null: no reasoning (the reasoner is off, or its statistics could not be built); shards are scored by the
    /// model alone.</summary>
    public ReasoningWork? Reasoning { get; init; }

    /// <summary>This batch's part of the run's LLM token budget (<see cref="ReasonerOptions.LlmTokensPerRun"/>); null: none.</summary>
    public long? LlmTokens { get; init; }
}

/// <summary>What a shard needs to reason: where the run's behaviour-graph statistics are and the reasoner options.</summary>
public sealed record ReasoningWork(string StatsPath, ReasonerOptions Options);

/// <summary>A batch's small result: counts, the failed shards (usually none) and the queue delays that look like
/// interruptions. The full per-shard outcomes are in each shard's <c>shard.json</c>.</summary>
public sealed record ShardBatchResult(int Batch, int Succeeded, long Published, IReadOnlyList<ShardFailure> Failures, double ActivitySeconds)
{
    /// <summary>Queue delays longer than <see cref="Orchestrators.ShardBatchOrchestrator.InterruptionSeconds"/>: the host was
    /// down (or starved) while the shard waited.</summary>
    public int Interruptions { get; init; }

    public double InterruptionSeconds { get; init; }
}

/// <summary>A shard that failed after its attempts.</summary>
public sealed record ShardFailure(int Shard, int Users, string Error, int Attempts);

/// <summary>One shard's work: read its users once, reason, score, fuse, assign arms, write reasoning.jsonl, candidates.jsonl
/// and shard.json. <see cref="Attempt"/>: the orchestration's attempt number (1-based).</summary>
public sealed record RecommendShardInput(string RunId, int Shard, string UsersPath, int Users, ScoringModelRef Model, int TopK, int Attempt)
{
    /// <summary>When the run started (its orchestration's first time): distinguishes a re-run of the same id.</summary>
    public DateTime RunStartedAt { get; init; }

    public ReasoningWork? Reasoning { get; init; }

    public Core.Experiments.ExperimentOptions? Experiment { get; init; }

    /// <summary>The shard's share of the run's LLM token budget, the same on every attempt (the activity subtracts what
    /// earlier attempts spent, from the shard's ledger); null: no run-level budget.</summary>
    public long? LlmTokens { get; init; }
}

public sealed record RecommendShardResult(int Shard, int Users, int Published, string CandidatesPath, string ReportPath, DateTime StartedAt, double Seconds, int Executions)
{
    /// <summary>LLM tokens the shard spent over all its attempts (what the batch does not give back to the pool).</summary>
    public long LlmTokensSpent { get; init; }
}

public sealed record ResolveScoringModelInput(string RunId)
{
    /// <summary>The run's dataset: a backbone trained on another dataset is not used.</summary>
    public string? Dataset { get; init; }
}

/// <summary>The trained backbone to score with, or null when none is published (the run then builds the baseline), and the
/// dataset's validated tuning (ranker and fusion weights), or null with <see cref="TuningReason"/>.</summary>
public sealed record ResolveScoringModelResult(ScoringModelRef? Backbone, string Reason)
{
    public RankerTuning? Tuning { get; init; }

    public string? TuningReason { get; init; }
}

/// <summary>The run's end: what it was asked, what the pass found, the model, and the batches' small results (the shards'
/// outcomes are read from their shard.json files).</summary>
public sealed record FinalizeRunInput(
    RunRequest Request,
    CohortSummary? Cohort,
    ScoringModelRef? Model,
    IReadOnlyList<ShardBatchResult> Batches,
    DateTime StartedAt,
    DateTime FinishedAt,
    double SelectSeconds,
    double ModelSeconds,
    double ShardsSeconds,
    string? Error)
{
    /// <summary>Users per shard (shard number → users; 0 = empty), from the prepare pass.</summary>
    public IReadOnlyList<int>? ShardUsers { get; init; }

    /// <summary>The run's reasoning statistics (null: reasoner off or statistics failed — then <see cref="ReasoningNote"/> says why).</summary>
    public BuildReasoningStatsResult? ReasoningStats { get; init; }

    public string? ReasoningNote { get; init; }

    /// <summary>The validated tuning the run applied (null: none), and what the run made of it.</summary>
    public RankerTuning? Tuning { get; init; }

    public string? RankerNote { get; init; }

    /// <summary>What the one pass over the events read and how long each part took.</summary>
    public RunPreparation? Preparation { get; init; }
}
