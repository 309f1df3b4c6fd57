using Microsoft.DurableTask;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Looks up the published backbone (<c>models/backbone/current</c>). The run uses it when present and complete,
/// and the baseline transition model otherwise; the manifest records which.</summary>
public sealed class ResolveScoringModelActivity(IBlobStore store) : TaskActivity<ResolveScoringModelInput, ResolveScoringModelResult>
{
    public override async Task<ResolveScoringModelResult> RunAsync(TaskActivityContext context, ResolveScoringModelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (model, reason) = await BackboneRegistry.ResolveCurrentAsync(store, input.Dataset).ConfigureAwait(false);
        var (tuning, tuningReason) = input.Dataset is null ? (null, "no dataset") : await RankerTuning.ResolveAsync(store, input.Dataset).ConfigureAwait(false);
        return new ResolveScoringModelResult(model, reason) { Tuning = tuning, TuningReason = tuningReason };
    }
}
