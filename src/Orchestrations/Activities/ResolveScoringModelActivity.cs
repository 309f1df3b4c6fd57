using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Looks up the published backbone (<c>models/backbone/current</c>). The run uses it when present and complete,
/// and the baseline transition model otherwise; the manifest records which. A pointer refused (invalid version, or files
/// whose SHA-256 differs from the one it recorded) is logged as an error, one without hashes (published before they were
/// recorded) as a warning.</summary>
public sealed class ResolveScoringModelActivity(IBlobStore store, ILogger<ResolveScoringModelActivity>? logger = null)
    : TaskActivity<ResolveScoringModelInput, ResolveScoringModelResult>
{
    private readonly ILogger _logger = logger ?? NullLogger<ResolveScoringModelActivity>.Instance;

    public override async Task<ResolveScoringModelResult> RunAsync(TaskActivityContext context, ResolveScoringModelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (model, reason) = await BackboneRegistry.ResolveCurrentAsync(store, input.Dataset).ConfigureAwait(false);
        if (model is null && reason.Contains(" is refused", StringComparison.Ordinal))
        {
            _logger.LogError("Backbone pointer refused: {Reason}", reason);
        }
        else if (model is { Sha256: null })
        {
            _logger.LogWarning("Backbone {Version} loaded without a hash check: {Reason}", model.Version, reason);
        }
        var (tuning, tuningReason) = input.Dataset is null ? (null, "no dataset") : await RankerTuning.ResolveAsync(store, input.Dataset).ConfigureAwait(false);
        return new ResolveScoringModelResult(model, reason) { Tuning = tuning, TuningReason = tuningReason };
    }
}
