using Microsoft.DurableTask;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Core.Telemetry;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Writes <c>runs/{runId}/manifest.json</c> and <c>report.md</c>; returns the small run summary. The shards'
/// outcomes come from their <c>shard.json</c> files (the orchestration carries only the batches' counts and failures); a
/// failed shard without one gets an outcome from its failure.</summary>
public sealed class FinalizeRunActivity(RunReportWriter writer, IBlobStore store) : TaskActivity<FinalizeRunInput, RunSummary>
{
    public override async Task<RunSummary> RunAsync(TaskActivityContext context, FinalizeRunInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var span = RoleGenTelemetry.Source.StartActivity(nameof(FinalizeRunActivity));
        span?.SetTag("rolegen.run_id", input.Request.RunId);
        var failures = input.Batches.SelectMany(b => b.Failures).ToDictionary(f => f.Shard);
        var outcomes = new List<ShardOutcome>();
        var users = input.ShardUsers ?? [];
        for (var shard = 0; shard < users.Count; shard++)
        {
            if (users[shard] == 0)
            {
                continue;
            }
            if (failures.TryGetValue(shard, out var failure))
            {
                outcomes.Add(new ShardOutcome(shard, ShardStatus.Failed, failure.Users, 0, 0, null, failure.Error, failure.Attempts, 0, 0, input.FinishedAt, input.FinishedAt)
                {
                    Model = input.Model is null ? null : $"{input.Model.Kind}@{input.Model.Version}",
                });
                continue;
            }
            var report = await store.TryReadJsonAsync<ShardOutcome>(BlobLayout.ShardReport(input.Request.RunId, shard)).ConfigureAwait(false);
            if (report is not null)
            {
                outcomes.Add(report);
            }
            else if (input.Batches.Count > 0)
            {
                // Scheduled (the run reached the fan-out) but neither a report nor a failure: say so instead of inventing counts.
                outcomes.Add(new ShardOutcome(shard, ShardStatus.Failed, users[shard], 0, 0, null, "no shard report was written", 0, 0, 0, input.FinishedAt, input.FinishedAt));
            }
        }
        var interruptions = input.Batches.Count == 0 ? null : new RunInterruptions(input.Batches.Sum(b => b.Interruptions),
            Math.Round(input.Batches.Sum(b => b.InterruptionSeconds), 3), outcomes.Sum(o => o.Executions), outcomes.Sum(o => o.Attempts));
        var summary = await writer.WriteAsync(input.Request, input.Cohort, input.Model, outcomes,
            new RunTimings(input.StartedAt, input.FinishedAt, input.SelectSeconds, input.ModelSeconds, input.ShardsSeconds,
                (input.FinishedAt - input.StartedAt).TotalSeconds) { DowntimeSeconds = interruptions?.DowntimeSeconds ?? 0 },
            input.Error, reasoning: RunReasoning.Summarize(input.Request, outcomes, input.ReasoningStats?.Path, input.ReasoningStats?.Seconds ?? 0, input.ReasoningNote),
            ranker: new RunRanker(input.Tuning, input.RankerNote), preparation: input.Preparation, interruptions: interruptions).ConfigureAwait(false);
        RoleGenTelemetry.RunsCompleted.Add(1, new KeyValuePair<string, object?>(RoleGenTelemetry.RunStatusTag, summary.Status.ToString().ToLowerInvariant()));
        if (summary.FailedShards > 0)
        {
            RoleGenTelemetry.ShardsFailed.Add(summary.FailedShards);
        }
        span?.SetTag(RoleGenTelemetry.RunStatusTag, summary.Status.ToString().ToLowerInvariant());
        return summary;
    }
}
