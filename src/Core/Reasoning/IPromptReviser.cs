namespace RoleGen.Core.Reasoning;

/// <summary>
/// Revises the LLM reasoner's prompt template given what reflection found (Infrastructure: Azure OpenAI, registered only
/// when the LLM reasoner is configured). A revision is a new, immutable prompt version STAGED as a candidate: the current
/// pointer the next run follows does not move. It is promoted only by <see cref="PromoteAsync"/> — which reflection calls
/// when <see cref="AutoPromote"/> is on and <see cref="CheckAsync"/> passed on held-back users, and an operator calls with
/// <c>rolegen prompts promote</c>.
/// </summary>
public interface IPromptReviser
{
    /// <summary>Asks for a revision of the current template and stages it. Never throws for a bad answer, an HTTP failure or an
    /// exhausted budget: <see cref="PromptRevision.NewVersion"/> is null then and <see cref="PromptRevision.Note"/> says why.</summary>
    /// <param name="failureSummary">What went wrong, as compact JSON (sent to the model as data, never as instructions).</param>
    Task<PromptRevision> ReviseAsync(string failureSummary, CancellationToken ct = default);

    /// <summary>True when reflection may promote a candidate whose offline check passed (setting RoleGen:Reflection:AutoPromote,
    /// off by default: candidates then wait for an operator).</summary>
    bool AutoPromote { get; }

    /// <summary>The offline check of <paramref name="candidate"/> against <paramref name="baseVersion"/> on held-back users
    /// (see <see cref="PromptCheck"/>). Never throws for LLM failures: they count against the prompt that met them.</summary>
    Task<PromptCheck> CheckAsync(string candidate, string baseVersion, IReadOnlyList<LlmReasoningRequest> heldBack, CancellationToken ct = default);

    /// <summary>Moves the current pointer to <paramref name="version"/> (recording its SHA-256 and the move in the history).</summary>
    Task PromoteAsync(string version, string reason, CancellationToken ct = default);
}

/// <summary>The result of one revision request.</summary>
/// <param name="NewVersion">The prompt version written and staged (e.g. <c>v2</c>), or null when there was no revision.</param>
/// <param name="BaseVersion">The version the revision started from (the one in use).</param>
/// <param name="Note">What changed, or why nothing was written (invalid answer, HTTP failure, budget...).</param>
public sealed record PromptRevision(string? NewVersion, string BaseVersion, string? Note);

/// <summary>
/// The offline check of a candidate prompt: each held-back user is reasoned with the current prompt and with the candidate
/// (same trajectory, same candidate paths), and the answers the reasoner could use are counted — the metric reflection
/// already measures as LLM fallback users. It passes when the candidate is usable for at least as many users as the
/// current prompt and there were enough users. It cannot measure conversion: that needs the candidate's lists shown to users.
/// </summary>
public sealed record PromptCheck(bool Passed, int Users, int CandidateUsable, int BaseUsable, string Note);
