using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;

namespace RoleGen.Evaluation;

/// <summary>
/// RoleGen in the offline evaluation: behaviour-graph statistics from the train events only (the production
/// <see cref="BehaviorGraphStatisticsBuilder"/>), the embedded reasoner with the backbone's conversion head as world
/// model (the statistical model when no backbone is given), and fusion into the model's top list. The model's lists and
/// the reasoning are computed once per user; fusion with any weight set is then cheap, which is what makes the weight
/// search on the validation split affordable.
/// </summary>
public sealed class RoleGenEval
{
    /// <summary>Backbone items kept per user before fusion (reasoned items can enter from outside them).</summary>
    public const int Pool = 50;

    private readonly Dictionary<string, (UserTrajectory User, UserRecommendations Model, UserReasoning Reasoning)> _byUser;

    private RoleGenEval(Dictionary<string, (UserTrajectory, UserRecommendations, UserReasoning)> byUser, BehaviorGraphStatistics stats,
        ReasonerOptions options, double modelSeconds, double reasonSeconds, string worldModel)
    {
        _byUser = byUser;
        Stats = stats;
        Options = options;
        ModelSeconds = modelSeconds;
        ReasonSeconds = reasonSeconds;
        WorldModel = worldModel;
    }

    public BehaviorGraphStatistics Stats { get; }

    public ReasonerOptions Options { get; }

    /// <summary>Seconds the underlying model took to list its top-<see cref="Pool"/> for every user (backbone-only scoring).</summary>
    public double ModelSeconds { get; }

    /// <summary>Seconds of roles + interventions + counterfactual world-model passes for every user.</summary>
    public double ReasonSeconds { get; }

    public string WorldModel { get; }

    /// <summary>Of <see cref="ReasonSeconds"/>: role assignment + intervention proposal, and world-model passes.</summary>
    public double RolesSeconds { get; private init; }

    public double WorldModelSeconds { get; private init; }

    public int Users => _byUser.Count;

    public IEnumerable<UserReasoning> Reasonings => _byUser.Values.Select(v => v.Reasoning);

    /// <summary>Builds statistics from <paramref name="trainEvents"/> (up to <paramref name="asOf"/>), lists every user's
    /// top items with <paramref name="model"/> and reasons over them.</summary>
    public static async Task<RoleGenEval> PrepareAsync(IEnumerable<BehaviorEvent> trainEvents, long asOf, IReadOnlyList<UserTrajectory> users,
        IRecommender model, Func<BehaviorGraphStatistics, ICounterfactualModel> world, ReasonerOptions options, int batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(world);
        var stats = await StatisticsAsync(trainEvents, asOf, cancellationToken).ConfigureAwait(false);
        var reasoner = new EmbeddedReasoner(new InterventionCatalog(stats, options), world(stats), options);
        var lists = new List<UserRecommendations>(users.Count);
        var watch = Stopwatch.StartNew();
        for (var start = 0; start < users.Count; start += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lists.AddRange(model.Recommend(users.Skip(start).Take(batch).ToArray(), Pool));
        }
        var modelSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        var reasonings = new List<UserReasoning>(users.Count);
        for (var start = 0; start < users.Count; start += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            reasonings.AddRange(reasoner.Reason(users.Skip(start).Take(batch).ToArray()));
        }
        var reasonSeconds = watch.Elapsed.TotalSeconds;
        var byUser = new Dictionary<string, (UserTrajectory, UserRecommendations, UserReasoning)>(StringComparer.Ordinal);
        for (var i = 0; i < users.Count; i++)
        {
            byUser[users[i].UserId] = (users[i], lists[i], reasonings[i]);
        }
        return new RoleGenEval(byUser, stats, options, modelSeconds, reasonSeconds, reasoner.WorldModel)
        {
            RolesSeconds = reasoner.RolesAndProposalTime.TotalSeconds,
            WorldModelSeconds = reasoner.WorldModelTime.TotalSeconds,
        };
    }

    /// <summary>Behaviour-graph statistics of the train events (<see cref="TransitionBaseline.StoreAsync"/> + the production
    /// builder; without an ingest summary the builder spools one partition).</summary>
    public static async Task<BehaviorGraphStatistics> StatisticsAsync(IEnumerable<BehaviorEvent> trainEvents, long asOf, CancellationToken cancellationToken)
    {
        var store = await TransitionBaseline.StoreAsync(trainEvents, cancellationToken).ConfigureAwait(false);
        var builder = new BehaviorGraphStatisticsBuilder(store, NullLogger<BehaviorGraphStatisticsBuilder>.Instance);
        return await builder.ComputeAsync(TransitionBaseline.Dataset, asOf, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A recommender that replays the prepared lists fused with <paramref name="weights"/>.</summary>
    public IRecommender Fused(FusionWeights weights) => new Replay(this, new RoleGenFusion(weights, Stats, Options));

    private sealed class Replay(RoleGenEval owner, RoleGenFusion fusion) : IRecommender
    {
        public ScoringModelRef Model { get; } = new("rolegen", fusion.Weights.Version, "");

        public IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, int topK) =>
            users.Select(u =>
            {
                var (user, model, reasoning) = owner._byUser[u.UserId];
                return fusion.Fuse(user, model, reasoning, topK);
            }).ToArray();
    }
}

/// <summary>Chooses fusion weights on a validation split: an exhaustive grid over the three weights (role priors fixed),
/// maximising Recall@1 with Recall@10 as the tie-break.</summary>
public static class FusionWeightSearch
{
    public static IEnumerable<FusionWeights> Grid(FusionWeights priors)
    {
        ArgumentNullException.ThrowIfNull(priors);
        foreach (var backbone in new[] { 0.25, 0.5, 1.0, 2.0 })
        {
            foreach (var uplift in new[] { 0.0, 0.25, 0.5, 1.0 })
            {
                foreach (var role in new[] { 0.0, 0.25, 0.5, 1.0, 2.0 })
                {
                    yield return priors with { Backbone = backbone, Uplift = uplift, Role = role, Version = $"b{backbone}-u{uplift}-r{role}" };
                }
            }
        }
    }
}
