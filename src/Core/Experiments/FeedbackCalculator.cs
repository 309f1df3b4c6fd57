using System.Globalization;
using RoleGen.Core.Runs;

namespace RoleGen.Core.Experiments;

/// <summary>Where every outcome went. The outcome buckets partition <see cref="OutcomesRead"/> and are checked in this
/// order: <see cref="OtherRun"/>, <see cref="UserWithoutArm"/>, <see cref="UnknownUser"/>, <see cref="OutsideWindow"/>,
/// else <see cref="Attributed"/>. Keeping every bucket visible is what lets a reader tell "treatment did nothing" apart
/// from "the feedback never matched the run" (wrong run id, wrong window, other user ids).</summary>
/// <param name="CandidateRows">Candidate rows of the run.</param>
/// <param name="Users">Distinct users with an arm: the experiment population.</param>
/// <param name="UsersWithoutArm">Distinct users whose rows have no arm (a run without an experiment, or rows written
/// before arms existed); they are excluded: their outcomes cannot be compared.</param>
/// <param name="DuplicateCandidateRows">Extra rows of a user already seen (the first row's arm and items are kept).</param>
/// <param name="OutcomesRead">Outcome events given to the calculator.</param>
/// <param name="Attributed">Outcomes counted in the metrics.</param>
/// <param name="OutsideWindow">Timestamp before the window start or at/after its end.</param>
/// <param name="OtherRun">Run id set and different from this run's.</param>
/// <param name="UnknownUser">User not in the run's candidates.</param>
/// <param name="UserWithoutArm">User in the candidates but without an arm.</param>
public sealed record FeedbackCounts(
    long CandidateRows,
    long Users,
    long UsersWithoutArm,
    long DuplicateCandidateRows,
    long OutcomesRead,
    long Attributed,
    long OutsideWindow,
    long OtherRun,
    long UnknownUser,
    long UserWithoutArm);

/// <summary>A run's A/B feedback (<c>runs/{runId}/feedback.json</c>): per-arm metrics over the attribution window
/// [<see cref="WindowStart"/>, <see cref="WindowEnd"/>) in Unix seconds, and treatment-vs-control lifts.</summary>
public sealed record FeedbackReport(
    string RunId,
    string Experiment,
    long WindowStart,
    long WindowEnd,
    IReadOnlyList<ArmMetrics> Arms,
    IReadOnlyList<LiftEstimate> Lifts,
    FeedbackCounts Counts);

/// <summary>One experiment user of the run with the outcomes attributed to them (possibly none: zeros count).</summary>
/// <param name="Items">The user's candidate item ids (what they were recommended).</param>
/// <param name="Events">Attributed outcomes in input order, on any item.</param>
public sealed record UserOutcomes(string UserId, Arm Arm, IReadOnlySet<string> Items, IReadOnlyList<OutcomeEvent> Events)
{
    public long Count(OutcomeType type) => Events.Count(e => e.Type == type);

    /// <summary>Attributed orders of items from the user's own candidate list.</summary>
    public long RecommendedOrders => Events.Count(e => e.Type == OutcomeType.Order && Items.Contains(e.ItemId));
}

/// <summary>Outcomes attributed to a run, per user (in candidate order), with the counts of what was not.</summary>
public sealed record FeedbackAttribution(IReadOnlyList<UserOutcomes> Users, FeedbackCounts Counts);

/// <summary>Attributes outcome events to a run's A/B arms and computes the feedback report. Pure and in memory: the
/// caller reads candidates (<c>candidates.jsonl</c>) and outcomes (<see cref="OutcomeStore"/>) and writes the report to
/// <see cref="Storage.BlobLayout.RunFeedback"/>.</summary>
public static class FeedbackCalculator
{
    public const string ConversionRate = "conversion-rate";
    public const string HitRate = "hit-rate";
    public const string ClickThroughRate = "click-through-rate";
    public const string OrdersPerUser = "orders-per-user";

    /// <summary>End of the attribution window that starts when the run's candidates are published:
    /// start + <see cref="ExperimentOptions.AttributionDays"/> days, rounded to whole seconds.</summary>
    public static long WindowEnd(long windowStart, double attributionDays) =>
        checked(windowStart + (long)Math.Round(attributionDays * 86_400, MidpointRounding.AwayFromZero));

    /// <summary>Attributes <paramref name="outcomes"/> to the run: an outcome belongs to it when its user is an experiment
    /// user of <paramref name="candidates"/> (a row with an arm), its timestamp is in [windowStart, windowEnd) and its
    /// RunId is null (the channel does not know the run) or equals <paramref name="runId"/>. See <see cref="FeedbackCounts"/>
    /// for what happens to the rest.</summary>
    public static FeedbackAttribution Attribute(string runId, long windowStart, long windowEnd, IEnumerable<CandidateRow> candidates, IEnumerable<OutcomeEvent> outcomes)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(outcomes);
        if (windowEnd <= windowStart)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The attribution window [{windowStart}, {windowEnd}) is empty."), nameof(windowEnd));
        }

        var users = new Dictionary<string, (Arm Arm, HashSet<string> Items, List<OutcomeEvent> Events)>(StringComparer.Ordinal);
        var order = new List<string>();
        var unarmed = new HashSet<string>(StringComparer.Ordinal);
        long rows = 0, duplicates = 0;
        foreach (var row in candidates)
        {
            ArgumentNullException.ThrowIfNull(row, nameof(candidates));
            rows++;
            if (users.ContainsKey(row.UserId) || unarmed.Contains(row.UserId))
            {
                duplicates++;
                continue;
            }
            if (row.Arm is not { } arm)
            {
                unarmed.Add(row.UserId);
                continue;
            }
            users.Add(row.UserId, (arm, row.Items.Select(i => i.ItemId).ToHashSet(StringComparer.Ordinal), []));
            order.Add(row.UserId);
        }

        long read = 0, attributed = 0, outside = 0, otherRun = 0, unknown = 0, withoutArm = 0;
        foreach (var e in outcomes)
        {
            ArgumentNullException.ThrowIfNull(e, nameof(outcomes));
            read++;
            if (e.RunId is not null && !string.Equals(e.RunId, runId, StringComparison.Ordinal))
            {
                otherRun++;
            }
            else if (unarmed.Contains(e.UserId))
            {
                withoutArm++;
            }
            else if (!users.TryGetValue(e.UserId, out var user))
            {
                unknown++;
            }
            else if (e.Timestamp < windowStart || e.Timestamp >= windowEnd)
            {
                outside++;
            }
            else
            {
                user.Events.Add(e);
                attributed++;
            }
        }

        var result = order.Select(id => new UserOutcomes(id, users[id].Arm, users[id].Items, users[id].Events)).ToArray();
        var counts = new FeedbackCounts(rows, users.Count, unarmed.Count, duplicates, read, attributed, outside, otherRun, unknown, withoutArm);
        return new FeedbackAttribution(result, counts);
    }

    /// <summary>The feedback report of a run: <see cref="Attribute"/>, then per-arm metrics (Control first) and lifts of
    /// treatment over control for conversion rate, hit rate, click-through rate (two proportions) and orders per user
    /// (ratio of means over every user of the arm, zeros included). The same as <see cref="Report"/> of one partial.</summary>
    public static FeedbackReport Compute(string runId, string experiment, long windowStart, long windowEnd, IEnumerable<CandidateRow> candidates, IEnumerable<OutcomeEvent> outcomes) =>
        Report(runId, experiment, windowStart, windowEnd, FeedbackPartial.Of(runId, windowStart, windowEnd, candidates, outcomes));

    /// <summary>The feedback report from the sums of a run's shards (<see cref="FeedbackPartial.Merge"/>).</summary>
    public static FeedbackReport Report(string runId, string experiment, long windowStart, long windowEnd, FeedbackPartial sums)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(sums);
        var control = sums.Control.Metrics(Arm.Control);
        var treatment = sums.Treatment.Metrics(Arm.Treatment);
        var lifts = new List<LiftEstimate>
        {
            LiftStatistics.TwoProportions(ConversionRate, treatment.UsersWithOrder, treatment.Users, control.UsersWithOrder, control.Users),
            LiftStatistics.TwoProportions(HitRate, treatment.UsersWithRecommendedOrder, treatment.Users, control.UsersWithRecommendedOrder, control.Users),
            ClickThrough(treatment, control),
            LiftStatistics.RatioOfMeans(OrdersPerUser, sums.Treatment.Users, sums.Treatment.Orders, sums.Treatment.OrdersSquared,
                sums.Control.Users, sums.Control.Orders, sums.Control.OrdersSquared),
        };
        return new FeedbackReport(runId, experiment, windowStart, windowEnd, [control, treatment], lifts, sums.Counts);
    }

    /// <summary>CTR as two proportions, except when an arm logged more clicks than impressions (impressions missing for
    /// some clicks): then the "proportion" is not one and the estimate is reported as undefined instead of throwing.</summary>
    private static LiftEstimate ClickThrough(ArmMetrics treatment, ArmMetrics control)
    {
        if (treatment.Clicks > treatment.Impressions || control.Clicks > control.Impressions)
        {
            return new LiftEstimate(ClickThroughRate, control.ClickThroughRate, treatment.ClickThroughRate, 0, 0, 0, 1, LiftStatistics.TwoProportionsTest)
            {
                Note = "undefined: more clicks than impressions in an arm (impressions are not logged for every click)",
            };
        }
        return LiftStatistics.TwoProportions(ClickThroughRate, treatment.Clicks, treatment.Impressions, control.Clicks, control.Impressions);
    }
}
