using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RoleGen.Evaluation;
using RoleGen.Core.Cohort;
using RoleGen.Core.Storage;
using RoleGen.Training.Data;

namespace RoleGen.Cli;

/// <summary>`rolegen eval` (offline evaluation: popularity vs transition baseline vs backbone) and `rolegen bench`
/// (scoring throughput and training speed).</summary>
public static class EvaluationCommands
{
    public static readonly Option<string> EvalDataset = new("--dataset")
    {
        Description = "beauty (Amazon Beauty, SASRec 'user item item ...' file; leave-one-out), taobao (UserBehavior CSV; temporal split) " +
                      "or demo (generated in memory: does the reasoner recover the generator's ground-truth trigger items?).",
        Required = true,
    };

    public static readonly Option<FileInfo> Data = new("--data") { Description = "The dataset file (required for beauty and taobao; not used by demo)." };
    public static readonly Option<string> Cohort = new("--cohort")
    {
        Description = "Cohort printed and charted: all or dormant (taobao only). The JSON keeps every cohort.",
        DefaultValueFactory = _ => "all",
    };
    public static readonly Option<int> DemoUsers = new("--users") { Description = "demo: users in the generated world.", DefaultValueFactory = _ => 5_000 };
    public static readonly Option<int> Resamples = new("--resamples")
    {
        Description = "Bootstrap resamples (B) for the 95% CIs and the paired comparisons.",
        DefaultValueFactory = _ => Bootstrap.DefaultResamples,
    };
    public static readonly Option<string> BlobPrefix = new("--blob-prefix")
    {
        Description = "Blob folder the report (report.json, report.md, report.html) is uploaded to (default: reports/eval/{dataset}/{yyyyMMddTHHmmssZ}/).",
    };
    public static readonly Option<bool> NoUpload = new("--no-upload")
    {
        Description = "Only write the local files. Otherwise the report is also uploaded to the blob store (--storage; Azurite by default); " +
                      "an unreachable store is a warning, not an error.",
    };
    public static readonly Option<string> ModelDir = new("--model-dir") { Description = "Folder with model.onnx + vocab.json of a backbone already trained on this split's train part (skips training)." };
    public static readonly Option<FileInfo> Out = new("--out") { Description = "Report JSON (default: eval-{dataset}.json); the markdown and HTML reports are written next to it ({out}.md, {out}.html)." };
    public static readonly Option<string> WorkDir = new("--work-dir") { Description = "Where a freshly trained backbone is written (default: {out without .json}-backbone)." };
    public static readonly Option<int> Epochs = new("--epochs") { Description = "Backbone: maximum epochs (validation early stopping usually ends before).", DefaultValueFactory = _ => 200 };
    public static readonly Option<double> Budget = new("--budget-seconds") { Description = "Backbone: stop training after this long, keeping the best validation epoch (0 = no limit)." };
    public static readonly Option<long?> EvalSeed = new("--seed") { Description = "beauty/taobao: backbone training seed (default 42); demo: seed of the generated world (default 7, held out from tuning)." };
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
    public static readonly Option<bool> NoBackbone = new("--skip-backbone") { Description = "Do not train/score the backbone (RoleGen then fuses over the transition baseline, with the statistical world model)." };
    public static readonly Option<bool> NoRoleGen = new("--skip-rolegen") { Description = "Do not evaluate RoleGen (reasoner + fusion; Taobao only: its weights are chosen on a validation split of the train window)." };

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
    public static readonly Option<string> ReasonInterventions = new("--interventions") { Description = "Comma-separated M values (interventions evaluated per user).", DefaultValueFactory = _ => "2,3,4" };
    public static readonly Option<int> ReasonBatch = new("--batch") { Description = "Users (scoring) / sequences (world model) per ONNX Runtime call.", DefaultValueFactory = _ => 256 };
    public static readonly Option<int> ReasonThreads = new("--threads") { Description = "Intra-op threads.", DefaultValueFactory = _ => 2 };
    public static readonly Option<int> ReasonRepeats = new("--repeats") { Description = "Timed repetitions; the fastest is reported.", DefaultValueFactory = _ => 3 };

    public static IReadOnlyList<Command> Build()
    {
        var eval = new Command("eval",
            "Offline evaluation on a public dataset: popularity, the transition baseline and the backbone (ONNX Runtime), full ranking over all items, " +
            "history items excluded; Recall@1/5/10 (Taobao also @20) and NDCG@5/10 with percentile bootstrap 95% CIs over users, categories per top-10 list, " +
            "intra-list diversity ILD@10 and category coverage (taobao), paired bootstrap comparisons between models. " +
            "--dataset demo instead measures how well the reasoner recovers the demo generator's ground-truth trigger items. " +
            "Prints markdown; writes JSON, markdown and HTML (inline SVG charts) locally and uploads them to the blob store unless --no-upload. " +
            "Set OMP_WAIT_POLICY=PASSIVE in the environment when training.")
        {
            EvalDataset, Data, Cohort, ModelDir, Out, WorkDir, Epochs, Budget, EvalSeed, Threads, Exclude, SplitTime, NoBackbone, NoRoleGen,
            DemoUsers, Resamples, BlobPrefix, NoUpload,
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
        if (dataset is not ("beauty" or "taobao" or "demo"))
        {
            throw new CliException(ExitCodes.BadInput, $"--dataset must be beauty or taobao (with --data) or demo, not '{dataset}'.");
        }
        var cohort = (parse.GetValue(Cohort) ?? "all").Trim().ToLowerInvariant();
        if (cohort is not ("all" or "dormant"))
        {
            throw new CliException(ExitCodes.BadInput, $"--cohort must be all or dormant, not '{cohort}'.");
        }
        if (cohort == "dormant" && dataset != "taobao")
        {
            throw new CliException(ExitCodes.BadInput, $"--cohort dormant needs --dataset taobao: {dataset} has no dormant cohort (its users have no dormancy window).");
        }
        var resamples = parse.GetValue(Resamples);
        if (resamples < 1)
        {
            throw new CliException(ExitCodes.BadInput, "--resamples must be at least 1.");
        }
        var outFile = parse.GetValue(Out)?.FullName ?? Path.GetFullPath($"eval-{dataset}.json");
        var created = DateTimeOffset.UtcNow;
        var prefix = parse.GetValue(BlobPrefix) ?? string.Create(CultureInfo.InvariantCulture, $"reports/eval/{dataset}/{created:yyyyMMdd'T'HHmmss'Z'}/");
        prefix = prefix.TrimStart('/');
        if (prefix.Length > 0 && !prefix.EndsWith('/'))
        {
            prefix += "/";
        }

        string json, markdown, html;
        if (dataset == "demo")
        {
            var users = parse.GetValue(DemoUsers);
            if (users < 1)
            {
                throw new CliException(ExitCodes.BadInput, "--users must be at least 1.");
            }
            var seed = parse.GetValue(EvalSeed) ?? 7;
            if (seed is < int.MinValue or > int.MaxValue)
            {
                throw new CliException(ExitCodes.BadInput, "--seed must fit in 32 bits for the demo world.");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Generating the demo world ({users} users, seed {seed}) and building the behaviour-graph statistics"));
            var demo = await DemoEvaluation.RunAsync(users, (int)seed, cancellationToken).ConfigureAwait(false);
            markdown = demo.ToMarkdown();
            html = demo.ToHtml();
            json = JsonSerializer.Serialize(demo, EvalReport.Json);
            Console.WriteLine();
            Console.WriteLine(markdown);
        }
        else
        {
            var report = await EvaluateDatasetAsync(parse, dataset, outFile, resamples, cancellationToken).ConfigureAwait(false);
            Console.WriteLine();
            Console.WriteLine($"{dataset}: full ranking over all items, exclusion = {report.Exclusion}, cohort = {cohort}");
            Console.WriteLine(report.ToMarkdown(cohort));
            markdown = $"# rolegen eval: {dataset}\n\n{report.Split}; exclusion = {report.Exclusion}\n\n" + report.ToMarkdown();
            html = report.ToHtml(chartCohort: cohort);
            json = JsonSerializer.Serialize(report, EvalReport.Json);
        }

        var (mdFile, htmlFile) = ReportFiles(outFile);
        Directory.CreateDirectory(Path.GetDirectoryName(outFile) ?? ".");
        await File.WriteAllTextAsync(outFile, json, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(mdFile, markdown, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(htmlFile, html, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Report: {outFile}");
        Console.WriteLine($"        {mdFile}");
        Console.WriteLine($"        {htmlFile}");
        if (!parse.GetValue(NoUpload))
        {
            await UploadAsync(parse, prefix, [("report.json", json), ("report.md", markdown), ("report.html", html)], cancellationToken).ConfigureAwait(false);
        }
        return ExitCodes.Ok;
    });

    /// <summary>The markdown and HTML files next to the JSON report: x.json → x.md, x.html (any other name gets the suffixes appended).</summary>
    internal static (string Markdown, string Html) ReportFiles(string jsonFile)
    {
        var stem = jsonFile.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? jsonFile[..^".json".Length] : jsonFile;
        return (stem + ".md", stem + ".html");
    }

    private static async Task<EvalReport> EvaluateDatasetAsync(ParseResult parse, string dataset, string outFile, int resamples, CancellationToken cancellationToken)
    {
        var file = parse.GetValue(Data) ?? throw new CliException(ExitCodes.BadInput, $"--data is required for --dataset {dataset} (the dataset file).");
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
        var workDir = parse.GetValue(WorkDir) ?? Path.Combine(Path.GetDirectoryName(outFile) ?? ".", Path.GetFileNameWithoutExtension(outFile) + "-backbone");

        Console.WriteLine($"Loading {dataset} from {file.FullName}");
        EvalDataset data;
        if (dataset == "beauty")
        {
            data = BeautySplit.Create(SequenceCorpus.FromBeautyFile(file.FullName));
        }
        else
        {
            await using var stream = file.OpenRead();
            data = TaobaoSplit.Create(TaobaoSplit.ReadEvents(stream), parse.GetValue(SplitTime), new DormancyPolicy());
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
            Seed = parse.GetValue(EvalSeed) ?? 42,
            Threads = parse.GetValue(Threads),
            SkipBackbone = parse.GetValue(NoBackbone),
            SkipRoleGen = parse.GetValue(NoRoleGen),
            Resamples = resamples,
        };
        return await Evaluator.RunAsync(data, file.FullName, options, Console.WriteLine, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uploads the report files through the CLI's blob store. The local files are the primary output, so an
    /// unreachable store (Azurite not started) is a warning with the fix, and the command still succeeds.</summary>
    private static async Task UploadAsync(ParseResult parse, string prefix, IReadOnlyList<(string Name, string Text)> files, CancellationToken cancellationToken)
    {
        try
        {
            await using var host = await CliHost.StartAsync(Handlers.Settings(parse), durable: false, cancellationToken).ConfigureAwait(false);
            foreach (var (name, text) in files)
            {
                await host.Store.WriteTextAsync(prefix + name, text, cancellationToken).ConfigureAwait(false);
            }
            Console.WriteLine($"Uploaded: {host.Store.Describe(prefix)} ({string.Join(", ", files.Select(f => f.Name))})");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync(
                $"warning: the report was not uploaded to the blob store ({ex.Message.Trim()}). The local files above are complete. " +
                "Start Azurite with 'scripts/azurite.sh start' (or pass --storage / set ROLEGEN_STORAGE) and run again to upload, or pass --no-upload to skip this step.")
                .ConfigureAwait(false);
        }
    }

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
