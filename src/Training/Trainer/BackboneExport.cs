using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using RoleGen.Training.Data;
using RoleGen.Training.Model;
using RoleGen.Training.Onnx;

namespace RoleGen.Training;

/// <summary>The files a training run leaves in its output folder.</summary>
public sealed record TrainingArtifacts(string Directory, string ModelPath, string VocabularyPath, string MetricsPath, TrainingMetrics Metrics)
{
    public const string ModelFileName = "model.onnx";

    /// <summary>The conversion-only graph used by the counterfactual world model (optional for readers: older versions lack it).</summary>
    public const string ConversionModelFileName = "conversion.onnx";
    public const string VocabularyFileName = "vocab.json";
    public const string MetricsFileName = "train-metrics.json";
}

/// <summary>The train command's entry point: train with early stopping, then write model.onnx (ONNX-CONTRACT.md),
/// vocab.json and train-metrics.json to one folder.</summary>
public static class BackboneExport
{
    public static readonly JsonSerializerOptions MetricsJson = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary><see cref="TrainAndExport(SequenceCorpus, BackboneOptions, TrainingOptions, string, CancellationToken)"/>
    /// with the default model sizes (<see cref="BackboneOptions"/>: d=64, 1 layer, 2 heads, L=50, dropout 0.2, repeat head).</summary>
    public static TrainingArtifacts TrainAndExport(SequenceCorpus trainingData, TrainingOptions options, string outDir, CancellationToken cancellationToken = default) =>
        TrainAndExport(trainingData, new BackboneOptions(), options, outDir, cancellationToken);

    public static TrainingArtifacts TrainAndExport(
        SequenceCorpus trainingData,
        BackboneOptions model,
        TrainingOptions options,
        string outDir,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trainingData);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        Directory.CreateDirectory(outDir);
        using var trained = BackboneTrainer.Train(trainingData, model, options, cancellationToken);
        return Write(trained, trainingData.Vocabulary, outDir, trainingData.CollapseRepeats);
    }

    /// <summary>Writes the artefacts of an already trained model (model.onnx, conversion.onnx, vocab.json, train-metrics.json).</summary>
    /// <param name="collapseRepeats">Whether the training sequences had consecutive repeats collapsed (recorded in vocab.json).</param>
    public static TrainingArtifacts Write(TrainedBackbone trained, ItemVocabulary vocabulary, string outDir, bool collapseRepeats = false)
    {
        ArgumentNullException.ThrowIfNull(trained);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.Count != trained.Model.NumItems)
        {
            throw new ArgumentException($"vocabulary has {vocabulary.Count} items but the model {trained.Model.NumItems}", nameof(vocabulary));
        }
        Directory.CreateDirectory(outDir);
        var modelPath = Path.Combine(outDir, TrainingArtifacts.ModelFileName);
        var vocabPath = Path.Combine(outDir, TrainingArtifacts.VocabularyFileName);
        var metricsPath = Path.Combine(outDir, TrainingArtifacts.MetricsFileName);
        var metrics = trained.Metrics;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["best_epoch"] = metrics.BestEpoch.ToString(CultureInfo.InvariantCulture),
            ["seed"] = metrics.Training.Seed.ToString(CultureInfo.InvariantCulture),
        };
        if (metrics.BestValidation is { } validation)
        {
            metadata["val_recall_at_10"] = validation.Recall.ToString("R", CultureInfo.InvariantCulture);
            metadata["val_ndcg_at_10"] = validation.Ndcg.ToString("R", CultureInfo.InvariantCulture);
        }
        BackboneOnnxExporter.Export(trained.Model, modelPath, metadata);
        File.WriteAllBytes(Path.Combine(outDir, TrainingArtifacts.ConversionModelFileName), BackboneOnnxExporter.ExportConversionToBytes(trained.Model, metadata));
        vocabulary.Save(vocabPath, trained.Model.Options, collapseRepeats);
        using (var stream = File.Create(metricsPath))
        {
            JsonSerializer.Serialize(stream, metrics, MetricsJson);
        }
        return new TrainingArtifacts(outDir, modelPath, vocabPath, metricsPath, metrics);
    }
}
