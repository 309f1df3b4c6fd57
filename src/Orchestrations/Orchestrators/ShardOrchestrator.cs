using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Runs;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Orchestrators;

/// <summary>One shard: reason (when the run reasons) → score (fusing the reasoning) → publish, each retried at the call site. Never throws for a failing shard: it returns a
/// <see cref="ShardStatus.Failed"/> outcome so the run reports it and goes on.</summary>
public sealed class ShardOrchestrator : TaskOrchestrator<ShardWork, ShardOutcome>
{
    public override async Task<ShardOutcome> RunAsync(TaskOrchestrationContext context, ShardWork input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger<ShardOrchestrator>();
        var started = context.CurrentUtcDateTime;
        var retry = RetryPolicies.Transient(input.MaxAttempts, input.FirstRetrySeconds);
        var shard = input.Shard;
        ScoreShardResult? scored = null;
        ReasonShardResult? reasoned = null;
        var step = "reason";
        try
        {
            if (input.Reasoning is not null)
            {
                reasoned = await context.CallActivityAsync<ReasonShardResult>(nameof(ReasonShardActivity),
                    new ReasonShardInput(input.RunId, shard.Shard, shard.UsersPath, shard.Users, input.Model, input.Reasoning), retry);
            }
            step = "score";
            scored = await context.CallActivityAsync<ScoreShardResult>(nameof(ScoreShardActivity),
                new ScoreShardInput(input.RunId, shard.Shard, shard.UsersPath, shard.Users, input.Model, input.TopK)
                {
                    ReasoningPath = reasoned?.ReasoningPath,
                    Reasoning = reasoned is null ? null : input.Reasoning,
                    Experiment = input.Experiment,
                }, retry);
            step = "publish";
            var published = await context.CallActivityAsync<PublishShardResult>(nameof(PublishShardActivity),
                new PublishShardInput(input.RunId, shard.Shard, shard.UsersPath, scored.ScoresPath, shard.Users), retry);
            return new ShardOutcome(shard.Shard, ShardStatus.Succeeded, shard.Users, scored.Scored, published.Published,
                published.CandidatesPath, null, 1, scored.Seconds, published.Seconds, started, context.CurrentUtcDateTime)
            {
                Model = $"{input.Model.Kind}@{input.Model.Version}",
                Runtime = scored.Runtime,
                Reasoning = reasoned?.Reasoning,
                ItemsBySource = scored.ItemsBySource,
                ItemsByRole = scored.ItemsByRole,
                UsersByArm = scored.UsersByArm,
            };
        }
        catch (TaskFailedException ex)
        {
            var reason = RetryPolicies.Describe(ex);
            log.LogWarning("Shard {Shard} of run {RunId} failed: {Reason}", shard.Shard, input.RunId, reason);
            return new ShardOutcome(shard.Shard, ShardStatus.Failed, shard.Users, scored?.Scored ?? 0, 0, null,
                $"{step}: {reason}", RetryPolicies.IsPermanent(ex.FailureDetails) ? 1 : input.MaxAttempts,
                scored?.Seconds ?? 0, 0, started, context.CurrentUtcDateTime)
            {
                Model = $"{input.Model.Kind}@{input.Model.Version}",
                Runtime = scored?.Runtime,
                Reasoning = reasoned?.Reasoning,
            };
        }
    }
}
