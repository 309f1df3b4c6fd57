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

    public long LlmFallbackUsers { get; init; }

    /// <summary>The prompt version the reflection's reviser wrote (or reused), null when none.</summary>
    public string? PromptVersion { get; init; }

    /// <summary>What the revision changed, or why there is no new prompt version (null: no reviser, or nothing to fix).</summary>
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
