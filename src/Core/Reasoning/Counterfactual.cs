using RoleGen.Core.Cohort;
using RoleGen.Core.Events;

namespace RoleGen.Core.Reasoning;

/// <summary>A candidate intervention do(show <see cref="Item"/>) for one user, with the role the item would play.</summary>
public sealed record Intervention(string Item, string Category, FunctionalRole Role, string TargetCategory, string Why);

/// <summary>The world model's answer for a batch: P(conversion | trajectory) per user and P(conversion | trajectory +
/// shown item) per intervention (NaN when the model cannot evaluate that item, e.g. an item outside its vocabulary).</summary>
public sealed record CounterfactualEstimates(double[] Base, double[][] WithIntervention);

/// <summary>
/// The world model used for counterfactual inference: P(the user's next action converts | a trajectory). An intervention
/// do(show x) is the trajectory with a view of x appended at the end; Δ = P(conv | T + x) − P(conv | T).
/// Implementations: the backbone's conversion head (Infrastructure, ONNX Runtime) and
/// <see cref="StatisticalCounterfactualModel"/> (behaviour-graph statistics; used when no backbone is published).
/// </summary>
public interface ICounterfactualModel
{
    /// <summary>Name recorded in the manifest (e.g. "backbone-onnx@v3 conversion head").</summary>
    string Name { get; }

    CounterfactualEstimates Evaluate(IReadOnlyList<UserTrajectory> users, IReadOnlyList<IReadOnlyList<Intervention>> interventions);
}

/// <summary>
/// Counterfactual estimates from the behaviour-graph statistics alone (no learned world model). Base: the smoothed share
/// of the user's own steps that converted, shrunk towards the population's rate. Showing an unseen item x adds
/// p0 · (uplift(x) − 1), the smoothed excess rate of "purchase in another category within H days after a first exposure
/// to x" over the pooled base rate p0; showing again an item from the user's history adds the smoothed excess of its
/// purchase rate among exposed users over the average item's. A population-level estimate, not a per-user model: the
/// backbone's conversion head replaces it whenever a backbone is published for the run's dataset.
/// </summary>
public sealed class StatisticalCounterfactualModel(BehaviorGraphStatistics stats) : ICounterfactualModel
{
    private readonly double _purchaseRate = stats.Items.Sum(i => (double)i.Users) is var exposed && exposed > 0
        ? stats.Items.Sum(i => (double)i.Purchasers) / exposed
        : 0;

    public string Name => "behaviour-graph statistics (no backbone)";

    public CounterfactualEstimates Evaluate(IReadOnlyList<UserTrajectory> users, IReadOnlyList<IReadOnlyList<Intervention>> interventions)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(interventions);
        var populationRate = stats.Users == 0 ? 0 : (double)stats.UsersWithPurchase / stats.Users;
        var baseline = new double[users.Count];
        var with = new double[users.Count][];
        for (var u = 0; u < users.Count; u++)
        {
            var user = users[u];
            var conversions = user.Steps.Count(s => s.Type.IsConversion());
            // Ten pseudo-steps at the population rate keep a short trajectory from claiming 0 or 1.
            baseline[u] = (conversions + 10 * populationRate) / (user.Steps.Count + 10);
            var seen = new HashSet<string>(user.Steps.Select(s => s.Item), StringComparer.Ordinal);
            var list = interventions[u];
            with[u] = new double[list.Count];
            for (var j = 0; j < list.Count; j++)
            {
                var x = list[j];
                double delta;
                if (seen.Contains(x.Item))
                {
                    var item = stats.Item(x.Item);
                    var smoothed = BehaviorGraphStatistics.Smooth(item?.Purchasers ?? 0, item?.Users ?? 0, _purchaseRate, stats.PriorStrength);
                    delta = smoothed.SmoothedRate - _purchaseRate;
                }
                else
                {
                    var uplift = stats.ItemUplift(x.Item);
                    delta = uplift.SmoothedRate - uplift.BaseRate;
                }
                with[u][j] = Math.Clamp(baseline[u] + delta, 0, 1);
            }
        }
        return new CounterfactualEstimates(baseline, with);
    }
}

/// <summary>Resolves the world model of a run: the backbone's conversion head when the run scores with a backbone,
/// otherwise <see cref="StatisticalCounterfactualModel"/> over the run's statistics.</summary>
public interface ICounterfactualModelProvider
{
    Task<ICounterfactualModel> GetAsync(Scoring.ScoringModelRef model, BehaviorGraphStatistics stats, CancellationToken cancellationToken = default);
}

/// <summary>The provider for hosts without a backbone runtime: always the statistical model.</summary>
public sealed class StatisticalCounterfactualModelProvider : ICounterfactualModelProvider
{
    public Task<ICounterfactualModel> GetAsync(Scoring.ScoringModelRef model, BehaviorGraphStatistics stats, CancellationToken cancellationToken = default) =>
        Task.FromResult<ICounterfactualModel>(new StatisticalCounterfactualModel(stats));
}

/// <summary>Per-process cache of a run's behaviour-graph statistics and intervention catalogue (loaded from blob once per
/// run and reused by every shard activity of that run in this process; the last few runs are kept).</summary>
public sealed class ReasoningStatisticsCache(Storage.IBlobStore store)
{
    private readonly object _gate = new();
    private readonly LinkedList<(string Path, Task<BehaviorGraphStatistics> Stats)> _recent = new();

    public Task<BehaviorGraphStatistics> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            for (var node = _recent.First; node is not null; node = node.Next)
            {
                if (node.Value.Path == path && !node.Value.Stats.IsFaulted && !node.Value.Stats.IsCanceled)
                {
                    return node.Value.Stats;
                }
            }
            var task = Storage.BlobStoreExtensions.ReadJsonAsync<BehaviorGraphStatistics>(store, path, cancellationToken);
            _recent.AddFirst((path, task));
            while (_recent.Count > 4)
            {
                _recent.RemoveLast();
            }
            return task;
        }
    }
}
