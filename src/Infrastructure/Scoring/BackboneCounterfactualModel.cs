using RoleGen.Core.Cohort;
using RoleGen.Core.Reasoning;

namespace RoleGen.Infrastructure.Scoring;

/// <summary>
/// The backbone as the world model of counterfactual inference: its conversion head gives P(the next action converts |
/// the right-aligned sequence). For each user the base sequence and one sequence per intervention (the trajectory with a
/// view of x appended as the newest step) go through the same ONNX session in batches of <paramref name="batchSize"/>
/// sequences — on the conversion-only graph (conversion.onnx) when the version has one, else on the full graph with
/// k = 1. An intervention whose
/// item is outside the backbone's vocabulary gets NaN (the model has no embedding for it).
/// </summary>
public sealed class BackboneCounterfactualModel(BackboneRecommender backbone, int batchSize) : ICounterfactualModel
{
    public string Name => $"{backbone.Model.Kind}@{backbone.Model.Version} conversion head, {(backbone.HasConversionGraph ? "conversion-only graph" : "full graph")} ({backbone.Runtime})";

    public CounterfactualEstimates Evaluate(IReadOnlyList<UserTrajectory> users, IReadOnlyList<IReadOnlyList<Intervention>> interventions)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(interventions);
        var baseline = new double[users.Count];
        var with = new double[users.Count][];
        // Flatten (user, intervention) pairs; -1 = the user's base sequence.
        var jobs = new List<(int User, int Index, int Token)>(users.Count * 5);
        for (var u = 0; u < users.Count; u++)
        {
            with[u] = new double[interventions[u].Count];
            jobs.Add((u, -1, 0));
            for (var j = 0; j < interventions[u].Count; j++)
            {
                if (backbone.Vocabulary.Tokens.TryGetValue(interventions[u][j].Item, out var token))
                {
                    jobs.Add((u, j, token));
                }
                else
                {
                    with[u][j] = double.NaN;
                }
            }
        }
        var length = backbone.MaxLength;
        var size = Math.Max(1, batchSize);
        var items = new long[size * length];
        var actions = new long[size * length];
        for (var start = 0; start < jobs.Count; start += size)
        {
            var count = Math.Min(size, jobs.Count - start);
            Array.Clear(items);
            Array.Clear(actions);
            for (var b = 0; b < count; b++)
            {
                var job = jobs[start + b];
                backbone.Encode(users[job.User], job.Index < 0 ? null : job.Token, items, actions, b);
            }
            var conversion = backbone.ConversionSession.RunConversion(
                count == size ? items : items[..(count * length)],
                count == size ? actions : actions[..(count * length)], count);
            for (var b = 0; b < count; b++)
            {
                var job = jobs[start + b];
                if (job.Index < 0)
                {
                    baseline[job.User] = conversion[b];
                }
                else
                {
                    with[job.User][job.Index] = conversion[b];
                }
            }
        }
        return new CounterfactualEstimates(baseline, with);
    }
}

/// <summary>The world model of a run: the backbone's conversion head (the same cached session the run scores with) when the
/// run scores with a backbone, else the behaviour-graph statistics.</summary>
public sealed class BackboneCounterfactualModelProvider(BackboneRecommenderProvider backbones, Microsoft.Extensions.Options.IOptions<ScoringOptions> options)
    : ICounterfactualModelProvider
{
    /// <summary>Sequences per ONNX Runtime call for counterfactual passes (at least the scoring batch).</summary>
    public const int MinBatch = 256;

    public async Task<ICounterfactualModel> GetAsync(Core.Scoring.ScoringModelRef model, BehaviorGraphStatistics stats, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stats);
        // A blend's world model is its backbone's conversion head.
        if (model.Backbone is not { } backbone)
        {
            return new StatisticalCounterfactualModel(stats);
        }
        var recommender = (BackboneRecommender)await backbones.GetAsync(backbone, cancellationToken).ConfigureAwait(false);
        return new BackboneCounterfactualModel(recommender, Math.Max(MinBatch, options.Value.BatchSize));
    }
}
