using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Experiments;
using RoleGen.Core.Runs;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Orchestrators;

/// <summary>
/// Joins a past run's candidates with the outcome events under <c>feedback/{experiment}/</c> and writes
/// <c>runs/{runId}/feedback.json</c> (per-arm metrics, lifts with CIs and p-values), as a fan-out over the run's shards:
/// <see cref="PartitionOutcomesActivity"/> reads the outcomes once and splits them by shard, a
/// <see cref="FeedbackShardActivity"/> per shard (in <see cref="FeedbackBatchOrchestrator"/> batches) returns its sums, the
/// sums are merged here (the metrics are ratios of sums) and <see cref="WriteFeedbackActivity"/> writes the report.
/// Memory is bounded by one shard whatever the number of users; the history by one small result per batch. Idempotent:
/// the same inputs give the same files, overwritten. Skipped with a reason (never failed) when the run or its outcomes
/// are missing; a shard that keeps failing fails the feedback (a report missing a shard would be wrong, not partial).
/// </summary>
public sealed class FeedbackOrchestrator : TaskOrchestrator<FeedbackRequest, FeedbackResult>
{
    /// <summary>Shard activities in flight per batch (two batches run at once).</summary>
    public const int Width = 4;

    public static string BatchInstanceId(string parent, int batch) => $"{parent}:fb:{batch:D5}";

    public override async Task<FeedbackResult> RunAsync(TaskOrchestrationContext context, FeedbackRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var plan = await context.CallActivityAsync<FeedbackPlan>(nameof(PartitionOutcomesActivity), input, RetryPolicies.Transient(3, 2));
        if (plan.Skipped is not null)
        {
            return new FeedbackResult(input.RunId, null, plan.Skipped);
        }
        var withCandidates = plan.CandidateShards.ToHashSet();
        var withOutcomes = plan.OutcomeShards.ToHashSet();
        var shards = withCandidates.Union(withOutcomes).Order()
            .Select(s => new FeedbackShardInput(input.RunId, s, withCandidates.Contains(s), withOutcomes.Contains(s), plan.WindowStart, plan.WindowEnd))
            .ToArray();
        var batches = LoopFanOut.Batches(shards);
        var sums = await LoopFanOut.RunAsync(batches, (batch, index) => context.CallSubOrchestratorAsync<FeedbackPartial>(nameof(FeedbackBatchOrchestrator),
            new FeedbackBatchWork(input.RunId, index, batch, Width), new SubOrchestrationOptions { InstanceId = BatchInstanceId(context.InstanceId, index) }));
        var merged = sums.Aggregate(FeedbackPartial.Empty, (a, b) => a.Merge(b));
        var result = await context.CallActivityAsync<FeedbackResult>(nameof(WriteFeedbackActivity), new WriteFeedbackInput(plan, merged), RetryPolicies.Transient(3, 2));
        return result with { Shards = shards.Length };
    }
}

/// <summary>A batch of a run's feedback shards: their sums, merged (without the per-category maps, which stay in the
/// shards' partial blobs).</summary>
public sealed class FeedbackBatchOrchestrator : TaskOrchestrator<FeedbackBatchWork, FeedbackPartial>
{
    public override async Task<FeedbackPartial> RunAsync(TaskOrchestrationContext context, FeedbackBatchWork input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var parts = await LoopFanOut.RunAsync(input.Shards,
            (shard, _) => context.CallActivityAsync<FeedbackPartial>(nameof(FeedbackShardActivity), shard, RetryPolicies.Transient(3, 2)),
            Math.Max(1, input.Width));
        return parts.Aggregate(FeedbackPartial.Empty, (a, b) => a.Merge(b));
    }
}

/// <summary>
/// Reflects a run's feedback into refined priors: <see cref="PlanReflectionActivity"/> merges the shards' tallies into the
/// new fusion weights and the findings, a <see cref="RefineShardActivity"/> per shard with shown treatment users (in
/// <see cref="RefineBatchOrchestrator"/> batches) writes its refined lists to <c>priors/{version}/candidates/</c>, then
/// <see cref="PublishReflectionActivity"/> writes fusion.json and reflection.json and moves the experiment's priors pointer.
/// Idempotent (the version is derived from the run id). Skipped with a reason when the run has no feedback.
/// </summary>
public sealed class ReflectionOrchestrator : TaskOrchestrator<ReflectionRequest, ReflectionResult>
{
    public const int Width = 4;

    public static string BatchInstanceId(string parent, int batch) => $"{parent}:rb:{batch:D5}";

    public override async Task<ReflectionResult> RunAsync(TaskOrchestrationContext context, ReflectionRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var plan = await context.CallActivityAsync<ReflectionPlan>(nameof(PlanReflectionActivity), input, RetryPolicies.Transient(3, 2));
        if (plan.Skipped is not null || plan.Summary is null || plan.Previous is null)
        {
            return new ReflectionResult(input.RunId, null, plan.Skipped ?? "the reflection plan is incomplete");
        }
        var summary = plan.Summary;
        var shards = plan.Shards
            .Select(s => new RefineShardInput(input.RunId, s, summary.Version, plan.WindowStart, plan.WindowEnd, plan.Previous, summary.Weights))
            .ToArray();
        var counts = await LoopFanOut.RunAsync(LoopFanOut.Batches(shards), (batch, index) => context.CallSubOrchestratorAsync<long>(nameof(RefineBatchOrchestrator),
            new RefineBatchWork(input.RunId, index, batch, Width), new SubOrchestrationOptions { InstanceId = BatchInstanceId(context.InstanceId, index) }));
        var result = await context.CallActivityAsync<ReflectionResult>(nameof(PublishReflectionActivity),
            new PublishReflectionInput(summary with { RefinedUsers = counts.Sum() }), RetryPolicies.Transient(3, 2));
        return result with { RefinedShards = shards.Length };
    }
}

/// <summary>A batch of a run's refinement shards: the number of refined lists they wrote.</summary>
public sealed class RefineBatchOrchestrator : TaskOrchestrator<RefineBatchWork, long>
{
    public override async Task<long> RunAsync(TaskOrchestrationContext context, RefineBatchWork input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var counts = await LoopFanOut.RunAsync(input.Shards,
            (shard, _) => context.CallActivityAsync<int>(nameof(RefineShardActivity), shard, RetryPolicies.Transient(3, 2)),
            Math.Max(1, input.Width));
        return counts.Sum(c => (long)c);
    }
}

/// <summary>The loop steps' fan-out: work split in batches (as the nightly run's shards: about 16 batches, at most
/// <see cref="NightlyRunOrchestrator.MaxBatchSize"/> each) and run with a bounded number in flight, results in input order.
/// Deterministic (orchestrator code): no clocks, no I/O.</summary>
internal static class LoopFanOut
{
    public static IReadOnlyList<IReadOnlyList<T>> Batches<T>(IReadOnlyList<T> items)
    {
        var size = NightlyRunOrchestrator.BatchSize(items.Count);
        return [.. items.Chunk(size).Select(c => (IReadOnlyList<T>)c)];
    }

    public static async Task<TResult[]> RunAsync<T, TResult>(IReadOnlyList<T> work, Func<T, int, Task<TResult>> start, int width = NightlyRunOrchestrator.BatchesInFlight)
    {
        var results = new TResult[work.Count];
        var inFlight = new List<(int Index, Task<TResult> Task)>();
        var next = 0;
        while (next < work.Count || inFlight.Count > 0)
        {
            while (inFlight.Count < Math.Max(1, width) && next < work.Count)
            {
                inFlight.Add((next, start(work[next], next)));
                next++;
            }
            var done = await Task.WhenAny(inFlight.Select(x => x.Task));
            var entry = inFlight.First(x => x.Task == done);
            inFlight.Remove(entry);
            results[entry.Index] = await done;
        }
        return results;
    }
}

/// <summary>
/// One night of the closed loop: Feedback(previous run) → Reflection(previous run) → the new run, which uses the newest
/// reflected priors. Each loop step is skipped with a reason when its input is missing (first night, no outcomes yet)
/// and a failing loop step never blocks the night's run: its error is recorded and the run goes on with the priors it
/// can resolve. Sub-orchestration ids derive from the run id, so a re-started night replays instead of duplicating.
/// </summary>
public sealed class NightlyChainOrchestrator : TaskOrchestrator<ChainRequest, ChainSummary>
{
    /// <summary>The night's own instance id (the run itself runs as a sub-orchestration with the run id).</summary>
    public static string InstanceId(string runId) => Core.Runs.RunId.NightChainInstance(runId);

    public static string FeedbackInstanceId(string runId) => $"{runId}:feedback";

    public static string ReflectionInstanceId(string runId) => $"{runId}:reflection";

    public override async Task<ChainSummary> RunAsync(TaskOrchestrationContext context, ChainRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger<NightlyChainOrchestrator>();
        var run = input.Run;
        var retry = RetryPolicies.Transient(3, 2);
        if (run.Validate() is { } invalid)
        {
            return new ChainSummary(run.RunId, null, "not resolved: the run request is invalid", null, null, run.Reasoner?.Fusion.Version ?? "default",
                "not resolved", null, invalid);
        }
        context.SetCustomStatus(new RunProgress("feedback", 0, 0, 0, 0, 0));
        string? previous = input.PreviousRunId;
        string previousReason = previous is null ? "" : $"previous run {previous} (given)";
        if (previous is null && run.Experiment is { } experiment)
        {
            var resolved = await context.CallActivityAsync<PreviousRunResult>(nameof(ResolvePreviousRunActivity),
                new ResolvePreviousRunInput(experiment.Name, run.Dataset, run.RunId), retry);
            previous = resolved.RunId;
            previousReason = resolved.Reason;
        }
        else if (previous is null)
        {
            previousReason = "the run belongs to no experiment: no feedback loop";
        }

        FeedbackResult? feedback = null;
        ReflectionResult? reflection = null;
        if (previous is not null)
        {
            try
            {
                feedback = await context.CallSubOrchestratorAsync<FeedbackResult>(nameof(FeedbackOrchestrator), new FeedbackRequest(previous),
                    new SubOrchestrationOptions { InstanceId = FeedbackInstanceId(run.RunId) });
                log.LogInformation("Night {RunId}: feedback of {Previous}: {Outcome}", run.RunId, previous, feedback.Skipped ?? feedback.Path);
            }
            catch (TaskFailedException ex)
            {
                feedback = new FeedbackResult(previous, null, $"feedback failed: {RetryPolicies.Describe(ex)}");
            }
            context.SetCustomStatus(new RunProgress("reflection", 0, 0, 0, 0, 0));
            if (!input.Reflect)
            {
                reflection = new ReflectionResult(previous, null, "reflection disabled for this night (ablation)");
            }
            else if (feedback.Path is not null)
            {
                try
                {
                    reflection = await context.CallSubOrchestratorAsync<ReflectionResult>(nameof(ReflectionOrchestrator), new ReflectionRequest(previous),
                        new SubOrchestrationOptions { InstanceId = ReflectionInstanceId(run.RunId) });
                }
                catch (TaskFailedException ex)
                {
                    reflection = new ReflectionResult(previous, null, $"reflection failed: {RetryPolicies.Describe(ex)}");
                }
            }
            else
            {
                reflection = new ReflectionResult(previous, null, $"no feedback for {previous} ({feedback.Skipped})");
            }
        }

        var priors = run.Experiment is null
            ? new ResolvePriorsResult(null, "the run belongs to no experiment: its own fusion weights are used")
            : await context.CallActivityAsync<ResolvePriorsResult>(nameof(ResolvePriorsActivity), new ResolvePriorsInput(run.RunId, run.Experiment.Name), retry);
        if (priors.Weights is not null)
        {
            run = run with { Reasoner = run.Reasoner with { Fusion = priors.Weights } };
        }
        RunSummary? summary = null;
        string? error = null;
        try
        {
            summary = await context.CallSubOrchestratorAsync<RunSummary>(nameof(NightlyRunOrchestrator), run,
                new SubOrchestrationOptions { InstanceId = run.RunId });
        }
        catch (TaskFailedException ex)
        {
            error = $"the run failed: {RetryPolicies.Describe(ex)}";
        }
        return new ChainSummary(run.RunId, previous, previousReason, feedback, reflection, run.Reasoner.Fusion.Version, priors.Reason, summary, error);
    }
}
