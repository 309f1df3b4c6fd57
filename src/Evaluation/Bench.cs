using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Infrastructure.Scoring;
using RoleGen.Training;
using RoleGen.Training.Data;
using RoleGen.Training.Model;
using RoleGen.Training.Native;
using RoleGen.Training.Onnx;
using TorchSharp;

namespace RoleGen.Evaluation;

/// <summary>One (items, batch, graph) of `rolegen bench score`. Users/s, GFLOP/s and % of peak are medians over the rounds;
/// each round measures the in-process GEMM peak right before it times the graphs, and its % of peak is against that peak.</summary>
public sealed record ScoreBenchRow(int Items, int Batch, ScoringGraph Graph, bool Spinning, long Calls, double Seconds, double UsersPerSecond, double P50Ms,
    double P90Ms, double MflopPerCall, double GflopsPerSecond, double PeakGflopsPerSecond, double PercentOfPeak, IReadOnlyList<double> RoundUsersPerSecond);

/// <summary>`rolegen bench`: scoring throughput through <see cref="OnnxBackbone"/> and training seconds per epoch.</summary>
public static class Bench
{
    public const int ExcludePerUser = 5;
    public const int TopK = 20;

    /// <summary>Times each graph in <paramref name="graphs"/> on the same random backbone and inputs, interleaved: each of
    /// <paramref name="rounds"/> rounds measures the FP32 GEMM peak (<see cref="GemmPeak"/>, same thread count), then runs every
    /// graph for <paramref name="seconds"/> / rounds (the order rotates from round to round). The FLOPs per call are <see cref="ScoringFlops"/> (analytic).</summary>
    public static IReadOnlyList<ScoreBenchRow> Score(IReadOnlyList<int> itemCounts, IReadOnlyList<int> batches, int dim, int threads, double seconds,
        long seed, Action<string> log, CancellationToken cancellationToken, int feedForwardDim = 0, IReadOnlyList<ScoringGraph>? graphs = null, int rounds = 3,
        int profileCalls = 0, IReadOnlyList<bool>? spinning = null)
    {
        ArgumentNullException.ThrowIfNull(itemCounts);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(log);
        graphs ??= [ScoringGraph.Reference, ScoringGraph.Candidates];
        spinning ??= [true, false];
        rounds = Math.Max(1, rounds);
        TorchNative.EnsureLoadable();
        var ci = CultureInfo.InvariantCulture;
        var rows = new List<ScoreBenchRow>();
        var model = new BackboneOptions { Dim = dim, FeedForwardDim = feedForwardDim };
        var length = model.MaxLength;
        foreach (var v in itemCounts)
        {
            torch.random.manual_seed(seed);
            var sessions = new List<(ScoringGraph Graph, bool Spinning, OnnxBackbone Backbone)>();
            var models = new List<byte[]>();
            try
            {
                using (var net = new SequenceBackbone(v, model))
                {
                    net.eval();
                    foreach (var graph in graphs)
                    {
                        var bytes = BackboneOnnxExporter.ExportToBytes(net, graph: graph);
                        foreach (var spin in spinning)
                        {
                            sessions.Add((graph, spin, OnnxBackbone.Create(bytes, length, new ScoringOptions { IntraOpThreads = threads, IntraOpSpinning = spin }, NullLogger.Instance)));
                            models.Add(bytes);
                        }
                        log(string.Create(ci, $"random backbone: {v} items, d={dim}, {model.Layers} layer(s), {model.Heads} heads, L={length}, FFN {model.EffectiveFeedForwardDim}; {graph} graph, ONNX {bytes.Length / 1e6:F1} MB; {threads} intra-op threads"));
                    }
                }
                var rng = new Random(unchecked((int)seed));
                foreach (var b in batches)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var (items, actions, exclude) = RandomInputs(rng, v, b, length);
                    var flops = ScoringFlops.Count(model, v, b);
                    var output = GemmPeak.Measure(b, dim, v, threads, 0.3, repeats: 2, spinning: false);
                    log(string.Create(ci, $"  items {v}, batch {b}: {flops.Total / 1e6:F1} MFLOP/call (output layer {flops.OutputLayer / flops.Total:P0}); the output layer's GEMM alone [{b}x{dim}]·[{dim}x{v}]: {output.GflopsPerSecond:F1} GFLOP/s"));
                    if (profileCalls > 0)
                    {
                        for (var s = 0; s < sessions.Count; s++)
                        {
                            var ops = OrtProfile.ByOperator(models[s], threads, profileCalls, session => RunRaw(session, items, actions, exclude, b, length));
                            var top = string.Join(", ", ops.Take(8).Select(o => string.Create(ci, $"{o.OpType} {o.Microseconds / 1000:F2} ms ({o.Share:P0})")));
                            log(string.Create(ci, $"    ONNX Runtime profile, {Label(sessions[s].Graph, sessions[s].Spinning)} ({profileCalls} calls, kernel time per call): {top}"));
                        }
                    }
                    foreach (var (_, _, backbone) in sessions)
                    {
                        // Warm-up: a few calls or 0.5 s, whichever ends later.
                        var warm = Stopwatch.StartNew();
                        for (var i = 0; i < 3 || warm.Elapsed.TotalSeconds < 0.5; i++)
                        {
                            backbone.Run(items, actions, exclude, b, ExcludePerUser, TopK);
                        }
                    }
                    var latencies = sessions.Select(_ => new List<double>()).ToArray();
                    var roundRates = sessions.Select(_ => new List<double>()).ToArray();
                    var roundRatios = sessions.Select(_ => new List<double>()).ToArray();
                    var totals = new double[sessions.Count];
                    var peaks = new List<double>();
                    for (var r = 0; r < rounds; r++)
                    {
                        var peak = GemmPeak.Peak(threads, 0.15, repeats: 2);
                        peaks.Add(peak.GflopsPerSecond);
                        log(string.Create(ci, $"    round {r + 1}: FP32 GEMM peak {peak.GflopsPerSecond:F1} GFLOP/s ({peak.M}x{peak.K}x{peak.N}, spinning {(peak.Spinning ? "on" : "off")})"));
                        for (var i = 0; i < sessions.Count; i++)
                        {
                            var s = (i + r) % sessions.Count; // rotate the order from round to round: no variant always runs first
                            var calls = 0;
                            var clock = Stopwatch.StartNew();
                            while (clock.Elapsed.TotalSeconds < seconds / rounds || calls < 3)
                            {
                                var call = Stopwatch.GetTimestamp();
                                sessions[s].Backbone.Run(items, actions, exclude, b, ExcludePerUser, TopK);
                                latencies[s].Add(Stopwatch.GetElapsedTime(call).TotalMilliseconds);
                                calls++;
                            }
                            var elapsed = clock.Elapsed.TotalSeconds;
                            totals[s] += elapsed;
                            var usersPerSecond = (double)b * calls / elapsed;
                            roundRates[s].Add(usersPerSecond);
                            roundRatios[s].Add(usersPerSecond / b * flops.Total / 1e9 / peak.GflopsPerSecond);
                            log(string.Create(ci, $"      {Label(sessions[s].Graph, sessions[s].Spinning),-16} {usersPerSecond,8:F0} users/s, {usersPerSecond / b * flops.Total / 1e9,6:F1} GFLOP/s = {roundRatios[s][^1],6:P1} of peak"));
                        }
                    }
                    for (var s = 0; s < sessions.Count; s++)
                    {
                        var sorted = latencies[s].Order().ToArray();
                        var usersPerSecond = Median(roundRates[s]);
                        var row = new ScoreBenchRow(v, b, sessions[s].Graph, sessions[s].Spinning, sorted.Length, totals[s], usersPerSecond,
                            sorted[sorted.Length / 2], sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.9))], flops.Total / 1e6,
                            usersPerSecond / b * flops.Total / 1e9, Median(peaks), 100 * Median(roundRatios[s]), roundRates[s]);
                        rows.Add(row);
                        log(string.Create(ci,
                            $"  items {v}, batch {b}, {Label(row.Graph, row.Spinning)}: {row.UsersPerSecond:F0} users/s (median of {rounds}), {row.GflopsPerSecond:F1} GFLOP/s, {row.PercentOfPeak:F1}% of peak, p50 {row.P50Ms:F2} ms, p90 {row.P90Ms:F2} ms ({row.Calls} calls in {row.Seconds:F1} s)"));
                    }
                }
            }
            finally
            {
                foreach (var (_, _, backbone) in sessions)
                {
                    backbone.Dispose();
                }
            }
        }
        return rows;
    }

    private static IDisposable RunRaw(Microsoft.ML.OnnxRuntime.InferenceSession session, long[] items, long[] actions, long[] exclude, int b, int length)
    {
        using var itemsValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(items, [b, length]);
        using var actionsValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(actions, [b, length]);
        using var excludeValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(exclude, [b, ExcludePerUser]);
        using var kValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(new long[] { TopK }, [1]);
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        return session.Run(runOptions, ["items", "actions", "exclude", "k"], [itemsValue, actionsValue, excludeValue, kValue], ["top_items", "top_scores", "conversion"]);
    }

    private static (long[] Items, long[] Actions, long[] Exclude) RandomInputs(Random rng, int v, int b, int length)
    {
        var items = new long[b * length];
        var actions = new long[b * length];
        var exclude = new long[b * ExcludePerUser];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = rng.Next(1, v + 1);
            actions[i] = rng.Next(ActionTokens.View, ActionTokens.Purchase + 1);
        }
        for (var i = 0; i < exclude.Length; i++)
        {
            exclude[i] = rng.Next(1, v + 1);
        }
        return (items, actions, exclude);
    }

    private static string Label(ScoringGraph graph, bool spinning) => spinning ? graph.ToString() : $"{graph} no-spin";

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string ScoreTable(IReadOnlyList<ScoreBenchRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| items | batch | graph | users/s (median) | rounds users/s | MFLOP/call | GFLOP/s | GEMM peak GFLOP/s | % of peak | p50 ms/batch | p90 ms/batch | calls |");
        sb.AppendLine("| ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            var roundsText = string.Join(" / ", r.RoundUsersPerSecond.Select(x => x.ToString("F0", ci)));
            sb.AppendLine(ci, $"| {r.Items} | {r.Batch} | {Label(r.Graph, r.Spinning)} | {r.UsersPerSecond:F0} | {roundsText} | {r.MflopPerCall:F1} | {r.GflopsPerSecond:F1} | {r.PeakGflopsPerSecond:F1} | {r.PercentOfPeak:F1} | {r.P50Ms:F2} | {r.P90Ms:F2} | {r.Calls} |");
        }
        return sb.ToString();
    }

    /// <summary>Trains on the Beauty file for a fixed number of epochs (no early stopping, no test evaluation).</summary>
    public static TrainingMetrics Train(string beautyFile, int epochs, int threads, long seed, Action<string> log, CancellationToken cancellationToken)
    {
        var corpus = SequenceCorpus.FromBeautyFile(beautyFile);
        var options = new TrainingOptions
        {
            Epochs = epochs,
            Patience = int.MaxValue / 2,
            Threads = threads,
            Seed = seed,
            EvaluateTest = false,
            Log = log,
        };
        using var trained = BackboneTrainer.Train(corpus, new BackboneOptions(), options, cancellationToken);
        return trained.Metrics;
    }

    public static string TrainTable(TrainingMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| epoch | train s | validation s | loss | val Recall@10 | val NDCG@10 |");
        sb.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var e in metrics.Epochs)
        {
            sb.AppendLine(ci, $"| {e.Epoch} | {e.TrainSeconds:F1} | {e.EvalSeconds:F1} | {e.Loss:F4} | {e.Validation?.Recall:F4} | {e.Validation?.Ndcg:F4} |");
        }
        sb.AppendLine(ci, $"\nmean train seconds/epoch: {metrics.MeanTrainSecondsPerEpoch:F2} ({metrics.Threads} threads, {metrics.TrainPositions} positions/epoch, {metrics.Parameters} parameters)");
        return sb.ToString();
    }
}
