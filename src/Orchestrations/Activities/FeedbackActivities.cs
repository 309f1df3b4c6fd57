using System.Diagnostics;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>What a loop step needs from a finished run: its manifest, candidate rows and attribution window.</summary>
internal static class RunArtifacts
{
    public static async Task<(RunManifest? Manifest, string? Missing)> ManifestAsync(IBlobStore store, string runId)
    {
        var manifest = await store.TryReadJsonAsync<RunManifest>(BlobLayout.Manifest(runId)).ConfigureAwait(false);
        if (manifest is null)
        {
            return (null, $"run {runId} has no manifest ({BlobLayout.Manifest(runId)})");
        }
        if (manifest.Request.Experiment is null)
        {
            return (null, $"run {runId} belongs to no experiment");
        }
        return manifest.Counts.Published == 0 ? (null, $"run {runId} published no candidates") : (manifest, null);
    }

    /// <summary>[published, published + attribution days): outcomes before the candidates existed cannot be theirs.</summary>
    public static (long Start, long End) Window(RunManifest manifest)
    {
        var start = manifest.WrittenAt.ToUnixTimeSeconds();
        return (start, FeedbackCalculator.WindowEnd(start, manifest.Request.Experiment!.AttributionDays));
    }
}

/// <summary>The stored feedback: the report plus what the outcome reader quarantined.</summary>
public sealed record StoredFeedback(FeedbackReport Report, int Files, long Rows, IReadOnlyDictionary<string, long> QuarantinedByReason, IReadOnlyList<string> QuarantineSamples);

/// <summary>The reflection's last step: given the summary of the merged tallies with the refined-user count, writes
/// <c>priors/{version}/</c> fusion.json and reflection.json, then moves the experiment's priors pointer (last, so a reader
/// never sees a half-written version). The version is derived from the run id, so a retry or a re-run rewrites the same
/// version with the same content.</summary>
/// <remarks>
/// When an <see cref="IPromptReviser"/> is registered (the LLM reasoner is configured) and the reflection found something
/// to fix (failed roles, collapsed categories or LLM fallback users), the reviser is asked once for a refined prompt
/// version given a compact failure summary; the version (or why there is none) goes into reflection.json
/// (<see cref="ReflectionSummary.PromptVersion"/>, <see cref="ReflectionSummary.PromptNote"/>) and the result. A repeated
/// reflection of the same run reuses the version its earlier reflection.json recorded instead of asking again. The LLM
/// never fails the reflection: a failed revision is a note.
/// A revision is only STAGED (<c>prompts/reasoner/candidates/{v}</c>; the current pointer the next run follows does not
/// move). With <see cref="IPromptReviser.AutoPromote"/> on (RoleGen:Reflection:AutoPromote) the candidate is checked
/// offline on the run's held-back users (<see cref="HeldBackBucket"/>: a stable 1-in-<see cref="HeldBackBuckets"/> slice,
/// their stored trajectories and reasoning) against the prompt it was revised from, and promoted only when the check
/// passes; otherwise it waits for <c>rolegen prompts promote</c>. The note says which happened.
/// </remarks>
public sealed class PublishReflectionActivity(IBlobStore store, IEnumerable<IPromptReviser> revisers, ILogger<PublishReflectionActivity> logger)
    : TaskActivity<PublishReflectionInput, ReflectionResult>
{
    /// <summary>Fallback users whose reasons are quoted in the failure summary, and the length each reason is cut to.</summary>
    private const int MaxFallbackReasons = 5;
    private const int MaxReasonLength = 160;

    private readonly IPromptReviser? _reviser = revisers?.FirstOrDefault();

    /// <summary>The held-back slice of a run's users for the offline prompt check: <c>StableHash.Bucket(user, HeldBackBuckets,
    /// HeldBackSalt) == HeldBackBucket</c>, at most <see cref="MaxHeldBack"/> of them.</summary>
    public const int HeldBackBuckets = 10;
    public const int HeldBackBucket = 0;
    public const string HeldBackSalt = "prompt-check";
    public const int MaxHeldBack = 100;

    public override async Task<ReflectionResult> RunAsync(TaskActivityContext context, PublishReflectionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var summary = input.Summary;
        var (manifest, missing) = await RunArtifacts.ManifestAsync(store, summary.RunId).ConfigureAwait(false);
        if (manifest is null)
        {
            return new ReflectionResult(summary.RunId, null, missing);
        }
        var version = summary.Version;
        var (promptVersion, promptNote) = await RevisePromptAsync(summary, manifest).ConfigureAwait(false);
        summary = summary with { PromptVersion = promptVersion, PromptNote = promptNote };
        var fusionSha256 = await PriorsRegistry.WriteFusionAsync(store, version, summary.Weights).ConfigureAwait(false);
        await store.WriteJsonAsync(BlobLayout.PriorsReflection(version), summary).ConfigureAwait(false);
        // The pointer moves last, with the hash of the fusion.json it names. Its timestamp is the run's, so a re-run writes identical bytes.
        await store.WriteJsonAsync(BlobLayout.PriorsCurrent(manifest.Request.Experiment!.Name),
            new PriorsPointer(version, summary.RunId, manifest.WrittenAt) { FusionSha256 = fusionSha256 }).ConfigureAwait(false);
        logger.LogInformation("Reflected run {RunId} into priors {Version}: failed roles [{Failed}], {Refined} refined lists",
            summary.RunId, version, string.Join(", ", summary.FailedRoles), summary.RefinedUsers);
        return new ReflectionResult(summary.RunId, version, null)
        {
            FailedRoles = summary.FailedRoles,
            CollapsedCategories = summary.CollapsedCategories,
            RefinedUsers = summary.RefinedUsers,
            LlmFallbackUsers = summary.LlmFallbackUsers,
            PromptVersion = summary.PromptVersion,
            PromptNote = summary.PromptNote,
        };
    }

    /// <summary>True when the reflection found something a better prompt could address.</summary>
    public static bool NeedsRevision(ReflectionSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return summary.FailedRoles.Count > 0 || summary.CollapsedCategories.Count > 0 || summary.LlmFallbackUsers > 0;
    }

    /// <summary>The compact failure summary sent to the reviser: the findings, the role outcomes and a few fallback reasons.</summary>
    public static string FailureSummary(ReflectionSummary summary, IEnumerable<UserReasoning> reasoning)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(reasoning);
        var fallbackReasons = reasoning
            .Where(r => r.Reasoner == ReasonerKinds.EmbeddedFallback && !string.IsNullOrWhiteSpace(r.FallbackReason))
            .GroupBy(r => r.FallbackReason!.Length <= MaxReasonLength ? r.FallbackReason : r.FallbackReason[..MaxReasonLength], StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(MaxFallbackReasons)
            .Select(g => new { reason = g.Key, users = g.Count() })
            .ToArray();
        return JsonSerializer.Serialize(new
        {
            runId = summary.RunId,
            failedRoles = summary.FailedRoles,
            collapsedCategories = summary.CollapsedCategories,
            llmFallbackUsers = summary.LlmFallbackUsers,
            llmFallbackReasons = fallbackReasons,
            roleOutcomes = summary.Outcomes.Select(o => new { role = o.Key, impressions = o.Impressions, clicks = o.Clicks, orders = o.Orders, rate = o.Rate }),
        }, RoleGenJson.Options);
    }

    private async Task<(string? Version, string? Note)> RevisePromptAsync(ReflectionSummary summary, RunManifest manifest)
    {
        if (_reviser is null || !NeedsRevision(summary))
        {
            return (null, null);
        }
        var earlier = await TryReadReflectionAsync(BlobLayout.PriorsReflection(summary.Version)).ConfigureAwait(false);
        if (earlier is { PromptVersion: not null } && string.Equals(earlier.RunId, summary.RunId, StringComparison.Ordinal))
        {
            logger.LogInformation("Reflection of run {RunId} already revised the prompt into {PromptVersion}: reused", summary.RunId, earlier.PromptVersion);
            return (earlier.PromptVersion, earlier.PromptNote);
        }
        try
        {
            var reasoning = await FallbacksAsync(manifest).ConfigureAwait(false);
            var revision = await _reviser.ReviseAsync(FailureSummary(summary, reasoning)).ConfigureAwait(false);
            if (revision.NewVersion is not { } created)
            {
                return (null, $"prompt not revised (still {revision.BaseVersion}): {revision.Note}");
            }
            var staged = $"{created} revised from {revision.BaseVersion}, staged as a candidate: {revision.Note}";
            if (!_reviser.AutoPromote)
            {
                return (created, $"{staged}; not promoted (RoleGen:Reflection:AutoPromote is off): run `rolegen prompts promote {created}` after review");
            }
            var heldBack = await HeldBackAsync(manifest).ConfigureAwait(false);
            var check = await _reviser.CheckAsync(created, revision.BaseVersion, heldBack).ConfigureAwait(false);
            if (!check.Passed)
            {
                logger.LogWarning("Prompt candidate {Version} not promoted: {Note}", created, check.Note);
                return (created, $"{staged}; not promoted: {check.Note}");
            }
            await _reviser.PromoteAsync(created, $"promoted by the reflection of run {summary.RunId}: {check.Note}").ConfigureAwait(false);
            return (created, $"{staged}; promoted: {check.Note}");
        }
        catch (Exception ex)
        {
            // The LLM (or the prompt blobs) never fail the reflection: the priors are written either way.
            logger.LogWarning(ex, "Prompt revision for run {RunId} failed", summary.RunId);
            return (null, $"prompt revision failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>The run's held-back users with the roles and paths its reasoner stored for them (the hints and candidate
    /// paths both prompts are given), in shard order.</summary>
    public async Task<IReadOnlyList<LlmReasoningRequest>> HeldBackAsync(RunManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var requests = new List<LlmReasoningRequest>();
        foreach (var shard in manifest.Shards.Where(s => s.Status == ShardStatus.Succeeded).OrderBy(s => s.Shard))
        {
            var usersPath = BlobLayout.ShardUsers(manifest.RunId, shard.Shard);
            var reasoningPath = BlobLayout.ShardReasoning(manifest.RunId, shard.Shard);
            if (!await store.ExistsAsync(usersPath).ConfigureAwait(false) || !await store.ExistsAsync(reasoningPath).ConfigureAwait(false))
            {
                continue;
            }
            var users = new Dictionary<string, UserTrajectory>(StringComparer.Ordinal);
            await foreach (var u in store.ReadJsonLinesAsync<UserTrajectory>(usersPath).ConfigureAwait(false))
            {
                if (StableHash.Bucket(u.UserId, HeldBackBuckets, HeldBackSalt) == HeldBackBucket)
                {
                    users[u.UserId] = u;
                }
            }
            if (users.Count == 0)
            {
                continue;
            }
            await foreach (var r in store.ReadJsonLinesAsync<UserReasoning>(reasoningPath).ConfigureAwait(false))
            {
                if (users.TryGetValue(r.UserId, out var user) && r.Paths.Count > 0)
                {
                    requests.Add(new LlmReasoningRequest(user, r.Roles, r.Paths));
                    if (requests.Count == MaxHeldBack)
                    {
                        return requests;
                    }
                }
            }
        }
        return requests;
    }

    /// <summary>The run's fallback traces (without roles and paths), read only from shards whose report counted some.</summary>
    private async Task<List<UserReasoning>> FallbacksAsync(RunManifest manifest)
    {
        var fallbacks = new List<UserReasoning>();
        foreach (var shard in manifest.Shards.Where(s => s.Reasoning?.Reasoners.GetValueOrDefault(ReasonerKinds.EmbeddedFallback) > 0))
        {
            var path = BlobLayout.ShardReasoning(manifest.RunId, shard.Shard);
            if (!await store.ExistsAsync(path).ConfigureAwait(false))
            {
                continue;
            }
            await foreach (var r in store.ReadJsonLinesAsync<UserReasoning>(path).ConfigureAwait(false))
            {
                if (r.Reasoner == ReasonerKinds.EmbeddedFallback)
                {
                    fallbacks.Add(r with { Roles = [], Paths = [] });
                }
            }
        }
        return fallbacks;
    }

    private async Task<ReflectionSummary?> TryReadReflectionAsync(string path)
    {
        try
        {
            return await store.TryReadJsonAsync<ReflectionSummary>(path).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            logger.LogWarning(ex, "Ignoring unreadable {Path}", path);
            return null;
        }
    }
}
