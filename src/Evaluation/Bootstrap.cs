namespace RoleGen.Evaluation;

/// <summary>Result of a paired bootstrap of two models' per-user values of one metric over the same users.</summary>
/// <param name="Users">Paired users.</param>
/// <param name="MeanA">Mean of model A (the full sample).</param>
/// <param name="MeanB">Mean of model B.</param>
/// <param name="Ratio">MeanA / MeanB; null when MeanB is 0 (undefined: B never scores, so "A is x times B" has no meaning).</param>
/// <param name="RatioCi">Percentile CI of the resampled ratios; null when <paramref name="Ratio"/> is null. A resample
/// whose B mean is 0 counts as +∞ when its A mean is positive and is dropped when both are 0 (see
/// <paramref name="UndefinedRatioResamples"/>).</param>
/// <param name="Diff">MeanA − MeanB.</param>
/// <param name="DiffCi">Percentile CI of the resampled differences.</param>
/// <param name="Target">Ratio threshold of <paramref name="ShareAtLeastTarget"/>.</param>
/// <param name="ShareAtLeastTarget">Share of resamples (with a defined ratio) whose ratio is ≥ <paramref name="Target"/>: a
/// bootstrap estimate of how sure we are that A reaches Target × B. Null when the ratio is undefined.</param>
/// <param name="Resamples">B, the number of resamples.</param>
/// <param name="UndefinedRatioResamples">Resamples dropped from the ratio statistics (both means 0).</param>
/// <param name="Note">Why a field is null, if one is.</param>
public sealed record PairedBootstrapResult(
    int Users,
    double MeanA,
    double MeanB,
    double? Ratio,
    ConfidenceInterval? RatioCi,
    double Diff,
    ConfidenceInterval DiffCi,
    double Target,
    double? ShareAtLeastTarget,
    int Resamples,
    int UndefinedRatioResamples,
    string? Note);

/// <summary>
/// Nonparametric bootstrap over users: a cohort's metric is a mean of per-user values, and users are the independent
/// unit, so a resample draws n users with replacement. CIs are percentile intervals: the (1−level)/2 and (1+level)/2
/// quantiles of the B resampled statistics, with linear interpolation between order statistics (position p × (B − 1)
/// of the sorted values). The generator is a seeded <see cref="Random"/>, so a report is reproducible; with the same
/// seed and n, every metric and model sees the same resampled users.
/// </summary>
public static class Bootstrap
{
    public const int DefaultResamples = 1000;

    public const int DefaultSeed = 20_171_203;

    public const double DefaultLevel = 0.95;

    /// <summary>Percentile CI of the mean of <paramref name="values"/>. Empty → [0, 0] (the cohort mean is reported as 0).</summary>
    public static ConfidenceInterval MeanCi(IReadOnlyList<double> values, int resamples = DefaultResamples, int seed = DefaultSeed, double level = DefaultLevel)
    {
        ArgumentNullException.ThrowIfNull(values);
        Validate(resamples, level);
        var n = values.Count;
        if (n == 0)
        {
            return new ConfidenceInterval(0, 0);
        }
        var rng = new Random(seed);
        var means = new double[resamples];
        for (var b = 0; b < resamples; b++)
        {
            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                sum += values[rng.Next(n)];
            }
            means[b] = sum / n;
        }
        return Percentile(means, level);
    }

    /// <summary>Paired bootstrap of A vs B: each resample draws the same users for both, so the correlation between the
    /// models (same easy and hard users) narrows the CI of the ratio and the difference compared with two independent CIs.</summary>
    public static PairedBootstrapResult Paired(IReadOnlyList<double> a, IReadOnlyList<double> b, double target = 1.0,
        int resamples = DefaultResamples, int seed = DefaultSeed, double level = DefaultLevel)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        Validate(resamples, level);
        if (a.Count != b.Count)
        {
            throw new ArgumentException($"paired bootstrap needs the same users: {a.Count} values for A, {b.Count} for B.", nameof(b));
        }
        var n = a.Count;
        if (n == 0)
        {
            return new PairedBootstrapResult(0, 0, 0, null, null, 0, new ConfidenceInterval(0, 0), target, null, resamples, resamples,
                "no users: ratio undefined");
        }
        var meanA = a.Average();
        var meanB = b.Average();
        var rng = new Random(seed);
        var diffs = new double[resamples];
        var ratios = new List<double>(resamples);
        for (var r = 0; r < resamples; r++)
        {
            double sa = 0, sb = 0;
            for (var i = 0; i < n; i++)
            {
                var j = rng.Next(n);
                sa += a[j];
                sb += b[j];
            }
            diffs[r] = (sa - sb) / n;
            if (sb != 0)
            {
                ratios.Add(sa / sb);
            }
            else if (sa > 0)
            {
                ratios.Add(double.PositiveInfinity);
            }
        }
        var diffCi = Percentile(diffs, level);
        var undefined = resamples - ratios.Count;
        if (meanB == 0)
        {
            return new PairedBootstrapResult(n, meanA, meanB, null, null, meanA - meanB, diffCi, target, null, resamples, undefined,
                "mean of B is 0: the ratio A/B is undefined; compare the difference instead");
        }
        var share = ratios.Count == 0 ? (double?)null : (double)ratios.Count(x => x >= target) / ratios.Count;
        var note = undefined > 0 ? $"{undefined} of {resamples} resamples had both means 0 and were left out of the ratio statistics" : null;
        return new PairedBootstrapResult(n, meanA, meanB, meanA / meanB, ratios.Count == 0 ? null : Percentile([.. ratios], level),
            meanA - meanB, diffCi, target, share, resamples, undefined, note);
    }

    /// <summary>The (1−level)/2 and (1+level)/2 quantiles of <paramref name="statistics"/> (sorted in place).</summary>
    public static ConfidenceInterval Percentile(double[] statistics, double level = DefaultLevel)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        if (statistics.Length == 0)
        {
            throw new ArgumentException("no statistics", nameof(statistics));
        }
        Array.Sort(statistics);
        return new ConfidenceInterval(Quantile(statistics, (1 - level) / 2), Quantile(statistics, (1 + level) / 2));
    }

    /// <summary>Quantile p of sorted values, interpolating linearly at position p × (n − 1).</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var position = p * (sorted.Count - 1);
        var lo = (int)Math.Floor(position);
        var hi = Math.Min(lo + 1, sorted.Count - 1);
        var w = position - lo;
        if (w == 0 || double.IsInfinity(sorted[hi]))
        {
            return w == 0 ? sorted[lo] : (sorted[lo] == sorted[hi] ? sorted[lo] : sorted[hi]);
        }
        return sorted[lo] + w * (sorted[hi] - sorted[lo]);
    }

    private static void Validate(int resamples, double level)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 1);
        if (level is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, "level must be in (0, 1)");
        }
    }
}
