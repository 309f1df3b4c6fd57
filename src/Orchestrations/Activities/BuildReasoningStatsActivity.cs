using Microsoft.DurableTask;
using RoleGen.Core.Reasoning;
using RoleGen.Orchestrations.Models;
using RoleGen.Core.Storage;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Computes the run's behaviour-graph statistics once (events up to the cohort's as-of time) and stores them at
/// <c>runs/{runId}/reasoning/graph-stats.json</c> for every shard's reasoner (overwritten on retry).</summary>
public sealed class BuildReasoningStatsActivity(BehaviorGraphStatisticsBuilder builder) : TaskActivity<BuildReasoningStatsInput, BuildReasoningStatsResult>
{
    public override async Task<BuildReasoningStatsResult> RunAsync(TaskActivityContext context, BuildReasoningStatsInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var stats = await builder.BuildAsync(input.RunId, input.Dataset, input.AsOfUnixSeconds).ConfigureAwait(false);
        return new BuildReasoningStatsResult(BlobLayout.GraphStatistics(input.RunId), stats.Users, stats.Events, stats.Items.Count,
            stats.Categories.Count, stats.BaseRate, watch.Elapsed.TotalSeconds);
    }
}
