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

/// <summary>
/// The feedback step's one read of the experiment's outcomes: streams every outcome file once and splits the events by
/// the run's shard of their user (<see cref="ShardPlan.ShardOf"/> with the run's shard count) into
/// <c>runs/{runId}/feedback/outcomes/{shard}.jsonl.gz</c> (spooled to local files, then uploaded compressed), so each shard's feedback
/// reads only its own outcomes. Outcomes carrying another run's id are counted here and not written; the rest are written
/// without their run id (null and this run's id are attributed alike), as UTF-8 JSON lines. Memory is one row and a write
/// buffer per shard. Skips with a reason when the run or its outcomes are missing.
/// </summary>
public sealed class PartitionOutcomesActivity(IBlobStore store, ILogger<PartitionOutcomesActivity> logger) : TaskActivity<FeedbackRequest, FeedbackPlan>
{
    public override async Task<FeedbackPlan> RunAsync(TaskActivityContext context, FeedbackRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = Stopwatch.StartNew();
        var (manifest, missing) = await RunArtifacts.ManifestAsync(store, input.RunId).ConfigureAwait(false);
        if (manifest is null)
        {
            return new FeedbackPlan(input.RunId, missing);
        }
        var experiment = manifest.Request.Experiment!.Name;
        var shardCount = manifest.Cohort?.ShardCount ?? 0;
        if (shardCount <= 0)
        {
            return new FeedbackPlan(input.RunId, $"run {input.RunId} has no shards");
        }
        var (start, end) = RunArtifacts.Window(manifest);
        var directory = Path.Combine(Path.GetTempPath(), "rolegen-spool", $"{input.RunId}-outcomes-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var writers = new FileStream?[shardCount];
        try
        {
            long events = 0, otherRun = 0;
            var scan = await OutcomeStore.ScanAsync(store, experiment, e =>
            {
                events++;
                if (e.RunId is not null && !string.Equals(e.RunId, input.RunId, StringComparison.Ordinal))
                {
                    otherRun++;
                    return;
                }
                var shard = ShardPlan.ShardOf(e.UserId, shardCount);
                var writer = writers[shard] ??= new FileStream(Path.Combine(directory, $"{shard}.jsonl"), FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 16384);
                // Written without the run id: what is left is this run's or unknown, which attribution treats alike.
                writer.Write(JsonSerializer.SerializeToUtf8Bytes(e.RunId is null ? e : e with { RunId = null }, RoleGenJson.Options));
                writer.WriteByte((byte)'\n');
            }).ConfigureAwait(false);
            if (events == 0)
            {
                return new FeedbackPlan(input.RunId,
                    $"no outcome events under {BlobLayout.FeedbackPrefix(experiment)} ({scan.Files} files, {scan.Quarantined} rows quarantined)");
            }
            var outcomeShards = new List<int>();
            for (var shard = 0; shard < shardCount; shard++)
            {
                if (writers[shard] is { } w)
                {
                    await w.DisposeAsync().ConfigureAwait(false);
                    writers[shard] = null;
                    outcomeShards.Add(shard);
                }
            }
            var scanned = watch.Elapsed.TotalSeconds;
            // Compressed on the way up (the blob path ends in .gz): about a sixth of the JSON to move through storage.
            await Parallel.ForEachAsync(outcomeShards, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (shard, ct) =>
            {
                await using var file = File.OpenRead(Path.Combine(directory, $"{shard}.jsonl"));
                await using var output = await store.OpenContentWriteAsync(BlobLayout.FeedbackOutcomes(input.RunId, shard), ct).ConfigureAwait(false);
                await file.CopyToAsync(output, ct).ConfigureAwait(false);
            }).ConfigureAwait(false);
            logger.LogInformation("Feedback of run {RunId}: {Events} outcome events of {Files} files split over {Shards} shards ({OtherRun} of other runs) in {Seconds:F1} s (read and split {Scan:F1} s, uploaded {Upload:F1} s)",
                input.RunId, events, scan.Files, outcomeShards.Count, otherRun, watch.Elapsed.TotalSeconds, scanned, watch.Elapsed.TotalSeconds - scanned);
            return new FeedbackPlan(input.RunId, null)
            {
                Experiment = experiment,
                WindowStart = start,
                WindowEnd = end,
                ShardCount = shardCount,
                CandidateShards = [.. manifest.Shards.Where(s => s.CandidatesPath is not null).Select(s => s.Shard).Order()],
                OutcomeShards = outcomeShards,
                Files = scan.Files,
                Rows = scan.Rows,
                Events = events,
                OtherRun = otherRun,
                QuarantinedByReason = scan.QuarantinedByReason,
                QuarantineSamples = scan.Samples,
                Seconds = Math.Round(watch.Elapsed.TotalSeconds, 3),
            };
        }
        finally
        {
            foreach (var w in writers)
            {
                w?.Dispose();
            }
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }
        }
    }
}

/// <summary>What a feedback or refinement step reads of one shard: its candidate rows and its attributed outcomes.</summary>
internal static class ShardLoopInputs
{
    public static async Task<List<CandidateRow>> CandidatesAsync(IBlobStore store, string runId, int shard, bool present)
    {
        var rows = new List<CandidateRow>();
        if (present)
        {
            await foreach (var row in store.ReadJsonLinesAsync<CandidateRow>(BlobLayout.ShardCandidates(runId, shard)).ConfigureAwait(false))
            {
                rows.Add(row);
            }
        }
        return rows;
    }

    public static async Task<List<OutcomeEvent>> OutcomesAsync(IBlobStore store, string runId, int shard, bool present)
    {
        var events = new List<OutcomeEvent>();
        if (present && await ExistingAsync(store, BlobLayout.FeedbackOutcomes(runId, shard)).ConfigureAwait(false) is { } path)
        {
            await foreach (var e in store.ReadJsonLinesAsync<OutcomeEvent>(path).ConfigureAwait(false))
            {
                events.Add(e);
            }
        }
        return events;
    }

    /// <summary>The working file at <paramref name="path"/>, else where a version before compression wrote it
    /// (<see cref="BlobLayout.Uncompressed"/>), else null.</summary>
    public static async Task<string?> ExistingAsync(IBlobStore store, string path)
    {
        if (await store.ExistsAsync(path).ConfigureAwait(false))
        {
            return path;
        }
        var legacy = BlobLayout.Uncompressed(path);
        return legacy != path && await store.ExistsAsync(legacy).ConfigureAwait(false) ? legacy : null;
    }
}

/// <summary>One shard's feedback sums (<see cref="FeedbackPartial.Of(IReadOnlyList{CandidateRow}, FeedbackAttribution, IEnumerable{UserReasoning}?)"/>):
/// its candidates joined with its outcomes, and the LLM fallbacks its report counted. Writes the rows the reflection may
/// refine, with their ignored items, to <c>runs/{runId}/feedback/refinable/{shard}.jsonl.gz</c> (when the shard has
/// candidates; possibly empty) and the whole partial to <c>runs/{runId}/feedback/partials/{shard}.json</c> (the
/// reflection reads its category tallies there), and returns the partial without the categories (what the orchestration
/// carries). The shard's candidates are read here only: the reflection reads the refinable rows. Idempotent: the same
/// inputs give the same files.</summary>
/// <remarks>The shard's three reads go to storage at once, and so do its two writes: the step waits on storage more than
/// it computes. Logs (Information) where the shard's time went: reading candidates and outcomes, attributing and summing,
/// writing.</remarks>
public sealed class FeedbackShardActivity(IBlobStore store, ILogger<FeedbackShardActivity>? logger = null) : TaskActivity<FeedbackShardInput, FeedbackPartial>
{
    public override async Task<FeedbackPartial> RunAsync(TaskActivityContext context, FeedbackShardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = Stopwatch.StartNew();
        // The three reads (and below the two writes) go to storage at once: the step waits on storage more than it computes.
        var candidatesRead = Timed(ShardLoopInputs.CandidatesAsync(store, input.RunId, input.Shard, input.HasCandidates), watch);
        var outcomesRead = Timed(ShardLoopInputs.OutcomesAsync(store, input.RunId, input.Shard, input.HasOutcomes), watch);
        var reasoningRead = input.HasCandidates ? FallbacksAsync(input.RunId, input.Shard) : Task.FromResult(new List<UserReasoning>());
        await Task.WhenAll(candidatesRead, outcomesRead, reasoningRead).ConfigureAwait(false);
        var (candidates, readCandidates) = await candidatesRead.ConfigureAwait(false);
        var (outcomes, readOutcomes) = await outcomesRead.ConfigureAwait(false);
        var reasoning = await reasoningRead.ConfigureAwait(false);
        var read = watch.Elapsed.TotalSeconds;
        var attribution = FeedbackCalculator.Attribute(input.RunId, input.WindowStart, input.WindowEnd, candidates, outcomes);
        var partial = FeedbackPartial.Of(candidates, attribution, reasoning);
        var computed = watch.Elapsed.TotalSeconds;
        var refinableWrite = input.HasCandidates
            ? store.WriteJsonLinesAsync(BlobLayout.FeedbackRefinable(input.RunId, input.Shard), RefinableRow.Select(candidates, attribution))
            : Task.FromResult(0);
        var partialWrite = store.WriteJsonAsync(BlobLayout.FeedbackPartial(input.RunId, input.Shard), partial);
        await Task.WhenAll(refinableWrite, partialWrite).ConfigureAwait(false);
        var refinable = await refinableWrite.ConfigureAwait(false);
        logger?.LogInformation("Feedback shard {Shard} of run {RunId}: {Rows} candidate rows read in {Candidates:F2} s and {Events} outcomes in {Outcomes:F2} s (at once), attributed and summed in {Compute:F2} s, {Refinable} refinable rows and the partial written in {Write:F2} s",
            input.Shard, input.RunId, candidates.Count, readCandidates, outcomes.Count, readOutcomes, computed - read, refinable, watch.Elapsed.TotalSeconds - computed);
        return partial.WithoutCategories();
    }

    private static async Task<(T Value, double Seconds)> Timed<T>(Task<T> task, Stopwatch watch)
    {
        var value = await task.ConfigureAwait(false);
        return (value, watch.Elapsed.TotalSeconds);
    }

    /// <summary>The shard's users the LLM could not serve (the reasoning file is read only when the shard's report counted some).</summary>
    private async Task<List<UserReasoning>> FallbacksAsync(string runId, int shard)
    {
        var report = await store.TryReadJsonAsync<ShardOutcome>(BlobLayout.ShardReport(runId, shard)).ConfigureAwait(false);
        var fallbacks = new List<UserReasoning>();
        var path = BlobLayout.ShardReasoning(runId, shard);
        if (report?.Reasoning?.Reasoners.GetValueOrDefault(ReasonerKinds.EmbeddedFallback) is > 0 && await store.ExistsAsync(path).ConfigureAwait(false))
        {
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
}

/// <summary>Writes <c>runs/{runId}/feedback.json</c> from the merged sums of the run's shards and what the partition
/// counted (outcomes of other runs, quarantined rows). Overwritten: idempotent.</summary>
public sealed class WriteFeedbackActivity(IBlobStore store, ILogger<WriteFeedbackActivity> logger) : TaskActivity<WriteFeedbackInput, FeedbackResult>
{
    public override async Task<FeedbackResult> RunAsync(TaskActivityContext context, WriteFeedbackInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var plan = input.Plan;
        var counts = input.Sums.Counts with
        {
            OutcomesRead = input.Sums.Counts.OutcomesRead + plan.OtherRun,
            OtherRun = input.Sums.Counts.OtherRun + plan.OtherRun,
        };
        var report = FeedbackCalculator.Report(plan.RunId, plan.Experiment, plan.WindowStart, plan.WindowEnd, input.Sums with { Counts = counts });
        var path = BlobLayout.RunFeedback(plan.RunId);
        await store.WriteJsonAsync(path, new StoredFeedback(report, plan.Files, plan.Rows, plan.QuarantinedByReason, plan.QuarantineSamples)).ConfigureAwait(false);
        logger.LogInformation("Feedback of run {RunId}: {Attributed} of {Read} outcomes attributed over {Shards} shards",
            plan.RunId, counts.Attributed, counts.OutcomesRead, plan.ShardCount);
        return new FeedbackResult(plan.RunId, path, null) { OutcomesAttributed = counts.Attributed, Arms = report.Arms, Lifts = report.Lifts };
    }
}

/// <summary>The reflection's first step: merges the shards' partial sums (<c>runs/{runId}/feedback/partials/</c>, written
/// by the feedback step) into the role and category tallies, summarizes them (<see cref="ReflectionEngine.Summarize"/>:
/// the refined fusion weights, failed roles, collapsed categories) and lists the shards whose treatment users were shown
/// something (the ones to refine). Skips with a reason when the run has no feedback yet.</summary>
public sealed class PlanReflectionActivity(IBlobStore store) : TaskActivity<ReflectionRequest, ReflectionPlan>
{
    public override async Task<ReflectionPlan> RunAsync(TaskActivityContext context, ReflectionRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (manifest, missing) = await RunArtifacts.ManifestAsync(store, input.RunId).ConfigureAwait(false);
        if (manifest is null)
        {
            return new ReflectionPlan(input.RunId, missing);
        }
        if (!await store.ExistsAsync(BlobLayout.RunFeedback(input.RunId)).ConfigureAwait(false))
        {
            return new ReflectionPlan(input.RunId, $"run {input.RunId} has no feedback yet ({BlobLayout.RunFeedback(input.RunId)})");
        }
        var merged = FeedbackPartial.Empty;
        var shards = new List<int>();
        var candidateShards = manifest.Shards.Where(s => s.CandidatesPath is not null).Select(s => s.Shard).ToHashSet();
        for (var shard = 0; shard < (manifest.Cohort?.ShardCount ?? 0); shard++)
        {
            var partial = await store.TryReadJsonAsync<FeedbackPartial>(BlobLayout.FeedbackPartial(input.RunId, shard)).ConfigureAwait(false);
            if (partial is null)
            {
                continue;
            }
            merged = merged.Merge(partial);
            if (candidateShards.Contains(shard) && partial.Treatment.Impressions > 0)
            {
                shards.Add(shard);
            }
        }
        var previous = manifest.Request.Reasoner.Fusion;
        var summary = ReflectionEngine.Summarize(input.RunId, previous, merged.Roles, merged.CategoryImpressions, merged.CategoryOrders,
            merged.FallbackUsers, merged.FallbackExamples);
        var (start, end) = RunArtifacts.Window(manifest);
        return new ReflectionPlan(input.RunId, null) { Summary = summary, Previous = previous, WindowStart = start, WindowEnd = end, Shards = shards };
    }
}

/// <summary>One shard's refined lists (<see cref="ReflectionEngine.Refine"/>) written to
/// <c>priors/{version}/candidates/{shard}.jsonl</c> (removed when the shard has none): returns how many. Reads the
/// shard's refinable rows the feedback step wrote (<see cref="BlobLayout.FeedbackRefinable"/>); only when they are missing
/// (feedback written before they existed) does it attribute the shard's candidates and outcomes again.</summary>
public sealed class RefineShardActivity(IBlobStore store, ILogger<RefineShardActivity>? logger = null) : TaskActivity<RefineShardInput, int>
{
    public override async Task<int> RunAsync(TaskActivityContext context, RefineShardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = Stopwatch.StartNew();
        var refinable = await RefinableAsync(input).ConfigureAwait(false);
        var read = watch.Elapsed.TotalSeconds;
        var refined = refinable
            .Select(r => ReflectionEngine.Refine(r.Row, r.Ignored, input.Previous, input.Weights))
            .OfType<CandidateRow>()
            .ToArray();
        var path = BlobLayout.PriorsCandidates(input.Version, input.Shard);
        if (refined.Length > 0)
        {
            await store.WriteJsonLinesAsync(path, refined).ConfigureAwait(false);
        }
        else
        {
            await store.DeleteAsync(path).ConfigureAwait(false);
        }
        logger?.LogInformation("Refine shard {Shard} of run {RunId}: {Rows} refinable rows read in {Read:F2} s, {Refined} refined lists computed and written in {Write:F2} s",
            input.Shard, input.RunId, refinable.Count, read, refined.Length, watch.Elapsed.TotalSeconds - read);
        return refined.Length;
    }

    private async Task<List<RefinableRow>> RefinableAsync(RefineShardInput input)
    {
        var rows = new List<RefinableRow>();
        if (await ShardLoopInputs.ExistingAsync(store, BlobLayout.FeedbackRefinable(input.RunId, input.Shard)).ConfigureAwait(false) is { } path)
        {
            await foreach (var row in store.ReadJsonLinesAsync<RefinableRow>(path).ConfigureAwait(false))
            {
                rows.Add(row);
            }
            return rows;
        }
        var candidates = await ShardLoopInputs.CandidatesAsync(store, input.RunId, input.Shard, present: true).ConfigureAwait(false);
        var outcomes = await ShardLoopInputs.OutcomesAsync(store, input.RunId, input.Shard, present: true).ConfigureAwait(false);
        var attribution = FeedbackCalculator.Attribute(input.RunId, input.WindowStart, input.WindowEnd, candidates, outcomes);
        rows.AddRange(RefinableRow.Select(candidates, attribution));
        return rows;
    }
}
