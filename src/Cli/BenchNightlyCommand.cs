using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using RoleGen.Core.Demo;
using RoleGen.Core.Experiments;
using RoleGen.Core.Ingest;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Cli;

/// <summary>
/// <c>rolegen bench nightly --users N[,N...]</c>: the nightly run at scale through the production path (local durable host,
/// the configured storage, the published backbone and the embedded reasoner). Per size: generates the demo world (not
/// timed), runs the nightly run and times it phase by phase (prepare = the one pass over the events, shards, finalize),
/// then simulates the outcomes (not timed) and times feedback + reflection. Reports users/s per phase, peak RSS of each
/// timed part (the kernel's high-water mark, reset before it), activity counts, orchestration overhead and the bytes
/// read per kind of blob (events must be read exactly once). Writes the table and a JSON file.
/// </summary>
internal static class BenchNightlyCommand
{
    private static readonly Option<string> Sizes = new("--users") { Description = "Comma-separated world sizes (users).", DefaultValueFactory = _ => "100000,300000,1000000" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed of the demo worlds (the backbone is trained on a world of the same seed: same catalogue).", DefaultValueFactory = _ => 42 };
    private static readonly Option<int> TrainSeconds = new("--train-seconds")
    {
        Description = "Train the backbone for about this many seconds on a world of --train-users users (once, not timed) and publish it for every size; 0 = no backbone (the transition baseline scores).",
        DefaultValueFactory = _ => 60,
    };
    private static readonly Option<int> TrainUsers = new("--train-users") { Description = "Users of the world the backbone is trained on.", DefaultValueFactory = _ => 20_000 };
    private static readonly Option<bool> NoFeedback = new("--no-feedback") { Description = "Time the run only (no outcome simulation, feedback or reflection)." };
    private static readonly Option<bool> NoReasoner = new("--no-reasoner") { Description = "Score with the model alone (no reasoner, no fusion)." };
    private static readonly Option<int> ShardSize = new("--shard-size") { Description = "Target users per shard.", DefaultValueFactory = _ => RunDefaults.ShardSize };
    private static readonly Option<FileInfo> Out = new("--out") { Description = "JSON results file.", DefaultValueFactory = _ => new FileInfo(Path.Combine(".rolegen", "bench", "nightly.json")) };

    public static Command Build()
    {
        var command = new Command("nightly",
            "The nightly run at scale, phase by phase (world generation and outcome simulation not timed): users/s, peak RSS, activities, overhead, bytes read per kind; then feedback + reflection.")
        {
            Sizes, Seed, TrainSeconds, TrainUsers, NoFeedback, NoReasoner, ShardSize, Out,
        };
        command.SetAction(RunAsync);
        return command;
    }

    /// <summary>One size's measurements.</summary>
    internal sealed record BenchRow(
        int Users,
        long Events,
        long EventBytes,
        long UsersInWindow,
        long Dormant,
        long Published,
        int Shards,
        string Model,
        double PrepareSeconds,
        double ShardsSeconds,
        double FinalizeSeconds,
        double RunSeconds,
        double Overhead,
        long RunPeakBytes,
        int RunActivities,
        int ShardBatches,
        IReadOnlyDictionary<string, long> RunBytesRead,
        long OutcomeEvents,
        double FeedbackSeconds,
        double ReflectionSeconds,
        long LoopPeakBytes,
        int LoopActivities,
        IReadOnlyDictionary<string, long> LoopBytesRead,
        long RunStartBytes,
        long LoopStartBytes,
        string? Note);

    private static Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var settings = CliCommon.Settings(parse);
        if (parse.GetResult(Commands.TaskHub) is not { Implicit: false })
        {
            // A task hub of its own per bench: a killed bench's instances stay in theirs instead of being resumed (and
            // timed) by the next bench on the shared default hub.
            settings = settings with { TaskHub = string.Create(CultureInfo.InvariantCulture, $"bench{DateTime.UtcNow:yyyyMMddHHmmss}") };
        }
        int[] sizes;
        try
        {
            sizes = [.. (parse.GetValue(Sizes) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, NumberStyles.AllowThousands, CultureInfo.InvariantCulture))];
        }
        catch (FormatException)
        {
            throw new CliException(ExitCodes.BadInput, "--users must be comma-separated whole numbers, e.g. 100000,300000,1000000.");
        }
        if (sizes.Length == 0 || sizes.Any(n => n < 100 || n > 50_000_000))
        {
            throw new CliException(ExitCodes.BadInput, "--users: give at least one size, each between 100 and 50,000,000.");
        }
        var seed = parse.GetValue(Seed);
        var counting = (CountingBlobStore?)null;
        await using var host = await CliHost.StartAsync(settings, durable: true, cancellationToken, inner => counting = new CountingBlobStore(inner)).ConfigureAwait(false);
        var store = host.Store;
        counting ??= store as CountingBlobStore ?? throw new InvalidOperationException("The bench's counting blob store is not in place.");
        Console.WriteLine($"Nightly bench: sizes {string.Join(", ", sizes.Select(n => n.ToString("N0", CliCommon.Ci)))}; seed {seed}; {Environment.ProcessorCount} cores; " +
                          $"{(settings.InMemory ? "in-memory" : "Azure Storage")} durable backend (task hub {settings.TaskHub}); storage {store.Describe("")}");
        var backbone = await TrainOnceAsync(host, parse.GetValue(TrainSeconds), parse.GetValue(TrainUsers), seed, cancellationToken).ConfigureAwait(false);

        var rows = new List<BenchRow>();
        foreach (var users in sizes)
        {
            rows.Add(await BenchOneAsync(host, counting, users, seed, backbone, parse, cancellationToken).ConfigureAwait(false));
            Console.WriteLine();
            Console.WriteLine(Table(rows));
        }
        var outFile = parse.GetValue(Out)!;
        Directory.CreateDirectory(outFile.DirectoryName!);
        await File.WriteAllTextAsync(outFile.FullName, JsonSerializer.Serialize(new
        {
            createdAt = DateTimeOffset.UtcNow,
            cores = Environment.ProcessorCount,
            backend = settings.InMemory ? "in-memory" : "azure-storage",
            seed,
            backbone = backbone?.Version,
            rows,
        }, RoleGenJson.Indented), cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Results: {outFile.FullName}");
        return ExitCodes.Ok;
    });

    /// <summary>The backbone every size scores with: trained once on a world of the same seed (the catalogue depends on the
    /// seed only) and kept in a local folder; null when --train-seconds is 0.</summary>
    private static async Task<(string Version, string Folder)?> TrainOnceAsync(CliHost host, int seconds, int users, int seed, CancellationToken cancellationToken)
    {
        if (seconds <= 0)
        {
            Console.WriteLine("Backbone: --train-seconds 0: the transition baseline scores (no backbone).");
            return null;
        }
        var dataset = $"bench-train-{seed}-{users}";
        var version = $"{dataset}-{seconds}s";
        var folder = Path.Combine(".rolegen", "bench", "models", version);
        if (File.Exists(Path.Combine(folder, BlobLayout.BackboneModelFile)) && File.Exists(Path.Combine(folder, BlobLayout.BackboneVocabularyFile)))
        {
            Console.WriteLine($"Backbone: reusing {folder} (delete it to retrain).");
            return (version, folder);
        }
        var watch = Stopwatch.StartNew();
        Console.WriteLine($"Backbone: generating a {users:N0}-user world (seed {seed}) and training for about {seconds} s (not timed)...");
        await host.Services.GetRequiredService<DemoWorldWriter>().WriteAsync(new DemoWorldOptions { Users = users, Seed = seed }, dataset, cancellationToken: cancellationToken).ConfigureAwait(false);
        var (artifacts, _) = await TrainCommand.TrainAsync(host.Store, null, EventFormat.Normalized, dataset,
            new Training.TrainingOptions { TimeBudget = TimeSpan.FromSeconds(seconds), EvaluateTest = false, Log = line => Console.WriteLine($"  {line}") },
            folder, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Backbone: trained in {watch.Elapsed.TotalSeconds:F0} s (best epoch {artifacts.Metrics.BestEpoch}, validation Recall@10 {artifacts.Metrics.BestValidation?.Recall:F4}).");
        return (version, folder);
    }

    private static async Task<BenchRow> BenchOneAsync(CliHost host, CountingBlobStore counting, int users, int seed, (string Version, string Folder)? backbone,
        ParseResult parse, CancellationToken cancellationToken)
    {
        var store = host.Store;
        var client = host.Client;
        var dataset = $"bench-{users}";
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CliCommon.Ci);
        var runId = $"bench-{users}-{stamp}";
        Console.WriteLine();
        Console.WriteLine($"== {users:N0} users: generating the world (not timed)...");
        var progress = ConsoleProgress.ForConsole();
        var (world, _) = await host.Services.GetRequiredService<DemoWorldWriter>().WriteAsync(new DemoWorldOptions { Users = users, Seed = seed }, dataset,
            new Progress<(long Users, long Events)>(p => progress.Report($"  generated {p.Users:N0} users, {p.Events:N0} events")),
            cancellationToken: cancellationToken).ConfigureAwait(false);
        progress.Done($"  generated {world.Users:N0} users, {world.Events:N0} events in {world.Seconds:F1} s");
        long eventBytes = 0;
        await foreach (var entry in store.ListAsync(BlobLayout.EventsPrefix(dataset), cancellationToken).ConfigureAwait(false))
        {
            if (CountingBlobStore.KindOf(entry.Path) == "events")
            {
                eventBytes += entry.Size;
            }
        }
        if (backbone is { } b)
        {
            var version = $"{b.Version}-for-{users}";
            await BackbonePublisher.PublishAsync(store, b.Folder, version, dataset, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"  backbone {version} published for '{dataset}'");
        }

        var request = new RunRequest
        {
            RunId = runId,
            Dataset = dataset,
            ShardSize = parse.GetValue(ShardSize),
            Reasoner = new Core.Reasoning.ReasonerOptions { Enabled = !parse.GetValue(NoReasoner) },
            Experiment = new ExperimentOptions { Name = $"bench-{stamp}" },
            TriggeredBy = "bench",
        };
        if (request.Validate() is { } invalid)
        {
            throw new CliException(ExitCodes.BadInput, invalid);
        }

        // ---- the run
        var before = counting.Snapshot();
        var runBaseline = ProcessMemory.SettleAndResetPeak();
        var watch = Stopwatch.StartNew();
        await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(NightlyRunOrchestrator)), request,
            new StartOrchestrationOptions { InstanceId = runId }, cancellationToken).ConfigureAwait(false);
        var meta = await RunConsole.WaitWithProgressAsync(client, runId, null, $"Run {runId} disappeared.", cancellationToken).ConfigureAwait(false);
        var runSeconds = watch.Elapsed.TotalSeconds;
        var runPeak = ProcessMemory.Peak();
        var runBytes = Read(before, counting.Snapshot());
        if (meta.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            throw new CliException(ExitCodes.FailedRun, $"Run {runId} ended {meta.RuntimeStatus}: {meta.FailureDetails?.ErrorMessage}");
        }
        var summary = meta.ReadOutputAs<RunSummary>()!;
        var manifest = await store.ReadJsonAsync<RunManifest>(summary.ManifestPath, cancellationToken).ConfigureAwait(false);
        var t = manifest.Timings;
        var prepare = t.SelectSeconds + t.ModelSeconds;
        var finalize = Math.Max(0, t.TotalSeconds - prepare - t.ShardsSeconds);
        var batches = manifest.Shards.Count == 0 ? 0 : (manifest.Shards.Count + NightlyRunOrchestrator.BatchSize(manifest.Shards.Count) - 1) / NightlyRunOrchestrator.BatchSize(manifest.Shards.Count);
        var shardExecutions = manifest.Shards.Sum(s => Math.Max(1, s.Executions));
        var activities = 1 + 1 + shardExecutions + 1; // resolve model, prepare, each shard execution, finalize
        var overhead = t.OverheadShare(CliHost.ActivitySlots, manifest.Shards.Count, request.MaxParallelShards, t.SelectSeconds);
        Console.WriteLine($"  run {summary.Status}: {manifest.Counts.Dormant:N0} dormant of {manifest.Counts.UsersInWindow:N0}, {manifest.Counts.Published:N0} published, " +
                          $"{manifest.Shards.Count} shards, model {summary.Model}; {runSeconds:F1} s, overhead {overhead:P1}, peak RSS {runPeak / 1048576.0:N0} MiB (RSS at its start {runBaseline / 1048576.0:N0} MiB)");
        Console.WriteLine($"  bytes read: {string.Join(", ", runBytes.Select(kv => $"{kv.Key} {kv.Value / 1048576.0:N1} MiB"))}; events {eventBytes / 1048576.0:N1} MiB on storage " +
                          $"(read {(eventBytes == 0 ? 0 : (double)runBytes.GetValueOrDefault("events") / eventBytes):F2}×)");

        // ---- feedback + reflection
        long outcomeEvents = 0;
        double feedbackSeconds = 0, reflectionSeconds = 0;
        long loopPeak = 0, loopBaseline = 0;
        var loopActivities = 0;
        IReadOnlyDictionary<string, long> loopBytes = new Dictionary<string, long>();
        string? note = null;
        if (!parse.GetValue(NoFeedback))
        {
            Console.WriteLine("  simulating outcomes (not timed)...");
            // The world's truth is only needed to simulate: out of scope (and collected) before the loop is measured.
            var simulated = await SimulateOutcomesAsync(store, dataset, runId, seed, request.Experiment.Name, cancellationToken).ConfigureAwait(false);
            outcomeEvents = simulated.Events;
            Console.WriteLine($"  {simulated.Events:N0} outcome events for {simulated.Users:N0} users");
            before = counting.Snapshot();
            loopBaseline = ProcessMemory.SettleAndResetPeak();
            watch.Restart();
            var feedback = await RunToEndAsync<FeedbackResult>(client, nameof(FeedbackOrchestrator), new FeedbackRequest(runId), $"{runId}:bench-feedback", cancellationToken).ConfigureAwait(false);
            feedbackSeconds = watch.Elapsed.TotalSeconds;
            watch.Restart();
            var reflection = await RunToEndAsync<ReflectionResult>(client, nameof(ReflectionOrchestrator), new ReflectionRequest(runId), $"{runId}:bench-reflection", cancellationToken).ConfigureAwait(false);
            reflectionSeconds = watch.Elapsed.TotalSeconds;
            loopPeak = ProcessMemory.Peak();
            loopBytes = Read(before, counting.Snapshot());
            loopActivities = 2 + feedback.Shards + 2 + reflection.RefinedShards;
            note = feedback.Path is null ? $"feedback skipped: {feedback.Skipped}" : reflection.Version is null ? $"reflection skipped: {reflection.Skipped}" : null;
            Console.WriteLine($"  feedback {feedbackSeconds:F1} s ({feedback.OutcomesAttributed:N0} outcomes attributed over {feedback.Shards} shards), reflection {reflectionSeconds:F1} s " +
                              $"({reflection.RefinedUsers:N0} refined lists over {reflection.RefinedShards} shards); peak RSS {loopPeak / 1048576.0:N0} MiB (RSS at its start {loopBaseline / 1048576.0:N0} MiB){(note is null ? "" : "; " + note)}");
        }
        return new BenchRow(users, world.Events, eventBytes, manifest.Counts.UsersInWindow, manifest.Counts.Dormant, manifest.Counts.Published, manifest.Shards.Count,
            (summary.Model ?? "none").Split('@')[0], Math.Round(prepare, 2), Math.Round(t.ShardsSeconds, 2), Math.Round(finalize, 2), Math.Round(runSeconds, 2), Math.Round(overhead, 4),
            runPeak, activities, batches, runBytes, outcomeEvents, Math.Round(feedbackSeconds, 2), Math.Round(reflectionSeconds, 2), loopPeak, loopActivities, loopBytes, runBaseline, loopBaseline, note);
    }

    private static async Task<(long Users, long Events, string Path)> SimulateOutcomesAsync(IBlobStore store, string dataset, string runId, int seed, string experiment, CancellationToken cancellationToken)
    {
        var truth = await store.ReadJsonAsync<DemoWorldTruth>(BlobLayout.DemoTruth(dataset), cancellationToken).ConfigureAwait(false);
        return await new OutcomeSimulator(truth, new OutcomeSimulatorOptions { Seed = seed, RunIdKnownShare = 1 })
            .WriteRunFeedbackAsync(store, runId, 1, experiment, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> RunToEndAsync<T>(DurableTaskClient client, string name, object input, string instanceId, CancellationToken cancellationToken)
    {
        await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(name), input, new StartOrchestrationOptions { InstanceId = instanceId }, cancellationToken).ConfigureAwait(false);
        var meta = await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        return meta.RuntimeStatus == OrchestrationRuntimeStatus.Completed
            ? meta.ReadOutputAs<T>()!
            : throw new CliException(ExitCodes.FailedRun, $"{name} {instanceId} ended {meta.RuntimeStatus}: {meta.FailureDetails?.ErrorMessage}");
    }

    private static Dictionary<string, long> Read(IReadOnlyDictionary<string, (long Read, long Written, long Opened)> before,
        IReadOnlyDictionary<string, (long Read, long Written, long Opened)> after) =>
        after.Select(kv => (kv.Key, Bytes: kv.Value.Read - before.GetValueOrDefault(kv.Key).Read))
            .Where(x => x.Bytes > 0)
            .OrderByDescending(x => x.Bytes)
            .ToDictionary(x => x.Key, x => x.Bytes, StringComparer.Ordinal);

    internal static string Table(IReadOnlyList<BenchRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| users | events | dormant | shards | model | prepare s (users/s) | shards s (dormant/s) | finalize s | run s | overhead | run peak RSS (at its start) | activities | events read | feedback + reflection s | loop peak RSS (at its start) |");
        sb.AppendLine("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            var eventsRead = r.EventBytes == 0 ? 0 : (double)r.RunBytesRead.GetValueOrDefault("events") / r.EventBytes;
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Users:N0} | {r.Events:N0} | {r.Dormant:N0} | {r.Shards} | {r.Model} | {r.PrepareSeconds:F1} ({Rate(r.UsersInWindow, r.PrepareSeconds)}) | {r.ShardsSeconds:F1} ({Rate(r.Dormant, r.ShardsSeconds)}) | {r.FinalizeSeconds:F1} | {r.RunSeconds:F1} | {r.Overhead:P1} | {Peak(r.RunPeakBytes, r.RunStartBytes)} | {r.RunActivities:N0} (+{r.ShardBatches} batches) | {eventsRead:F2}× | {(r.OutcomeEvents == 0 ? "—" : $"{r.FeedbackSeconds:F1} + {r.ReflectionSeconds:F1}")} | {(r.LoopPeakBytes == 0 ? "—" : Peak(r.LoopPeakBytes, r.LoopStartBytes))} |"));
        }
        return sb.ToString();

        // The process's peak and, in brackets, its RSS when the phase started (heap settled): what earlier phases left
        // resident (native ONNX Runtime arenas, the durable host) is in the peak, the phase's own growth is the difference.
        static string Peak(long peak, long start) => string.Create(CultureInfo.InvariantCulture, $"{peak / 1048576.0:N0} MiB (from {start / 1048576.0:N0})");

        static string Rate(long n, double seconds) => seconds <= 0 ? "—" : (n / seconds).ToString("N0", CultureInfo.InvariantCulture);
    }
}

/// <summary>The process's peak resident set: Linux's VmHWM, which <see cref="ResetPeak"/> resets (writing 5 to
/// /proc/self/clear_refs); elsewhere the lifetime peak working set.</summary>
internal static class ProcessMemory
{
    /// <summary>Collects what earlier phases left (compacting, decommitting: GC aggressive mode), then resets the peak, so
    /// a phase's peak is its own and not the heap an earlier phase grew. Returns the resident set after settling.</summary>
    public static long SettleAndResetPeak()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        ResetPeak();
        return Resident();
    }

    /// <summary>The current resident set (VmRSS; elsewhere the working set).</summary>
    public static long Resident() => Status("VmRSS:") ?? CurrentProcess(p => p.WorkingSet64);

    public static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // not Linux, or not allowed: the peak stays the lifetime peak
        }
    }

    public static long Peak() => Status("VmHWM:") ?? CurrentProcess(p => p.PeakWorkingSet64);

    /// <summary>A size line of /proc/self/status in bytes; null where there is none (not Linux) or it cannot be read.</summary>
    private static long? Status(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return null;
    }

    private static long CurrentProcess(Func<Process, long> read)
    {
        using var process = Process.GetCurrentProcess();
        return read(process);
    }
}
