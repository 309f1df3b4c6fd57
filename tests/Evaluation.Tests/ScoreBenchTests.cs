using RoleGen.Training.Model;
using RoleGen.Training.Onnx;

namespace RoleGen.Evaluation.Tests;

/// <summary>`rolegen bench score`'s FLOP count, GEMM peak and the rates it derives from them.</summary>
public sealed class ScoreBenchTests
{
    /// <summary>The analytic count against a hand count, term by term, of a 2-block model (B=2, L=3, d=4, H=2, f=8, V=10):
    /// block 0 over all 3 positions, block 1 with keys/values over the window and the rest for the last position.</summary>
    [Fact]
    public void Flop_count_matches_a_hand_count_of_a_small_graph()
    {
        var options = new BackboneOptions { Dim = 4, Heads = 2, Layers = 2, MaxLength = 3, FeedForwardDim = 8, RepeatHead = true };
        var f = ScoringFlops.Count(options, numItems: 10, batch: 2);
        Assert.Equal(3 * 2 * 3 * 4, f.Embeddings); // 72
        Assert.Equal((8 * 2 * 3 * 4 + 8 * 2 * 3 * 4) + (8 * 2 * 3 * 4 + 8 * 2 * 1 * 4) + 8 * 2 * 4, f.Norms); // 384 + 256 + 64
        Assert.Equal(2 * (2 * 2 * 3 * 16 + 2 * 3 * 4) * 2 + (2 * (2 * 2 * 1 * 16 + 2 * 1 * 4) + 2 * (2 * 2 * 3 * 16 + 2 * 3 * 4)), f.Projections); // 864 + 576
        Assert.Equal((2 * (2 * 2 * 3 * 3 * 4) + 7 * 2 * 2 * 3 * 3 + 2 * 3 * 4) + (2 * (2 * 2 * 1 * 3 * 4) + 7 * 2 * 2 * 1 * 3 + 2 * 1 * 4), f.Attention); // 564 + 188
        Assert.Equal((2 * 2 * 3 * 4 * 8 * 2 + 2 * 3 * 12 + 2 * 3 * 8 + 2 * 3 * 4) + (2 * 2 * 1 * 4 * 8 * 2 + 2 * 1 * 12 + 2 * 1 * 8 + 2 * 1 * 4), f.FeedForward); // 912 + 304
        Assert.Equal(2 * 2 * 4 * 10, f.OutputLayer);
        Assert.Equal(2 * 2 * 4 + 2 * 2 + 2 * 2 * 4 + 2 * 2 * 3, f.Heads);
        Assert.Equal(72 + 704 + 1440 + 752 + 1216 + 160 + 48, f.Total); // 4392
        // Without the repeat head only the gate's terms go.
        Assert.Equal(4392 - (2 * 2 * 4 + 2 * 2 * 3), ScoringFlops.Count(options with { RepeatHead = false }, 10, 2).Total);
    }

    /// <summary>The bench's default size: the output layer (2·B·d·V) is about three quarters of a call.</summary>
    [Fact]
    public void Output_layer_dominates_at_20k_items()
    {
        var f = ScoringFlops.Count(new BackboneOptions(), numItems: 20_000, batch: 64);
        Assert.Equal(2.0 * 64 * 64 * 20_000, f.OutputLayer);
        Assert.InRange(f.Total / 1e6, 221.5, 222.5);
        Assert.InRange(f.OutputLayer / f.Total, 0.73, 0.75);
    }

    [Fact]
    public void Gemm_rate_is_the_flops_of_the_calls_made_over_their_time()
    {
        var rate = GemmPeak.Measure(64, 32, 100, threads: 1, seconds: 0.05, repeats: 2, spinning: false);
        Assert.Equal((64, 32, 100, false), (rate.M, rate.K, rate.N, rate.Spinning));
        Assert.True(rate.Calls >= 2);
        Assert.Equal(2.0 * 64 * 32 * 100 * rate.Calls / rate.Seconds / 1e9, rate.GflopsPerSecond, 9);
        Assert.True(rate.GflopsPerSecond > 0);
    }

    /// <summary>One small run: every graph × spinning setting gets a row whose GFLOP/s is its users/s times the analytic
    /// FLOPs per user, and whose % of peak is that over the GEMM peak measured in the same run.</summary>
    [Fact]
    public void Score_bench_reports_gflops_and_share_of_the_in_process_peak_for_each_graph()
    {
        var log = new List<string>();
        var rows = Bench.Score([300], [8], dim: 16, threads: 1, seconds: 0.2, seed: 3, log.Add, CancellationToken.None, rounds: 1);
        Assert.Equal(
            [(ScoringGraph.Reference, true), (ScoringGraph.Reference, false), (ScoringGraph.Candidates, true), (ScoringGraph.Candidates, false)],
            rows.Select(r => (r.Graph, r.Spinning)));
        var flops = ScoringFlops.Count(new BackboneOptions { Dim = 16 }, 300, 8);
        foreach (var r in rows)
        {
            Assert.Equal(flops.Total / 1e6, r.MflopPerCall, 9);
            Assert.Equal(r.UsersPerSecond / 8 * flops.Total / 1e9, r.GflopsPerSecond, 9);
            Assert.True(r.PeakGflopsPerSecond > 0);
            Assert.Equal(100 * r.GflopsPerSecond / r.PeakGflopsPerSecond, r.PercentOfPeak, 6); // one round: its own peak
            Assert.Single(r.RoundUsersPerSecond);
        }
        Assert.Contains(log, l => l.Contains("FP32 GEMM peak", StringComparison.Ordinal));
        var table = Bench.ScoreTable(rows);
        Assert.Contains("% of peak", table, StringComparison.Ordinal);
        Assert.Contains("Candidates no-spin", table, StringComparison.Ordinal);
    }
}
