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

    public IReadOnlyList<StepRole> Assign(UserTrajectory trajectory)
    {
        ArgumentNullException.ThrowIfNull(trajectory);
        var steps = trajectory.Steps;
        var gap = (long)Math.Round(_o.SessionGapSeconds ?? stats.SessionGapSeconds);
        var horizon = (long)Math.Round(stats.HorizonDays * 86_400);
        var session = new int[steps.Count];
        for (var i = 1; i < steps.Count; i++)
        {
            session[i] = steps[i].Ts - steps[i - 1].Ts > gap ? session[i - 1] + 1 : session[i - 1];
        }
        var result = new StepRole[steps.Count];
        for (var i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            result[i] = Converter(i, s) ?? Anchor(i, s, steps, gap) ?? Trigger(i, s, steps, horizon)
                ?? Comparison(i, s, steps, session) ?? Complement(i, s, steps)
                ?? new StepRole(i, s.Item, s.Category, FunctionalRole.Noise, NoiseConfidence(s), "no downstream evidence");
        }
        return result;
    }

    private static StepRole? Converter(int i, TrajectoryStep s) => s.Type switch
    {
        EventType.Purchase => new StepRole(i, s.Item, s.Category, FunctionalRole.Converter, 1.0, "purchase"),
        EventType.Cart => new StepRole(i, s.Item, s.Category, FunctionalRole.Converter, 0.8, "cart"),
        _ => null,
    };

    private static StepRole? Anchor(int i, TrajectoryStep s, IReadOnlyList<TrajectoryStep> steps, long gap)
    {
        // Revisit: the item appeared before, and either something else came in between or the gap is a new occasion.
        var previous = -1;
        var occasions = 0;
        for (var j = 0; j < i; j++)
        {
            if (steps[j].Item == s.Item)
            {
                if (previous < 0 || j - previous > 1 || steps[j].Ts - steps[previous].Ts > gap)
                {
                    occasions++;
                }
                previous = j;
            }
        }
        if (previous < 0 || (i - previous == 1 && s.Ts - steps[previous].Ts <= gap))
        {
            return null;
        }
        var confidence = Math.Min(0.95, 0.6 + 0.15 * occasions);
        return new StepRole(i, s.Item, s.Category, FunctionalRole.Anchor, confidence, $"revisit #{occasions} of {s.Item}");
    }

    private StepRole? Trigger(int i, TrajectoryStep s, IReadOnlyList<TrajectoryStep> steps, long horizon)
    {
        for (var j = 0; j < i; j++)
        {
            if (steps[j].Item == s.Item)
            {
                return null; // not a first exposure
            }
        }
        var uplift = stats.ItemUplift(s.Item);
        string? converted = null;
        for (var j = i + 1; j < steps.Count && steps[j].Ts <= s.Ts + horizon; j++)
        {
            if (steps[j].Type.IsConversion() && steps[j].Category != s.Category)
            {
                converted = steps[j].Category;
                break;
            }
        }
        var confidence = Math.Clamp(1 - 1 / Math.Max(1, uplift.Value), 0, 0.95);
        if (converted is not null && uplift.Value >= _o.TriggerUplift)
        {
            return new StepRole(i, s.Item, s.Category, FunctionalRole.Trigger, Math.Min(0.95, confidence + 0.2),
                $"uplift {uplift.Value:F2} (K={uplift.Converted}, N={uplift.Exposed}); later converted in {converted}");
        }
        if (uplift.Value >= _o.StrongTriggerUplift)
        {
            return new StepRole(i, s.Item, s.Category, FunctionalRole.Trigger, confidence,
                $"global uplift {uplift.Value:F2} (K={uplift.Converted}, N={uplift.Exposed})");
        }
        return null;
    }

    private static StepRole? Comparison(int i, TrajectoryStep s, IReadOnlyList<TrajectoryStep> steps, int[] session)
    {
        var alternatives = 0;
        for (var j = 0; j < steps.Count; j++)
        {
            if (j != i && session[j] == session[i] && steps[j].Category == s.Category && steps[j].Item != s.Item)
            {
                alternatives++;
            }
        }
        return alternatives == 0
            ? null
            : new StepRole(i, s.Item, s.Category, FunctionalRole.Comparison, Math.Min(0.9, 0.5 + 0.1 * alternatives),
                $"{alternatives} same-category alternative(s) in session");
    }

    private StepRole? Complement(int i, TrajectoryStep s, IReadOnlyList<TrajectoryStep> steps)
    {
        Uplift best = default;
        string? partner = null;
        for (var j = i + 1; j < steps.Count; j++)
        {
            if (steps[j].Type == EventType.Purchase && steps[j].Category != s.Category)
            {
                var lift = stats.TransitionLift(s.Category, steps[j].Category);
                if (partner is null || lift.Value > best.Value)
                {
                    best = lift;
                    partner = steps[j].Category;
                }
            }
        }
        return partner is null || best.Value < _o.ComplementLift
            ? null
            : new StepRole(i, s.Item, s.Category, FunctionalRole.Complement, Math.Clamp(1 - 1 / best.Value, 0, 0.9),
                $"category lift {best.Value:F2} towards later purchase in {partner}");
    }

    private double NoiseConfidence(TrajectoryStep s)
    {
        // The more exposure evidence says "no effect" (uplift near or below 1 on many users), the surer the Noise label.
        var u = stats.ItemUplift(s.Item);
        var evidence = u.Exposed / (u.Exposed + stats.PriorStrength);
        return Math.Clamp(0.5 + 0.4 * evidence * (u.Value <= 1 ? 1 : 1 / u.Value), 0, 0.9);
    }
}
