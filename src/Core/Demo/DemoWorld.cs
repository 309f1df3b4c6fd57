using RoleGen.Core.Events;

namespace RoleGen.Core.Demo;

/// <summary>Ground truth of a trigger item: exposure to <see cref="ItemId"/> (category <see cref="CategoryId"/>) raises
/// the chance that the user later buys in <see cref="TargetCategoryId"/>, by <see cref="Uplift"/>×.</summary>
public sealed record TriggerTruth(string ItemId, string CategoryId, string TargetCategoryId, double Uplift);

/// <summary>Everything about the world except the users: catalogue, complements, triggers. Small (O(items)).</summary>
public sealed record DemoWorldTruth(
    DemoWorldOptions Options,
    int Items,
    IReadOnlyList<string> CategoryIds,
    IReadOnlyDictionary<string, string[]> Complements,
    IReadOnlyList<TriggerTruth> Triggers,
    long Events,
    long Purchases,
    long UsersExposedToTriggers,
    long LowIntentUsers);

/// <summary>
/// Seeded synthetic e-commerce world. Process (per user, streamed, O(1) memory in the number of users):
/// <list type="number">
/// <item>Catalogue: <c>C</c> categories with Zipf popularity; each has <c>M</c> items with Zipf popularity inside it, and two
/// complement categories. A share of items are <em>triggers</em>; each trigger points at a target category (a complement of
/// its own category, otherwise a random one).</item>
/// <item>User: 1–3 intent categories (popularity-weighted), an engagement level (sessions ~ 1 + Poisson(λ), λ log-normal)
/// and a segment: low-intent (purchase propensity 0.5–2% per session) or regular (8–20%).</item>
/// <item>Sessions: on random days; 3 + Geometric views, mostly in one intent category; with probability
/// <c>TriggerExposure</c> a view shows a trigger item instead. Fav/cart follow views with small probabilities; at the end a
/// purchase happens with the session's propensity, preferring carted items.</item>
/// <item>Trigger effect: once a user has viewed a trigger, its target category joins the user's intents for the rest of
/// the window, later sessions visit it with probability 0.5, and the purchase propensity there is multiplied by
/// <c>TriggerUplift</c>. This is the signal RoleGen's reasoner is meant to find; the triggers are recorded as ground truth.</item>
/// </list>
/// </summary>
public sealed class DemoWorldGenerator
{
    private readonly DemoWorldOptions _o;
    private readonly double[] _categoryCdf;
    private readonly double[] _itemInCategoryCdf;
    private readonly int[][] _complements;
    private readonly Dictionary<int, int> _triggerTarget = []; // global item index → target category
    private readonly int[] _triggerItems;

    public DemoWorldGenerator(DemoWorldOptions options)
    {
        _o = options ?? throw new ArgumentNullException(nameof(options));
        var rng = new Random(options.Seed);
        _categoryCdf = ZipfCdf(options.Categories, 1.0);
        _itemInCategoryCdf = ZipfCdf(options.ItemsPerCategory, 1.1);
        _complements = new int[options.Categories][];
        for (var c = 0; c < options.Categories; c++)
        {
            var a = (c + 1 + rng.Next(options.Categories - 1)) % options.Categories;
            var b = (c + 1 + rng.Next(options.Categories - 1)) % options.Categories;
            _complements[c] = a == b ? [a] : [a, b];
        }
        var totalItems = options.Categories * options.ItemsPerCategory;
        var triggerCount = (int)Math.Round(totalItems * options.TriggerShare);
        var chosen = new HashSet<int>();
        while (chosen.Count < triggerCount)
        {
            // Triggers are mid-popularity items (not the head of their category), as in real promotion data.
            var c = rng.Next(options.Categories);
            var r = 2 + rng.Next(Math.Max(1, options.ItemsPerCategory - 2));
            var item = c * options.ItemsPerCategory + Math.Min(r, options.ItemsPerCategory - 1);
            if (chosen.Add(item))
            {
                var target = rng.NextDouble() < 0.8 ? _complements[c][rng.Next(_complements[c].Length)] : rng.Next(options.Categories);
                if (target == c)
                {
                    target = (c + 1) % options.Categories;
                }
                _triggerTarget[item] = target;
            }
        }
        _triggerItems = [.. chosen.Order()];
    }

    public static string UserId(long u) => $"u{u}";

    public static string ItemId(int item) => $"i{item}";

    public static string CategoryId(int category) => $"c{category}";

    public int CategoryOf(int item) => item / _o.ItemsPerCategory;

    public IReadOnlyList<TriggerTruth> Triggers => _triggerItems
        .Select(i => new TriggerTruth(ItemId(i), CategoryId(CategoryOf(i)), CategoryId(_triggerTarget[i]), _o.TriggerUplift)).ToArray();

    /// <summary>Streams the events of all users (each user's events in time order, users in id order).</summary>
    public IEnumerable<BehaviorEvent> Generate(Action<UserOutcome>? onUser = null)
    {
        for (long u = 0; u < _o.Users; u++)
        {
            var outcome = new UserOutcome();
            foreach (var e in GenerateUser(u, outcome))
            {
                yield return e;
            }
            onUser?.Invoke(outcome);
        }
    }

    public sealed class UserOutcome
    {
        public bool LowIntent { get; internal set; }

        public bool SawTrigger { get; internal set; }

        public int Events { get; internal set; }

        public int Purchases { get; internal set; }
    }

    private IEnumerable<BehaviorEvent> GenerateUser(long u, UserOutcome outcome)
    {
        // Per-user RNG: a user's history depends only on (seed, user), so generation can be split or resumed.
        var rng = new Random(unchecked((int)Cohort.StableHash.Hash64(u.ToString(System.Globalization.CultureInfo.InvariantCulture), $"demo-user:{_o.Seed}")));
        var user = UserId(u);
        var intents = new List<int>();
        var nIntents = 1 + rng.Next(3);
        while (intents.Count < nIntents)
        {
            var c = Sample(_categoryCdf, rng);
            if (!intents.Contains(c))
            {
                intents.Add(c);
            }
        }
        var lowIntent = rng.NextDouble() < _o.LowIntentShare;
        outcome.LowIntent = lowIntent;
        var basePropensity = lowIntent ? 0.005 + 0.015 * rng.NextDouble() : 0.08 + 0.12 * rng.NextDouble();
        var lambda = Math.Exp(1.6 + 0.6 * Normal(rng)); // median ~5 sessions
        var sessions = 1 + Poisson(rng, Math.Min(lambda, 60));
        var days = new int[sessions];
        for (var s = 0; s < sessions; s++)
        {
            days[s] = rng.Next(_o.Days);
        }
        Array.Sort(days);
        var start = _o.Start.ToUnixTimeSeconds();
        var boosted = new HashSet<int>(); // target categories of seen triggers
        var viewed = new List<int>(16);
        var carted = new List<int>(4);

        var t = long.MinValue;
        for (var s = 0; s < sessions; s++)
        {
            // Sessions on the same day never overlap: a session starts at least 10 minutes after the previous one ended.
            t = Math.Max(start + days[s] * 86_400L + rng.Next(86_400 - 7_200), t + 600);
            int category;
            if (boosted.Count > 0 && rng.NextDouble() < 0.5)
            {
                category = boosted.ElementAt(rng.Next(boosted.Count));
            }
            else
            {
                category = rng.NextDouble() < 0.9 ? intents[rng.Next(intents.Count)] : Sample(_categoryCdf, rng);
            }
            var propensity = boosted.Contains(category) ? Math.Min(0.6, basePropensity * _o.TriggerUplift) : basePropensity;
            var views = 3 + Geometric(rng, 0.25);
            viewed.Clear();
            carted.Clear();
            for (var v = 0; v < views; v++)
            {
                int item;
                if (_triggerItems.Length > 0 && rng.NextDouble() < _o.TriggerExposure)
                {
                    item = _triggerItems[rng.Next(_triggerItems.Length)];
                }
                else
                {
                    var c = rng.NextDouble() < 0.85 ? category : _complements[category][rng.Next(_complements[category].Length)];
                    item = c * _o.ItemsPerCategory + Sample(_itemInCategoryCdf, rng);
                }
                t += 10 + rng.Next(110);
                outcome.Events++;
                yield return new BehaviorEvent(user, ItemId(item), CategoryId(CategoryOf(item)), EventType.View, t);
                if (_triggerTarget.TryGetValue(item, out var target))
                {
                    outcome.SawTrigger = true;
                    boosted.Add(target);
                }
                if (CategoryOf(item) == category)
                {
                    viewed.Add(item);
                }
                if (rng.NextDouble() < 0.03)
                {
                    t += 1 + rng.Next(20);
                    outcome.Events++;
                    yield return new BehaviorEvent(user, ItemId(item), CategoryId(CategoryOf(item)), EventType.Fav, t);
                }
                if (CategoryOf(item) == category && rng.NextDouble() < 0.3 * propensity + 0.01)
                {
                    t += 1 + rng.Next(20);
                    carted.Add(item);
                    outcome.Events++;
                    yield return new BehaviorEvent(user, ItemId(item), CategoryId(CategoryOf(item)), EventType.Cart, t);
                }
            }
            if (rng.NextDouble() < propensity)
            {
                int item;
                if (carted.Count > 0)
                {
                    item = carted[rng.Next(carted.Count)];
                }
                else if (viewed.Count > 0 && rng.NextDouble() < 0.7)
                {
                    item = viewed[rng.Next(viewed.Count)];
                }
                else
                {
                    item = category * _o.ItemsPerCategory + Sample(_itemInCategoryCdf, rng);
                }
                t += 30 + rng.Next(300);
                outcome.Events++;
                outcome.Purchases++;
                yield return new BehaviorEvent(user, ItemId(item), CategoryId(CategoryOf(item)), EventType.Purchase, t);
            }
        }
    }

    public DemoWorldTruth Truth(long events, long purchases, long exposed, long lowIntent) => new(
        _o,
        _o.Categories * _o.ItemsPerCategory,
        Enumerable.Range(0, _o.Categories).Select(CategoryId).ToArray(),
        Enumerable.Range(0, _o.Categories).ToDictionary(CategoryId, c => _complements[c].Select(CategoryId).ToArray()),
        Triggers,
        events,
        purchases,
        exposed,
        lowIntent);

    /// <summary>Normalised CDF of a Zipf(<paramref name="s"/>) law over ranks 1..<paramref name="n"/> (shared with the outcome simulator).</summary>
    internal static double[] ZipfCdf(int n, double s)
    {
        var cdf = new double[n];
        double sum = 0;
        for (var i = 0; i < n; i++)
        {
            sum += 1.0 / Math.Pow(i + 1, s);
            cdf[i] = sum;
        }
        for (var i = 0; i < n; i++)
        {
            cdf[i] /= sum;
        }
        return cdf;
    }

    /// <summary>Draws a 0-based rank from <paramref name="cdf"/>.</summary>
    internal static int Sample(double[] cdf, Random rng)
    {
        var i = Array.BinarySearch(cdf, rng.NextDouble());
        return Math.Min(i < 0 ? ~i : i, cdf.Length - 1);
    }

    private static double Normal(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static int Poisson(Random rng, double lambda)
    {
        var l = Math.Exp(-lambda);
        var k = 0;
        var p = 1.0;
        do
        {
            k++;
            p *= rng.NextDouble();
        }
        while (p > l);
        return k - 1;
    }

    private static int Geometric(Random rng, double p) => (int)Math.Floor(Math.Log(1 - rng.NextDouble()) / Math.Log(1 - p));
}
