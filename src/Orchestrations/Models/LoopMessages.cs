using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;

namespace RoleGen.Orchestrations.Models;

// The closed loop (issue 6): Feedback(previous run) → Reflection → the new run. Claim-check messages, as elsewhere.

/// <summary>One night of the loop. <see cref="PreviousRunId"/>: the run whose feedback and reflection come first; null =
/// the experiment's latest finished run (<c>experiments/{name}/latest-run.json</c>), or none on the first night.</summary>
public sealed record ChainRequest(RunRequest Run)
{
    public string? PreviousRunId { get; init; }

    /// <summary>False skips reflection (feedback is still collected): the ablation that measures what reflection adds.</summary>
    public bool Reflect { get; init; } = true;
}

public sealed record ResolvePreviousRunInput(string Experiment, string Dataset, string CurrentRunId);

/// <summary>The previous run, or null with the reason the loop steps are skipped.</summary>
public sealed record PreviousRunResult(string? RunId, string Reason);

public sealed record FeedbackRequest(string RunId);

/// <summary>Feedback of one run: null <see cref="Path"/> = skipped, with the reason.</summary>
public sealed record FeedbackResult(string RunId, string? Path, string? Skipped)
{
    public long OutcomesAttributed { get; init; }

    /// <summary>Shards whose sums were merged (one activity each).</summary>
    public int Shards { get; init; }

    public IReadOnlyList<ArmMetrics> Arms { get; init; } = [];

    public IReadOnlyList<LiftEstimate> Lifts { get; init; } = [];
}

public sealed record ReflectionRequest(string RunId);

/// <summary>Reflection of one run: null <see cref="Version"/> = skipped, with the reason.</summary>
public sealed record ReflectionResult(string RunId, string? Version, string? Skipped)
{
    public IReadOnlyList<string> FailedRoles { get; init; } = [];

    public IReadOnlyList<string> CollapsedCategories { get; init; } = [];

    public long RefinedUsers { get; init; }

    /// <summary>Shards refined (one activity each).</summary>
    public int RefinedShards { get; init; }

    public long LlmFallbackUsers { get; init; }

    /// <summary>The prompt version the reflection's reviser wrote and staged as a candidate (or reused), null when none. It
    /// is current only if <see cref="PromptNote"/> says it was promoted.</summary>
    public string? PromptVersion { get; init; }

    /// <summary>What the revision changed and whether it was promoted (and why not), or why there is no new prompt version
    /// (null: no reviser, or nothing to fix).</summary>
    public string? PromptNote { get; init; }
}

public sealed record ResolvePriorsInput(string RunId, string Experiment);

public sealed record ResolvePriorsResult(FusionWeights? Weights, string Reason);

/// <summary>What one night did: each loop step with its result or skip reason, then the run.</summary>
public sealed record ChainSummary(
    string RunId,
    string? PreviousRunId,
    string PreviousReason,
    FeedbackResult? Feedback,
    ReflectionResult? Reflection,
    string FusionVersion,
    string PriorsReason,
    RunSummary? Run,
    string? Error);

// ---- Feedback and reflection as a fan-out over the run's shards (sums merged by the orchestrator).

/// <summary>What the outcome partition found: null <see cref="Skipped"/> = go on with <see cref="CandidateShards"/> and
/// <see cref="OutcomeShards"/> (sorted shard numbers of the run with candidates, and with outcomes written to
/// <c>runs/{runId}/feedback/outcomes/</c>). Outcomes of another run are counted here and not written.</summary>
public sealed record FeedbackPlan(string RunId, string? Skipped)
{
    public string Experiment { get; init; } = "";

    public long WindowStart { get; init; }

    public long WindowEnd { get; init; }

    public int ShardCount { get; init; }

    public IReadOnlyList<int> CandidateShards { get; init; } = [];

    public IReadOnlyList<int> OutcomeShards { get; init; } = [];

    public int Files { get; init; }

    public long Rows { get; init; }

    public long Events { get; init; }

    public long OtherRun { get; init; }

    public IReadOnlyDictionary<string, long> QuarantinedByReason { get; init; } = new Dictionary<string, long>();

    public IReadOnlyList<string> QuarantineSamples { get; init; } = [];

    public double Seconds { get; init; }
}

/// <summary>One shard of a run's feedback: its candidates (when <see cref="HasCandidates"/>) joined with its outcomes
/// (when <see cref="HasOutcomes"/>) over the attribution window.</summary>
public sealed record FeedbackShardInput(string RunId, int Shard, bool HasCandidates, bool HasOutcomes, long WindowStart, long WindowEnd);

/// <summary>A batch of feedback shards, at most <see cref="Width"/> in flight.</summary>
public sealed record FeedbackBatchWork(string RunId, int Batch, IReadOnlyList<FeedbackShardInput> Shards, int Width);

/// <summary>The merged sums of the run's shards and what the partition counted, written as feedback.json.</summary>
public sealed record WriteFeedbackInput(FeedbackPlan Plan, FeedbackPartial Sums);

/// <summary>The reflection's first step: the summary from the merged shard tallies and the shards to refine
/// (treatment users shown something). Null <see cref="Skipped"/> = go on.</summary>
public sealed record ReflectionPlan(string RunId, string? Skipped)
{
    public ReflectionSummary? Summary { get; init; }

    public FusionWeights? Previous { get; init; }

    public long WindowStart { get; init; }

    public long WindowEnd { get; init; }

    public IReadOnlyList<int> Shards { get; init; } = [];
}

/// <summary>One shard's refined lists under <see cref="Version"/>, re-ranked from <see cref="Previous"/> to <see cref="Weights"/>.</summary>
public sealed record RefineShardInput(string RunId, int Shard, string Version, long WindowStart, long WindowEnd, FusionWeights Previous, FusionWeights Weights);

public sealed record RefineBatchWork(string RunId, int Batch, IReadOnlyList<RefineShardInput> Shards, int Width);

/// <summary>The reflection's last step: the summary with the refined-user count; revises the prompt and moves the pointer.</summary>
public sealed record PublishReflectionInput(ReflectionSummary Summary);
