using Microsoft.DurableTask;
using RoleGen.Core.Scoring;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Builds the baseline transition model from the run's events (up to the cohort's as-of time) into
/// <c>runs/{runId}/model/</c>. It scores the run when no trained backbone exists, and stays as the benchmark baseline.</summary>
public sealed class BuildBaselineModelActivity(TransitionModelBuilder builder) : TaskActivity<BuildBaselineModelInput, BuildBaselineModelResult>
{
    public override async Task<BuildBaselineModelResult> RunAsync(TaskActivityContext context, BuildBaselineModelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var info = await builder.BuildAsync(input.RunId, input.Dataset, input.AsOfUnixSeconds).ConfigureAwait(false);
        var model = new ScoringModelRef(TransitionModel.Kind, $"{input.RunId}", info.Path);
        return new BuildBaselineModelResult(model, info.Items, info.Events, info.Seconds);
    }
}
