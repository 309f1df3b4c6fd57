using RoleGen.Core.Cohort;

namespace RoleGen.Core.Scoring;

/// <summary>One recommended item. <see cref="Source"/>: backbone / backbone-cold / transition / popularity for a model's
/// own list; reasoned or backbone+reasoned after fusion. <see cref="Role"/>: the functional role the item plays for the
/// user (null when no evidence gives it one).</summary>
public sealed record RecommendedItem(string ItemId, string CategoryId, double Score, string Source)
{
    public Reasoning.FunctionalRole? Role { get; init; }
}

public sealed record UserRecommendations(string UserId, IReadOnlyList<RecommendedItem> Items)
{
    /// <summary>The user's A/B arm when the run belongs to an experiment.</summary>
    public Experiments.Arm? Arm { get; init; }
}

/// <summary>Which model scores a run: its kind, version and where its artefacts are. A blend
/// (<see cref="BlendedRecommender.Kind"/>) names its two models in <see cref="Components"/> (A first) and the weight of A.</summary>
public sealed record ScoringModelRef(string Kind, string Version, string Path)
{
    public IReadOnlyList<ScoringModelRef>? Components { get; init; }

    public double? Weight { get; init; }

    /// <summary>SHA-256 (hex) of a backbone's model.onnx as recorded in its pointer when published (null: not recorded, or
    /// not a backbone). The loader refuses model bytes that hash otherwise.</summary>
    public string? Sha256 { get; init; }

    /// <summary>The blend of <paramref name="a"/> (weight <paramref name="weightA"/>) and <paramref name="b"/>.</summary>
    public static ScoringModelRef Blend(ScoringModelRef a, ScoringModelRef b, double weightA) =>
        new(BlendedRecommender.Kind, BlendedRecommender.Version(a, b, weightA), "") { Components = [a, b], Weight = weightA };

    /// <summary>The backbone this model uses (itself, or a blend's backbone component), if any. Not serialized: for a
    /// backbone it is the reference itself (a cycle for System.Text.Json).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public ScoringModelRef? Backbone => Kind == BackboneRegistry.Kind ? this : Components?.FirstOrDefault(c => c.Kind == BackboneRegistry.Kind);
}

/// <summary>The scoring port. Implementations: the baseline transition model (here), the ONNX backbone (Infrastructure).</summary>
public interface IRecommender
{
    ScoringModelRef Model { get; }

    /// <summary>Where the scores are computed, for the manifest (e.g. "onnxruntime CPU (CUDA unavailable: ...)").</summary>
    string Runtime => "managed";

    /// <summary>Top-<paramref name="topK"/> items per user, best first, never an item the user bought in the window.
    /// Returns exactly one entry per input user, in input order.</summary>
    IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, int topK);
}

/// <summary>Resolves a model reference to a loaded recommender (cached per model version: one load per process).</summary>
public interface IRecommenderProvider
{
    Task<IRecommender> GetAsync(ScoringModelRef model, CancellationToken cancellationToken = default);
}
