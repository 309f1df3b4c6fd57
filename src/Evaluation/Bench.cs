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

public sealed record ScoreBenchRow(int Items, int Batch, long Calls, double Seconds, double UsersPerSecond, double P50Ms, double P90Ms);

/// <summary>`rolegen bench`: scoring throughput through <see cref="OnnxBackbone"/> and training seconds per epoch.</summary>
public static class Bench
{
    public const int ExcludePerUser = 5;
    public const int TopK = 20;

    public static IReadOnlyList<ScoreBenchRow> Score(IReadOnlyList<int> itemCounts, IReadOnlyList<int> batches, int dim, int threads, double seconds,
        long seed, Action<string> log, CancellationToken cancellationToken, int feedForwardDim = 0)
    {
        ArgumentNullException.ThrowIfNull(itemCounts);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(log);
        TorchNative.EnsureLoadable();
        var rows = new List<ScoreBenchRow>();
        var model = new BackboneOptions { Dim = dim, FeedForwardDim = feedForwardDim };
        var length = model.MaxLength;
        foreach (var v in itemCounts)
        {
            torch.random.manual_seed(seed);
            byte[] bytes;
            using (var net = new SequenceBackbone(v, model))
            {
                net.eval();
                bytes = BackboneOnnxExporter.ExportToBytes(net);
            }
            log(string.Create(CultureInfo.InvariantCulture,
                $"random backbone: {v} items, d={dim}, {model.Layers} layers, {model.Heads} heads, L={length}; ONNX {bytes.Length / 1e6:F1} MB; {threads} intra-op threads"));
            using var backbone = OnnxBackbone.Create(bytes, length, new ScoringOptions { IntraOpThreads = threads }, NullLogger.Instance);
            var rng = new Random(unchecked((int)seed));
            foreach (var b in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
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
                // Warm-up: a few calls or 0.5 s, whichever ends later.
                var warm = Stopwatch.StartNew();
                for (var i = 0; i < 3 || warm.Elapsed.TotalSeconds < 0.5; i++)
                {
                    backbone.Run(items, actions, exclude, b, ExcludePerUser, TopK);
                }
                var latencies = new List<double>();
                var total = Stopwatch.StartNew();
                while (total.Elapsed.TotalSeconds < seconds || latencies.Count < 3)
                {
                    var call = Stopwatch.GetTimestamp();
                    backbone.Run(items, actions, exclude, b, ExcludePerUser, TopK);
                    latencies.Add(Stopwatch.GetElapsedTime(call).TotalMilliseconds);
                }
                total.Stop();
                latencies.Sort();
                var row = new ScoreBenchRow(v, b, latencies.Count, total.Elapsed.TotalSeconds, (double)b * latencies.Count / total.Elapsed.TotalSeconds,
                    latencies[latencies.Count / 2], latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * 0.9))]);
                rows.Add(row);
                log(string.Create(CultureInfo.InvariantCulture,
                    $"  items {v}, batch {b}: {row.UsersPerSecond:F0} users/s, p50 {row.P50Ms:F2} ms, p90 {row.P90Ms:F2} ms ({row.Calls} calls in {row.Seconds:F1} s)"));
            }
        }
        return rows;
    }

    public static string ScoreTable(IReadOnlyList<ScoreBenchRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| items | batch | users/s | p50 ms/batch | p90 ms/batch | calls |");
        sb.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            sb.AppendLine(ci, $"| {r.Items} | {r.Batch} | {r.UsersPerSecond:F0} | {r.P50Ms:F2} | {r.P90Ms:F2} | {r.Calls} |");
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
