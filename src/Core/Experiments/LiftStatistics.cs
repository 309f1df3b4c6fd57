using System.Globalization;

namespace RoleGen.Core.Experiments;

/// <summary>Treatment-vs-control lift estimates with 95% confidence intervals and two-sided p-values. The report is JSON
/// (no NaN, no infinity) and is read by people deciding whether RoleGen helps, so every degenerate case (an empty arm, a
/// zero rate whose logarithm is infinite) comes back as an explicit "undefined" estimate (see
/// <see cref="LiftEstimate.Note"/>) instead of a NaN that would break serialization or an infinite lift that would read
/// as a triumph.</summary>
public static class LiftStatistics
{
    /// <summary>Φ⁻¹(0.975): the half-width multiplier of a two-sided 95% interval.</summary>
    public const double Z975 = 1.959963984540054;

    public const string TwoProportionsTest = "two-proportion z-test (pooled), CI: delta-method log risk ratio";

    public const string RatioOfMeansTest = "Welch z-test on means, CI: delta-method log ratio";

    /// <summary>Relative lift of a rate: pT / pC − 1 with pT = successesT / nT, pC = successesC / nC.</summary>
    /// <remarks>
    /// <para>CI: the log risk ratio ln(pT / pC) is close to normal with variance (delta method)
    /// se² = (1 − pT) / (nT·pT) + (1 − pC) / (nC·pC); the 95% interval is exp(ln(pT / pC) ± 1.959964·se) − 1, which stays
    /// above −1 and is asymmetric like the ratio itself.</para>
    /// <para>p-value: pooled two-proportion z-test, p = (sT + sC) / (nT + nC), z = (pT − pC) / sqrt(p(1 − p)(1/nT + 1/nC)),
    /// two-sided 2·(1 − Φ(|z|)). When the pooled rate is 0 or 1 both arms are identical (all failures or all successes), so
    /// p = 1.</para>
    /// <para>Undefined (lift, CI = 0, p = 1, <see cref="LiftEstimate.Note"/> set): an arm with n = 0, or a rate of 0 in
    /// either arm (pC = 0: the lift is infinite; pT = 0: the log ratio and its CI are). p = 1 there means "no claim", so a
    /// consumer testing p &lt; 0.05 never declares a win or a loss from an estimate it cannot state.</para>
    /// </remarks>
    public static LiftEstimate TwoProportions(string metric, long successesT, long nT, long successesC, long nC)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentOutOfRangeException.ThrowIfNegative(nT);
        ArgumentOutOfRangeException.ThrowIfNegative(nC);
        ArgumentOutOfRangeException.ThrowIfNegative(successesT);
        ArgumentOutOfRangeException.ThrowIfNegative(successesC);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(successesT, nT);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(successesC, nC);

        var pT = nT == 0 ? 0 : (double)successesT / nT;
        var pC = nC == 0 ? 0 : (double)successesC / nC;
        var note = nT == 0 || nC == 0 ? EmptyArmNote(nT, nC)
            : successesT == 0 && successesC == 0 ? "undefined: no successes in either arm"
            : successesC == 0 ? "undefined: the control rate is 0 (infinite lift)"
            : successesT == 0 ? "undefined: the treatment rate is 0 (the log risk ratio and its CI are infinite)"
            : null;
        if (note is not null)
        {
            return Undefined(metric, pC, pT, TwoProportionsTest, note);
        }

        var logRatio = Math.Log(pT / pC);
        var se = Math.Sqrt((1 - pT) / (nT * pT) + (1 - pC) / (nC * pC));
        var pooled = (double)(successesT + successesC) / (nT + nC);
        var pooledSe = Math.Sqrt(pooled * (1 - pooled) * (1.0 / nT + 1.0 / nC));
        var pValue = pooledSe > 0 ? TwoSidedPValue((pT - pC) / pooledSe) : 1.0;
        return new LiftEstimate(metric, pC, pT, pT / pC - 1, Math.Exp(logRatio - Z975 * se) - 1, Math.Exp(logRatio + Z975 * se) - 1, pValue, TwoProportionsTest);
    }

    /// <summary>Relative lift of a per-user mean (e.g. orders per user, zeros included): mT / mC − 1.</summary>
    /// <remarks>
    /// <para>CI: delta method on ln(mT / mC) with var(mean) = s² / n (s² the sample variance, n − 1 denominator):
    /// se² = s²T / (nT·mT²) + s²C / (nC·mC²); interval exp(ln(mT / mC) ± 1.959964·se) − 1.</para>
    /// <para>p-value: Welch's statistic t = (mT − mC) / sqrt(s²T/nT + s²C/nC) referred to the standard normal instead of
    /// Student's t with Welch–Satterthwaite degrees of freedom: arms hold thousands of users, where the two differ in the
    /// fourth decimal, and the normal needs no incomplete beta function. With both variances 0, p = 1 when the means are
    /// equal and 0 otherwise.</para>
    /// <para>Undefined (lift, CI = 0, p = 1, note set): an arm with fewer than 2 values (no sample variance), or a mean
    /// ≤ 0 in either arm (the ratio or its logarithm is not finite).</para>
    /// </remarks>
    public static LiftEstimate RatioOfMeans(string metric, IReadOnlyList<double> treatment, IReadOnlyList<double> control)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(treatment);
        ArgumentNullException.ThrowIfNull(control);
        var (mT, vT) = MeanAndVariance(treatment, nameof(treatment));
        var (mC, vC) = MeanAndVariance(control, nameof(control));
        return RatioOfMeansCore(metric, treatment.Count, mT, vT, control.Count, mC, vC);
    }

    /// <summary><see cref="RatioOfMeans(string, IReadOnlyList{double}, IReadOnlyList{double})"/> from sums (n, Σx, Σx²) of
    /// each arm — what shard partials add up to. The sample variance is (Σx² − n·mean²) / (n − 1).</summary>
    public static LiftEstimate RatioOfMeans(string metric, long nT, double sumT, double sumSquaresT, long nC, double sumC, double sumSquaresC)
    {
        ArgumentNullException.ThrowIfNull(metric);
        static (double Mean, double Variance) FromSums(long n, double sum, double squares) =>
            n == 0 ? (0, 0) : (sum / n, n > 1 ? Math.Max(0, (squares - sum * sum / n) / (n - 1)) : 0);
        var (mT, vT) = FromSums(nT, sumT, sumSquaresT);
        var (mC, vC) = FromSums(nC, sumC, sumSquaresC);
        return RatioOfMeansCore(metric, nT, mT, vT, nC, mC, vC);
    }

    private static LiftEstimate RatioOfMeansCore(string metric, long nT, double mT, double vT, long nC, double mC, double vC)
    {
        var note = nT < 2 || nC < 2 ? $"undefined: fewer than 2 users in the {(nT < 2 ? "treatment" : "control")} arm"
            : mT <= 0 && mC <= 0 ? "undefined: both means are 0"
            : mC <= 0 ? "undefined: the control mean is 0 (infinite lift)"
            : mT <= 0 ? "undefined: the treatment mean is 0 (the log ratio and its CI are infinite)"
            : null;
        if (note is not null)
        {
            return Undefined(metric, mC, mT, RatioOfMeansTest, note);
        }

        var logRatio = Math.Log(mT / mC);
        var se = Math.Sqrt(vT / (nT * mT * mT) + vC / (nC * mC * mC));
        var welchSe = Math.Sqrt(vT / nT + vC / nC);
        var pValue = welchSe > 0 ? TwoSidedPValue((mT - mC) / welchSe) : mT == mC ? 1.0 : 0.0;
        return new LiftEstimate(metric, mC, mT, mT / mC - 1, Math.Exp(logRatio - Z975 * se) - 1, Math.Exp(logRatio + Z975 * se) - 1, pValue, RatioOfMeansTest);
    }

    /// <summary>Two-sided p-value of a standard normal statistic: 2·(1 − Φ(|z|)), computed from the upper tail directly
    /// so that small p-values keep their relative precision (1 − Φ would cancel to 0 beyond z ≈ 8.3).</summary>
    public static double TwoSidedPValue(double z)
    {
        if (double.IsNaN(z))
        {
            throw new ArgumentOutOfRangeException(nameof(z), z, "z is NaN.");
        }
        return Math.Min(1.0, 2 * NormalUpperTail(Math.Abs(z)));
    }

    /// <summary>Standard normal CDF Φ(x).</summary>
    public static double NormalCdf(double x) => NormalUpperTail(-x);

    /// <summary>Standard normal upper tail 1 − Φ(x) = Φ(−x), to about 1e-15 relative accuracy.</summary>
    /// <remarks>W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for the error function",
    /// Math. Comp. 23, 1969; the ANORM routine, as used by R's pnorm): one rational function on |x| ≤ 0.674, one on
    /// 0.674 &lt; |x| ≤ √32 and an asymptotic one in 1/x² beyond, each multiplied by exp(−x²/2) evaluated in two parts so
    /// that the exponent keeps its precision. Abramowitz–Stegun 7.1.26 (absolute error 1.5e-7) is not used because a
    /// p-value of 1e-7 would be off by 100%.</remarks>
    public static double NormalUpperTail(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }
        var y = Math.Abs(x);
        if (y <= 0.67448975)
        {
            // Φ(x) = 0.5 + x·R(x²) near 0.
            double xnum = 0, xden = 0;
            if (y > 1.1102230246251565e-16)
            {
                var xsq = x * x;
                xnum = A[4] * xsq;
                xden = xsq;
                for (var i = 0; i < 3; i++)
                {
                    xnum = (xnum + A[i]) * xsq;
                    xden = (xden + B[i]) * xsq;
                }
            }
            var temp = x * (xnum + A[3]) / (xden + B[3]);
            return 0.5 - temp;
        }

        double lowerOfMinusY; // Φ(−|x|)
        if (y <= 5.656854249492380195206754896838) // √32
        {
            var xnum = C[8] * y;
            var xden = y;
            for (var i = 0; i < 7; i++)
            {
                xnum = (xnum + C[i]) * y;
                xden = (xden + D[i]) * y;
            }
            lowerOfMinusY = GaussianFactor(y) * (xnum + C[7]) / (xden + D[7]);
        }
        else if (y < 37.5193)
        {
            var xsq = 1.0 / (x * x);
            var xnum = P[5] * xsq;
            var xden = xsq;
            for (var i = 0; i < 4; i++)
            {
                xnum = (xnum + P[i]) * xsq;
                xden = (xden + Q[i]) * xsq;
            }
            var temp = xsq * (xnum + P[4]) / (xden + Q[4]);
            temp = (OneOverSqrt2Pi - temp) / y;
            lowerOfMinusY = GaussianFactor(y) * temp;
        }
        else
        {
            lowerOfMinusY = 0; // below the smallest double
        }
        return x > 0 ? lowerOfMinusY : 1 - lowerOfMinusY;

        // exp(−y²/2) as exp(−ỹ²/2)·exp(−(y − ỹ)(y + ỹ)/2) with ỹ = y rounded down to 1/16: y² itself would lose
        // the low bits that exp amplifies for large y.
        static double GaussianFactor(double y)
        {
            var ys = Math.Truncate(y * 16) / 16;
            var del = (y - ys) * (y + ys);
            return Math.Exp(-ys * ys * 0.5) * Math.Exp(-del * 0.5);
        }
    }

    private const double OneOverSqrt2Pi = 0.398942280401432677939946059934;

    private static readonly double[] A =
    [
        2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582, 18154.981253343561249, 0.065682337918207449113,
    ];

    private static readonly double[] B =
    [
        47.20258190468824187, 976.09855173777669322, 10260.932208618978205, 45507.789335026729956,
    ];

    private static readonly double[] C =
    [
        0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979, 597.27027639480026226, 2494.5375852903726711,
        6848.1904505362823326, 11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8,
    ];

    private static readonly double[] D =
    [
        22.266688044328115691, 235.38790178262499861, 1519.377599407554805, 6485.558298266760755, 18615.571640885098091,
        34900.952721145977266, 38912.003286093271411, 19685.429676859990727,
    ];

    private static readonly double[] P =
    [
        0.21589853405795699, 0.1274011611602473639, 0.022235277870649807, 0.001421619193227893466, 2.9112874951168792e-5,
        0.02307344176494017303,
    ];

    private static readonly double[] Q =
    [
        1.28426009614491121, 0.468238212480865118, 0.0659881378689285515, 0.00378239633202758244, 7.29751555083966205e-5,
    ];

    private static (double Mean, double Variance) MeanAndVariance(IReadOnlyList<double> values, string name)
    {
        // Welford: one pass, no catastrophic cancellation for large counts.
        double mean = 0, m2 = 0;
        for (var i = 0; i < values.Count; i++)
        {
            var v = values[i];
            if (!double.IsFinite(v))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Value {i} is not finite."), name);
            }
            var delta = v - mean;
            mean += delta / (i + 1);
            m2 += delta * (v - mean);
        }
        return (mean, values.Count > 1 ? m2 / (values.Count - 1) : 0);
    }

    private static string EmptyArmNote(long nT, long nC) =>
        nT == 0 && nC == 0 ? "undefined: both arms are empty" : $"undefined: the {(nT == 0 ? "treatment" : "control")} arm is empty";

    private static LiftEstimate Undefined(string metric, double control, double treatment, string test, string note) =>
        new(metric, control, treatment, 0, 0, 0, 1, test) { Note = note };
}
