using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RoleGen.Cli.Evaluation;
using RoleGen.Core.Cohort;
using RoleGen.Training.Data;

namespace RoleGen.Cli;

/// <summary>`rolegen eval` (offline evaluation: popularity vs transition baseline vs backbone) and `rolegen bench`
/// (scoring throughput and training speed).</summary>
public static class EvaluationCommands
{
    public static readonly Option<string> EvalDataset = new("--dataset")
    {
        Description = "beauty (Amazon Beauty, SASRec 'user item item ...' file; leave-one-out) or taobao (UserBehavior CSV; temporal split).",
        Required = true,
    };

    public static readonly Option<FileInfo> Data = new("--data") { Description = "The dataset file.", Required = true };
    public static readonly Option<string> ModelDir = new("--model-dir") { Description = "Folder with model.onnx + vocab.json of a backbone already trained on this split's train part (skips training)." };
    public static readonly Option<FileInfo> Out = new("--out") { Description = "Report JSON (default: eval-{dataset}.json)." };
    public static readonly Option<string> WorkDir = new("--work-dir") { Description = "Where a freshly trained backbone is written (default: {out without .json}-backbone)." };
    public static readonly Option<int> Epochs = new("--epochs") { Description = "Backbone: maximum epochs (validation early stopping usually ends before).", DefaultValueFactory = _ => 200 };
    public static readonly Option<double> Budget = new("--budget-seconds") { Description = "Backbone: stop training after this long, keeping the best validation epoch (0 = no limit)." };
    public static readonly Option<long> EvalSeed = new("--seed") { Description = "Backbone training seed.", DefaultValueFactory = _ => 42 };
    public static readonly Option<int> Threads = new("--threads") { Description = "torch / ONNX Runtime intra-op threads (0 = all cores)." };
    public static readonly Option<string> Exclude = new("--exclude")
    {
        Description = "Items never recommended nor counted: history (every item of the user's input history; the standard for Beauty, the default there) " +
                      "or purchased (only items bought in it: what production does, and the default for taobao, where browsed items are bought later).",
    };
    public static readonly Option<long> SplitTime = new("--split-time")
    {
        Description = "Taobao: split time, Unix seconds (default 1512057600 = 2017-12-01 00:00 UTC+8).",
        DefaultValueFactory = _ => TaobaoSplit.DefaultSplit,
    };
    public static readonly Option<bool> NoBackbone = new("--skip-backbone") { Description = "Evaluate only the popularity and transition baselines." };

    public static readonly Option<string> BenchItems = new("--items") { Description = "Comma-separated vocabulary sizes.", DefaultValueFactory = _ => "20000,100000" };
    public static readonly Option<string> BenchBatches = new("--batches") { Description = "Comma-separated batch sizes (users per ONNX Runtime call).", DefaultValueFactory = _ => "1,64,512" };
    public static readonly Option<int> BenchDim = new("--dim") { Description = "Backbone width d (2 layers, 2 heads, L=50).", DefaultValueFactory = _ => 64 };
    public static readonly Option<int> BenchFfn = new("--ffn") { Description = "Feed-forward width (0 = d, the training default: SASRec's point-wise width; 256 = 4 × d)." };
    public static readonly Option<int> BenchThreads = new("--threads") { Description = "Intra-op threads.", DefaultValueFactory = _ => 2 };
    public static readonly Option<double> BenchSeconds = new("--seconds") { Description = "Timed seconds per (items, batch) after warm-up.", DefaultValueFactory = _ => 5 };
    public static readonly Option<FileInfo> BenchData = new("--data") { Description = "Amazon Beauty file (SASRec format).", Required = true };
    public static readonly Option<int> BenchEpochs = new("--epochs") { Description = "Epochs to time.", DefaultValueFactory = _ => 2 };
    public static readonly Option<int> BenchTrainThreads = new("--threads") { Description = "torch intra-op threads (0 = all cores)." };

    public static readonly Option<int> ReasonUsers = new("--users") { Description = "Demo-world users generated (about two thirds are dormant).", DefaultValueFactory = _ => 20_000 };
    public static readonly Option<int> ReasonItems = new("--items") { Description = "Backbone vocabulary size (demo items padded with filler ids).", DefaultValueFactory = _ => 20_000 };
    public static readonly Option<string> ReasonInterventions = new("--interventions") { Description = "Comma-separated M values (interventions evaluated per user).", DefaultValueFactory = _ => "2,4" };
    public static readonly Option<int> ReasonBatch = new("--batch") { Description = "Users (scoring) / sequences (world model) per ONNX Runtime call.", DefaultValueFactory = _ => 256 };
    public static readonly Option<int> ReasonThreads = new("--threads") { Description = "Intra-op threads.", DefaultValueFactory = _ => 2 };
    public static readonly Option<int> ReasonRepeats = new("--repeats") { Description = "Timed repetitions; the fastest is reported.", DefaultValueFactory = _ => 3 };

    public static IReadOnlyList<Command> Build()
    {
        var eval = new Command("eval",
            "Offline evaluation on a public dataset: popularity, the transition baseline and the backbone (ONNX Runtime), full ranking over all items, " +
            "history items excluded; Recall@1/5/10 (Taobao also @20) and NDCG@5/10; prints a markdown table and writes JSON. " +
            "Set OMP_WAIT_POLICY=PASSIVE in the environment when training.")
        {
            EvalDataset, Data, ModelDir, Out, WorkDir, Epochs, Budget, EvalSeed, Threads, Exclude, SplitTime, NoBackbone,
        };
        eval.SetAction(EvalAsync);

        var score = new Command("score", "Users scored per second through OnnxBackbone (CPU) with a randomly initialised backbone: random full-length histories, 5 excluded items, top-20.")
        {
            BenchItems, BenchBatches, BenchDim, BenchFfn, BenchThreads, BenchSeconds,
        };
        score.SetAction(ScoreAsync);
        var train = new Command("train", "Seconds per training epoch of the backbone on Amazon Beauty (default sizes).")
        {
            BenchData, BenchEpochs, BenchTrainThreads,
        };
        train.SetAction(TrainAsync);
        var reason = new Command("reason", "Users per second of backbone-only scoring vs the embedded reasoner with counterfactual world-model passes, on the demo world's dormant users.")
        {
            ReasonUsers, ReasonItems, ReasonInterventions, ReasonBatch, ReasonThreads, ReasonRepeats,
        };
        reason.SetAction(ReasonAsync);
        var bench = new Command("bench", "Benchmarks: 'bench score' (ONNX Runtime scoring throughput), 'bench reason' (reasoning cost vs scoring) and 'bench train' (seconds per epoch).") { score, reason, train };
        return [eval, bench];
    }

    private static Task<int> EvalAsync(ParseResult parse, CancellationToken cancellationToken) => Guard(async () =>
    {
        var dataset = (parse.GetValue(EvalDataset) ?? "").Trim().ToLowerInvariant();
        var file = parse.GetValue(Data)!;
        if (!file.Exists)
        {
            throw new CliException(ExitCodes.BadInput, $"--data {file.FullName} does not exist.");
        }
        var exclusion = (parse.GetValue(Exclude) ?? (dataset == "taobao" ? "purchased" : "history")).Trim().ToLowerInvariant() switch
        {
            "history" => ExclusionMode.History,
            "purchased" => ExclusionMode.Purchased,
            var other => throw new CliException(ExitCodes.BadInput, $"--exclude must be history or purchased, not '{other}'."),
        };
        var modelDir = parse.GetValue(ModelDir);
        if (modelDir is not null && (!File.Exists(Path.Combine(modelDir, "model.onnx")) || !File.Exists(Path.Combine(modelDir, "vocab.json"))))
        {
            throw new CliException(ExitCodes.BadInput, $"--model-dir {modelDir} must contain model.onnx and vocab.json.");
        }
        var outFile = parse.GetValue(Out)?.FullName ?? Path.GetFullPath($"eval-{dataset}.json");
        var workDir = parse.GetValue(WorkDir) ?? Path.Combine(Path.GetDirectoryName(outFile) ?? ".", Path.GetFileNameWithoutExtension(outFile) + "-backbone");

        Console.WriteLine($"Loading {dataset} from {file.FullName}");
        EvalDataset data;
        switch (dataset)
        {
            case "beauty":
                data = BeautySplit.Create(SequenceCorpus.FromBeautyFile(file.FullName));
                break;
            case "taobao":
                await using (var stream = file.OpenRead())
                {
                    data = TaobaoSplit.Create(TaobaoSplit.ReadEvents(stream), parse.GetValue(SplitTime), new DormancyPolicy());
                }
                break;
            default:
                throw new CliException(ExitCodes.BadInput, $"--dataset must be beauty or taobao, not '{dataset}'.");
        }
        Console.WriteLine($"Split: {data.Split}");
        Console.WriteLine("Stats: " + string.Join(", ", data.Stats.Select(kv => $"{kv.Key} {kv.Value}")));
        var options = new EvalOptions
        {
            Exclusion = exclusion,
            ModelDir = modelDir,
            WorkDir = workDir,
            Epochs = parse.GetValue(Epochs),
            BudgetSeconds = parse.GetValue(Budget),
            Seed = parse.GetValue(EvalSeed),
            Threads = parse.GetValue(Threads),
            SkipBackbone = parse.GetValue(NoBackbone),
        };
        var report = await Evaluator.RunAsync(data, file.FullName, options, Console.WriteLine, cancellationToken).ConfigureAwait(false);
        Console.WriteLine();
        Console.WriteLine($"{dataset}: full ranking over all items, exclusion = {report.Exclusion}");
        Console.WriteLine(report.ToMarkdown());
        Directory.CreateDirectory(Path.GetDirectoryName(outFile) ?? ".");
        await File.WriteAllTextAsync(outFile, JsonSerializer.Serialize(report, EvalReport.Json), cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Report: {outFile}");
        return ExitCodes.Ok;
    });

    private static Task<int> ScoreAsync(ParseResult parse, CancellationToken cancellationToken) => Guard(() =>
    {
        var items = ParseList(parse.GetValue(BenchItems), "--items");
        var batches = ParseList(parse.GetValue(BenchBatches), "--batches");
        var dim = parse.GetValue(BenchDim);
        if (dim < 2 || dim % 2 != 0)
        {
            throw new CliException(ExitCodes.BadInput, "--dim must be an even number >= 2 (2 heads).");
        }
        var rows = Bench.Score(items, batches, dim, parse.GetValue(BenchThreads), parse.GetValue(BenchSeconds), 42, Console.WriteLine, cancellationToken, parse.GetValue(BenchFfn));
        Console.WriteLine();
        Console.WriteLine(Bench.ScoreTable(rows));
        return Task.FromResult(ExitCodes.Ok);
    });

    private static Task<int> ReasonAsync(ParseResult parse, CancellationToken cancellationToken) => Guard(async () =>
    {
        var users = parse.GetValue(ReasonUsers);
        var items = parse.GetValue(ReasonItems);
        var batch = parse.GetValue(ReasonBatch);
        if (users < 100 || items < 1 || batch < 1 || parse.GetValue(ReasonRepeats) < 1)
        {
            throw new CliException(ExitCodes.BadInput, "--users must be at least 100; --items, --batch and --repeats at least 1.");
        }
        var m = ParseList(parse.GetValue(ReasonInterventions), "--interventions");
        var rows = await ReasonBench.RunAsync(users, items, m, batch, parse.GetValue(ReasonThreads), parse.GetValue(ReasonRepeats), Console.WriteLine, cancellationToken).ConfigureAwait(false);
        Console.WriteLine();
        Console.WriteLine(ReasonBench.Table(rows));
        return ExitCodes.Ok;
    });

    private static Task<int> TrainAsync(ParseResult parse, CancellationToken cancellationToken) => Guard(() =>
    {
        var file = parse.GetValue(BenchData)!;
        if (!file.Exists)
        {
            throw new CliException(ExitCodes.BadInput, $"--data {file.FullName} does not exist.");
        }
        var epochs = parse.GetValue(BenchEpochs);
        if (epochs < 1)
        {
            throw new CliException(ExitCodes.BadInput, "--epochs must be at least 1.");
        }
        var metrics = Bench.Train(file.FullName, epochs, parse.GetValue(BenchTrainThreads), 42, Console.WriteLine, cancellationToken);
        Console.WriteLine();
        Console.WriteLine(Bench.TrainTable(metrics));
        return Task.FromResult(ExitCodes.Ok);
    });

    internal static int[] ParseList(string? text, string option)
    {
        var parts = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
            {
                throw new CliException(ExitCodes.BadInput, $"{option}: '{parts[i]}' is not a positive integer.");
            }
        }
        return values.Length > 0 ? values : throw new CliException(ExitCodes.BadInput, $"{option} is empty.");
    }

    private static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("Cancelled.").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }
    }
}
