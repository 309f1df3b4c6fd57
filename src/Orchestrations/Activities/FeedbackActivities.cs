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

    public static async Task<List<CandidateRow>> CandidatesAsync(IBlobStore store, RunManifest manifest)
    {
        var rows = new List<CandidateRow>();
        foreach (var shard in manifest.Shards.Where(s => s.CandidatesPath is not null))
        {
            await foreach (var row in store.ReadJsonLinesAsync<CandidateRow>(shard.CandidatesPath!).ConfigureAwait(false))
            {
                rows.Add(row);
            }
        }
        return rows;
    }

    /// <summary>[published, published + attribution days): outcomes before the candidates existed cannot be theirs.</summary>
    public static (long Start, long End) Window(RunManifest manifest)
    {
        var start = manifest.WrittenAt.ToUnixTimeSeconds();
        return (start, FeedbackCalculator.WindowEnd(start, manifest.Request.Experiment!.AttributionDays));
    }
}

/// <summary>Computes and writes <c>runs/{runId}/feedback.json</c> from the run's candidates and the experiment's outcome
/// events (overwritten: idempotent). Skips with a reason when there is nothing to join.</summary>
public sealed class CollectFeedbackActivity(IBlobStore store, ILogger<CollectFeedbackActivity> logger) : TaskActivity<FeedbackRequest, FeedbackResult>
{
    public override async Task<FeedbackResult> RunAsync(TaskActivityContext context, FeedbackRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = Stopwatch.StartNew();
        var (manifest, missing) = await RunArtifacts.ManifestAsync(store, input.RunId).ConfigureAwait(false);
        if (manifest is null)
        {
            return new FeedbackResult(input.RunId, null, missing);
        }
        var experiment = manifest.Request.Experiment!.Name;
        var outcomes = await OutcomeStore.ReadAllAsync(store, experiment).ConfigureAwait(false);
        if (outcomes.Events.Count == 0)
        {
            return new FeedbackResult(input.RunId, null,
                $"no outcome events under {BlobLayout.FeedbackPrefix(experiment)} ({outcomes.Files} files, {outcomes.Quarantined} rows quarantined)");
        }
        var candidates = await RunArtifacts.CandidatesAsync(store, manifest).ConfigureAwait(false);
        var (start, end) = RunArtifacts.Window(manifest);
        var report = FeedbackCalculator.Compute(input.RunId, experiment, start, end, candidates, outcomes.Events);
        var path = BlobLayout.RunFeedback(input.RunId);
        await store.WriteJsonAsync(path, new StoredFeedback(report, outcomes.Files, outcomes.Rows, outcomes.QuarantinedByReason, outcomes.Samples)).ConfigureAwait(false);
        logger.LogInformation("Feedback of run {RunId}: {Attributed} of {Read} outcomes attributed in {Seconds:F1} s",
            input.RunId, report.Counts.Attributed, report.Counts.OutcomesRead, watch.Elapsed.TotalSeconds);
        return new FeedbackResult(input.RunId, path, null) { OutcomesAttributed = report.Counts.Attributed, Arms = report.Arms, Lifts = report.Lifts };
    }
}

/// <summary>The stored feedback: the report plus what the outcome reader quarantined.</summary>
public sealed record StoredFeedback(FeedbackReport Report, int Files, long Rows, IReadOnlyDictionary<string, long> QuarantinedByReason, IReadOnlyList<string> QuarantineSamples);

/// <summary>Reflection of one run: reads its candidates, reasoning traces and attributed outcomes and writes
/// <c>priors/{version}/</c> fusion.json, reflection.json, candidates.jsonl, then moves the experiment's priors pointer.
/// The version is derived from the run id, so a retry or a re-run rewrites the same version with the same content.</summary>
/// <remarks>
/// When an <see cref="IPromptReviser"/> is registered (the LLM reasoner is configured) and the reflection found something
/// to fix (failed roles, collapsed categories or LLM fallback users), the reviser is asked once for a refined prompt
/// version given a compact failure summary; the version (or why there is none) goes into reflection.json
/// (<see cref="ReflectionSummary.PromptVersion"/>, <see cref="ReflectionSummary.PromptNote"/>) and the result. A repeated
/// reflection of the same run reuses the version its earlier reflection.json recorded instead of asking again. The LLM
/// never fails the reflection: a failed revision is a note.
/// </remarks>
public sealed class ReflectActivity(IBlobStore store, IEnumerable<IPromptReviser> revisers, ILogger<ReflectActivity> logger)
    : TaskActivity<ReflectionRequest, ReflectionResult>
{
    /// <summary>Fallback users whose reasons are quoted in the failure summary, and the length each reason is cut to.</summary>
    private const int MaxFallbackReasons = 5;
    private const int MaxReasonLength = 160;

    private readonly IPromptReviser? _reviser = revisers?.FirstOrDefault();

    public override async Task<ReflectionResult> RunAsync(TaskActivityContext context, ReflectionRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (manifest, missing) = await RunArtifacts.ManifestAsync(store, input.RunId).ConfigureAwait(false);
        if (manifest is null)
        {
            return new ReflectionResult(input.RunId, null, missing);
        }
        if (!await store.ExistsAsync(BlobLayout.RunFeedback(input.RunId)).ConfigureAwait(false))
        {
            return new ReflectionResult(input.RunId, null, $"run {input.RunId} has no feedback yet ({BlobLayout.RunFeedback(input.RunId)})");
        }
        var candidates = await RunArtifacts.CandidatesAsync(store, manifest).ConfigureAwait(false);
        var outcomes = await OutcomeStore.ReadAllAsync(store, manifest.Request.Experiment!.Name).ConfigureAwait(false);
        var (start, end) = RunArtifacts.Window(manifest);
        var attribution = FeedbackCalculator.Attribute(input.RunId, start, end, candidates, outcomes.Events);
        var attributed = attribution.Users.SelectMany(u => u.Events).ToArray();
        var reasoning = new List<UserReasoning>();
        foreach (var shard in manifest.Shards.Where(s => s.Reasoning is not null))
        {
            var path = BlobLayout.ShardReasoning(input.RunId, shard.Shard);
            if (await store.ExistsAsync(path).ConfigureAwait(false))
            {
                await foreach (var line in store.ReadJsonLinesAsync<UserReasoning>(path).ConfigureAwait(false))
                {
                    reasoning.Add(line);
                }
            }
        }
        var (summary, refined) = ReflectionEngine.Reflect(input.RunId, manifest.Request.Reasoner.Fusion, candidates, attributed, reasoning);
        var version = summary.Version;
        var (promptVersion, promptNote) = await RevisePromptAsync(summary, reasoning).ConfigureAwait(false);
        summary = summary with { PromptVersion = promptVersion, PromptNote = promptNote };
        await store.WriteJsonAsync(BlobLayout.PriorsFusion(version), summary.Weights).ConfigureAwait(false);
        await store.WriteJsonAsync(BlobLayout.PriorsReflection(version), summary).ConfigureAwait(false);
        await store.WriteJsonLinesAsync(BlobLayout.PriorsCandidates(version), refined).ConfigureAwait(false);
        // The pointer moves last: a reader never sees a half-written version. Its timestamp is the run's, so a re-run
        // writes identical bytes.
        await store.WriteJsonAsync(BlobLayout.PriorsCurrent(manifest.Request.Experiment!.Name), new PriorsPointer(version, input.RunId, manifest.WrittenAt)).ConfigureAwait(false);
        logger.LogInformation("Reflected run {RunId} into priors {Version}: failed roles [{Failed}], {Refined} refined lists",
            input.RunId, version, string.Join(", ", summary.FailedRoles), refined.Count);
        return new ReflectionResult(input.RunId, version, null)
        {
            FailedRoles = summary.FailedRoles,
            CollapsedCategories = summary.CollapsedCategories,
            RefinedUsers = refined.Count,
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

    private async Task<(string? Version, string? Note)> RevisePromptAsync(ReflectionSummary summary, IReadOnlyList<UserReasoning> reasoning)
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
            var revision = await _reviser.ReviseAsync(FailureSummary(summary, reasoning)).ConfigureAwait(false);
            return revision.NewVersion is { } created
                ? (created, $"{created} revised from {revision.BaseVersion}: {revision.Note}")
                : (null, $"prompt not revised (still {revision.BaseVersion}): {revision.Note}");
        }
        catch (Exception ex)
        {
            // The LLM (or the prompt blobs) never fail the reflection: the priors are written either way.
            logger.LogWarning(ex, "Prompt revision for run {RunId} failed", summary.RunId);
            return (null, $"prompt revision failed: {ex.GetType().Name}: {ex.Message}");
        }
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
