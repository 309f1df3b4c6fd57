using System.Text.Json.Serialization;

namespace RoleGen.Training;

/// <summary>Which next-item loss the trainer optimises.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NextItemLoss>))]
public enum NextItemLoss
{
    /// <summary>Cross-entropy over all V items at every non-pad position.</summary>
    FullSoftmax,

    /// <summary>Cross-entropy over the target and <see cref="TrainingOptions.Negatives"/> uniformly sampled items shared by
    /// the batch (accidental hits masked).</summary>
    SampledSoftmax,
}

/// <summary>How <see cref="NextItemLoss.SampledSoftmax"/> draws its negatives.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NegativeSampling>))]
public enum NegativeSampling
{
    /// <summary><see cref="TrainingOptions.Negatives"/> distinct uniform items per batch, shared by every position.</summary>
    Shared,

    /// <summary><see cref="TrainingOptions.Negatives"/> uniform items (with replacement) drawn for each position on its own,
    /// as RecTools' SASRec (the tuned SASRec of blondered/transformer_benchmark) does: every item gets negative gradient
    /// far more often per batch, at the cost of a [positions, N, d] gather.</summary>
    PerPosition,
}

/// <summary>Optimisation settings. Defaults are the ones measured on Amazon Beauty (see the report in ONNX-CONTRACT.md).</summary>
public sealed record TrainingOptions
{
    /// <summary>Maximum epochs (early stopping usually ends training before).</summary>
    public int Epochs { get; init; } = 200;

    public double LearningRate { get; init; } = 2e-3;

    public int BatchSize { get; init; } = 128;

    /// <summary>Stop after this many validations without a better validation NDCG@10.</summary>
    public int Patience { get; init; } = 5;

    /// <summary>Seeds torch (weights, dropout, negatives) and the data order.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>torch intra-op threads; 0 = all cores.</summary>
    public int Threads { get; init; }

    /// <summary>Sampled softmax is ~3× faster per epoch than full softmax on Beauty (12k items) and reached the targets.
    /// With <see cref="Negatives"/> ≥ the number of items, full softmax is used instead.</summary>
    public NextItemLoss Loss { get; init; } = NextItemLoss.SampledSoftmax;

    /// <summary>Negatives per batch (<see cref="NegativeSampling.Shared"/>) or per position
    /// (<see cref="NegativeSampling.PerPosition"/>) for <see cref="NextItemLoss.SampledSoftmax"/>.</summary>
    public int Negatives { get; init; } = 1024;

    /// <summary>Where the sampled softmax's negatives come from (shared by the batch, or drawn per position).</summary>
    public NegativeSampling Sampling { get; init; } = NegativeSampling.Shared;

    /// <summary>Weight of the conversion head's BCE in the total loss.</summary>
    public double ConversionLossWeight { get; init; } = 0.2;

    public double WeightDecay { get; init; }

    /// <summary>Global gradient-norm clip; 0 disables.</summary>
    public double GradientClip { get; init; } = 5.0;

    /// <summary>Validate every this many epochs.</summary>
    public int EvalEvery { get; init; } = 1;

    public int EvalBatchSize { get; init; } = 512;

    /// <summary>Rank cut-off of the reported metrics (Recall@K, NDCG@K).</summary>
    public int MetricK { get; init; } = 10;

    /// <summary>Validation (and test) ranking excludes every item of the case's history (the leave-one-out protocol). False
    /// keeps history items rankable: the protocol of splits whose targets are often re-visits (temporal splits, where only
    /// purchased items are excluded), so that early stopping sees what the repeat head contributes.</summary>
    public bool ExcludeHistory { get; init; } = true;

    /// <summary>Evaluate the leave-one-out test split once, after early stopping (reported, never used for selection).</summary>
    public bool EvaluateTest { get; init; } = true;

    /// <summary>Stop (keeping the best model so far) once training has run this long; null = no limit.</summary>
    [JsonIgnore]
    public TimeSpan? TimeBudget { get; init; }

    public double? TimeBudgetSeconds => TimeBudget?.TotalSeconds;

    /// <summary>Receives one progress line per epoch (and a few more). Null = silent.</summary>
    [JsonIgnore]
    public Action<string>? Log { get; init; }

    public void Validate()
    {
        if (Epochs < 1 || BatchSize < 1 || Patience < 1 || EvalEvery < 1 || EvalBatchSize < 1 || MetricK < 1)
        {
            throw new ArgumentException("Epochs, BatchSize, Patience, EvalEvery, EvalBatchSize and MetricK must be positive.");
        }
        if (LearningRate <= 0 || Threads < 0 || Negatives < 1 || ConversionLossWeight < 0 || WeightDecay < 0 || GradientClip < 0)
        {
            throw new ArgumentException("LearningRate must be positive; Threads, ConversionLossWeight, WeightDecay, GradientClip non-negative; Negatives ≥ 1.");
        }
    }
}
