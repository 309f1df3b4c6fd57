using System.Globalization;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;

namespace RoleGen.Core.Reasoning;

public sealed record RoleAssignerOptions
{
    /// <summary>Smoothed item uplift at or above which a first exposure is a Trigger when the user later converted in another category.</summary>
    public double TriggerUplift { get; init; } = 1.3;

    /// <summary>Smoothed item uplift at or above which a first exposure is a Trigger even without a later conversion in the trajectory.</summary>
    public double StrongTriggerUplift { get; init; } = 2.0;

    /// <summary>Smoothed category→category conversion lift at or above which a step's category is a Complement of a later purchase.</summary>
    public double ComplementLift { get; init; } = 1.5;

    /// <summary>Consecutive steps further apart start a new session (defaults to the statistics' session gap).</summary>
    public double? SessionGapSeconds { get; init; }
}

/// <summary>
/// Deterministic, embedded (no-LLM) functional role assignment. Every step gets exactly one role, by precedence:
/// Converter (cart/purchase) → Anchor (item seen on an earlier occasion) → Trigger (first exposure with high smoothed
/// uplift, confirmed by a later conversion in another category within H days, or very high global uplift) → Comparison
/// (another item of the same category viewed in the same session) → Complement (step category with high conversion lift
/// towards a category purchased later) → Noise.
/// </summary>
public sealed class EmbeddedRoleAssigner(BehaviorGraphStatistics stats, RoleAssignerOptions? options = null)
{
    private readonly RoleAssignerOptions _o = options ?? new RoleAssignerOptions();

    /// <summary>Roles of every step, in O(n · c) for n steps and c conversions (single passes with per-item, per-session
    /// and per-category counters; production trajectories hold up to 200 steps).</summary>
    public IReadOnlyList<StepRole> Assign(UserTrajectory trajectory)
    {
        ArgumentNullException.ThrowIfNull(trajectory);
        var steps = trajectory.Steps;
        var n = steps.Count;
        var gap = (long)Math.Round(_o.SessionGapSeconds ?? stats.SessionGapSeconds);
        var horizon = (long)Math.Round(stats.HorizonDays * 86_400);
        var session = new int[n];
        for (var i = 1; i < n; i++)
        {
            session[i] = steps[i].Ts - steps[i - 1].Ts > gap ? session[i - 1] + 1 : session[i - 1];
        }
        // Same-session, same-category step counts (for Comparison), with and without the item.
        var inCategory = new Dictionary<(int, string), int>();
        var inItem = new Dictionary<(int, string, string), int>();
        var conversions = new List<int>();
        var purchases = new List<int>();
        for (var i = 0; i < n; i++)
        {
            var s = steps[i];
            inCategory[(session[i], s.Category)] = inCategory.GetValueOrDefault((session[i], s.Category)) + 1;
            inItem[(session[i], s.Category, s.Item)] = inItem.GetValueOrDefault((session[i], s.Category, s.Item)) + 1;
            if (s.Type.IsConversion())
            {
                conversions.Add(i);
            }
            if (s.Type == EventType.Purchase)
            {
                purchases.Add(i);
            }
        }
        var history = new Dictionary<string, (int Previous, int Occasions)>(StringComparer.Ordinal);
        var lifts = new Dictionary<(string, string), Uplift>();
        var result = new StepRole[n];
        int nextConversion = 0, nextPurchase = 0;
        for (var i = 0; i < n; i++)
        {
            var s = steps[i];
            while (nextConversion < conversions.Count && conversions[nextConversion] <= i)
            {
                nextConversion++;
            }
            while (nextPurchase < purchases.Count && purchases[nextPurchase] <= i)
            {
                nextPurchase++;
            }
            var seenBefore = history.TryGetValue(s.Item, out var h);
            result[i] = Converter(i, s)
                ?? (seenBefore ? Anchor(i, s, steps, h.Previous, h.Occasions, gap) : Trigger(i, s, steps, conversions, nextConversion, horizon))
                ?? Comparison(i, s, inCategory[(session[i], s.Category)] - inItem[(session[i], s.Category, s.Item)])
                ?? Complement(i, s, steps, purchases, nextPurchase, lifts)
                ?? new StepRole(i, s.Item, s.Category, FunctionalRole.Noise, NoiseConfidence(s), "no downstream evidence");
            // An occurrence starts a new occasion when it is the first, or something else / the session gap came between.
            var previous = seenBefore ? h.Previous : -1;
            var occasion = previous < 0 || i - previous > 1 || s.Ts - steps[previous].Ts > gap;
            history[s.Item] = (i, (seenBefore ? h.Occasions : 0) + (occasion ? 1 : 0));
        }
        return result;
    }

    private static StepRole? Converter(int i, TrajectoryStep s) => s.Type switch
    {
        EventType.Purchase => new StepRole(i, s.Item, s.Category, FunctionalRole.Converter, 1.0, "purchase"),
        EventType.Cart => new StepRole(i, s.Item, s.Category, FunctionalRole.Converter, 0.8, "cart"),
        _ => null,
    };

    /// <summary>Revisit: the item appeared before, and either something else came in between or the gap is a new occasion.
    /// <paramref name="occasions"/> counts the earlier occasions on which the item was seen.</summary>
    private static StepRole? Anchor(int i, TrajectoryStep s, IReadOnlyList<TrajectoryStep> steps, int previous, int occasions, long gap)
    {
        if (i - previous == 1 && s.Ts - steps[previous].Ts <= gap)
        {
            return null;
        }
        var confidence = Math.Min(0.95, 0.6 + 0.15 * occasions);
        return new StepRole(i, s.Item, s.Category, FunctionalRole.Anchor, confidence, $"revisit #{occasions} of {s.Item}");
    }

    /// <summary>A first exposure (the caller checked) with high uplift, confirmed by the first later conversion in another
    /// category within the horizon, or with very high global uplift.</summary>
    private StepRole? Trigger(int i, TrajectoryStep s, IReadOnlyList<TrajectoryStep> steps, List<int> conversions, int from, long horizon)
    {
        var uplift = stats.ItemUplift(s.Item);
        string? converted = null;
        for (var c = from; c < conversions.Count && steps[conversions[c]].Ts <= s.Ts + horizon; c++)
        {
            if (steps[conversions[c]].Category != s.Category)
            {
                converted = steps[conversions[c]].Category;
                break;
            }
        }
        var confidence = Math.Clamp(1 - 1 / Math.Max(1, uplift.Value), 0, 0.95);
        if (converted is not null && uplift.Value >= _o.TriggerUplift)
        {
            return new StepRole(i, s.Item, s.Category, FunctionalRole.Trigger, Math.Min(0.95, confidence + 0.2),
                string.Create(CultureInfo.InvariantCulture, $"uplift {uplift.Value:F2} (K={uplift.Converted}, N={uplift.Exposed}); later converted in {converted}"));
        }
        if (uplift.Value >= _o.StrongTriggerUplift)
        {
            return new StepRole(i, s.Item, s.Category, FunctionalRole.Trigger, confidence,
                string.Create(CultureInfo.InvariantCulture, $"global uplift {uplift.Value:F2} (K={uplift.Converted}, N={uplift.Exposed})"));
        }
        return null;
    }

    /// <summary><paramref name="alternatives"/>: steps of the same session and category on another item.</summary>
    private static StepRole? Comparison(int i, TrajectoryStep s, int alternatives) =>
        alternatives == 0
            ? null
            : new StepRole(i, s.Item, s.Category, FunctionalRole.Comparison, Math.Min(0.9, 0.5 + 0.1 * alternatives),
                $"{alternatives} same-category alternative(s) in session");

    private StepRole? Complement(int i, TrajectoryStep s, IReadOnlyList<TrajectoryStep> steps, List<int> purchases, int from,
        Dictionary<(string, string), Uplift> lifts)
    {
        Uplift best = default;
        string? partner = null;
        for (var p = from; p < purchases.Count; p++)
        {
            var category = steps[purchases[p]].Category;
            if (category == s.Category)
            {
                continue;
            }
            if (!lifts.TryGetValue((s.Category, category), out var lift))
            {
                lifts[(s.Category, category)] = lift = stats.TransitionLift(s.Category, category);
            }
            if (partner is null || lift.Value > best.Value)
            {
                best = lift;
                partner = category;
            }
        }
        return partner is null || best.Value < _o.ComplementLift
            ? null
            : new StepRole(i, s.Item, s.Category, FunctionalRole.Complement, Math.Clamp(1 - 1 / best.Value, 0, 0.9),
                string.Create(CultureInfo.InvariantCulture, $"category lift {best.Value:F2} towards later purchase in {partner}"));
    }

    private double NoiseConfidence(TrajectoryStep s)
    {
        // The more exposure evidence says "no effect" (uplift near or below 1 on many users), the surer the Noise label.
        var u = stats.ItemUplift(s.Item);
        var evidence = u.Exposed / (u.Exposed + stats.PriorStrength);
        return Math.Clamp(0.5 + 0.4 * evidence * (u.Value <= 1 ? 1 : 1 / u.Value), 0, 0.9);
    }
}
