using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RoleGen.Evaluation;
using RoleGen.Core.Cohort;
using RoleGen.Core.Storage;
using RoleGen.Core.Ingest;
using RoleGen.Training.Data;

namespace RoleGen.Cli;

/// <summary>`rolegen eval` (offline evaluation: popularity vs transition baseline vs backbone) and `rolegen bench`
/// (scoring throughput and training speed).</summary>
public static class EvaluationCommands
{
    private static readonly DormancyPolicy DefaultPolicy = new();

    public static readonly Option<FileInfo> Data = new("--data") { Description = "The behaviour log to evaluate (any --format; not used with --format demo)." };
    public static readonly Option<string> LogFormat = new("--format")
    {
        Description = "Format of --data: taobao | normalized (user_id,item_id[,category_id],event_type,timestamp) | otto | sasrec (S3-Rec 'user item item ...', e.g. Amazon Beauty) | demo (the demo world generated in memory; --users, --seed).",
    };
    public static readonly Option<string> EvalDataset = new("--dataset") { Description = "Name of the evaluated log in the report and the blob prefix (default: from the file name; demo: demo-s{seed})." };
    public static readonly Option<string> SplitKind = new("--split")
    {
        Description = "temporal (train before --split-time, relevant = items bought at/after it) or leave-one-out (the last event of each user; the default for sasrec).",
    };
    public static readonly Option<long?> SplitTime = new("--split-time")
    {
        Description = "Temporal split time, Unix seconds (default: the time that leaves the last 20% of the events as test).",
    };
    public static readonly Option<FileInfo> TestFile = new("--test")
    {
        Description = "An external test file of 'user_id,item_id' lines: train on the whole --data log, evaluate those users on those items.",
    };
    public static readonly Option<string> Cohort = new("--cohort")
    {
        Description = "Cohort printed and charted: all or dormant (the run's dormancy policy on the train window). The JSON keeps every cohort.",
        DefaultValueFactory = _ => "all",
    };
    public static readonly Option<int> EvalLookback = new("--lookback-days") { Description = "Dormancy look-back window in days (the run's policy).", DefaultValueFactory = _ => DefaultPolicy.LookbackDays };
    public static readonly Option<int> EvalMinViews = new("--min-views") { Description = "Dormancy: minimum views in the window.", DefaultValueFactory = _ => DefaultPolicy.MinViews };
    public static readonly Option<double> EvalMaxConversion = new("--max-conversion-rate") { Description = "Dormancy: maximum purchases/views.", DefaultValueFactory = _ => DefaultPolicy.MaxConversionRate };
    public static readonly Option<int> EvalMinActiveDays = new("--min-active-days") { Description = "Dormancy: minimum distinct active days (0 = off)." };
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
    public static readonly Option<long?> EvalSeed = new("--seed") { Description = "Backbone training seed (default 42); with --format demo also the seed of the generated world (default 7, held out from tuning)." };
    public static readonly Option<int> Threads = new("--threads") { Description = "torch / ONNX Runtime intra-op threads (0 = all cores)." };
    public static readonly Option<string> Exclude = new("--exclude")
    {
        Description = "Items never recommended nor counted: history (every item of the user's input history; the leave-one-out default) " +
                      "or purchased (only items bought in it: what production does; the temporal default, where browsed items are bought later).",
    };
    public static readonly Option<bool> NoBackbone = new("--skip-backbone") { Description = "Do not train/score the backbone (RoleGen then fuses over the transition baseline, with the statistical world model)." };
    public static readonly Option<bool> PublishTuning = new("--publish-tuning")
    {
        Description = "Write RoleGen's validated choice (ranker: backbone / transition / blend, and the fusion weights) to tuning/{dataset}/current.json " +
                      "in the blob store (--storage): nightly runs on that dataset apply it and record it in their manifest. Chosen on validation only.",
    };
    public static readonly Option<bool> NoRoleGen = new("--skip-rolegen") { Description = "Do not evaluate RoleGen (reasoner + fusion, weights chosen on a validation split of the train window)." };

    public static readonly Option<string> BenchItems = new("--items") { Description = "Comma-separated vocabulary sizes.", DefaultValueFactory = _ => "20000,100000" };
    public static readonly Option<string> BenchBatches = new("--batches") { Description = "Comma-separated batch sizes (users per ONNX Runtime call).", DefaultValueFactory = _ => "1,64,512" };
    public static readonly Option<int> BenchDim = new("--dim") { Description = "Backbone width d (2 layers, 2 heads, L=50).", DefaultValueFactory = _ => 64 };
    public static readonly Option<int> BenchFfn = new("--ffn") { Description = "Feed-forward width (0 = d, the training default: SASRec's point-wise width; 256 = 4 × d)." };
    public static readonly Option<int> BenchThreads = new("--threads") { Description = "Intra-op threads.", DefaultValueFactory = _ => 2 };
    public static readonly Option<double> BenchSeconds = new("--seconds") { Description = "Timed seconds per (items, batch, graph) after warm-up, split over the rounds.", DefaultValueFactory = _ => 6 };
    public static readonly Option<string> BenchGraphs = new("--graphs") { Description = "Comma-separated scoring graphs timed side by side: reference (full passes over all items), candidates (the exported default: exclusion on the top k + E candidates only).", DefaultValueFactory = _ => "reference,candidates" };
    public static readonly Option<int> BenchProfile = new("--profile") { Description = "Also profile this many calls of each graph with ONNX Runtime's profiler and print the kernel time per operator type (0 = off)." };
    public static readonly Option<string> BenchSpinning = new("--spinning") { Description = "Comma-separated intra-op spinning settings timed side by side: off (the scoring default), on (ONNX Runtime's default).", DefaultValueFactory = _ => "on,off" };
    public static readonly Option<int> BenchRounds = new("--rounds") { Description = "Interleaved rounds per (items, batch): each measures the FP32 GEMM peak, then times every graph; medians are reported.", DefaultValueFactory = _ => 3 };
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
        var eval = new Command("eval", "Offline evaluation of a log through the production pipeline: baselines, backbone, RoleGen.")
        {
            Data, LogFormat, EvalDataset, SplitKind, SplitTime, TestFile, Cohort, EvalLookback, EvalMinViews, EvalMaxConversion, EvalMinActiveDays,
            ModelDir, Out, WorkDir, Epochs, Budget, EvalSeed, Threads, Exclude, NoBackbone, NoRoleGen, DemoUsers, Resamples, BlobPrefix, NoUpload, PublishTuning,
        };
        eval.SetAction(EvalAsync);

        var score = new Command("score", "Users scored per second through OnnxBackbone (CPU) with a randomly initialised backbone (random full-length histories, 5 excluded items, top-20), the graph's GFLOP/s (analytic count) and its share of the FP32 GEMM peak measured in the same process.")
        {
            BenchItems, BenchBatches, BenchDim, BenchFfn, BenchThreads, BenchSeconds, BenchGraphs, BenchRounds, BenchProfile, BenchSpinning,
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
        var bench = new Command("bench", "Benchmarks: bench nightly | loop | score | reason | train (rolegen bench --help).")
        {
            BenchNightlyCommand.Build(), BenchLoopCommand.Build(), score, reason, train,
        };
        return [eval, bench];
    }

    private static Task<int> EvalAsync(ParseResult parse, CancellationToken cancellationToken) => Guard(async () =>
    {
        var formatText = (parse.GetValue(LogFormat) ?? "").Trim().ToLowerInvariant();
        var demo = formatText == "demo";
        EventFormat format = default;
        if (!demo && !EventFormats.TryParse(formatText, out format))
        {
            throw new CliException(ExitCodes.BadInput, formatText.Length == 0
                ? $"--format is required: {EventFormats.Names}|demo."
                : $"Unknown --format '{formatText}': use {EventFormats.Names}|demo.");
        }
        var cohort = (parse.GetValue(Cohort) ?? "all").Trim().ToLowerInvariant();
        if (cohort is not ("all" or "dormant"))
        {
            throw new CliException(ExitCodes.BadInput, $"--cohort must be all or dormant, not '{cohort}'.");
        }
        var resamples = parse.GetValue(Resamples);
        if (resamples < 1)
        {
            throw new CliException(ExitCodes.BadInput, "--resamples must be at least 1.");
        }
        var policy = new DormancyPolicy
        {
            LookbackDays = parse.GetValue(EvalLookback),
            MinViews = parse.GetValue(EvalMinViews),
            MaxConversionRate = parse.GetValue(EvalMaxConversion),
            MinActiveDays = parse.GetValue(EvalMinActiveDays),
        };
        if (policy.Validate() is { } invalidPolicy)
        {
            throw new CliException(ExitCodes.BadInput, invalidPolicy.Replace("LookbackDays", "--lookback-days", StringComparison.Ordinal)
                .Replace("MinViews", "--min-views", StringComparison.Ordinal).Replace("MaxConversionRate", "--max-conversion-rate", StringComparison.Ordinal)
                .Replace("MinActiveDays", "--min-active-days", StringComparison.Ordinal));
        }

        // The log: a file in any supported format, or the demo world generated in memory.
        EvalLog log;
        Core.Demo.DemoWorldGenerator? world = null;
        int demoSeed = 7, demoUsers = 0;
        if (demo)
        {
            demoUsers = parse.GetValue(DemoUsers);
            if (demoUsers < 1)
            {
                throw new CliException(ExitCodes.BadInput, "--users must be at least 1.");
            }
            var seed = parse.GetValue(EvalSeed) ?? 7;
            if (seed is < int.MinValue or > int.MaxValue)
            {
                throw new CliException(ExitCodes.BadInput, "--seed must fit in 32 bits for the demo world.");
            }
            demoSeed = (int)seed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Generating the demo world ({demoUsers} users, seed {demoSeed}) in memory"));
            (log, world) = EvalLog.Demo(demoUsers, demoSeed);
        }
        else
        {
            var file = parse.GetValue(Data) ?? throw new CliException(ExitCodes.BadInput, $"--data is required with --format {formatText} (the log file).");
            if (Directory.Exists(file.FullName))
            {
                throw new CliException(ExitCodes.BadInput, $"--data {file.FullName} is a directory: pass the log file itself.");
            }
            if (!file.Exists)
            {
                throw new CliException(ExitCodes.BadInput, $"--data {file.FullName} does not exist.");
            }
            Console.WriteLine($"Reading {file.FullName} as {formatText}");
            log = EvalLog.ReadFile(file.FullName, format, parse.GetValue(EvalDataset));
        }
        if (parse.GetValue(EvalDataset) is { Length: > 0 } named)
        {
            log = log with { Name = named };
        }
        if (log.QuarantineNote is { } quarantine)
        {
            Console.WriteLine(quarantine);
        }
        if (log.Events.Count == 0)
        {
            throw new CliException(ExitCodes.BadInput,
                $"No valid events in {log.Source} as '{formatText}' ({log.QuarantinedRows:N0} rows quarantined{(log.Samples.Count > 0 ? ", e.g. " + string.Join("; ", log.Samples) : "")}). Is --format right?");
        }

        var data = Split(parse, log, format, demo, policy);
        data.Notes.InsertRange(0, log.QuarantineNote is { } q ? [q] : []);
        var outFile = parse.GetValue(Out)?.FullName ?? Path.GetFullPath($"eval-{log.Name}.json");
        var created = DateTimeOffset.UtcNow;
        var prefix = parse.GetValue(BlobPrefix) ?? BlobLayout.EvalReportPrefix(log.Name, created);
        prefix = prefix.TrimStart('/');
        if (prefix.Length > 0 && !prefix.EndsWith('/'))
        {
            prefix += "/";
        }
        Console.WriteLine($"Split: {data.Split}");
        Console.WriteLine("Stats: " + string.Join(", ", data.Stats.Select(kv => $"{kv.Key} {kv.Value}")));
        var report = await Evaluator.RunAsync(data, log.Source, Options(parse, outFile, resamples), Console.WriteLine, cancellationToken).ConfigureAwait(false);

        DemoEvalReport? recovery = null;
        if (world is not null)
        {
            Console.WriteLine("Measuring trigger recovery on the demo world's ground truth");
            recovery = await DemoEvaluation.RunAsync(demoUsers, demoSeed, cancellationToken).ConfigureAwait(false);
        }
        Console.WriteLine();
        Console.WriteLine($"{log.Name}: full ranking over all items, exclusion = {report.Exclusion}, cohort = {cohort}");
        Console.WriteLine(report.ToMarkdown(cohort));
        var markdown = $"# rolegen eval: {log.Name}\n\n{report.Split}; exclusion = {report.Exclusion}\n\n" + report.ToMarkdown();
        var html = report.ToHtml(chartCohort: report.Models.Any(m => m.Cohorts.Any(c => c.Cohort == cohort)) ? cohort : "all");
        var json = JsonSerializer.Serialize(report, EvalReport.Json);
        if (recovery is not null)
        {
            var section = recovery.ToMarkdown();
            Console.WriteLine("## Trigger recovery (demo ground truth)");
            Console.WriteLine(section);
            markdown += "\n## Trigger recovery (demo ground truth)\n\n" + section;
            html = html.Replace("</body>", recovery.ToHtmlSection() + "</body>", StringComparison.Ordinal);
            json = JsonSerializer.Serialize(new { report, triggerRecovery = recovery }, EvalReport.Json);
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
        if (parse.GetValue(PublishTuning))
        {
            await PublishTuningAsync(parse, report, data, log.Name, cancellationToken).ConfigureAwait(false);
        }
        return ExitCodes.Ok;
    });

    /// <summary>RoleGen's validated choice as the dataset's tuning (the nightly run applies it). Refused when RoleGen was
    /// not evaluated or had no validation split (a default is not a validated choice).</summary>
    private static async Task PublishTuningAsync(ParseResult parse, EvalReport report, EvalDataset data, string dataset, CancellationToken cancellationToken)
    {
        var rolegen = report.Models.FirstOrDefault(m => m.Model == "rolegen")
            ?? throw new CliException(ExitCodes.BadInput, "--publish-tuning needs RoleGen in the evaluation (drop --skip-rolegen).");
        var weights = rolegen.Details?.GetValueOrDefault("chosenWeights") as Core.Reasoning.FusionWeights;
        if (weights is null || !weights.Version.StartsWith("validated-", StringComparison.Ordinal))
        {
            throw new CliException(ExitCodes.BadInput, "--publish-tuning: this evaluation had no validation split, so there is no validated choice to publish.");
        }
        var backboneWeight = (double)rolegen.Details!["backboneWeight"]!;
        var tuning = new Core.Scoring.RankerTuning(EventStore.ValidateDataset(dataset), backboneWeight, weights, data.ValidationNote ?? "validation split of the train window",
            (double)(rolegen.Details.GetValueOrDefault("validationRecallAt1") ?? 0.0), (double)(rolegen.Details.GetValueOrDefault("validationRecallAt10") ?? 0.0), DateTimeOffset.UtcNow);
        await using var host = await CliHost.StartAsync(CliCommon.Settings(parse), durable: false, cancellationToken).ConfigureAwait(false);
        await host.Store.WriteJsonAsync(BlobLayout.Tuning(tuning.Dataset), tuning, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Tuning: {tuning.Describe()} + fusion {weights.Version} → {host.Store.Describe(BlobLayout.Tuning(tuning.Dataset))} (nightly runs on '{tuning.Dataset}' apply it)");
    }

    /// <summary>The split the options ask for: an external --test file, leave-one-out, or temporal (the default except for sasrec).</summary>
    private static EvalDataset Split(ParseResult parse, EvalLog log, EventFormat format, bool demo, DormancyPolicy policy)
    {
        var splitText = parse.GetValue(SplitKind)?.Trim().ToLowerInvariant();
        var kind = splitText switch
        {
            null or "" => !demo && format == EventFormat.Sasrec ? "leave-one-out" : "temporal",
            "temporal" or "time" => "temporal",
            "leave-one-out" or "loo" => "leave-one-out",
            _ => throw new CliException(ExitCodes.BadInput, $"--split must be temporal or leave-one-out, not '{splitText}'."),
        };
        if (parse.GetValue(TestFile) is { } test)
        {
            if (!test.Exists)
            {
                throw new CliException(ExitCodes.BadInput, $"--test {test.FullName} does not exist.");
            }
            var pairs = EvalLog.ReadTestPairs(test.FullName, out var bad);
            if (pairs.Count == 0)
            {
                throw new CliException(ExitCodes.BadInput, $"--test {test.FullName} holds no 'user_id,item_id' line ({bad} malformed lines).");
            }
            var external = ExternalTestSplit.Create(log.Events, pairs, policy, log.Name);
            if (bad > 0)
            {
                external.Notes.Add($"--test: {bad} malformed lines skipped (expected user_id,item_id).");
            }
            return external;
        }
        if (kind == "leave-one-out")
        {
            return LeaveOneOutEvalSplit.Create(log.Events, policy, log.Name);
        }
        var splitTime = parse.GetValue(SplitTime);
        if (splitTime is { } t && (t <= log.Events.Min(e => e.Timestamp) || t > log.Events.Max(e => e.Timestamp)))
        {
            throw new CliException(ExitCodes.BadInput,
                $"--split-time {t} leaves no train or no test events: the log spans {log.Events.Min(e => e.Timestamp)}..{log.Events.Max(e => e.Timestamp)}.");
        }
        var data = TemporalSplit.Create(log.Events, splitTime, policy, log.Name);
        if (data.Users.Count == 0)
        {
            throw new CliException(ExitCodes.BadInput,
                $"The temporal split at {data.AsOf} leaves no user with a purchase after it: nothing to evaluate. Pass an earlier --split-time, --split leave-one-out, or --test.");
        }
        return data;
    }

    private static EvalOptions Options(ParseResult parse, string outFile, int resamples)
    {
        ExclusionMode? exclusion = parse.GetValue(Exclude)?.Trim().ToLowerInvariant() switch
        {
            null or "" => null,
            "history" => ExclusionMode.History,
            "purchased" => ExclusionMode.Purchased,
            var other => throw new CliException(ExitCodes.BadInput, $"--exclude must be history or purchased, not '{other}'."),
        };
        var modelDir = parse.GetValue(ModelDir);
        if (modelDir is not null && (!File.Exists(Path.Combine(modelDir, "model.onnx")) || !File.Exists(Path.Combine(modelDir, "vocab.json"))))
        {
            throw new CliException(ExitCodes.BadInput, $"--model-dir {modelDir} must contain model.onnx and vocab.json.");
        }
        return new EvalOptions
        {
            Exclusion = exclusion,
            ModelDir = modelDir,
            WorkDir = parse.GetValue(WorkDir) ?? Path.Combine(Path.GetDirectoryName(outFile) ?? ".", Path.GetFileNameWithoutExtension(outFile) + "-backbone"),
            Epochs = parse.GetValue(Epochs),
            BudgetSeconds = parse.GetValue(Budget),
            Seed = parse.GetValue(EvalSeed) ?? 42,
            Threads = parse.GetValue(Threads),
            SkipBackbone = parse.GetValue(NoBackbone),
            SkipRoleGen = parse.GetValue(NoRoleGen),
            Resamples = resamples,
        };
    }

    /// <summary>The markdown and HTML files next to the JSON report: x.json → x.md, x.html (any other name gets the suffixes appended).</summary>
    internal static (string Markdown, string Html) ReportFiles(string jsonFile)
    {
        var stem = jsonFile.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? jsonFile[..^".json".Length] : jsonFile;
        return (stem + ".md", stem + ".html");
    }

    /// <summary>Uploads the report files through the CLI's blob store. The local files are the primary output, so an
    /// unreachable store (Azurite not started) is a warning with the fix, and the command still succeeds.</summary>
    private static async Task UploadAsync(ParseResult parse, string prefix, IReadOnlyList<(string Name, string Text)> files, CancellationToken cancellationToken)
    {
        try
        {
            await using var host = await CliHost.StartAsync(CliCommon.Settings(parse), durable: false, cancellationToken).ConfigureAwait(false);
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
        var graphs = (parse.GetValue(BenchGraphs) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(g => Enum.TryParse<RoleGen.Training.Onnx.ScoringGraph>(g, ignoreCase: true, out var graph)
                ? graph
                : throw new CliException(ExitCodes.BadInput, $"--graphs: '{g}' is not one of reference, candidates."))
            .Distinct().ToArray();
        if (graphs.Length == 0)
        {
            throw new CliException(ExitCodes.BadInput, "--graphs needs at least one of reference, candidates.");
        }
        var spinning = (parse.GetValue(BenchSpinning) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => x.ToLowerInvariant() switch
            {
                "on" => true,
                "off" => false,
                _ => throw new CliException(ExitCodes.BadInput, $"--spinning: '{x}' is not on or off."),
            })
            .Distinct().ToArray();
        if (spinning.Length == 0)
        {
            throw new CliException(ExitCodes.BadInput, "--spinning needs on, off or both.");
        }
        var rounds = parse.GetValue(BenchRounds);
        if (rounds < 1)
        {
            throw new CliException(ExitCodes.BadInput, "--rounds must be at least 1.");
        }
        var rows = Bench.Score(items, batches, dim, parse.GetValue(BenchThreads), parse.GetValue(BenchSeconds), 42, Console.WriteLine, cancellationToken,
            parse.GetValue(BenchFfn), graphs, rounds, parse.GetValue(BenchProfile), spinning);
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

    internal static int[] ParseList(string? text, string option, bool allowEmpty = false)
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
        return values.Length > 0 || allowEmpty ? values : throw new CliException(ExitCodes.BadInput, $"{option} is empty.");
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
