using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Pipeline;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;

namespace RoleGen.Evaluation;

/// <summary>
/// RoleGen's choices on a validation split: the reasoner's statistics from the train events only (the production
/// <see cref="BehaviorGraphStatisticsBuilder"/>), and the fusion-weight search. The search runs the production
/// <see cref="ShardRecommender.Recommend"/> for every weight set over the same model lists and the same counterfactual
/// estimates (computed once: the world model does not depend on the weights), re-selecting each user's kept paths with the
/// weights' own rule (<see cref="EmbeddedReasoner.KeepBest"/>) — exactly what a run with those weights would publish
/// (a test checks it), at the cost of one reasoning pass.
/// </summary>
public static class RoleGenEval
{
    /// <summary>Behaviour-graph statistics of the train events (<see cref="TransitionBaseline.StoreAsync"/> + the production
    /// builder; without an ingest summary the builder spools one partition).</summary>
    public static async Task<BehaviorGraphStatistics> StatisticsAsync(IEnumerable<BehaviorEvent> trainEvents, long asOf, CancellationToken cancellationToken)
    {
        var store = await TransitionBaseline.StoreAsync(trainEvents, cancellationToken).ConfigureAwait(false);
        var builder = new BehaviorGraphStatisticsBuilder(store, NullLogger<BehaviorGraphStatisticsBuilder>.Instance);
        return await builder.ComputeAsync(TransitionBaseline.Dataset, asOf, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Recall@1 and Recall@10 (cohort "all") of every weight set of <see cref="FusionWeightSearch.Grid"/> on
    /// <paramref name="validation"/>.</summary>
    public static async Task<IReadOnlyList<(FusionWeights Weights, double Recall1, double Recall10)>> SearchWeightsAsync(EvalDataset validation,
        IReadOnlyList<UserTrajectory> users, IReadOnlyList<IReadOnlySet<string>> excluded, IRecommender ranker, ICounterfactualModel world,
        BehaviorGraphStatistics stats, ReasonerOptions options, int topK, int batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(options);
        var replay = await ReplayAsync(users, ranker, world, stats, options, topK, batch, cancellationToken).ConfigureAwait(false);
        var grid = new List<(FusionWeights, double, double)>();
        foreach (var weights in FusionWeightSearch.Grid(options.Fusion))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var metrics = Evaluator.Measure(validation, replay.Recommend(users, weights), excluded, resamples: 0);
            var all = metrics.First(c => c.Cohort == "all");
            grid.Add((weights, all.Recall["@1"], all.Recall.GetValueOrDefault("@10")));
        }
        return grid;
    }

    /// <summary>Model lists and full reasoning (all M evaluated interventions kept) of <paramref name="users"/>, computed
    /// once, for re-fusion with any weights.</summary>
    public static async Task<FusionReplay> ReplayAsync(IReadOnlyList<UserTrajectory> users, IRecommender ranker, ICounterfactualModel world,
        BehaviorGraphStatistics stats, ReasonerOptions options, int topK, int batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(options);
        var all = options with { PathsPerUser = options.MaxInterventions };
        var reasoner = ShardRecommenderFactory.CreateReasoner(stats, world, all);
        var listSize = topK + options.PathsPerUser;
        var lists = new Dictionary<string, UserRecommendations>(StringComparer.Ordinal);
        var reasonings = new Dictionary<string, UserReasoning>(StringComparer.Ordinal);
        for (var start = 0; start < users.Count; start += batch)
        {
            var slice = users.Skip(start).Take(batch).ToArray();
            foreach (var rec in ranker.Recommend(slice, listSize))
            {
                lists[rec.UserId] = rec;
            }
            foreach (var r in await reasoner.ReasonAsync(slice, cancellationToken).ConfigureAwait(false))
            {
                reasonings[r.UserId] = r;
            }
        }
        return new FusionReplay(new FixedLists(ranker.Model, lists), reasonings, stats, options, topK);
    }

    /// <summary>The prepared lists and reasoning of <see cref="ReplayAsync"/>.</summary>
    public sealed class FusionReplay(IRecommender lists, IReadOnlyDictionary<string, UserReasoning> reasonings, BehaviorGraphStatistics stats,
        ReasonerOptions options, int topK)
    {
        /// <summary>What the production pipeline publishes for <paramref name="users"/> with <paramref name="weights"/>.</summary>
        public IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, FusionWeights weights)
        {
            ArgumentNullException.ThrowIfNull(users);
            var weighted = options with { Fusion = weights };
            var kept = users.Select(u =>
            {
                var r = reasonings[u.UserId];
                return r with { Paths = EmbeddedReasoner.KeepBest(r.Paths, r.BaseConversion, weighted.PathsPerUser, weights) };
            }).ToArray();
            return new ShardRecommender(lists, null, stats, new ShardRecommenderOptions { TopK = topK, Reasoner = weighted }).Recommend(users, kept);
        }
    }

    /// <summary>A model that replays lists computed once (the same lists for every weight set).</summary>
    private sealed class FixedLists(ScoringModelRef model, IReadOnlyDictionary<string, UserRecommendations> lists) : IRecommender
    {
        public ScoringModelRef Model { get; } = model;

        public IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, int topK) =>
            users.Select(u => lists[u.UserId] with { Items = lists[u.UserId].Items.Take(topK).ToArray() }).ToArray();
    }
}

/// <summary>Chooses fusion weights on a validation split: an exhaustive grid over the three weights (role priors fixed),
/// maximising Recall@1 with Recall@10 as the tie-break; among weight sets that tie on both, the one deepest inside the
/// plateau (most grid neighbours with the same score) wins, so the choice does not sit on a knife edge where an exact
/// score tie between a model item and a reasoned item decides the order.</summary>
public static class FusionWeightSearch
{
    private static readonly double[] Backbones = [0.25, 0.5, 1.0, 2.0];
    private static readonly double[] Uplifts = [0.0, 0.25, 0.5, 1.0];
    private static readonly double[] Roles = [0.0, 0.25, 0.5, 1.0, 2.0];

    public static (FusionWeights Weights, double Recall1, double Recall10) Choose(IReadOnlyList<(FusionWeights Weights, double Recall1, double Recall10)> grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        if (grid.Count == 0)
        {
            throw new ArgumentException("empty grid", nameof(grid));
        }
        var best = grid.OrderByDescending(g => g.Recall1).ThenByDescending(g => g.Recall10).First();
        var tied = grid.Where(g => g.Recall1 == best.Recall1 && g.Recall10 == best.Recall10).ToArray();
        if (tied.Length == 1)
        {
            return best;
        }
        static (int B, int U, int R) Cell(FusionWeights w) => (Array.IndexOf(Backbones, w.Backbone), Array.IndexOf(Uplifts, w.Uplift), Array.IndexOf(Roles, w.Role));
        var cells = tied.Select(t => Cell(t.Weights)).ToHashSet();
        int Depth((FusionWeights Weights, double, double) t)
        {
            var (b, u, r) = Cell(t.Weights);
            (int, int, int)[] around = [(b - 1, u, r), (b + 1, u, r), (b, u - 1, r), (b, u + 1, r), (b, u, r - 1), (b, u, r + 1)];
            return around.Count(cells.Contains);
        }
        return tied.Select((t, i) => (t, i)).OrderByDescending(x => Depth(x.t)).ThenBy(x => x.i).First().t;
    }

    public static IEnumerable<FusionWeights> Grid(FusionWeights priors)
    {
        ArgumentNullException.ThrowIfNull(priors);
        foreach (var backbone in Backbones)
        {
            foreach (var uplift in Uplifts)
            {
                foreach (var role in Roles)
                {
                    yield return priors with { Backbone = backbone, Uplift = uplift, Role = role, Version = $"b{backbone}-u{uplift}-r{role}" };
                }
            }
        }
    }
}
