using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Reasoning;

/// <summary>Precision/recall of the first <see cref="K"/> items of a ranking against the ground-truth trigger items.</summary>
/// <param name="K">Cut-off.</param>
/// <param name="Hits">Ground-truth triggers among the first K.</param>
/// <param name="Precision">Hits / K (K larger than the ranking still divides by K: missing ranks are misses).</param>
/// <param name="Recall">Hits / |truth| (all ground-truth triggers, exposed or not).</param>
/// <param name="ChancePrecision">Expected precision of a uniformly random order of the same ranked items.</param>
/// <param name="ChanceRecall">Expected recall of that random order.</param>
public sealed record TriggerRankingAtK(int K, int Hits, double Precision, double Recall, double ChancePrecision, double ChanceRecall);

/// <summary>Step-level agreement of the <see cref="EmbeddedRoleAssigner"/>'s Trigger role with the ground truth. A step
/// is a <em>true trigger step</em> when its item is a ground-truth trigger item and it is the user's first exposure to
/// that item (the first step of the trajectory with that item, whatever its type): the generator applies a trigger's
/// effect from the first view on, and later views of the same item add nothing.</summary>
/// <param name="TruePositives">Steps labelled Trigger that are true trigger steps.</param>
/// <param name="FalsePositives">Steps labelled Trigger that are not.</param>
/// <param name="FalseNegatives">True trigger steps labelled otherwise.</param>
/// <param name="Precision">TP / (TP + FP); null when nothing was labelled Trigger.</param>
/// <param name="Recall">TP / (TP + FN); null when the trajectories contain no true trigger step.</param>
/// <param name="TriggerViewLabelRate">Share of views of ground-truth trigger items labelled Trigger (any exposure, not only the first).</param>
/// <param name="OtherViewLabelRate">Share of views of other items labelled Trigger.</param>
/// <param name="RoleCounts">Steps per assigned role.</param>
public sealed record TriggerStepAgreement(
    long TruePositives,
    long FalsePositives,
    long FalseNegatives,
    double? Precision,
    double? Recall,
    double TriggerViewLabelRate,
    double OtherViewLabelRate,
    IReadOnlyDictionary<string, long> RoleCounts);

/// <summary>How well the reasoner's statistics and role assigner recover the demo generator's trigger items.</summary>
/// <param name="Triggers">|truth|: ground-truth trigger items.</param>
/// <param name="ExposedTriggers">Ground-truth triggers that some user was exposed to (the rest cannot be found).</param>
/// <param name="RankedItems">Items in the rankings (items with at least one exposed user).</param>
/// <param name="Uplift">Items ranked by smoothed trigger uplift (<see cref="BehaviorGraphStatistics.RankItemsByUplift"/>).</param>
/// <param name="Popularity">Baseline: items ranked by exposed users (ties: item id).</param>
/// <param name="Steps">Step-level agreement of the Trigger role.</param>
public sealed record TriggerRecoveryResult(
    int Triggers,
    int ExposedTriggers,
    int RankedItems,
    IReadOnlyList<TriggerRankingAtK> Uplift,
    IReadOnlyList<TriggerRankingAtK> Popularity,
    TriggerStepAgreement Steps);

/// <summary>A generated demo world with what the reasoner sees of it: the statistics, every user's full trajectory and
/// the generator's ground truth. Kept in memory (an in-memory blob store), so it suits a few thousand users.</summary>
public sealed record DemoWorldSample(
    DemoWorldTruth Truth,
    IngestSummary Summary,
    BehaviorGraphStatistics Statistics,
    IReadOnlyList<UserTrajectory> Trajectories)
{
    public IReadOnlySet<string> TriggerItems { get; } = Truth.Triggers.Select(t => t.ItemId).ToHashSet(StringComparer.Ordinal);
}

/// <summary>Measures whether the reasoner recovers the demo generator's ground-truth trigger items: by ranking items by
/// smoothed uplift (against chance and a popularity ranking) and by the step roles of the embedded assigner. Shared by
/// the held-out recovery test and <c>rolegen eval --dataset demo</c>, so both report the same numbers.</summary>
public static class TriggerRecovery
{
    /// <summary>Generates the world into an in-memory store (the same path as <c>rolegen demo</c>), builds the behaviour
    /// graph statistics over all its events and reads back every user's trajectory (events in time order; ties keep
    /// the written order).</summary>
    public static async Task<DemoWorldSample> GenerateAsync(DemoWorldOptions options, BehaviorGraphOptions? graphOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string dataset = "demo";
        var store = new InMemoryBlobStore();
        var (summary, truth) = await new DemoWorldWriter(store, NullLogger<DemoWorldWriter>.Instance)
            .WriteAsync(options, dataset, cancellationToken: cancellationToken).ConfigureAwait(false);
        var stats = await new BehaviorGraphStatisticsBuilder(store, NullLogger<BehaviorGraphStatisticsBuilder>.Instance)
            .ComputeAsync(dataset, summary.MaxTimestamp, graphOptions, cancellationToken).ConfigureAwait(false);
        var byUser = new Dictionary<string, List<BehaviorEvent>>(StringComparer.Ordinal);
        var order = new List<string>();
        await foreach (var e in EventStore.ReadAllAsync(store, dataset, cancellationToken).ConfigureAwait(false))
        {
            if (!byUser.TryGetValue(e.UserId, out var list))
            {
                byUser[e.UserId] = list = [];
                order.Add(e.UserId);
            }
            list.Add(e);
        }
        var trajectories = order.Select(u => ToTrajectory(u, byUser[u])).ToArray();
        return new DemoWorldSample(truth, summary, stats, trajectories);
    }

    /// <summary>A user's whole history as a trajectory (purchased items as the exclusion list, as production builds it).</summary>
    public static UserTrajectory ToTrajectory(string userId, IEnumerable<BehaviorEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var steps = events.OrderBy(e => e.Timestamp).Select(e => new TrajectoryStep(e.ItemId, e.CategoryId, e.Type, e.Timestamp)).ToArray();
        return new UserTrajectory(userId, steps.Count(s => s.Type == EventType.View), steps.Count(s => s.Type == EventType.Cart),
            steps.Count(s => s.Type == EventType.Purchase), steps.Select(s => s.Ts / 86_400).Distinct().Count(), steps,
            [.. steps.Where(s => s.Type == EventType.Purchase).Select(s => s.Item).Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>Both rankings at K = |truth|, 10 and 2 × |truth| (deduplicated, ascending), and the step-level agreement
    /// of <paramref name="assigner"/> (default: an <see cref="EmbeddedRoleAssigner"/> over the sample's statistics).</summary>
    public static TriggerRecoveryResult Evaluate(DemoWorldSample sample, EmbeddedRoleAssigner? assigner = null)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var stats = sample.Statistics;
        var truth = sample.TriggerItems;
        var uplift = stats.RankItemsByUplift().Select(x => x.Item.Item).ToArray();
        var popularity = PopularityRanking(stats);
        int[] ks = [.. new[] { truth.Count, 10, 2 * truth.Count }.Where(k => k > 0).Distinct().Order()];
        return new TriggerRecoveryResult(
            truth.Count,
            stats.Items.Count(i => i.Users > 0 && truth.Contains(i.Item)),
            uplift.Length,
            [.. ks.Select(k => At(uplift, truth, k))],
            [.. ks.Select(k => At(popularity, truth, k))],
            Steps(sample.Trajectories, truth, assigner ?? new EmbeddedRoleAssigner(stats)));
    }

    /// <summary>Baseline ranking: items by exposed users (most first; ties: ordinal id) — what a trigger finder that only
    /// looks at exposure would return.</summary>
    public static IReadOnlyList<string> PopularityRanking(BehaviorGraphStatistics stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        return stats.Items.Where(i => i.Users > 0).OrderByDescending(i => i.Users).ThenBy(i => i.Item, StringComparer.Ordinal)
            .Select(i => i.Item).ToArray();
    }

    /// <summary>Precision/recall of the first <paramref name="k"/> of <paramref name="ranked"/>; chance = the same for a
    /// random order of <paramref name="ranked"/>: precision = triggers among ranked / ranked, recall = min(K, ranked) ×
    /// that share / |truth|.</summary>
    public static TriggerRankingAtK At(IReadOnlyList<string> ranked, IReadOnlySet<string> truth, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var hits = ranked.Take(k).Count(truth.Contains);
        var share = ranked.Count == 0 ? 0 : (double)ranked.Count(truth.Contains) / ranked.Count;
        var chanceHits = Math.Min(k, ranked.Count) * share;
        return new TriggerRankingAtK(k, hits, (double)hits / k, truth.Count == 0 ? 0 : (double)hits / truth.Count,
            chanceHits / k, truth.Count == 0 ? 0 : chanceHits / truth.Count);
    }

    /// <summary>Step-level agreement (see <see cref="TriggerStepAgreement"/> for the definition of a true trigger step).</summary>
    public static TriggerStepAgreement Steps(IEnumerable<UserTrajectory> trajectories, IReadOnlySet<string> truth, EmbeddedRoleAssigner assigner)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(assigner);
        long tp = 0, fp = 0, fn = 0, triggerViews = 0, triggerViewsLabelled = 0, otherViews = 0, otherViewsLabelled = 0;
        var roles = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var trajectory in trajectories)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var role in assigner.Assign(trajectory))
            {
                var step = trajectory.Steps[role.Position];
                var name = role.Role.ToString();
                roles[name] = roles.GetValueOrDefault(name) + 1;
                var labelled = role.Role == FunctionalRole.Trigger;
                var isTruth = truth.Contains(step.Item) && seen.Add(step.Item);
                seen.Add(step.Item);
                if (labelled && isTruth)
                {
                    tp++;
                }
                else if (labelled)
                {
                    fp++;
                }
                else if (isTruth)
                {
                    fn++;
                }
                if (step.Type == EventType.View)
                {
                    if (truth.Contains(step.Item))
                    {
                        triggerViews++;
                        triggerViewsLabelled += labelled ? 1 : 0;
                    }
                    else
                    {
                        otherViews++;
                        otherViewsLabelled += labelled ? 1 : 0;
                    }
                }
            }
        }
        return new TriggerStepAgreement(tp, fp, fn,
            tp + fp == 0 ? null : (double)tp / (tp + fp),
            tp + fn == 0 ? null : (double)tp / (tp + fn),
            triggerViews == 0 ? 0 : (double)triggerViewsLabelled / triggerViews,
            otherViews == 0 ? 0 : (double)otherViewsLabelled / otherViews,
            roles);
    }
}
