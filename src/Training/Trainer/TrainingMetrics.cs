using RoleGen.Training.Model;

namespace RoleGen.Training;

/// <summary>Recall@K and NDCG@K of a leave-one-out split (one target per user, full ranking over all items, the user's
/// history excluded).</summary>
public sealed record RankingMetrics(int K, int Users, double Recall, double Ndcg);

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

    /// <summary>Evaluated once on the test split after model selection; null when disabled or no user has 3+ events.</summary>
    public RankingMetrics? Test { get; init; }

    /// <summary>Why training ended: "patience", "epochs", "time-budget" or "cancelled".</summary>
    public string StopReason { get; init; } = "";

    public double MeanTrainSecondsPerEpoch { get; init; }

    public double TotalSeconds { get; init; }

    public int Threads { get; init; }

    public string TorchSharpVersion { get; init; } = "";
}
