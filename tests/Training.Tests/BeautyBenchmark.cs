using System.Globalization;
using RoleGen.Training;
using RoleGen.Training.Data;
using RoleGen.Training.Model;

namespace RoleGen.Training.Tests;

/// <summary>
/// Not a test: the Amazon Beauty benchmark behind a console entry point (too slow for the suite).
///   dotnet build tests/Training.Tests -c Release
///   dotnet tests/Training.Tests/bin/Release/net10.0/RoleGen.Training.Tests.dll beauty \
///       --data /work/shared/data/amazon-beauty/Beauty.txt --out /tmp/beauty-run [--loss sampled|full] [--epochs N]
///       [--batch N] [--lr X] [--dim N] [--layers N] [--heads N] [--ffn N] [--dropout X] [--maxlen N] [--patience N]
///       [--budget-seconds S] [--threads N] [--seed N] [--negatives N] [--sampling shared|per-position] [--eval-every N]
///       [--weight-decay X] [--repeat-head true|false] [--init-std X]
/// Trains with early stopping on validation, evaluates the test split once, and writes model.onnx, vocab.json and
/// train-metrics.json to --out (BackboneExport.TrainAndExport).
///   dotnet .../RoleGen.Training.Tests.dll onnx-eval --data <Beauty.txt> --out <dir of a run>
/// re-evaluates the leave-one-out test split through ONNX Runtime and the written model.onnx + vocab.json only
/// (the scoring adapter's path), to check the contract end to end.
/// </summary>
public static class BeautyBenchmark
{
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("beauty" or "onnx-eval"))
        {
            Console.Error.WriteLine("usage: RoleGen.Training.Tests.dll beauty|onnx-eval --data <Beauty.txt> --out <dir> [options] (see BeautyBenchmark.cs)");
            return 2;
        }
        var opts = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            opts[args[i].TrimStart('-')] = args[i + 1];
        }
        string Get(string key, string fallback) => opts.TryGetValue(key, out var v) ? v : fallback;
        if (args[0] == "onnx-eval")
        {
            return OnnxEvaluation.Run(Get("data", "/work/shared/data/amazon-beauty/Beauty.txt"), Get("out", Path.Combine(Path.GetTempPath(), "rolegen-beauty")));
        }
        int GetInt(string key, int fallback) => int.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        double GetDouble(string key, double fallback) => double.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

        var data = Get("data", "/work/shared/data/amazon-beauty/Beauty.txt");
        var outDir = Get("out", Path.Combine(Path.GetTempPath(), "rolegen-beauty"));
        var model = new BackboneOptions
        {
            Dim = GetInt("dim", 64),
            Layers = GetInt("layers", 2),
            Heads = GetInt("heads", 2),
            FeedForwardDim = GetInt("ffn", 0),
            MaxLength = GetInt("maxlen", 50),
            Dropout = GetDouble("dropout", 0.2),
            RepeatHead = bool.Parse(Get("repeat-head", "true")),
            EmbeddingInitStd = GetDouble("init-std", 0),
        };
        var budget = GetDouble("budget-seconds", 0);
        var training = new TrainingOptions
        {
            Epochs = GetInt("epochs", 200),
            BatchSize = GetInt("batch", 128),
            LearningRate = GetDouble("lr", new TrainingOptions().LearningRate),
            Patience = GetInt("patience", 5),
            Seed = GetInt("seed", 42),
            Threads = GetInt("threads", 0),
            Negatives = GetInt("negatives", new TrainingOptions().Negatives),
            EvalEvery = GetInt("eval-every", 1),
            Loss = Get("loss", "sampled") == "full" ? NextItemLoss.FullSoftmax : NextItemLoss.SampledSoftmax,
            Sampling = Get("sampling", "shared") == "per-position" ? NegativeSampling.PerPosition : NegativeSampling.Shared,
            WeightDecay = GetDouble("weight-decay", 0),
            TimeBudget = budget > 0 ? TimeSpan.FromSeconds(budget) : null,
            Log = Console.WriteLine,
        };
        var corpus = SequenceCorpus.FromBeautyFile(data);
        Console.WriteLine($"{data}: {corpus.UserIds.Count} users, {corpus.NumItems} items, {corpus.EventCount} events");
        var result = BackboneExport.TrainAndExport(corpus, model, training, outDir);
        Console.WriteLine(FormattableString.Invariant(
            $"wrote {result.ModelPath}, {result.VocabularyPath}, {result.MetricsPath}; {result.Metrics.MeanTrainSecondsPerEpoch:F1}s/epoch, total {result.Metrics.TotalSeconds:F0}s"));
        return 0;
    }
}
