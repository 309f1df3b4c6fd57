using RoleGen.Training.Model;

namespace RoleGen.Training;

/// <summary>Recall@K and NDCG@K of a leave-one-out split (one target per user, full ranking over all items, the user's
/// history excluded).</summary>
public sealed record RankingMetrics(int K, int Users, double Recall, double Ndcg);

/// <summary>Calibration of the conversion head on held-out cases (label: the target event is cart or purchase):
/// ROC AUC (null when one class is missing), expected calibration error over <see cref="Bins"/> equal-width bins of the
/// predicted probability, Brier score and the reliability curve (per non-empty bin: mean prediction, observed rate, count).</summary>
public sealed record ConversionCalibration(int Cases, int Positives, double? Auc, double Ece, double Brier, IReadOnlyList<ReliabilityBin> Bins)
{
    public static ConversionCalibration Measure(IReadOnlyList<(double P, bool Label)> cases, int bins = 10)
    {
        ArgumentNullException.ThrowIfNull(cases);
        var sums = new (double P, double Y, int N)[bins];
        double brier = 0;
        foreach (var (p, label) in cases)
        {
            var b = Math.Clamp((int)(p * bins), 0, bins - 1);
            var y = label ? 1.0 : 0.0;
            sums[b] = (sums[b].P + p, sums[b].Y + y, sums[b].N + 1);
            brier += (p - y) * (p - y);
        }
        var n = Math.Max(1, cases.Count);
        var curve = new List<ReliabilityBin>();
        double ece = 0;
        for (var b = 0; b < bins; b++)
        {
            if (sums[b].N == 0)
            {
                continue;
            }
            var meanP = sums[b].P / sums[b].N;
            var rate = sums[b].Y / sums[b].N;
            ece += sums[b].N / (double)n * Math.Abs(meanP - rate);
            curve.Add(new ReliabilityBin((double)b / bins, (double)(b + 1) / bins, meanP, rate, sums[b].N));
        }
        return new ConversionCalibration(cases.Count, cases.Count(c => c.Label), RocAuc(cases), ece, brier / n, curve);
    }

    /// <summary>ROC AUC by ranks (ties averaged); null without both classes.</summary>
    public static double? RocAuc(IReadOnlyList<(double P, bool Label)> cases)
    {
        ArgumentNullException.ThrowIfNull(cases);
        var positives = cases.Count(c => c.Label);
        var negatives = cases.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            return null;
        }
        var sorted = cases.OrderBy(c => c.P).ToArray();
        double rankSum = 0;
        for (var i = 0; i < sorted.Length;)
        {
            var j = i;
            while (j < sorted.Length && sorted[j].P == sorted[i].P)
            {
                j++;
            }
            var rank = (i + 1 + j) / 2.0; // mean of ranks i+1..j
            for (var t = i; t < j; t++)
            {
                if (sorted[t].Label)
                {
                    rankSum += rank;
                }
            }
            i = j;
        }
        return (rankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }
}

public sealed record ReliabilityBin(double From, double To, double MeanPredicted, double ObservedRate, int Count);

/// <summary>One epoch of training.</summary>
public sealed record EpochMetrics(
    int Epoch,
    double Loss,
    double ItemLoss,
    double ConversionLoss,
    double TrainSeconds,
    RankingMetrics? Validation,
    double EvalSeconds);

/// <summary>Everything train-metrics.json holds.</summary>
public sealed record TrainingMetrics
{
    public string Format { get; init; } = "rolegen-backbone-train-metrics/1";

    public required BackboneOptions Model { get; init; }

    public required TrainingOptions Training { get; init; }

    public int NumItems { get; init; }

    public int Users { get; init; }

    public long TrainPositions { get; init; }

    public long Parameters { get; init; }

    public IReadOnlyList<EpochMetrics> Epochs { get; init; } = [];

    /// <summary>The epoch whose weights were kept (best validation NDCG@K).</summary>
    public int BestEpoch { get; init; }

    public RankingMetrics? BestValidation { get; init; }

    /// <summary>The conversion head of the kept weights on the validation cases (AUC, ECE, reliability curve).</summary>
    public ConversionCalibration? ValidationConversion { get; init; }

    /// <summary>Evaluated once on the test split after model selection; null when disabled or no user has 3+ events.</summary>
    public RankingMetrics? Test { get; init; }

    /// <summary>Why training ended: "patience", "epochs", "time-budget" or "cancelled".</summary>
    public string StopReason { get; init; } = "";

    public double MeanTrainSecondsPerEpoch { get; init; }

    public double TotalSeconds { get; init; }

    public int Threads { get; init; }

    public string TorchSharpVersion { get; init; } = "";
}
