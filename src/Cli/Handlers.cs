using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Cli;

public static class Handlers
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static CliSettings Settings(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var storage = parse.GetValue(Commands.Storage);
        if (string.IsNullOrWhiteSpace(storage))
        {
            storage = Environment.GetEnvironmentVariable("ROLEGEN_STORAGE");
        }
        return new CliSettings(
            string.IsNullOrWhiteSpace(storage) ? CliSettings.DefaultConnectionString : storage,
            parse.GetValue(Commands.Container) ?? "rolegen",
            parse.GetValue(Commands.TaskHub) ?? "rolegen",
            parse.GetValue(Commands.InMemory),
            parse.GetValue(Commands.Verbose));
    }

    public static Task<int> DemoAsync(ParseResult parse, CancellationToken cancellationToken) => Guard(async () =>
    {
        var settings = Settings(parse);
        var dataset = EventStore.ValidateDataset(parse.GetValue(Commands.Dataset) ?? "demo");
        var users = parse.GetValue(Commands.Users);
        if (users < 1)
        {
            throw new CliException(ExitCodes.BadInput, "--users must be at least 1.");
        }
        var watch = Stopwatch.StartNew();
        await using var host = await CliHost.StartAsync(settings, durable: true, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Generating the demo world: {users:N0} users, seed {parse.GetValue(Commands.Seed)} → {host.Store.Describe(BlobLayout.EventsPrefix(dataset))}");
        var progress = ConsoleProgress.ForConsole();
        var writer = host.Services.GetRequiredService<DemoWorldWriter>();
        var (summary, truth) = await writer.WriteAsync(new DemoWorldOptions { Users = users, Seed = parse.GetValue(Commands.Seed) }, dataset,
            new Progress<(long Users, long Events)>(p => progress.Report($"  generated {p.Users:N0} users, {p.Events:N0} events")),
            cancellationToken: cancellationToken).ConfigureAwait(false);
        progress.Done($"  generated {summary.Users:N0} users, {summary.Events:N0} events ({truth.Triggers.Count} trigger items recorded in {BlobLayout.DemoTruth(dataset)}) in {summary.Seconds:F1} s");
        await EnsureDemoBackboneAsync(host, dataset, parse.GetValue(Commands.TrainSeconds), cancellationToken).ConfigureAwait(false);
        var request = BuildRequest(parse, dataset, policy: new DormancyPolicy());
        var nights = parse.GetValue(Commands.Nights);
        if (nights < 0 || nights > 30)
        {
            throw new CliException(ExitCodes.BadInput, "--nights must be between 0 and 30.");
        }
        if (nights > 0)
        {
            // A fresh experiment per invocation (unless named): its arms, priors and feedback start clean.
            var experiment = request.Experiment! with { Name = parse.GetValue(Commands.Experiment) ?? $"demo-{request.RunId}" };
            return await DemoNights.RunAsync(host, settings, request with { Experiment = experiment }, nights, truth, parse.GetValue(Commands.Seed), watch,
                reflect: !parse.GetValue(Commands.NoReflection), cancellationToken).ConfigureAwait(false);
        }
        return await RunAndReportAsync(host, settings, request, rerun: true, summary, watch, cancellationToken).ConfigureAwait(false);
    });

    /// <summary>The demo scores with the generative backbone: reuse the one published for this dataset, else train one
    /// within <paramref name="trainSeconds"/> and publish it. 0 seconds keeps the baseline.</summary>
    private static async Task EnsureDemoBackboneAsync(CliHost host, string dataset, int trainSeconds, CancellationToken cancellationToken)
    {
        if (trainSeconds <= 0)
        {
            Console.WriteLine("Backbone: --train-seconds 0, not training (a backbone already published for this dataset is still used).");
            return;
        }
        var pointer = await host.Store.TryReadJsonAsync<BackbonePointer>(BlobLayout.BackboneCurrent, cancellationToken).ConfigureAwait(false);
        var (current, _) = await BackboneRegistry.ResolveCurrentAsync(host.Store, dataset, cancellationToken).ConfigureAwait(false);
        if (current is not null && pointer?.Dataset == dataset)
        {
            Console.WriteLine($"Backbone: reusing {current.Version} (published for '{dataset}'); delete {BlobLayout.BackboneCurrent} to retrain.");
            return;
        }
        var version = $"{dataset}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", Ci)}";
        Console.WriteLine($"Backbone: training {version} on '{dataset}' for about {trainSeconds} s (the budget is checked between epochs)...");
        var outDir = Path.Combine(".rolegen", "models", version);
        var (artifacts, _) = await TrainCommand.TrainAsync(host.Store, null, EventFormat.Normalized, dataset,
            new Training.TrainingOptions { TimeBudget = TimeSpan.FromSeconds(trainSeconds), EvaluateTest = false, Log = line => Console.WriteLine($"  {line}") },
            outDir, cancellationToken).ConfigureAwait(false);
        await BackbonePublisher.PublishAsync(host.Store, outDir, version, dataset, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Backbone: published {version} (best epoch {artifacts.Metrics.BestEpoch}, validation Recall@10 {artifacts.Metrics.BestValidation?.Recall:F4}) in {artifacts.Metrics.TotalSeconds:F0} s.");
    }

    public static Task<int> IngestAsync(ParseResult parse, CancellationToken cancellationToken) => Guard(async () =>
    {
        var settings = Settings(parse);
        var (file, format, dataset) = IngestArguments(parse, requireFile: true);
        await using var host = await CliHost.StartAsync(settings, durable: false, cancellationToken).ConfigureAwait(false);
        var summary = await IngestFileAsync(host, file!, format, dataset, cancellationToken).ConfigureAwait(false);
        PrintIngest(summary, host.Store);
        return ExitCodes.Ok;
    });

    public static Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken) => Guard(async () =>
    {
        var settings = Settings(parse);
        var (file, format, dataset) = IngestArguments(parse, requireFile: false);
        var policy = new DormancyPolicy
        {
            LookbackDays = parse.GetValue(Commands.Lookback),
            MinViews = parse.GetValue(Commands.MinViews),
            MaxConversionRate = parse.GetValue(Commands.MaxConversion),
            MinActiveDays = parse.GetValue(Commands.MinActiveDays),
        };
        var request = BuildRequest(parse, dataset, policy);
        if (request.Validate() is { } invalid)
        {
            throw new CliException(ExitCodes.BadInput, invalid);
        }
        var watch = Stopwatch.StartNew();
        await using var host = await CliHost.StartAsync(settings, durable: true, cancellationToken).ConfigureAwait(false);
        IngestSummary? ingest;
        if (file is not null)
        {
            ingest = await IngestFileAsync(host, file, format, dataset, cancellationToken).ConfigureAwait(false);
            PrintIngest(ingest, host.Store);
        }
        else
        {
            ingest = await host.Store.TryReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary(dataset), cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.BadInput, $"Dataset '{dataset}' has not been ingested: pass --events <file> --format {EventFormats.Names}.");
        }
        return await RunAndReportAsync(host, settings, request, parse.GetValue(Commands.Rerun), ingest, watch, cancellationToken).ConfigureAwait(false);
    });

    public static Task<int> StatusAsync(ParseResult parse, CancellationToken cancellationToken) => Guard(async () =>
    {
        var settings = Settings(parse);
        var runId = ParseRunId(parse.GetValue(Commands.RunIdArgument));
        await using var host = await CliHost.StartAsync(settings, durable: true, cancellationToken).ConfigureAwait(false);
        var meta = await host.Client.GetInstanceAsync(runId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        var manifest = await host.Store.TryReadJsonAsync<RunManifest>(BlobLayout.Manifest(runId), cancellationToken).ConfigureAwait(false);
        if (meta is null && manifest is null)
        {
            throw new CliException(ExitCodes.NotFound,
                $"No run '{runId}' in task hub '{settings.TaskHub}' and no {BlobLayout.Manifest(runId)} in container '{settings.Container}'. Check the id and --task-hub/--container.");
        }
        if (meta is not null)
        {
            Console.WriteLine($"Run {runId}: {meta.RuntimeStatus} (created {meta.CreatedAt:u}, updated {meta.LastUpdatedAt:u})");
            if (meta.SerializedCustomStatus is not null && meta.ReadCustomStatusAs<RunProgress>() is { } p)
            {
                Console.WriteLine($"  {FormatProgress(p)}");
            }
            if (meta.FailureDetails is { } failure)
            {
                Console.WriteLine($"  failure: {failure.ErrorType}: {failure.ErrorMessage}");
            }
        }
        if (manifest is not null)
        {
            Console.WriteLine($"  manifest: {manifest.Status}, {manifest.Counts.Published:N0} of {manifest.Counts.Dormant:N0} dormant users published, " +
                              $"{manifest.Counts.ShardsFailed} of {manifest.Counts.Shards} shards failed → {host.Store.Describe(BlobLayout.Manifest(runId))}");
            return manifest.Status switch { RunStatus.Succeeded => ExitCodes.Ok, RunStatus.PartiallySucceeded => ExitCodes.PartialRun, _ => ExitCodes.FailedRun };
        }
        return meta!.RuntimeStatus is OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated ? ExitCodes.FailedRun : ExitCodes.Ok;
    });

    private static RunRequest BuildRequest(ParseResult parse, string dataset, DormancyPolicy policy)
    {
        var given = parse.GetValue(Commands.RunId);
        var runId = string.IsNullOrWhiteSpace(given) ? RunId.New(dataset, DateTimeOffset.UtcNow).Value : ParseRunId(given);
        var request = new RunRequest
        {
            RunId = runId,
            Dataset = dataset,
            Policy = policy,
            ShardSize = parse.GetValue(Commands.ShardSize),
            ShardCount = parse.GetValue(Commands.ShardCount),
            TopK = parse.GetValue(Commands.TopK),
            MaxParallelShards = parse.GetValue(Commands.Parallel),
            Experiment = new Core.Experiments.ExperimentOptions
            {
                Name = parse.GetValue(Commands.Experiment) ?? Core.Experiments.ExperimentOptions.DefaultName,
                TreatmentShare = parse.GetValue(Commands.TreatmentShare),
            },
            Reasoner = new ReasonerOptions
            {
                Enabled = !parse.GetValue(Commands.NoReasoner),
                MaxInterventions = parse.GetValue(Commands.Interventions),
                PathsPerUser = parse.GetValue(Commands.Interventions),
            },
        };
        return request.Validate() is { } invalid ? throw new CliException(ExitCodes.BadInput, invalid) : request;
    }

    /// <summary>The CLI applies the same run-id rule as the HTTP API (<see cref="RunId"/>); an operator may name a
    /// <c>nightly-</c> id (to re-run or inspect a night), which the API refuses.</summary>
    private static string ParseRunId(string? text) =>
        RunId.TryParse(text, out var id) ? id.Value : throw new CliException(ExitCodes.BadInput, RunId.Problem(text) is { } p ? char.ToUpperInvariant(p[0]) + p[1..] + "." : "Invalid run id.");

    private static (FileInfo? File, EventFormat Format, string Dataset) IngestArguments(ParseResult parse, bool requireFile)
    {
        var file = parse.GetValue(Commands.Events);
        var formatText = parse.GetValue(Commands.Format);
        var datasetText = parse.GetValue(Commands.Dataset);
        if (file is null)
        {
            if (requireFile)
            {
                throw new CliException(ExitCodes.Usage, "--events <file> is required.");
            }
            if (string.IsNullOrWhiteSpace(datasetText))
            {
                throw new CliException(ExitCodes.Usage, "Pass --events <file> --format <format>, or --dataset <name> of an ingested dataset.");
            }
            return (null, EventFormat.Normalized, ValidDataset(datasetText));
        }
        if (!file.Exists)
        {
            throw new CliException(ExitCodes.BadInput, $"Events file '{file.FullName}' does not exist.");
        }
        if (string.IsNullOrWhiteSpace(formatText))
        {
            throw new CliException(ExitCodes.Usage, $"--format is required with --events ({EventFormats.Names}).");
        }
        if (!EventFormats.TryParse(formatText, out var format))
        {
            throw new CliException(ExitCodes.BadInput, $"Unknown --format '{formatText}': use {EventFormats.Names}.");
        }
        return (file, format, ValidDataset(string.IsNullOrWhiteSpace(datasetText) ? EventStore.DatasetFromFileName(file.FullName) : datasetText));

        static string ValidDataset(string name)
        {
            try
            {
                return EventStore.ValidateDataset(name);
            }
            catch (ArgumentException ex)
            {
                throw new CliException(ExitCodes.BadInput, ex.Message);
            }
        }
    }

    private static async Task<IngestSummary> IngestFileAsync(CliHost host, FileInfo file, EventFormat format, string dataset, CancellationToken cancellationToken)
    {
        Console.WriteLine($"Ingesting {file.Name} ({format}, {file.Length / 1024.0 / 1024.0:F1} MiB) → {host.Store.Describe(BlobLayout.EventsPrefix(dataset))}");
        var progress = ConsoleProgress.ForConsole();
        await using var stream = file.OpenRead();
        var ingestor = host.Services.GetRequiredService<EventIngestor>();
        var summary = await ingestor.IngestAsync(stream, file.Name, format, dataset,
            new Progress<IngestProgress>(p => progress.Report(
                $"  {p.Rows:N0} rows, {p.Events:N0} events, {p.Quarantined:N0} quarantined ({(p.BytesTotal > 0 ? 100.0 * p.BytesRead / p.BytesTotal : 0):F0}%)")),
            cancellationToken: cancellationToken).ConfigureAwait(false);
        progress.Done();
        if (summary.Events == 0)
        {
            throw new CliException(ExitCodes.BadInput,
                $"No valid events in {file.Name} as '{format}' ({summary.Quarantined:N0} rows quarantined: {string.Join(", ", summary.QuarantineReasons.Select(kv => $"{kv.Key} {kv.Value}"))}). " +
                $"Is --format right? Rows are in {host.Store.Describe(summary.QuarantinePath)}.");
        }
        return summary;
    }

    private static void PrintIngest(IngestSummary s, IBlobStore store)
    {
        Console.WriteLine($"  ingested {s.Events:N0} events of {s.Users:N0} users from {s.Rows:N0} rows in {s.Seconds:F1} s; " +
                          $"quarantined {s.Quarantined:N0}{(s.Quarantined > 0 ? $" ({string.Join(", ", s.QuarantineReasons.Select(kv => $"{kv.Key}: {kv.Value:N0}"))}) → {store.Describe(s.QuarantinePath)}" : string.Empty)}");
    }

    private static async Task<int> RunAndReportAsync(CliHost host, CliSettings settings, RunRequest request, bool rerun, IngestSummary? ingest,
        Stopwatch watch, CancellationToken cancellationToken)
    {
        var client = host.Client;
        var existing = await client.GetInstanceAsync(request.RunId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (existing is not null && existing.RuntimeStatus is OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Suspended)
        {
            Console.WriteLine($"Run {request.RunId} exists and is {existing.RuntimeStatus}: resuming it (its original options apply).");
        }
        else if (existing is not null && !rerun)
        {
            Console.WriteLine($"Run {request.RunId} already finished ({existing.RuntimeStatus}); pass --rerun to run it again. Its result:");
        }
        else
        {
            if (existing is not null)
            {
                // Purge the shard sub-orchestrations by id as well: the local sidecar ignores PurgeInstanceOptions.Recursive.
                var previous = await host.Store.TryReadJsonAsync<CohortResult>(BlobLayout.Cohort(request.RunId), cancellationToken).ConfigureAwait(false);
                foreach (var shard in previous?.Shards ?? [])
                {
                    await client.PurgeInstanceAsync(NightlyRunOrchestrator.ShardInstanceId(request.RunId, shard.Shard), null, cancellationToken).ConfigureAwait(false);
                }
                await client.PurgeInstanceAsync(request.RunId, new PurgeInstanceOptions { Recursive = true }, cancellationToken).ConfigureAwait(false);
            }
            await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(NightlyRunOrchestrator)), request,
                new StartOrchestrationOptions { InstanceId = request.RunId }, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Started run {request.RunId} (dataset {request.Dataset}, shard size {request.ShardSize:N0}, top-{request.TopK}, " +
                              $"{(settings.InMemory ? "in-memory" : "Azure Storage")} durable backend, task hub '{settings.TaskHub}')");
        }

        var runWatch = Stopwatch.StartNew();
        var meta = await WaitWithProgressAsync(client, request.RunId, null, $"Run {request.RunId} disappeared from task hub '{settings.TaskHub}'.", cancellationToken)
            .ConfigureAwait(false);
        if (meta.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            Console.WriteLine($"Run {request.RunId} ended {meta.RuntimeStatus}: {meta.FailureDetails?.ErrorMessage ?? "no details"}");
            return ExitCodes.FailedRun;
        }
        var summary = meta.ReadOutputAs<RunSummary>() ?? throw new CliException(ExitCodes.FailedRun, $"Run {request.RunId} completed without a summary.");
        var manifest = await host.Store.TryReadJsonAsync<RunManifest>(summary.ManifestPath, cancellationToken).ConfigureAwait(false);
        var local = await SaveLocalCopyAsync(host.Store, summary, cancellationToken).ConfigureAwait(false);
        PrintSummary(summary, manifest, ingest, host.Store, watch.Elapsed, runWatch.Elapsed);
        Console.WriteLine($"  local copy      {local}{Path.DirectorySeparatorChar}report.md, manifest.json");
        return summary.Status switch
        {
            RunStatus.Succeeded => ExitCodes.Ok,
            RunStatus.PartiallySucceeded => ExitCodes.PartialRun,
            _ => ExitCodes.FailedRun,
        };
    }

    /// <summary>Blob URLs of Azurite are not browsable without a key: keep the run's manifest and report beside the user too.</summary>
    private static async Task<string> SaveLocalCopyAsync(IBlobStore store, RunSummary summary, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(Environment.GetEnvironmentVariable("ROLEGEN_OUTPUT") is { Length: > 0 } o ? o : Path.Combine(".rolegen", "runs"), summary.RunId);
        Directory.CreateDirectory(dir);
        foreach (var (blob, name) in new[] { (summary.ManifestPath, "manifest.json"), (summary.ReportPath, "report.md") })
        {
            try
            {
                await File.WriteAllTextAsync(Path.Combine(dir, name), await store.ReadTextAsync(blob, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            }
            catch (BlobNotFoundException)
            {
                // a failed run may lack one of them; the summary says why
            }
        }
        return Path.GetFullPath(dir);
    }

    /// <summary>Polls an orchestration until it ends, showing on one console line the <see cref="RunProgress"/> of
    /// <paramref name="statusOf"/> (default: the orchestration itself; e.g. a night chain shows its run's progress).</summary>
    internal static async Task<OrchestrationMetadata> WaitWithProgressAsync(DurableTaskClient client, string instanceId, string? statusOf,
        string missing, CancellationToken cancellationToken)
    {
        var progress = ConsoleProgress.ForConsole();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var meta = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.NotFound, missing);
            if (meta.IsCompleted)
            {
                progress.Done();
                return meta;
            }
            var shown = statusOf is null ? meta : await client.GetInstanceAsync(statusOf, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false) ?? meta;
            var p = shown.SerializedCustomStatus is null ? null : shown.ReadCustomStatusAs<RunProgress>();
            progress.Report($"  [{clock.Elapsed:mm\\:ss}] {(p is null ? meta.RuntimeStatus.ToString() : FormatProgress(p))}");
            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
    }

    public static string FormatProgress(RunProgress p) => p.Phase switch
    {
        "scoring" or "finalizing" or "done" =>
            $"{p.Phase}: shards {p.ShardsDone}/{p.ShardsTotal}{(p.ShardsFailed > 0 ? $" ({p.ShardsFailed} failed)" : string.Empty)}, users {p.UsersScored:N0}/{p.UsersTotal:N0}",
        _ => $"{p.Phase}…",
    };

    private static void PrintSummary(RunSummary s, RunManifest? m, IngestSummary? ingest, IBlobStore store, TimeSpan total, TimeSpan orchestration)
    {
        var peak = Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0;
        // select, resolve model, finalize (+ baseline build when no backbone is published) + score and publish per shard
        // (+ reasoning statistics once and reason per shard when the reasoner ran)
        var reasoningOn = m?.Reasoning is { Enabled: true };
        var activities = m is null ? 0 : 2 + (m.Cohort is { Dormant: > 0 } ? 1 : 0) + (m.Model?.Kind == TransitionModel.Kind ? 1 : 0)
            + (reasoningOn ? 1 : 0) + m.Shards.Count * (reasoningOn ? 3 : 2);
        Console.WriteLine();
        Console.WriteLine($"RoleGen run {s.RunId} — {s.Status}");
        if (ingest is not null)
        {
            Console.WriteLine($"  input           {ingest.Source}: {ingest.Events:N0} events, {ingest.Users:N0} users, {ingest.Quarantined:N0} rows quarantined");
        }
        Console.WriteLine($"  dormant users   {s.Dormant:N0} of {s.UsersInWindow:N0} users in the window");
        Console.WriteLine($"  candidates      {s.Published:N0} users published{(s.Published == s.Dormant ? " (= dormant users)" : $" (MISSING {s.Dormant - s.Published:N0}: see failed shards)")}");
        Console.WriteLine($"  shards          {s.Shards} ({s.FailedShards} failed)");
        Console.WriteLine($"  model           {s.Model ?? "none"}");
        if (m is not null)
        {
            Console.WriteLine($"  run time        {m.Timings.TotalSeconds:F1} s in the orchestration (select {m.Timings.SelectSeconds:F1} s, model {m.Timings.ModelSeconds:F1} s, shards {m.Timings.ShardsSeconds:F1} s); " +
                              $"{activities} activities, {activities / Math.Max(orchestration.TotalSeconds, 1e-3):F1}/s");
            // The run-level activities before the fan-out (select, reasoning statistics) are serial work, not overhead.
            var overhead = m.Timings.OverheadShare(CliHost.ActivitySlots, m.Shards.Count, m.Request.MaxParallelShards,
                (m.Cohort?.Seconds ?? 0) + (m.Reasoning?.StatsSeconds ?? 0));
            Console.WriteLine($"  overhead        {overhead:P1} of the run's wall time is orchestration (dispatch, queues, replay), not activity work " +
                              $"({m.Timings.ActivitySeconds:F1} s in activities over {CliHost.ActivitySlots} activity slots)");
        }
        if (m?.Reasoning is { } r)
        {
            static string Pairs(IReadOnlyDictionary<string, long> d) => string.Join(", ", d.Select(kv => $"{kv.Key} {kv.Value:N0}"));
            Console.WriteLine(r.Enabled
                ? $"  reasoning       {r.Users:N0} users ({Pairs(r.Reasoners)}), {r.Paths:N0} conversion paths ({Pairs(r.PathsByRole)}); " +
                  $"items by source: {Pairs(r.ItemsBySource)}; reasoning {r.ReasonSeconds:F1} s vs scoring {r.ScoreSeconds:F1} s ({r.ReasoningOverScoring:F2}×)"
                : $"  reasoning       off: {r.Note}");
        }
        Console.WriteLine($"  wall time       {total.TotalSeconds:F1} s; peak memory {peak:F0} MiB");
        if (s.Error is not null)
        {
            Console.WriteLine($"  error           {s.Error}");
        }
        Console.WriteLine($"  results         {store.Describe($"runs/{s.RunId}/")}");
        Console.WriteLine($"                  manifest.json, report.md, shards/NNNNN/candidates.jsonl");
        if (m is not null)
        {
            foreach (var failed in m.Shards.Where(x => x.Status == ShardStatus.Failed).Take(5))
            {
                Console.WriteLine($"  failed shard {failed.Shard}: {failed.Error}");
            }
        }
    }

    private static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine($"rolegen: {ex.Message}");
            return ex.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("rolegen: cancelled. A durable run keeps its state: run the same command with the same --run-id to resume it.");
            return ExitCodes.Cancelled;
        }
        catch (PermanentFailureException ex)
        {
            Console.Error.WriteLine($"rolegen: {ex.Message}");
            return ExitCodes.BadInput;
        }
    }
}
