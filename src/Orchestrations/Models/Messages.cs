using RoleGen.Core.Cohort;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;

namespace RoleGen.Orchestrations.Models;

// Claim-check messages: ids, counts, options and blob paths only. Payloads stay in blob storage.

public sealed record SelectDormantUsersInput(string RunId, string Dataset, DormancyPolicy Policy, int ShardSize, int ShardCount);

public sealed record SelectDormantUsersResult(CohortSummary Cohort, IReadOnlyList<ShardInput> Shards);

public sealed record BuildBaselineModelInput(string RunId, string Dataset, long AsOfUnixSeconds);

public sealed record BuildBaselineModelResult(ScoringModelRef Model, int Items, long Events, double Seconds);

public sealed record ShardWork(string RunId, ShardInput Shard, ScoringModelRef Model, int TopK, int MaxAttempts, double FirstRetrySeconds)
{
    public Core.Experiments.ExperimentOptions? Experiment { get; init; }

    /// <summary>Null: no reasoning (the reasoner is off, or its statistics could not be built); the shard is scored by the
    /// model alone.</summary>
    public ReasoningWork? Reasoning { get; init; }
}

/// <summary>What a shard needs to reason: where the run's behaviour-graph statistics are and the reasoner options.</summary>
public sealed record ReasoningWork(string StatsPath, ReasonerOptions Options);

public sealed record BuildReasoningStatsInput(string RunId, string Dataset, long AsOfUnixSeconds);

public sealed record BuildReasoningStatsResult(string Path, long Users, long Events, int Items, int Categories, double BaseRate, double Seconds);

public sealed record ReasonShardInput(string RunId, int Shard, string UsersPath, int Users, ScoringModelRef Model, ReasoningWork Reasoning);

public sealed record ReasonShardResult(int Shard, ShardReasoning Reasoning, string ReasoningPath);

public sealed record ScoreShardInput(string RunId, int Shard, string UsersPath, int Users, ScoringModelRef Model, int TopK)
{
    /// <summary>The shard's reasoning.jsonl to fuse into the model's ranking (null: model alone).</summary>
    public string? ReasoningPath { get; init; }

    public ReasoningWork? Reasoning { get; init; }

    /// <summary>The run's experiment: control users get the model's list, treatment users the fused one.</summary>
    public Core.Experiments.ExperimentOptions? Experiment { get; init; }
}

public sealed record ScoreShardResult(int Shard, int Users, int Scored, int ColdUsers, string ScoresPath, double Seconds)
{
    public string? Runtime { get; init; }

    /// <summary>Recommended items by source (backbone, reasoned, backbone+reasoned, ...) and by role (none = no role).</summary>
    public IReadOnlyDictionary<string, long>? ItemsBySource { get; init; }

    public IReadOnlyDictionary<string, long>? ItemsByRole { get; init; }

    public IReadOnlyDictionary<string, long>? UsersByArm { get; init; }
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

public sealed record PublishShardInput(string RunId, int Shard, string UsersPath, string ScoresPath, int ExpectedUsers);

public sealed record PublishShardResult(int Shard, int Published, string CandidatesPath, double Seconds);

public sealed record FinalizeRunInput(
    RunRequest Request,
    CohortSummary? Cohort,
    ScoringModelRef? Model,
    IReadOnlyList<ShardOutcome> Shards,
    DateTime StartedAt,
    DateTime FinishedAt,
    double SelectSeconds,
    double ModelSeconds,
    double ShardsSeconds,
    string? Error)
{
    /// <summary>Time the model build spent inside its activity (for the orchestration-overhead figure).</summary>
    public double ModelActivitySeconds { get; init; }

    /// <summary>The run's reasoning statistics (null: reasoner off or statistics failed — then <see cref="ReasoningNote"/> says why).</summary>
    public BuildReasoningStatsResult? ReasoningStats { get; init; }

    public string? ReasoningNote { get; init; }

    /// <summary>The validated tuning the run applied (null: none), and what the run made of it.</summary>
    public RankerTuning? Tuning { get; init; }

    public string? RankerNote { get; init; }
}
