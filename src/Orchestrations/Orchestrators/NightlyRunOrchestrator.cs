using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Orchestrators;

/// <summary>
/// One run: resolve the scoring model (the published backbone and the dataset's validated tuning) → one pass over the
/// events (<see cref="PrepareRunActivity"/>: the dormant cohort and shard files, the transition model when the ranker uses
/// it, the reasoner's statistics) → fan out the shards in batches (<see cref="ShardBatchOrchestrator"/>, one
/// <see cref="RecommendShardActivity"/> per shard, bounded width) → finalize (manifest + report, from the shards'
/// shard.json files). Progress is the custom status (<see cref="RunProgress"/>). A failing shard is reported, not fatal; a
/// failing pass ends the run as Failed, with a manifest saying why.
/// </summary>
/// <remarks>History stays small at thousands of shards: the orchestration holds one small result per batch (counts and
/// the failed shards), never a list of every shard's outcome. Batches hold at most <see cref="MaxBatchSize"/> shards (the
/// Azure Storage backend dispatches roughly 100 activities per second per orchestration instance and moves messages over
/// 64 KB to blob storage; a batch's input and result stay far below that).</remarks>
public sealed class NightlyRunOrchestrator : TaskOrchestrator<RunRequest, RunSummary>
{
    public const int MaxBatchSize = 100;

    /// <summary>Batches in flight at once: two, so the workers do not idle while one batch waits for its slowest shard.</summary>
    public const int BatchesInFlight = 2;

    public static string ShardInstanceId(string runId, int shard) => RunId.ShardInstance(runId, shard);

    /// <summary>Shards per batch: about 16 batches per run (progress every ~6%), at most <see cref="MaxBatchSize"/>.</summary>
    public static int BatchSize(int shards) => Math.Clamp((shards + 15) / 16, 1, MaxBatchSize);

    public override async Task<RunSummary> RunAsync(TaskOrchestrationContext context, RunRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger<NightlyRunOrchestrator>();
        var started = context.CurrentUtcDateTime;
        var batches = new List<ShardBatchResult>();
        double selectSeconds = 0, modelSeconds = 0, shardsSeconds = 0;
        PrepareRunResult? prepared = null;
        ScoringModelRef? model = null;
        RankerTuning? tuning = null;
        string? rankerNote = null;
        // Validate before anything uses the options: a bad request must still end in a manifest that says why.
        string? error = input.Validate();
        var retry = error is null ? RetryPolicies.Transient(input.MaxAttempts, input.FirstRetrySeconds) : RetryPolicies.Transient(3, 1);

        ResolveScoringModelResult? resolved = null;
        double weight = 0;
        if (error is null)
        {
            context.SetCustomStatus(new RunProgress("resolving-model", 0, 0, 0, 0, 0));
            try
            {
                resolved = await context.CallActivityAsync<ResolveScoringModelResult>(nameof(ResolveScoringModelActivity),
                    new ResolveScoringModelInput(input.RunId) { Dataset = input.Dataset }, retry);
                log.LogInformation("Run {RunId}: {Reason}; {Tuning}", input.RunId, resolved.Reason, resolved.TuningReason);
                tuning = resolved.Tuning;
                // The validated ranker: the backbone alone (weight 1), the transition model alone (0) or their rank blend.
                // Without a tuning: the backbone when one is published, else the transition model.
                weight = tuning?.BackboneWeight ?? (resolved.Backbone is null ? 0 : 1);
                if (weight > 0 && resolved.Backbone is null)
                {
                    rankerNote = $"the tuning asks for {tuning!.Describe()} but no backbone is published for the dataset: the transition model scores";
                    weight = 0;
                }
                rankerNote ??= tuning is null ? resolved.TuningReason : $"{tuning.Describe()}, validated on {tuning.ValidatedOn}";
                modelSeconds = (context.CurrentUtcDateTime - started).TotalSeconds;
            }
            catch (TaskFailedException ex)
            {
                error = $"Resolving the scoring model failed: {RetryPolicies.Describe(ex)}";
            }
        }

        if (error is null)
        {
            var prepareStarted = context.CurrentUtcDateTime;
            context.SetCustomStatus(new RunProgress("preparing", 0, 0, 0, 0, 0));
            try
            {
                prepared = await context.CallActivityAsync<PrepareRunResult>(nameof(PrepareRunActivity),
                    new PrepareRunInput(input.RunId, input.Dataset, input.Policy, input.ShardSize, input.ShardCount, BuildTransition: weight < 1,
                        BuildStatistics: input.Reasoner.Enabled) { TriggeredBy = input.TriggeredBy }, retry);
                selectSeconds = (context.CurrentUtcDateTime - prepareStarted).TotalSeconds;
                log.LogInformation("Run {RunId}: {Dormant} dormant users in {Shards} non-empty shards", input.RunId, prepared.Cohort.Dormant,
                    prepared.ShardUsers.Count(u => u > 0));
                if (prepared.Cohort.Dormant > 0)
                {
                    model = weight >= 1 ? resolved!.Backbone
                        : weight > 0 ? ScoringModelRef.Blend(resolved!.Backbone!, prepared.Transition!, weight)
                        : prepared.Transition;
                }
            }
            catch (TaskFailedException ex)
            {
                error = $"Preparing the run (one pass over the events: cohort, shards, models) failed: {RetryPolicies.Describe(ex)}";
            }
        }

        // The reasoning statistics come from the same pass; when they failed the run scores with the model alone (noted).
        var reasoningStats = prepared?.Statistics;
        string? reasoningNote = input.Reasoner is { Enabled: false } ? "disabled in the run request" : prepared?.StatisticsNote;
        // The validated fusion weights apply unless the request (or the night chain's reflected priors) set others.
        var reasonerOptions = tuning is not null && input.Reasoner.Fusion.Version == new Core.Reasoning.FusionWeights().Version
            ? input.Reasoner with { Fusion = tuning.Fusion }
            : input.Reasoner;
        var reasoningWork = reasoningStats is null ? null : new ReasoningWork(reasoningStats.Path, reasonerOptions);

        var shards = prepared is null ? [] : Enumerable.Range(0, prepared.ShardUsers.Count).Where(s => prepared.ShardUsers[s] > 0).ToArray();
        if (error is null && model is not null && shards.Length > 0)
        {
            var shardsStarted = context.CurrentUtcDateTime;
            var total = shards.Length;
            var size = BatchSize(total);
            var width = Math.Max(1, (input.MaxParallelShards + BatchesInFlight - 1) / BatchesInFlight);
            // The run's LLM budget is split across batches by users (floor: the parts never add up to more than the budget).
            var llmBudget = reasoningWork?.Options.LlmTokensPerRun;
            var allUsers = Math.Max(1, shards.Sum(s => (long)prepared!.ShardUsers[s]));
            var work = shards.Chunk(size).Select((chunk, b) => new ShardBatchWork(input.RunId, b, chunk, [.. chunk.Select(s => prepared!.ShardUsers[s])],
                model, input.TopK, input.MaxAttempts, input.FirstRetrySeconds, Math.Min(width, input.MaxParallelShards))
            {
                Reasoning = reasoningWork,
                Experiment = input.Experiment,
                RunStartedAt = started,
                LlmTokens = llmBudget is { } budget ? (long)Math.Floor((double)budget * chunk.Sum(s => (long)prepared!.ShardUsers[s]) / allUsers) : null,
            }).ToArray();
            var queue = new Queue<ShardBatchWork>(work);
            var inFlight = new Dictionary<Task<ShardBatchResult>, ShardBatchWork>();
            int done = 0, failed = 0;
            long usersScored = 0;
            context.SetCustomStatus(new RunProgress("scoring", 0, total, 0, 0, prepared!.Cohort.Dormant));
            while (queue.Count > 0 || inFlight.Count > 0)
            {
                while (inFlight.Count < BatchesInFlight && queue.Count > 0)
                {
                    var batch = queue.Dequeue();
                    inFlight.Add(context.CallSubOrchestratorAsync<ShardBatchResult>(nameof(ShardBatchOrchestrator), batch,
                        new SubOrchestrationOptions { InstanceId = ShardBatchOrchestrator.InstanceId(input.RunId, batch.Batch) }), batch);
                }
                var finished = await Task.WhenAny(inFlight.Keys);
                var finishedWork = inFlight[finished];
                inFlight.Remove(finished);
                ShardBatchResult result;
                try
                {
                    result = await finished;
                }
                catch (TaskFailedException ex)
                {
                    // The batch orchestrator itself failed (it normally reports failures in its result): every shard of it failed.
                    var reason = RetryPolicies.Describe(ex);
                    result = new ShardBatchResult(finishedWork.Batch, 0, 0,
                        [.. finishedWork.Shards.Select((s, i) => new ShardFailure(s, finishedWork.Users[i], reason, 1))], 0);
                }
                batches.Add(result);
                done += result.Succeeded + result.Failures.Count;
                failed += result.Failures.Count;
                usersScored += result.Published;
                context.SetCustomStatus(new RunProgress("scoring", done, total, failed, usersScored, prepared.Cohort.Dormant));
            }
            shardsSeconds = (context.CurrentUtcDateTime - shardsStarted).TotalSeconds;
        }

        if (error is not null)
        {
            log.LogError("Run {RunId} failed: {Error}", input.RunId, error);
        }
        var failedShards = batches.Sum(b => b.Failures.Count);
        long publishedUsers = batches.Sum(b => b.Published);
        context.SetCustomStatus(new RunProgress("finalizing", batches.Sum(b => b.Succeeded) + failedShards, shards.Length, failedShards, publishedUsers,
            prepared?.Cohort.Dormant ?? 0));
        var summary = await context.CallActivityAsync<RunSummary>(nameof(FinalizeRunActivity),
            new FinalizeRunInput(ReferenceEquals(reasonerOptions, input.Reasoner) ? input : input with { Reasoner = reasonerOptions }, prepared?.Cohort, model,
                batches, started, context.CurrentUtcDateTime, selectSeconds, modelSeconds, shardsSeconds, error)
            {
                ShardUsers = prepared?.ShardUsers,
                ReasoningStats = reasoningStats,
                ReasoningNote = reasoningNote,
                Tuning = tuning,
                RankerNote = rankerNote,
                Preparation = prepared?.Preparation,
            },
            retry);
        context.SetCustomStatus(new RunProgress("done", summary.Shards, summary.Shards, summary.FailedShards, summary.Published, summary.Dormant));
        return summary;
    }
}
