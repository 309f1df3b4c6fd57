using RoleGen.Core.Cohort;
using RoleGen.Core.Scoring;

namespace RoleGen.Core.Runs;

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

    /// <summary>The shard's most frequent categories (at most <see cref="TopCategories"/>) in the model's own lists of the
    /// users whose lists were fused, and in their final lists: fusion's effect on the category mix (null: no fusion).</summary>
    public IReadOnlyDictionary<string, long>? CategoriesBeforeFusion { get; init; }

    public IReadOnlyDictionary<string, long>? CategoriesAfterFusion { get; init; }

    /// <summary>Categories kept per shard in <see cref="CategoriesBeforeFusion"/> / <see cref="CategoriesAfterFusion"/>.</summary>
    public const int TopCategories = 20;

    /// <summary>The <paramref name="n"/> largest counts (ties by key), or null when there are none.</summary>
    public static IReadOnlyDictionary<string, long>? Top(IReadOnlyDictionary<string, long> counts, int n = TopCategories)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return counts.Count == 0 ? null : counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(n)
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>The shard's share of the run's LLM token budget (null: no run-level budget) and the tokens its attempts spent
    /// in total (earlier failed attempts included).</summary>
    public long? LlmTokenShare { get; init; }

    public long? LlmTokensSpent { get; init; }

    /// <summary>Users per A/B arm (control, treatment) in the shard's candidates.</summary>
    public IReadOnlyDictionary<string, long>? UsersByArm { get; init; }

    /// <summary>Times the shard's activity actually started, crash re-deliveries included (<see cref="Attempts"/> counts the
    /// orchestration's attempts).</summary>
    public int Executions { get; init; }

    /// <summary>Seconds between the orchestration scheduling the successful attempt and the activity starting (queue latency;
    /// long when the host was down and the message waited out its visibility timeout).</summary>
    public double QueueSeconds { get; init; }
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
