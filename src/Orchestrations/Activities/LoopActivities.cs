using Microsoft.DurableTask;
using RoleGen.Core.Experiments;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>The experiment's previous run (<c>experiments/{name}/latest-run.json</c>), or none with the reason (first
/// night; the pointer names this very run; a run on another dataset).</summary>
public sealed class ResolvePreviousRunActivity(IBlobStore store) : TaskActivity<ResolvePreviousRunInput, PreviousRunResult>
{
    public override async Task<PreviousRunResult> RunAsync(TaskActivityContext context, ResolvePreviousRunInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var latest = await store.TryReadJsonAsync<LatestRun>(BlobLayout.LatestRun(input.Experiment)).ConfigureAwait(false);
        if (latest is null)
        {
            return new PreviousRunResult(null, $"first night of experiment '{input.Experiment}': no previous run ({BlobLayout.LatestRun(input.Experiment)} absent)");
        }
        if (latest.RunId == input.CurrentRunId)
        {
            return new PreviousRunResult(null, $"the experiment's latest run is {input.CurrentRunId} itself (a re-run of tonight): no previous run to learn from");
        }
        return latest.Dataset != input.Dataset
            ? new PreviousRunResult(null, $"the experiment's latest run {latest.RunId} was on dataset '{latest.Dataset}', not '{input.Dataset}'")
            : new PreviousRunResult(latest.RunId, $"previous run {latest.RunId} ({latest.Status}, finished {latest.FinishedAt:u})");
    }
}

/// <summary>The fusion weights of the experiment's newest reflected priors, or none with the reason.</summary>
public sealed class ResolvePriorsActivity(IBlobStore store) : TaskActivity<ResolvePriorsInput, ResolvePriorsResult>
{
    public override async Task<ResolvePriorsResult> RunAsync(TaskActivityContext context, ResolvePriorsInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (weights, reason) = await PriorsRegistry.ResolveCurrentAsync(store, input.Experiment).ConfigureAwait(false);
        return new ResolvePriorsResult(weights, reason);
    }
}
