using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;

namespace RoleGen.Core.Experiments;

/// <summary>One arm's sums over its users: everything the per-arm metrics and the lifts need (the metrics are ratios of
/// sums; orders per user also needs Σ orders² for its variance). Sums of shards add up to the sums of the run.</summary>
public sealed record ArmSums(long Users, long Impressions, long Clicks, long Carts, long Orders, long UsersWithOrder, long UsersWithRecommendedOrder, double OrdersSquared)
{
    public static readonly ArmSums Zero = new(0, 0, 0, 0, 0, 0, 0, 0);

    public ArmSums Add(ArmSums other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(Users + other.Users, Impressions + other.Impressions, Clicks + other.Clicks, Carts + other.Carts, Orders + other.Orders,
            UsersWithOrder + other.UsersWithOrder, UsersWithRecommendedOrder + other.UsersWithRecommendedOrder, OrdersSquared + other.OrdersSquared);
    }

    public ArmMetrics Metrics(Arm arm) => new(arm, Users, Impressions, Clicks, Carts, Orders, UsersWithOrder, UsersWithRecommendedOrder,
        Ratio(Orders, Users), Ratio(UsersWithOrder, Users), Ratio(Clicks, Impressions), Ratio(UsersWithRecommendedOrder, Users));

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;
}

/// <summary>Impressions, clicks and orders of the shown items of one kind (a role, or the model's own items).</summary>
public sealed record RoleTally(long Impressions, long Clicks, long Orders)
{
    public RoleTally Add(RoleTally other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(Impressions + other.Impressions, Clicks + other.Clicks, Orders + other.Orders);
    }
}

/// <summary>
/// A shard's share of a run's feedback and reflection, as sums: the attribution buckets, the arms' sums, and — for
/// reflection, over the treatment arm — the outcome tallies per kind of shown item, impressions and orders per category,
/// and the LLM fallbacks. Partials of different shards merge by addition (<see cref="Merge"/>), so feedback and reflection
/// run as a fan-out over shards with memory bounded by one shard, independent of the number of users.
/// </summary>
public sealed record FeedbackPartial(
    FeedbackCounts Counts,
    ArmSums Control,
    ArmSums Treatment,
    IReadOnlyDictionary<string, RoleTally> Roles,
    IReadOnlyDictionary<string, long> CategoryImpressions,
    IReadOnlyDictionary<string, long> CategoryOrders,
    long FallbackUsers,
    IReadOnlyList<string> FallbackExamples)
{
    public const int MaxFallbackExamples = 20;

    public static readonly FeedbackPartial Empty = new(new FeedbackCounts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ArmSums.Zero, ArmSums.Zero,
        new Dictionary<string, RoleTally>(), new Dictionary<string, long>(), new Dictionary<string, long>(), 0, []);

    /// <summary>This partial without the per-category maps (whose size grows with the catalogue): what a durable
    /// orchestration carries; the categories stay in the shard's partial blob.</summary>
    public FeedbackPartial WithoutCategories() => this with { CategoryImpressions = new Dictionary<string, long>(), CategoryOrders = new Dictionary<string, long>() };

    public FeedbackPartial Merge(FeedbackPartial other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var c = Counts;
        var o = other.Counts;
        return new FeedbackPartial(
            new FeedbackCounts(c.CandidateRows + o.CandidateRows, c.Users + o.Users, c.UsersWithoutArm + o.UsersWithoutArm,
                c.DuplicateCandidateRows + o.DuplicateCandidateRows, c.OutcomesRead + o.OutcomesRead, c.Attributed + o.Attributed,
                c.OutsideWindow + o.OutsideWindow, c.OtherRun + o.OtherRun, c.UnknownUser + o.UnknownUser, c.UserWithoutArm + o.UserWithoutArm),
            Control.Add(other.Control),
            Treatment.Add(other.Treatment),
            Sum(Roles, other.Roles, (a, b) => a.Add(b)),
            Sum(CategoryImpressions, other.CategoryImpressions, (a, b) => a + b),
            Sum(CategoryOrders, other.CategoryOrders, (a, b) => a + b),
            FallbackUsers + other.FallbackUsers,
            [.. FallbackExamples.Concat(other.FallbackExamples).Take(MaxFallbackExamples)]);
    }

    private static Dictionary<string, T> Sum<T>(IReadOnlyDictionary<string, T> a, IReadOnlyDictionary<string, T> b, Func<T, T, T> add)
    {
        var result = new Dictionary<string, T>(a, StringComparer.Ordinal);
        foreach (var (k, v) in b)
        {
            result[k] = result.TryGetValue(k, out var existing) ? add(existing, v) : v;
        }
        return result.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>The partial of one shard (or of a whole run held in memory): <see cref="FeedbackCalculator.Attribute"/> over
    /// <paramref name="candidates"/> and <paramref name="outcomes"/>, then the sums.</summary>
    public static FeedbackPartial Of(string runId, long windowStart, long windowEnd, IEnumerable<CandidateRow> candidates, IEnumerable<OutcomeEvent> outcomes,
        IEnumerable<UserReasoning>? reasoning = null)
    {
        var rows = candidates as IReadOnlyList<CandidateRow> ?? candidates.ToArray();
        return Of(rows, FeedbackCalculator.Attribute(runId, windowStart, windowEnd, rows, outcomes), reasoning);
    }

    /// <summary>The partial of <paramref name="rows"/> given their <paramref name="attribution"/>
    /// (<see cref="FeedbackCalculator.Attribute"/> over the same rows): for a caller that also needs the attribution.</summary>
    public static FeedbackPartial Of(IReadOnlyList<CandidateRow> rows, FeedbackAttribution attribution, IEnumerable<UserReasoning>? reasoning = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(attribution);
        var control = ArmSums.Zero;
        var treatment = ArmSums.Zero;
        foreach (var u in attribution.Users)
        {
            long impressions = 0, clicks = 0, carts = 0, orders = 0;
            foreach (var e in u.Events)
            {
                switch (e.Type)
                {
                    case OutcomeType.Impression: impressions++; break;
                    case OutcomeType.Click: clicks++; break;
                    case OutcomeType.Cart: carts++; break;
                    case OutcomeType.Order: orders++; break;
                }
            }
            var sums = new ArmSums(1, impressions, clicks, carts, orders, orders > 0 ? 1 : 0, u.RecommendedOrders > 0 ? 1 : 0, (double)orders * orders);
            if (u.Arm == Arm.Control)
            {
                control = control.Add(sums);
            }
            else
            {
                treatment = treatment.Add(sums);
            }
        }
        var (roles, categoryImpressions, categoryOrders) = ReflectionEngine.Tally(rows, attribution.Users.SelectMany(u => u.Events));
        var fallbacks = (reasoning ?? []).Where(r => r.Reasoner == ReasonerKinds.EmbeddedFallback).Select(r => r.UserId).ToArray();
        return new FeedbackPartial(attribution.Counts, control, treatment, Sum(roles, Empty.Roles, (a, b) => a.Add(b)),
            Sum(categoryImpressions, Empty.CategoryImpressions, (a, b) => a + b), Sum(categoryOrders, Empty.CategoryOrders, (a, b) => a + b), fallbacks.Length,
            [.. fallbacks.Take(MaxFallbackExamples)]);
    }
}

/// <summary>A candidate row the reflection may refine (<see cref="ReflectionEngine.IsRefinable"/>) with the items its user
/// was shown and did not click (all the refinement needs of the outcomes): one line of
/// <c>runs/{runId}/feedback/refinable/{shard}.jsonl</c>, written by the feedback step in candidate order so the reflection
/// re-ranks these rows without reading the run's candidates or outcomes again.</summary>
public sealed record RefinableRow(CandidateRow Row, IReadOnlyList<string> Ignored)
{
    /// <summary>The rows of <paramref name="rows"/> the reflection may refine, in input order, each with its ignored items
    /// from the attributed outcomes of its user (a repeated row of a user gets the first row's outcomes, as
    /// <see cref="FeedbackCalculator.Attribute"/> keeps the first row).</summary>
    public static IEnumerable<RefinableRow> Select(IEnumerable<CandidateRow> rows, FeedbackAttribution attribution)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(attribution);
        var byUser = new Dictionary<string, IReadOnlyList<OutcomeEvent>>(attribution.Users.Count, StringComparer.Ordinal);
        foreach (var u in attribution.Users)
        {
            if (u.Events.Count > 0)
            {
                byUser[u.UserId] = u.Events;
            }
        }
        foreach (var row in rows)
        {
            if (row.Arm == Arm.Treatment && byUser.TryGetValue(row.UserId, out var events))
            {
                var ignored = ReflectionEngine.IgnoredItems(row, events);
                if (ReflectionEngine.IsRefinable(row, ignored))
                {
                    yield return new RefinableRow(row, ignored);
                }
            }
        }
    }
}
