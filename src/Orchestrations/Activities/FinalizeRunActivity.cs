using Microsoft.DurableTask;
using RoleGen.Core.Runs;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Writes <c>runs/{runId}/manifest.json</c> and <c>report.md</c>; returns the small run summary.</summary>
public sealed class FinalizeRunActivity(RunReportWriter writer) : TaskActivity<FinalizeRunInput, RunSummary>
{
    public override Task<RunSummary> RunAsync(TaskActivityContext context, FinalizeRunInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return writer.WriteAsync(input.Request, input.Cohort, input.Model, input.Shards,
            new RunTimings(input.StartedAt, input.FinishedAt, input.SelectSeconds, input.ModelSeconds, input.ShardsSeconds,
                (input.FinishedAt - input.StartedAt).TotalSeconds) { ModelActivitySeconds = input.ModelActivitySeconds },
            input.Error, reasoning: RunReasoning.Summarize(input.Request, input.Shards, input.ReasoningStats?.Path,
                input.ReasoningStats?.Seconds ?? 0, input.ReasoningNote), ranker: new RunRanker(input.Tuning, input.RankerNote));
    }
}
