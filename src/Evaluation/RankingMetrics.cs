using System.Text.Json.Serialization;
using RoleGen.Core.Ingest;

namespace RoleGen.Evaluation;

/// <summary>Top-K metrics of one ranked list against a set of relevant items (binary relevance). The list is what a model
/// returned, best first, after the excluded items were removed; an item listed twice counts once (at its first rank).</summary>
public static class RankingMath
{
    /// <summary>|top-K ∩ relevant| / |relevant| (0 when nothing is relevant). With one relevant item this is HitRate@K.</summary>
    public static double Recall(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(relevant);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (relevant.Count == 0)
        {
            return 0;
        }
        var hits = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ranked.Count && i < k; i++)
        {
            if (seen.Add(ranked[i]) && relevant.Contains(ranked[i]))
            {
                hits++;
            }
        }
        return (double)hits / relevant.Count;
    }

    /// <summary>DCG@K / IDCG@K with gain 1 for a relevant item at 0-based rank r discounted by 1/log2(r + 2);
    /// IDCG@K puts min(K, |relevant|) relevant items at the top. 0 when nothing is relevant.</summary>
    public static double Ndcg(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(relevant);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (relevant.Count == 0)
        {
            return 0;
        }
        double dcg = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ranked.Count && i < k; i++)
        {
            if (seen.Add(ranked[i]) && relevant.Contains(ranked[i]))
            {
                dcg += 1.0 / Math.Log2(i + 2);
            }
        }
        double idcg = 0;
        for (var i = 0; i < Math.Min(k, relevant.Count); i++)
        {
            idcg += 1.0 / Math.Log2(i + 2);
        }
        return dcg / idcg;
    }

    /// <summary>Number of distinct categories among the first <paramref name="k"/> items (category coverage of one list).
    /// An item missing from <paramref name="categories"/> counts under the single category
    /// <see cref="EventReader.UnknownCategory"/>.</summary>
    public static int DistinctCategories(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, string> categories, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(categories);
        return ranked.Take(k).Select(i => CategoryOf(i, categories)).Distinct(StringComparer.Ordinal).Count();
    }

    /// <summary>Intra-list diversity ILD@K: the share of unordered item pairs {i, j} (i ≠ j positions) among the first
    /// <paramref name="k"/> items whose categories differ, i.e. (pairs with different categories) / (n(n−1)/2) with
    /// n = min(K, list length). A list shorter than 2 has no pairs and scores 0 (not undefined), so that an empty list
    /// lowers the mean instead of being skipped. 1 = every item in its own category; 0 = all in one (interest collapse).
    /// Unknown categories count as one category (see <see cref="DistinctCategories"/>).</summary>
    public static double IntraListDiversity(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, string> categories, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(categories);
        var cats = ranked.Take(k).Select(i => CategoryOf(i, categories)).ToArray();
        if (cats.Length < 2)
        {
            return 0;
        }
        var different = 0;
        for (var i = 0; i < cats.Length; i++)
        {
            for (var j = i + 1; j < cats.Length; j++)
            {
                different += string.Equals(cats[i], cats[j], StringComparison.Ordinal) ? 0 : 1;
            }
        }
        return different / (cats.Length * (cats.Length - 1) / 2.0);
    }

    public static string CategoryOf(string item, IReadOnlyDictionary<string, string> categories)
    {
        ArgumentNullException.ThrowIfNull(categories);
        return categories.TryGetValue(item, out var c) ? c : EventReader.UnknownCategory;
    }

    /// <summary>The ranked list with every excluded item removed (order kept), truncated to <paramref name="k"/>.</summary>
    public static IReadOnlyList<string> WithoutExcluded(IEnumerable<string> ranked, IReadOnlySet<string> excluded, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(excluded);
        return ranked.Where(id => !excluded.Contains(id)).Take(k).ToArray();
    }
}

/// <summary>A two-sided confidence interval.</summary>
public sealed record ConfidenceInterval(double Lower, double Upper)
{
    /// <summary>"[lower, upper]" with <paramref name="format"/>, invariant culture.</summary>
    public string ToString(string format) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"[{Lower.ToString(format, System.Globalization.CultureInfo.InvariantCulture)}, {Upper.ToString(format, System.Globalization.CultureInfo.InvariantCulture)}]");
}

/// <summary>Canonical metric names used by <see cref="CohortMetrics.Values"/>, comparisons and reports.</summary>
public static class MetricNames
{
    /// <summary>Cut-off of the diversity metrics (the top-10 list).</summary>
    public const int DiversityK = 10;

    public const string Categories = "Categories@10";

    public const string Ild = "ILD@10";

    public static string Recall(int k) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Recall@{k}");

    public static string Ndcg(int k) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"NDCG@{k}");
}

/// <summary>Metrics of one model over one cohort: means (the report's numbers), their bootstrap CIs, and the per-user
/// values they come from (kept in memory for paired comparisons between models; not serialised).</summary>
/// <param name="Cohort">"all" or "dormant".</param>
/// <param name="Users">Users in the cohort.</param>
/// <param name="Recall">Mean Recall@K by "@K".</param>
/// <param name="Ndcg">Mean NDCG@K by "@K".</param>
public sealed record CohortMetrics(string Cohort, int Users, IReadOnlyDictionary<string, double> Recall, IReadOnlyDictionary<string, double> Ndcg)
{
    /// <summary>Percentile bootstrap 95% CI of each mean Recall@K, by "@K" (null until <see cref="WithIntervals"/>).</summary>
    public IReadOnlyDictionary<string, ConfidenceInterval>? RecallCi { get; init; }

    public IReadOnlyDictionary<string, ConfidenceInterval>? NdcgCi { get; init; }

    /// <summary>Mean number of distinct categories in a user's top-10 list; null when the dataset has no categories
    /// (Beauty) — "n/a", not 0.</summary>
    public double? CategoriesAt10 { get; init; }

    public ConfidenceInterval? CategoriesAt10Ci { get; init; }

    /// <summary>Mean ILD@10 (<see cref="RankingMath.IntraListDiversity"/>); null when the dataset has no categories.</summary>
    public double? IldAt10 { get; init; }

    public ConfidenceInterval? IldAt10Ci { get; init; }

    /// <summary>Aggregate coverage: distinct categories over all the cohort's top-10 lists / distinct categories of the
    /// train events; null when the dataset has no categories.</summary>
    public double? CategoryCoverage { get; init; }

    /// <summary>Distinct categories over all the cohort's top-10 lists (numerator of <see cref="CategoryCoverage"/>).</summary>
    public int? ListCategories { get; init; }

    /// <summary>Per-user values by metric name (<see cref="MetricNames"/>), users in the dataset's order, and the user ids
    /// (so that a paired comparison can check it pairs the same users). Not written to JSON: one number per user.</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, double[]> PerUser { get; init; } = new Dictionary<string, double[]>(StringComparer.Ordinal);

    [JsonIgnore]
    public IReadOnlyList<string> UserIds { get; init; } = [];

    /// <summary>The per-user vector of <paramref name="metric"/> (e.g. "Recall@1", "NDCG@10", "ILD@10").</summary>
    public double[] Values(string metric) => PerUser.TryGetValue(metric, out var v)
        ? v
        : throw new KeyNotFoundException($"metric '{metric}' is not kept for cohort '{Cohort}' (known: {string.Join(", ", PerUser.Keys)}).");

    /// <summary>This cohort with a bootstrap CI for every mean (same seed for every metric, so the CIs of one cohort use
    /// the same resampled users).</summary>
    public CohortMetrics WithIntervals(int resamples = Bootstrap.DefaultResamples, int seed = Bootstrap.DefaultSeed)
    {
        ConfidenceInterval Ci(string metric) => Bootstrap.MeanCi(Values(metric), resamples, seed);
        return this with
        {
            RecallCi = Recall.Keys.ToDictionary(k => k, k => Ci("Recall" + k), StringComparer.Ordinal),
            NdcgCi = Ndcg.Keys.ToDictionary(k => k, k => Ci("NDCG" + k), StringComparer.Ordinal),
            CategoriesAt10Ci = CategoriesAt10 is null ? null : Ci(MetricNames.Categories),
            IldAt10Ci = IldAt10 is null ? null : Ci(MetricNames.Ild),
        };
    }
}

/// <summary>Collects per-user metrics for several cut-offs and cohorts (each cohort keeps one vector per metric, users
/// in the order they were added).</summary>
public sealed class MetricAccumulator(IReadOnlyList<int> recallKs, IReadOnlyList<int> ndcgKs, IReadOnlyDictionary<string, string>? itemCategories = null)
{
    private sealed class Cohort
    {
        public List<string> Users { get; } = [];

        public Dictionary<string, List<double>> Values { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Categories { get; } = new(StringComparer.Ordinal);
    }

    private readonly Dictionary<string, Cohort> _cohorts = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public IReadOnlyList<int> RecallKs { get; } = recallKs;

    public IReadOnlyList<int> NdcgKs { get; } = ndcgKs;

    /// <summary>Item → category, or null when the dataset has no categories (diversity is then not measured).</summary>
    public IReadOnlyDictionary<string, string>? ItemCategories { get; } = itemCategories is { Count: > 0 } ? itemCategories : null;

    public int MaxK => Math.Max(Math.Max(RecallKs.Max(), NdcgKs.Max()), ItemCategories is null ? 1 : MetricNames.DiversityK);

    /// <summary>Declares a cohort so that it is reported even when empty.</summary>
    public void AddCohort(string cohort)
    {
        if (!_cohorts.ContainsKey(cohort))
        {
            _cohorts[cohort] = new Cohort();
            _order.Add(cohort);
        }
    }

    public void Add(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, IEnumerable<string> cohorts, string userId = "")
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(cohorts);
        var values = new List<(string Name, double Value)>();
        values.AddRange(RecallKs.Select(k => (MetricNames.Recall(k), RankingMath.Recall(ranked, relevant, k))));
        values.AddRange(NdcgKs.Select(k => (MetricNames.Ndcg(k), RankingMath.Ndcg(ranked, relevant, k))));
        string[] listCategories = [];
        if (ItemCategories is { } map)
        {
            values.Add((MetricNames.Categories, RankingMath.DistinctCategories(ranked, map, MetricNames.DiversityK)));
            values.Add((MetricNames.Ild, RankingMath.IntraListDiversity(ranked, map, MetricNames.DiversityK)));
            listCategories = ranked.Take(MetricNames.DiversityK).Select(i => RankingMath.CategoryOf(i, map)).ToArray();
        }
        foreach (var cohort in cohorts)
        {
            AddCohort(cohort);
            var c = _cohorts[cohort];
            c.Users.Add(userId);
            foreach (var (name, value) in values)
            {
                if (!c.Values.TryGetValue(name, out var list))
                {
                    c.Values[name] = list = [];
                }
                list.Add(value);
            }
            c.Categories.UnionWith(listCategories);
        }
    }

    /// <summary>Means per cohort (0 for an empty cohort) with the per-user vectors attached; no CIs yet (see
    /// <see cref="CohortMetrics.WithIntervals"/>).</summary>
    public IReadOnlyList<CohortMetrics> Results() => _order.Select(name =>
    {
        var c = _cohorts[name];
        var perUser = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var metric in RecallKs.Select(MetricNames.Recall).Concat(NdcgKs.Select(MetricNames.Ndcg))
                     .Concat(ItemCategories is null ? [] : [MetricNames.Categories, MetricNames.Ild]))
        {
            perUser[metric] = c.Values.TryGetValue(metric, out var list) ? [.. list] : [];
        }
        double Mean(string metric) => perUser[metric].Length == 0 ? 0 : perUser[metric].Average();
        var trainCategories = ItemCategories?.Values.Distinct(StringComparer.Ordinal).Count() ?? 0;
        return new CohortMetrics(name, c.Users.Count,
            RecallKs.ToDictionary(k => $"@{k}", k => Mean(MetricNames.Recall(k)), StringComparer.Ordinal),
            NdcgKs.ToDictionary(k => $"@{k}", k => Mean(MetricNames.Ndcg(k)), StringComparer.Ordinal))
        {
            PerUser = perUser,
            UserIds = [.. c.Users],
            CategoriesAt10 = ItemCategories is null ? null : Mean(MetricNames.Categories),
            IldAt10 = ItemCategories is null ? null : Mean(MetricNames.Ild),
            ListCategories = ItemCategories is null ? null : c.Categories.Count,
            CategoryCoverage = ItemCategories is null || trainCategories == 0 ? null : (double)c.Categories.Count / trainCategories,
        };
    }).ToArray();
}
