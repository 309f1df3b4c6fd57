using System.Text.Json.Serialization;

namespace RoleGen.Core.Reasoning;

/// <summary>Counts for one item over the users who were exposed to it (any event counts as an exposure).</summary>
/// <param name="Item">Item id.</param>
/// <param name="Category">The item's category (last seen).</param>
/// <param name="Exposures">Events on the item.</param>
/// <param name="Users">Distinct users exposed (N).</param>
/// <param name="ConvertedOther">Exposed users who purchased in some other category within H days after their first
/// exposure (K): the numerator of the trigger uplift.</param>
/// <param name="EverPurchasedOther">Exposed users with any purchase outside the item's category in the window (for the
/// exposed-vs-never comparison with <see cref="CategoryStatistics.PurchasersOutside"/>).</param>
/// <param name="RevisitUsers">Exposed users who came back to the item on a later occasion (after the session gap).</param>
/// <param name="Purchasers">Users who purchased the item.</param>
public sealed record ItemStatistics(string Item, string Category, long Exposures, long Users, long ConvertedOther,
    long EverPurchasedOther, long RevisitUsers, long Purchasers);

/// <summary>Counts for one category (same definitions as <see cref="ItemStatistics"/>, exposure to any item of it).</summary>
/// <param name="PurchasersOutside">Users (of all users) with a purchase in some other category in the window.</param>
public sealed record CategoryStatistics(string Category, long Exposures, long Users, long ConvertedOther, long RevisitUsers,
    long Purchasers, long PurchasersOutside);

/// <summary>Users whose first exposure to category <see cref="From"/> was followed, within H days, by a purchase in
/// category <see cref="To"/> (To ≠ From; each user counts once per pair).</summary>
public sealed record CategoryTransition(string From, string To, long Users);

/// <summary>Uplift of an exposure: smoothed conversion rate over a base rate, with the raw counts.</summary>
/// <param name="Converted">K: exposed users that converted in another category within H days.</param>
/// <param name="Exposed">N: exposed users.</param>
/// <param name="RawRate">K / N (0 when N = 0).</param>
/// <param name="SmoothedRate">(K + α·p0) / (N + α): the posterior mean under a Beta(α·p0, α·(1−p0)) prior centred on the base rate.</param>
/// <param name="BaseRate">p0.</param>
/// <param name="Uplift">SmoothedRate / p0 (1 means no effect; shrinks to 1 as N → 0).</param>
public readonly record struct Uplift(long Converted, long Exposed, double RawRate, double SmoothedRate, double BaseRate, double Value);

/// <summary>
/// Behaviour-graph statistics of one run, computed once from the events up to <see cref="AsOf"/> and stored at
/// <c>runs/{runId}/reasoning/graph-stats.json</c>. They feed the embedded (deterministic, no-LLM) role assigner.
/// <para><b>Trigger uplift</b> of item x: K_x users out of N_x exposed purchased in a category other than x's within
/// <see cref="HorizonDays"/> days after their first exposure to x. The base rate p0 =
/// <see cref="BaselineConverted"/> / <see cref="BaselineExposed"/> is the same quantity pooled over every (user, item)
/// first exposure, so it controls for "being an exposed, active user"; uplift = ((K + α·p0)/(N + α)) / p0 with
/// α = <see cref="PriorStrength"/>. Windows reaching past the as-of time are truncated there (not censored).</para>
/// <para><b>Exposed vs never</b>: <see cref="ExposedVsNever"/> compares P(any purchase outside x's category | exposed)
/// with the same probability among users never exposed to x.</para>
/// </summary>
/// <remarks>A class, not a record: it caches lookup dictionaries, which a record's <c>with</c> would copy stale.</remarks>
public sealed class BehaviorGraphStatistics(
    long asOf,
    double horizonDays,
    double sessionGapSeconds,
    double priorStrength,
    long users,
    long events,
    long usersWithPurchase,
    long baselineExposed,
    long baselineConverted,
    IReadOnlyList<ItemStatistics> items,
    IReadOnlyList<CategoryStatistics> categories,
    IReadOnlyList<CategoryTransition> transitions)
{
    /// <summary>Unix seconds: only events at or before it were counted.</summary>
    public long AsOf { get; } = asOf;

    /// <summary>H in days.</summary>
    public double HorizonDays { get; } = horizonDays;

    public double SessionGapSeconds { get; } = sessionGapSeconds;

    /// <summary>Default α for the smoothing helpers.</summary>
    public double PriorStrength { get; } = priorStrength;

    public long Users { get; } = users;

    public long Events { get; } = events;

    public long UsersWithPurchase { get; } = usersWithPurchase;

    /// <summary>Σ over items of exposed users (every (user, item) first exposure).</summary>
    public long BaselineExposed { get; } = baselineExposed;

    /// <summary>Those (user, item) first exposures followed by a purchase in another category within H.</summary>
    public long BaselineConverted { get; } = baselineConverted;

    public IReadOnlyList<ItemStatistics> Items { get; } = items ?? [];

    public IReadOnlyList<CategoryStatistics> Categories { get; } = categories ?? [];

    public IReadOnlyList<CategoryTransition> Transitions { get; } = transitions ?? [];

    private Dictionary<string, ItemStatistics>? _items;
    private Dictionary<string, CategoryStatistics>? _categories;
    private Dictionary<(string, string), long>? _transitions;
    private Dictionary<string, List<CategoryTransition>>? _transitionsFrom;

    /// <summary>p0: pooled rate of "purchase in another category within H days after a first exposure".</summary>
    [JsonIgnore]
    public double BaseRate => BaselineExposed == 0 ? 0 : (double)BaselineConverted / BaselineExposed;

    public ItemStatistics? Item(string item) =>
        (_items ??= Items.ToDictionary(i => i.Item, StringComparer.Ordinal)).GetValueOrDefault(item);

    public CategoryStatistics? Category(string category) =>
        (_categories ??= Categories.ToDictionary(c => c.Category, StringComparer.Ordinal)).GetValueOrDefault(category);

    /// <summary>Users whose first exposure to <paramref name="from"/> was followed by a purchase in <paramref name="to"/>.</summary>
    public long TransitionUsers(string from, string to) =>
        (_transitions ??= Transitions.ToDictionary(t => (t.From, t.To), t => t.Users)).GetValueOrDefault((from, to));

    /// <summary>Transitions out of a category, heaviest first.</summary>
    public IReadOnlyList<CategoryTransition> TransitionsFrom(string from) =>
        (_transitionsFrom ??= Transitions.GroupBy(t => t.From, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Users).ThenBy(t => t.To, StringComparer.Ordinal).ToList(), StringComparer.Ordinal))
        .GetValueOrDefault(from) ?? (IReadOnlyList<CategoryTransition>)[];

    /// <summary>Additive (Beta-prior) smoothing of K/N towards <paramref name="baseRate"/> with strength α.</summary>
    public static Uplift Smooth(long converted, long exposed, double baseRate, double priorStrength)
    {
        var raw = exposed == 0 ? 0 : (double)converted / exposed;
        var smoothed = (converted + priorStrength * baseRate) / (exposed + priorStrength);
        var value = baseRate <= 0 ? (converted > 0 ? double.PositiveInfinity : 1) : smoothed / baseRate;
        return new Uplift(converted, exposed, raw, smoothed, baseRate, value);
    }

    /// <summary>Smoothed trigger uplift of an item (1 for an unknown item).</summary>
    public Uplift ItemUplift(string item, double? priorStrength = null)
    {
        var s = Item(item);
        return Smooth(s?.ConvertedOther ?? 0, s?.Users ?? 0, BaseRate, priorStrength ?? PriorStrength);
    }

    /// <summary>Smoothed trigger uplift of a category (first exposure to any of its items).</summary>
    public Uplift CategoryUplift(string category, double? priorStrength = null)
    {
        var s = Category(category);
        return Smooth(s?.ConvertedOther ?? 0, s?.Users ?? 0, BaseRate, priorStrength ?? PriorStrength);
    }

    /// <summary>P(any purchase outside x's category | exposed to x) and the same among users never exposed to x.</summary>
    public (double Exposed, double Never) ExposedVsNever(string item)
    {
        var s = Item(item);
        if (s is null)
        {
            return (0, 0);
        }
        var outside = Category(s.Category)?.PurchasersOutside ?? 0;
        var exposed = s.Users == 0 ? 0 : (double)s.EverPurchasedOther / s.Users;
        var neverUsers = Users - s.Users;
        var never = neverUsers <= 0 ? 0 : (double)(outside - s.EverPurchasedOther) / neverUsers;
        return (exposed, never);
    }

    /// <summary>Smoothed lift of "first exposure to <paramref name="from"/> → purchase in <paramref name="to"/> within H":
    /// P(to | exposed from) over the share of all users purchasing in <paramref name="to"/>.</summary>
    public Uplift TransitionLift(string from, string to, double? priorStrength = null)
    {
        var exposed = Category(from)?.Users ?? 0;
        var baseRate = Users == 0 ? 0 : (double)(Category(to)?.Purchasers ?? 0) / Users;
        return Smooth(TransitionUsers(from, to), exposed, baseRate, priorStrength ?? PriorStrength);
    }

    /// <summary>Items ranked by smoothed uplift (ties: more exposed users first, then id).</summary>
    public IReadOnlyList<(ItemStatistics Item, Uplift Uplift)> RankItemsByUplift(int minUsers = 1, double? priorStrength = null) =>
        Items.Where(i => i.Users >= minUsers)
            .Select(i => (Item: i, Uplift: ItemUplift(i.Item, priorStrength)))
            .OrderByDescending(x => x.Uplift.Value).ThenByDescending(x => x.Item.Users).ThenBy(x => x.Item.Item, StringComparer.Ordinal)
            .ToList();
}
