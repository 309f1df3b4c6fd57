using System.Diagnostics;
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
        var manifest = await store.TryReadJsonAsync<RunManifest>(RunManifest.Path(runId)).ConfigureAwait(false);
        if (manifest is null)
        {
            return (null, $"run {runId} has no manifest ({RunManifest.Path(runId)})");
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
                $"no outcome events under {OutcomeStore.FeedbackPrefix(experiment)} ({outcomes.Files} files, {outcomes.Quarantined} rows quarantined)");
        }
        var candidates = await RunArtifacts.CandidatesAsync(store, manifest).ConfigureAwait(false);
        var (start, end) = RunArtifacts.Window(manifest);
        var report = FeedbackCalculator.Compute(input.RunId, experiment, start, end, candidates, outcomes.Events);
        var path = FeedbackCalculator.PathFor(input.RunId);
        await store.WriteJsonAsync(path, new StoredFeedback(report, outcomes.Files, outcomes.Rows, outcomes.QuarantinedByReason, outcomes.Samples)).ConfigureAwait(false);
        logger.LogInformation("Feedback of run {RunId}: {Attributed} of {Read} outcomes attributed in {Seconds:F1} s",
            input.RunId, report.Counts.Attributed, report.Counts.OutcomesRead, watch.Elapsed.TotalSeconds);
        return new FeedbackResult(input.RunId, path, null) { OutcomesAttributed = report.Counts.Attributed, Arms = report.Arms, Lifts = report.Lifts };
    }
}

/// <summary>The stored feedback: the report plus what the outcome reader quarantined.</summary>
public sealed record StoredFeedback(FeedbackReport Report, int Files, long Rows, IReadOnlyDictionary<string, long> QuarantinedByReason, IReadOnlyList<string> QuarantineSamples);

/// <summary>Reflection of one run (embedded, no LLM): reads its candidates, reasoning traces and attributed outcomes and
/// writes <c>priors/{version}/</c> fusion.json, reflection.json, candidates.jsonl, then moves the experiment's priors pointer.
/// The version is derived from the run id, so a retry or a re-run rewrites the same version with the same content.</summary>
public sealed class ReflectActivity(IBlobStore store, ILogger<ReflectActivity> logger) : TaskActivity<ReflectionRequest, ReflectionResult>
{
    public override async Task<ReflectionResult> RunAsync(TaskActivityContext context, ReflectionRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (manifest, missing) = await RunArtifacts.ManifestAsync(store, input.RunId).ConfigureAwait(false);
        if (manifest is null)
        {
            return new ReflectionResult(input.RunId, null, missing);
        }
        if (!await store.ExistsAsync(FeedbackCalculator.PathFor(input.RunId)).ConfigureAwait(false))
        {
            return new ReflectionResult(input.RunId, null, $"run {input.RunId} has no feedback yet ({FeedbackCalculator.PathFor(input.RunId)})");
        }
        var candidates = await RunArtifacts.CandidatesAsync(store, manifest).ConfigureAwait(false);
        var outcomes = await OutcomeStore.ReadAllAsync(store, manifest.Request.Experiment!.Name).ConfigureAwait(false);
        var (start, end) = RunArtifacts.Window(manifest);
        var attribution = FeedbackCalculator.Attribute(input.RunId, start, end, candidates, outcomes.Events);
        var attributed = attribution.Users.SelectMany(u => u.Events).ToArray();
        var reasoning = new List<UserReasoning>();
        foreach (var shard in manifest.Shards.Where(s => s.Reasoning is not null))
        {
            var path = ShardPlan.ReasoningPath(input.RunId, shard.Shard);
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
        await store.WriteJsonAsync(PriorsRegistry.FusionPath(version), summary.Weights).ConfigureAwait(false);
        await store.WriteJsonAsync(PriorsRegistry.ReflectionPath(version), summary).ConfigureAwait(false);
        await store.WriteJsonLinesAsync(PriorsRegistry.CandidatesPath(version), refined).ConfigureAwait(false);
        // The pointer moves last: a reader never sees a half-written version. Its timestamp is the run's, so a re-run
        // writes identical bytes.
        await store.WriteJsonAsync(PriorsRegistry.CurrentPath(manifest.Request.Experiment!.Name), new PriorsPointer(version, input.RunId, manifest.WrittenAt)).ConfigureAwait(false);
        logger.LogInformation("Reflected run {RunId} into priors {Version}: failed roles [{Failed}], {Refined} refined lists",
            input.RunId, version, string.Join(", ", summary.FailedRoles), refined.Count);
        return new ReflectionResult(input.RunId, version, null)
        {
            FailedRoles = summary.FailedRoles,
            CollapsedCategories = summary.CollapsedCategories,
            RefinedUsers = refined.Count,
            LlmFallbackUsers = summary.LlmFallbackUsers,
        };
    }
}
