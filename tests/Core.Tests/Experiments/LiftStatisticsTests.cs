using System.Text.Json;
using RoleGen.Core.Experiments;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests.Experiments;

public class LiftStatisticsTests
{
    // Reference values: 0.5·erfc(x/√2) from CPython's math.erfc. Rounding x/√2 to a double already moves the reference
    // by about x²·1.1e-16 relative (d ln Q / dx ≈ −x), so the tolerance is 1e-14·max(1, x²).
    [Theory]
    [InlineData(0.0, 0.5)]
    [InlineData(0.3, 0.3820885778110474)]
    [InlineData(0.67, 0.25142889509531013)]
    [InlineData(0.68, 0.24825223045357053)]
    [InlineData(1.0, 0.15865525393145707)]
    [InlineData(3.0, 0.0013498980316300957)]
    [InlineData(5.0, 2.866515718791946e-07)]
    [InlineData(5.65, 8.022391850663509e-09)]
    [InlineData(5.66, 7.568649751997724e-09)]
    [InlineData(7.0, 1.279812543885835e-12)]
    [InlineData(8.3, 5.2055697448902866e-17)]
    [InlineData(10.0, 7.619853024160593e-24)]
    [InlineData(20.0, 2.7536241186063314e-89)]
    [InlineData(37.0, 5.725571222525139e-300)]
    [InlineData(-1.0, 0.8413447460685429)]
    [InlineData(-3.0, 0.9986501019683699)]
    [InlineData(-6.0, 0.9999999990134123)]
    public void NormalUpperTail_MatchesErfcToRelative1e14(double x, double expected)
    {
        var actual = LiftStatistics.NormalUpperTail(x);
        Assert.True(Math.Abs(actual - expected) <= 1e-14 * Math.Max(1, x * x) * expected, $"Q({x}) = {actual:R}, expected {expected:R}");
    }

    [Fact]
    public void NormalCdf_KnownQuantilesAndTwoSidedPValues()
    {
        Assert.Equal(0.975, LiftStatistics.NormalCdf(1.959964), 8); // exactly 0.97500000090 (1.959964 is rounded)
        Assert.Equal(0.975, LiftStatistics.NormalCdf(LiftStatistics.Z975), 15);
        Assert.Equal(0.5, LiftStatistics.NormalCdf(0), 15);
        Assert.Equal(0.0026997960632601914, LiftStatistics.TwoSidedPValue(3), 15);
        Assert.Equal(0.0026997960632601914, LiftStatistics.TwoSidedPValue(-3), 15);
        var p5 = LiftStatistics.TwoSidedPValue(5);
        Assert.True(Math.Abs(p5 - 5.733031437583892e-07) < 1e-20, p5.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1.0, LiftStatistics.TwoSidedPValue(0));
        Assert.Equal(0.0, LiftStatistics.TwoSidedPValue(40));
    }

    [Fact]
    public void TwoProportions_60of1000Vs40of1000_HandComputed()
    {
        // pT = 0.06, pC = 0.04 → lift 0.06/0.04 − 1 = 0.5.
        // Pooled p = 100/2000 = 0.05, se0 = sqrt(0.05·0.95·(1/1000 + 1/1000)) = sqrt(0.000095) = 0.0097468,
        // z = 0.02 / 0.0097468 = 2.05196, p = 2·(1 − Φ(2.05196)) = 0.040174.
        // CI: ln(1.5) = 0.405465, se = sqrt(0.94/60 + 0.96/40) = sqrt(0.0156667 + 0.024) = 0.199165,
        // exp(0.405465 ∓ 1.959964·0.199165) − 1 = exp(0.015108) − 1 = 0.015224 and exp(0.795822) − 1 = 1.216260.
        var lift = LiftStatistics.TwoProportions("conversion-rate", 60, 1000, 40, 1000);

        Assert.Equal("conversion-rate", lift.Metric);
        Assert.Equal(0.04, lift.Control, 12);
        Assert.Equal(0.06, lift.Treatment, 12);
        Assert.Equal(0.5, lift.RelativeLift, 12);
        Assert.Equal(0.040173870, lift.PValue, 8);
        Assert.Equal(0.015223750, lift.CiLow, 8);
        Assert.Equal(1.216260209, lift.CiHigh, 8);
        Assert.Equal("two-proportion z-test (pooled), CI: delta-method log risk ratio", lift.Test);
        Assert.Null(lift.Note);
    }

    [Fact]
    public void TwoProportions_IdenticalArms_ZeroLiftPValueOneSymmetricLogCi()
    {
        // 50/1000 each: lift 0, z 0, p 1; se = sqrt(2·0.95/50) = 0.194936, CI exp(∓0.382067) − 1 = −0.317551 / 0.465311.
        var lift = LiftStatistics.TwoProportions("hit-rate", 50, 1000, 50, 1000);

        Assert.Equal(0, lift.RelativeLift, 12);
        Assert.Equal(1, lift.PValue, 12);
        Assert.Equal(-0.317550889, lift.CiLow, 8);
        Assert.Equal(0.465310723, lift.CiHigh, 8);
        Assert.Equal(1, (1 + lift.CiLow) * (1 + lift.CiHigh), 12); // symmetric on the log scale
    }

    [Fact]
    public void TwoProportions_SmallCounts_HandComputed()
    {
        // 2/3 vs 1/2: lift (2/3)/(1/2) − 1 = 1/3; pooled 3/5, se0 = sqrt(0.6·0.4·(1/3 + 1/2)) = sqrt(0.2) = 0.447214,
        // z = (1/6)/0.447214 = 0.372678, p = 0.709388; se = sqrt((1/3)/2 + (1/2)/1) = sqrt(2/3) = 0.816497,
        // CI exp(ln(4/3) ∓ 1.600303) − 1 = −0.730886 / 5.606050.
        var lift = LiftStatistics.TwoProportions("m", 2, 3, 1, 2);

        Assert.Equal(1.0 / 3, lift.RelativeLift, 12);
        Assert.Equal(0.709388115, lift.PValue, 8);
        Assert.Equal(-0.730886437, lift.CiLow, 8);
        Assert.Equal(5.606050454, lift.CiHigh, 8);
    }

    [Fact]
    public void TwoProportions_AllSuccessesInBothArms_ZeroLiftPValueOne()
    {
        var lift = LiftStatistics.TwoProportions("m", 10, 10, 5, 5);

        Assert.Equal(0, lift.RelativeLift);
        Assert.Equal(0, lift.CiLow);
        Assert.Equal(0, lift.CiHigh);
        Assert.Equal(1, lift.PValue);
        Assert.Null(lift.Note);
    }

    [Theory]
    [InlineData(0, 0, 4, 100, "treatment arm is empty")]
    [InlineData(4, 100, 0, 0, "control arm is empty")]
    [InlineData(0, 0, 0, 0, "both arms are empty")]
    [InlineData(5, 100, 0, 100, "control rate is 0")]
    [InlineData(0, 100, 5, 100, "treatment rate is 0")]
    [InlineData(0, 100, 0, 100, "no successes")]
    public void TwoProportions_Degenerate_UndefinedWithNoteAndNoNaN(long sT, long nT, long sC, long nC, string note)
    {
        var lift = LiftStatistics.TwoProportions("m", sT, nT, sC, nC);

        Assert.Contains(note, lift.Note, StringComparison.Ordinal);
        Assert.StartsWith("undefined", lift.Note, StringComparison.Ordinal);
        Assert.Equal((0.0, 0.0, 0.0, 1.0), (lift.RelativeLift, lift.CiLow, lift.CiHigh, lift.PValue));
        Assert.Equal(nT == 0 ? 0 : (double)sT / nT, lift.Treatment);
        Assert.Equal(nC == 0 ? 0 : (double)sC / nC, lift.Control);
        var json = JsonSerializer.Serialize(lift, RoleGenJson.Options);
        Assert.Contains("\"note\":", json, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoProportions_InvalidCounts_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LiftStatistics.TwoProportions("m", 11, 10, 1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => LiftStatistics.TwoProportions("m", -1, 10, 1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => LiftStatistics.TwoProportions("m", 1, 10, 1, -10));
    }

    [Fact]
    public void RatioOfMeans_HandComputed()
    {
        // T = [0,1,2,1,0,2]: mean 1, s² = (1+0+1+0+1+1)/5 = 0.8. C = [0,1,0,1,0,1]: mean 0.5, s² = 6·0.25/5 = 0.3.
        // lift 1/0.5 − 1 = 1. Log-ratio se = sqrt(0.8/(6·1) + 0.3/(6·0.25)) = sqrt(0.133333 + 0.2) = 0.577350,
        // CI exp(ln 2 ∓ 1.959964·0.577350) − 1 = −0.354957 / 5.201139.
        // Welch: se = sqrt(0.8/6 + 0.3/6) = 0.428174, z = 0.5/0.428174 = 1.167748, p = 0.242908.
        var lift = LiftStatistics.RatioOfMeans("orders-per-user", [0, 1, 2, 1, 0, 2], [0, 1, 0, 1, 0, 1]);

        Assert.Equal(0.5, lift.Control, 12);
        Assert.Equal(1, lift.Treatment, 12);
        Assert.Equal(1, lift.RelativeLift, 12);
        Assert.Equal(-0.354957165, lift.CiLow, 8);
        Assert.Equal(5.201138565, lift.CiHigh, 8);
        Assert.Equal(0.242908261, lift.PValue, 8);
        Assert.Equal("Welch z-test on means, CI: delta-method log ratio", lift.Test);
        Assert.Null(lift.Note);
    }

    [Fact]
    public void RatioOfMeans_IdenticalSamples_ZeroLiftPValueOne()
    {
        var lift = LiftStatistics.RatioOfMeans("m", [0, 1, 3], [3, 0, 1]);

        Assert.Equal(0, lift.RelativeLift, 12);
        Assert.Equal(1, lift.PValue, 12);
        Assert.True(lift.CiLow < 0 && lift.CiHigh > 0);
    }

    [Fact]
    public void RatioOfMeans_ZeroVariance_PValueFromMeansOnly()
    {
        var same = LiftStatistics.RatioOfMeans("m", [1, 1], [1, 1]);
        var different = LiftStatistics.RatioOfMeans("m", [2, 2], [1, 1]);

        Assert.Equal((0.0, 1.0), (same.RelativeLift, same.PValue));
        Assert.Equal((1.0, 1.0, 1.0, 0.0), (different.RelativeLift, different.CiLow, different.CiHigh, different.PValue));
    }

    [Fact]
    public void RatioOfMeans_Degenerate_UndefinedWithNote()
    {
        Assert.Contains("treatment arm", LiftStatistics.RatioOfMeans("m", [], [1, 2]).Note, StringComparison.Ordinal);
        Assert.Contains("control arm", LiftStatistics.RatioOfMeans("m", [1, 2], [1]).Note, StringComparison.Ordinal);
        Assert.Contains("control mean is 0", LiftStatistics.RatioOfMeans("m", [1, 2], [0, 0]).Note, StringComparison.Ordinal);
        Assert.Contains("treatment mean is 0", LiftStatistics.RatioOfMeans("m", [0, 0], [0, 1]).Note, StringComparison.Ordinal);
        var zeros = LiftStatistics.RatioOfMeans("m", [0, 0], [0, 0]);
        Assert.Equal((0.0, 0.0, 0.0, 1.0), (zeros.RelativeLift, zeros.CiLow, zeros.CiHigh, zeros.PValue));
        Assert.Throws<ArgumentException>(() => LiftStatistics.RatioOfMeans("m", [double.NaN, 1], [1, 2]));
    }
}
