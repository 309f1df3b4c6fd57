namespace RoleGen.Core.Reasoning;

/// <summary>
/// Functional role of one step of a user's trajectory (arXiv 2602.13134, "counterfactual functional role reasoning").
/// A role belongs to a (user, item, position) triple, not to an item: the same item can open an intent for one user,
/// be a compared alternative for another and be revisited as a reference by a third.
/// </summary>
public enum FunctionalRole : byte
{
    /// <summary>No detectable downstream effect: the step is neither converted, revisited, compared within an intent,
    /// linked to a later purchase category, nor an exposure with conversion uplift. The default role.</summary>
    Noise = 0,

    /// <summary>The first exposure (at this position) to an item that <em>opens</em> an intent converting later in a
    /// <em>different</em> category: the item's smoothed trigger uplift (P(purchase in another category within H days after
    /// first exposure) over the base rate) is high and the user later converted in such a category, or the item's global
    /// uplift alone is high. Counterfactually: without this exposure the later conversion would be less likely.</summary>
    Trigger = 1,

    /// <summary>An alternative weighed within the same intent: a view of an item whose category matches another,
    /// different item viewed in the same session (consecutive steps no more than the session gap apart).</summary>
    Comparison = 2,

    /// <summary>A revisited reference: the item was already seen earlier in the trajectory, on an earlier occasion
    /// (another item in between, or more than the session gap since its previous step).</summary>
    Anchor = 3,

    /// <summary>A bridge to a category bought with it: the step's category is a frequent conversion partner (high
    /// category→category conversion lift in the behaviour graph) of a category the user purchases later.</summary>
    Complement = 4,

    /// <summary>The conversion itself: a cart or purchase step.</summary>
    Converter = 5,
}

/// <summary>The role of the step at <see cref="Position"/> of a trajectory, with a confidence in [0, 1] and a short,
/// machine-generated reason (the embedded reasoner's "rationale").</summary>
public sealed record StepRole(int Position, string Item, string Category, FunctionalRole Role, double Confidence, string Reason);
