namespace RoleGen.Core.Reasoning;

/// <summary>
/// Revises the LLM reasoner's prompt template given what reflection found (Infrastructure: Azure OpenAI, registered only
/// when the LLM reasoner is configured). A revision is a new, immutable prompt version that the next run picks up when
/// its reasoner follows the newest version; the version it was based on is kept.
/// </summary>
public interface IPromptReviser
{
    /// <summary>Asks for a revision of the current template. Never throws for a bad answer, an HTTP failure or an
    /// exhausted budget: <see cref="PromptRevision.NewVersion"/> is null then and <see cref="PromptRevision.Note"/> says why.</summary>
    /// <param name="failureSummary">What went wrong, as compact JSON (sent to the model as data, never as instructions).</param>
    Task<PromptRevision> ReviseAsync(string failureSummary, CancellationToken ct = default);
}

/// <summary>The result of one revision request.</summary>
/// <param name="NewVersion">The prompt version written (e.g. <c>v2</c>), or null when there was no revision.</param>
/// <param name="BaseVersion">The version the revision started from (the one in use).</param>
/// <param name="Note">What changed, or why nothing was written (invalid answer, HTTP failure, budget...).</param>
public sealed record PromptRevision(string? NewVersion, string BaseVersion, string? Note);
