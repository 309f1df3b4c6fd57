using RoleGen.Evaluation;

namespace RoleGen.Evaluation.Tests;

public sealed class BootstrapTests
{
    [Fact]
    public void ConstantVector_GivesZeroWidthInterval()
    {
        var ci = Bootstrap.MeanCi([0.25, 0.25, 0.25, 0.25]);
        Assert.Equal(0.25, ci.Lower, 12);
        Assert.Equal(0.25, ci.Upper, 12);
    }

    [Fact]
    public void EmptyVector_IsZero()
    {
        Assert.Equal(new ConfidenceInterval(0, 0), Bootstrap.MeanCi([]));
    }

    /// <summary>Two users {0, 1}: a resample mean is 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4, so the 2.5% quantile is
    /// 0 and the 97.5% quantile is 1 (each tail holds ~25% of the resamples, far more than 2.5%).</summary>
    [Fact]
    public void TwoPointVector_HasTheKnownResamplingDistribution()
    {
        var ci = Bootstrap.MeanCi([0.0, 1.0], resamples: 4000);
        Assert.Equal(0.0, ci.Lower, 12);
        Assert.Equal(1.0, ci.Upper, 12);
        // Wider intervals need a smaller level: at 40% the interval is the middle value only.
        var narrow = Bootstrap.MeanCi([0.0, 1.0], resamples: 4000, level: 0.4);
        Assert.Equal(0.5, narrow.Lower, 12);
        Assert.Equal(0.5, narrow.Upper, 12);
    }

    [Fact]
    public void SameSeed_IsReproducible_AndIntervalContainsTheMean()
    {
        var values = Enumerable.Range(0, 200).Select(i => i % 7 == 0 ? 1.0 : 0.0).ToArray();
        var a = Bootstrap.MeanCi(values, seed: 3);
        var b = Bootstrap.MeanCi(values, seed: 3);
        Assert.Equal(a, b);
        var mean = values.Average();
        Assert.InRange(mean, a.Lower, a.Upper);
        Assert.True(a.Upper - a.Lower > 0.03 && a.Upper - a.Lower < 0.15, $"{a.Lower} {a.Upper}");
    }

    [Fact]
    public void Quantile_InterpolatesLinearly()
    {
        double[] sorted = [0, 10, 20, 30, 40];
        Assert.Equal(0, Bootstrap.Quantile(sorted, 0), 12);
        Assert.Equal(20, Bootstrap.Quantile(sorted, 0.5), 12);
        Assert.Equal(5, Bootstrap.Quantile(sorted, 0.125), 12);
        Assert.Equal(40, Bootstrap.Quantile(sorted, 1), 12);
    }

    [Fact]
    public void Paired_IdenticalVectors_RatioIsExactlyOne()
    {
        double[] v = [0, 1, 0, 0, 1, 0.5];
        var r = Bootstrap.Paired(v, v, target: 1.062);
        Assert.Equal(1.0, r.Ratio!.Value, 12);
        Assert.Equal(1.0, r.RatioCi!.Lower, 12);
        Assert.Equal(1.0, r.RatioCi.Upper, 12);
        Assert.Equal(0.0, r.Diff, 12);
        Assert.Equal(new ConfidenceInterval(0, 0), r.DiffCi);
        Assert.Equal(0.0, r.ShareAtLeastTarget!.Value, 12); // 1 < 1.062 in every resample
        Assert.Equal(1.0, Bootstrap.Paired(v, v, target: 1.0).ShareAtLeastTarget!.Value, 12);
    }

    [Fact]
    public void Paired_ScaledVector_HasConstantRatio()
    {
        double[] b = [0.2, 0.4, 0, 1, 0.6];
        var a = b.Select(x => 1.1 * x).ToArray();
        var r = Bootstrap.Paired(a, b, target: 1.062);
        Assert.Equal(1.1, r.Ratio!.Value, 9);
        Assert.Equal(1.1, r.RatioCi!.Lower, 9);
        Assert.Equal(1.1, r.RatioCi.Upper, 9);
        Assert.Equal(1.0, r.ShareAtLeastTarget!.Value, 12);
        Assert.True(r.DiffCi.Lower >= 0);
        Assert.Equal(0.1 * b.Average(), r.Diff, 12);
    }

    [Fact]
    public void Paired_MeanOfBZero_RatioUndefinedWithReason()
    {
        var r = Bootstrap.Paired([1.0, 0.0], [0.0, 0.0], target: 1.062);
        Assert.Null(r.Ratio);
        Assert.Null(r.RatioCi);
        Assert.Null(r.ShareAtLeastTarget);
        Assert.Contains("mean of B is 0", r.Note, StringComparison.Ordinal);
        Assert.Equal(0.5, r.Diff, 12);
        Assert.Equal(0.0, r.DiffCi.Lower, 12);
        Assert.Equal(1.0, r.DiffCi.Upper, 12);
    }

    [Fact]
    public void Paired_SomeResamplesWithBothMeansZero_AreLeftOutOfTheRatio()
    {
        // User 0 scores for neither model: a resample that draws only user 0 (1/4 of them) has ratio 0/0.
        var r = Bootstrap.Paired([0.0, 2.0], [0.0, 1.0], resamples: 2000);
        Assert.Equal(2.0, r.Ratio!.Value, 12);
        Assert.InRange(r.UndefinedRatioResamples, 350, 650);
        Assert.Equal(2.0, r.RatioCi!.Lower, 12);
        Assert.Equal(2.0, r.RatioCi.Upper, 12);
        Assert.NotNull(r.Note);
    }

    [Fact]
    public void Paired_DifferentLengths_Throw()
    {
        Assert.Throws<ArgumentException>(() => Bootstrap.Paired([1.0], [1.0, 2.0]));
    }
}
