using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Orchestrators;

/// <summary>
/// A batch of a run's shards: one <see cref="RecommendShardActivity"/> per shard, at most <see cref="ShardBatchWork.Width"/>
/// in flight. Retries are made here, one attempt at a time (transient failures back off from the first retry delay,
/// doubling, up to 60 s; a <see cref="PermanentFailureException"/> is not retried), so the attempt count is exact. A shard
/// that keeps failing is reported in <see cref="ShardBatchResult.Failures"/>, never thrown. The result is small (counts and
/// failures): each shard's full outcome is in its <c>shard.json</c>. Batches keep the run's history bounded at thousands
/// of shards (one sub-orchestration result per batch instead of one per shard).
/// With a run-level LLM budget (<see cref="ShardBatchWork.LlmTokens"/>) the batch is a pool: each shard, when it starts,
/// gets its share of what is unallocated by its users (among the shards not yet started); a shard that succeeds gives
/// back what it did not spend; a failed shard's share stays spent (its attempts may have used it). Every attempt of a
/// shard carries the same share, and the activity subtracts what earlier attempts spent: retries never add budget.
/// </summary>
public sealed class ShardBatchOrchestrator : TaskOrchestrator<ShardBatchWork, ShardBatchResult>
{
    /// <summary>A shard whose activity starts this much later than it was scheduled is counted as an interruption (a killed
    /// or starved host; normal queue latency is about a second).</summary>
    public const double InterruptionSeconds = 20;

    public static string InstanceId(string runId, int batch) => $"{runId}:batch:{batch:D5}";

    public override async Task<ShardBatchResult> RunAsync(TaskOrchestrationContext context, ShardBatchWork input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger<ShardBatchOrchestrator>();
        var queue = new Queue<int>(Enumerable.Range(0, input.Shards.Count));
        var inFlight = new List<Task<(int Index, RecommendShardResult? Result, ShardFailure? Failure, double QueueSeconds)>>();
        var failures = new List<ShardFailure>();
        int succeeded = 0, interruptions = 0;
        long published = 0;
        var shares = new long?[input.Shards.Count];
        long unallocated = Math.Max(0, input.LlmTokens ?? 0), usersNotStarted = input.Users.Sum(u => (long)Math.Max(0, u));
        double activitySeconds = 0, downtime = 0;
        while (queue.Count > 0 || inFlight.Count > 0)
        {
            while (inFlight.Count < Math.Max(1, input.Width) && queue.Count > 0)
            {
                var next = queue.Dequeue();
                if (input.LlmTokens is not null)
                {
                    var users = Math.Max(0, input.Users[next]);
                    var share = usersNotStarted <= 0 ? unallocated : (long)Math.Floor((double)unallocated * users / usersNotStarted);
                    shares[next] = share;
                    unallocated -= share;
                    usersNotStarted -= users;
                }
                inFlight.Add(RunShardAsync(context, input, next, shares[next]));
            }
            var done = await Task.WhenAny(inFlight);
            inFlight.Remove(done);
            var (index, result, failure, queueSeconds) = await done;
            if (queueSeconds > InterruptionSeconds)
            {
                interruptions++;
                downtime += queueSeconds;
            }
            if (result is not null)
            {
                succeeded++;
                published += result.Published;
                if (shares[index] is { } share)
                {
                    unallocated += Math.Max(0, share - result.LlmTokensSpent);
                }
                activitySeconds += result.Seconds;
            }
            else
            {
                failures.Add(failure!);
                log.LogWarning("Shard {Shard} of run {RunId} failed: {Reason}", input.Shards[index], input.RunId, failure!.Error);
            }
        }
        return new ShardBatchResult(input.Batch, succeeded, published, failures, Math.Round(activitySeconds, 3))
        {
            Interruptions = interruptions,
            InterruptionSeconds = Math.Round(downtime, 3),
        };
    }

    private static async Task<(int Index, RecommendShardResult? Result, ShardFailure? Failure, double QueueSeconds)> RunShardAsync(
        TaskOrchestrationContext context, ShardBatchWork work, int index, long? llmTokens)
    {
        var shard = work.Shards[index];
        var users = work.Users[index];
        var maxAttempts = Math.Clamp(work.MaxAttempts, 1, 20);
        var delay = TimeSpan.FromSeconds(double.IsFinite(work.FirstRetrySeconds) ? Math.Clamp(work.FirstRetrySeconds, 0.1, 60) : 1);
        for (var attempt = 1; ; attempt++)
        {
            var scheduled = context.CurrentUtcDateTime;
            try
            {
                var result = await context.CallActivityAsync<RecommendShardResult>(nameof(RecommendShardActivity),
                    new RecommendShardInput(work.RunId, shard, BlobLayout.ShardUsers(work.RunId, shard), users, work.Model, work.TopK, attempt)
                    {
                        Reasoning = work.Reasoning,
                        Experiment = work.Experiment,
                        RunStartedAt = work.RunStartedAt,
                        LlmTokens = llmTokens,
                    });
                return (index, result, null, Math.Max(0, (result.StartedAt - scheduled).TotalSeconds));
            }
            catch (TaskFailedException ex)
            {
                var permanent = RetryPolicies.IsPermanent(ex.FailureDetails) || ex.Message.Contains(nameof(PermanentFailureException), StringComparison.Ordinal);
                if (permanent || attempt >= maxAttempts)
                {
                    return (index, null, new ShardFailure(shard, users, RetryPolicies.Describe(ex), attempt), 0);
                }
                await context.CreateTimer(delay, CancellationToken.None);
                delay = TimeSpan.FromSeconds(Math.Min(60, delay.TotalSeconds * 2));
            }
        }
    }
}
