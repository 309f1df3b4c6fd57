using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Scoring;

/// <summary>
/// The choice validation made for a dataset — which ranker RoleGen fuses into (the backbone, the transition model or a
/// rank blend; <see cref="BackboneWeight"/> 1, 0 or in between) and the fusion weights — stored at
/// <see cref="BlobLayout.Tuning"/> by <c>rolegen eval --publish-tuning</c> and applied by the nightly run, which records
/// it in its manifest. So the run and the offline evaluation make the same choice.
/// </summary>
/// <param name="Dataset">The dataset the choice was validated on (a run applies only its own dataset's tuning).</param>
/// <param name="BackboneWeight">1 = the backbone alone, 0 = the transition model alone, else a rank blend of both.</param>
/// <param name="Fusion">The validated fusion weights (used unless the run request or reflected priors set others).</param>
/// <param name="ValidatedOn">The validation split, in words.</param>
/// <param name="ValidationRecallAt1">Recall@1 of the choice on validation.</param>
public sealed record RankerTuning(
    string Dataset,
    double BackboneWeight,
    FusionWeights Fusion,
    string ValidatedOn,
    double ValidationRecallAt1,
    double ValidationRecallAt10,
    DateTimeOffset CreatedAt)
{
    public string Describe() => BackboneWeight switch
    {
        0 => "the transition model",
        1 => "the backbone",
        _ => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"a blend (backbone {BackboneWeight:0.##}, transition {1 - BackboneWeight:0.##})"),
    };

    public string? Validate() =>
        !double.IsFinite(BackboneWeight) || BackboneWeight is < 0 or > 1 ? "the tuning's backbone weight must be in [0, 1]"
        : Fusion is null ? "the tuning has no fusion weights"
        : Fusion.Validate();

    /// <summary>The dataset's tuning, or null with the reason (none published, or invalid).</summary>
    public static async Task<(RankerTuning? Tuning, string Reason)> ResolveAsync(IBlobStore store, string dataset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var path = BlobLayout.Tuning(dataset);
        RankerTuning? tuning;
        try
        {
            tuning = await store.TryReadJsonAsync<RankerTuning>(path, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Text.Json.JsonException ex)
        {
            return (null, $"{path} is not valid JSON ({ex.Message}): ignored");
        }
        if (tuning is null)
        {
            return (null, $"no validated tuning for '{dataset}' ({path} absent)");
        }
        if (tuning.Dataset != dataset || tuning.Validate() is { } problem)
        {
            return (null, $"{path} is not usable ({(tuning.Dataset != dataset ? $"it was validated on '{tuning.Dataset}'" : tuning.Validate())}): ignored");
        }
        return (tuning, $"validated tuning {path}: {tuning.Describe()}, fusion {tuning.Fusion.Version}");
    }
}
