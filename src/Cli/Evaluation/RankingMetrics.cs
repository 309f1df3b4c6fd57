namespace RoleGen.Cli.Evaluation;

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

    /// <summary>The ranked list with every excluded item removed (order kept), truncated to <paramref name="k"/>.</summary>
    public static IReadOnlyList<string> WithoutExcluded(IEnumerable<string> ranked, IReadOnlySet<string> excluded, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(excluded);
        return ranked.Where(id => !excluded.Contains(id)).Take(k).ToArray();
    }
}

/// <summary>Mean Recall@K / NDCG@K of one model over one cohort.</summary>
public sealed record CohortMetrics(string Cohort, int Users, IReadOnlyDictionary<string, double> Recall, IReadOnlyDictionary<string, double> Ndcg);

/// <summary>Sums per-user metrics for several cut-offs and cohorts.</summary>
public sealed class MetricAccumulator(IReadOnlyList<int> recallKs, IReadOnlyList<int> ndcgKs)
{
    private readonly Dictionary<string, (int Users, double[] Recall, double[] Ndcg)> _sums = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public IReadOnlyList<int> RecallKs { get; } = recallKs;

    public IReadOnlyList<int> NdcgKs { get; } = ndcgKs;

    public int MaxK => Math.Max(RecallKs.Max(), NdcgKs.Max());

    /// <summary>Declares a cohort so that it is reported even when empty.</summary>
    public void AddCohort(string cohort)
    {
        if (!_sums.ContainsKey(cohort))
        {
            _sums[cohort] = (0, new double[RecallKs.Count], new double[NdcgKs.Count]);
            _order.Add(cohort);
        }
    }

    public void Add(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, IEnumerable<string> cohorts)
    {
        ArgumentNullException.ThrowIfNull(cohorts);
        var recall = RecallKs.Select(k => RankingMath.Recall(ranked, relevant, k)).ToArray();
        var ndcg = NdcgKs.Select(k => RankingMath.Ndcg(ranked, relevant, k)).ToArray();
        foreach (var cohort in cohorts)
        {
            AddCohort(cohort);
            var s = _sums[cohort];
            for (var i = 0; i < recall.Length; i++)
            {
                s.Recall[i] += recall[i];
            }
            for (var i = 0; i < ndcg.Length; i++)
            {
                s.Ndcg[i] += ndcg[i];
            }
            _sums[cohort] = (s.Users + 1, s.Recall, s.Ndcg);
        }
    }

    public IReadOnlyList<CohortMetrics> Results() => _order.Select(c =>
    {
        var s = _sums[c];
        var n = Math.Max(1, s.Users);
        return new CohortMetrics(c, s.Users,
            RecallKs.Select((k, i) => (k, i)).ToDictionary(x => $"@{x.k}", x => s.Recall[x.i] / n, StringComparer.Ordinal),
            NdcgKs.Select((k, i) => (k, i)).ToDictionary(x => $"@{x.k}", x => s.Ndcg[x.i] / n, StringComparer.Ordinal));
    }).ToArray();
}
