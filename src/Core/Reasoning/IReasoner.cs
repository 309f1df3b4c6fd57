using RoleGen.Core.Cohort;

namespace RoleGen.Core.Reasoning;

/// <summary>
/// The Conversion Trajectory Reasoner port: roles of every step, counterfactual conversion paths and a rationale for a
/// batch of users, one <see cref="UserReasoning"/> per user in input order. Implementations: <see cref="EmbeddedReasoner"/>
/// (deterministic, no LLM; the default) and <see cref="LlmRefiningReasoner"/> (an LLM refines the embedded result and
/// falls back to it). Never throws for one user's bad answer: the result says which reasoner produced it.
/// </summary>
public interface IReasoner
{
    /// <summary>Name of the world model behind Δ (recorded in the manifest).</summary>
    string WorldModel { get; }

    /// <summary>The LLM prompt version in use (null without an LLM).</summary>
    string? PromptVersion { get; }

    /// <summary>Time spent in role assignment + intervention proposal, and in world-model passes (cumulative).</summary>
    TimeSpan RolesAndProposalTime { get; }

    TimeSpan WorldModelTime { get; }

    /// <summary>Counters of the LLM refinement (null without an LLM): <c>llm.ok</c>, <c>llm.cached</c>, <c>llm.invalid</c>,
    /// <c>llm.budgetexhausted</c>, <c>llm.failed</c>, <c>llm.circuitopen</c>, <c>llm.droppedIds</c>, <c>llm.promptTokens</c>,
    /// <c>llm.completionTokens</c>, <c>llm.requests</c> (HTTP requests sent), <c>llm.throttled</c> (429s among them).</summary>
    IReadOnlyDictionary<string, long>? LlmCounters { get; }

    Task<IReadOnlyList<UserReasoning>> ReasonAsync(IReadOnlyList<UserTrajectory> users, CancellationToken cancellationToken = default);
}

/// <summary>
/// The LLM-refining decorator: the inner (embedded) reasoner runs first; the LLM then refines each user's roles and path
/// choice over the embedded candidates. A user the LLM cannot serve (invalid output after retries, HTTP failure, budget)
/// keeps the embedded result, marked <see cref="ReasonerKinds.EmbeddedFallback"/> with the reason; every outcome and the
/// tokens are counted in <see cref="LlmCounters"/> (with <c>llm.requests</c>, the HTTP requests sent, and <c>llm.throttled</c>,
/// the 429s among them). The fallback policy lives here and nowhere else.
/// </summary>
public sealed class LlmRefiningReasoner(IReasoner inner, ILlmReasoner llm, int pathsPerUser) : IReasoner
{
    private readonly IReasoner _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly ILlmReasoner _llm = llm ?? throw new ArgumentNullException(nameof(llm));
    private readonly Dictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _fallbackReasons = new(StringComparer.Ordinal);

    public string WorldModel => _inner.WorldModel;

    public string? PromptVersion => _llm.PromptVersion;

    public TimeSpan RolesAndProposalTime => _inner.RolesAndProposalTime;

    public TimeSpan WorldModelTime => _inner.WorldModelTime;

    public IReadOnlyDictionary<string, long>? LlmCounters => _counters;

    /// <summary>Fallback users by outcome (aggregated: user ids are personal data and never logged one by one).</summary>
    public IReadOnlyDictionary<string, long> FallbackReasons => _fallbackReasons;

    /// <summary>Tokens the LLM has consumed on this reasoner (the shard's spend against its share of the run budget).</summary>
    public long LlmTokensSpent => _llm.TokensSpent;

    /// <summary>The LLM answers are requested with up to <see cref="ILlmReasoner.MaxParallelCalls"/> users in flight; the
    /// results, counters and fallbacks are then taken in input order, so the output order does not depend on timing.</summary>
    public async Task<IReadOnlyList<UserReasoning>> ReasonAsync(IReadOnlyList<UserTrajectory> users, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(users);
        var embedded = await _inner.ReasonAsync(users, cancellationToken).ConfigureAwait(false);
        var answers = new LlmReasoningResult[users.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, users.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _llm.MaxParallelCalls), CancellationToken = cancellationToken },
            async (i, token) => answers[i] = await _llm.ReasonAsync(new LlmReasoningRequest(users[i], embedded[i].Roles, embedded[i].Paths), token)
                .ConfigureAwait(false)).ConfigureAwait(false);
        var refined = new UserReasoning[users.Count];
        for (var i = 0; i < users.Count; i++)
        {
            var e = embedded[i];
            var answer = answers[i];
            Count($"llm.{answer.Outcome.ToString().ToLowerInvariant()}");
            Count("llm.droppedIds", answer.DroppedIds);
            Count("llm.promptTokens", answer.PromptTokens);
            Count("llm.completionTokens", answer.CompletionTokens);
            Count("llm.requests", answer.Requests);
            Count("llm.throttled", answer.Throttled);
            if (answer.Usable)
            {
                refined[i] = e with
                {
                    Reasoner = ReasonerKinds.Llm,
                    Roles = answer.Roles!,
                    Paths = answer.Paths!.Take(pathsPerUser).ToArray(),
                    Rationale = string.IsNullOrWhiteSpace(answer.Rationale) ? e.Rationale : answer.Rationale,
                    PromptVersion = _llm.PromptVersion,
                };
            }
            else
            {
                var key = answer.Outcome.ToString().ToLowerInvariant();
                _fallbackReasons[key] = _fallbackReasons.GetValueOrDefault(key) + 1;
                refined[i] = e with
                {
                    Reasoner = ReasonerKinds.EmbeddedFallback,
                    PromptVersion = _llm.PromptVersion,
                    FallbackReason = $"{answer.Outcome}: {answer.Error}",
                };
            }
        }
        return refined;
    }

    private void Count(string key, long by = 1) => _counters[key] = _counters.GetValueOrDefault(key) + by;
}
