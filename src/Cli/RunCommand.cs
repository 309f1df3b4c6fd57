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

/// <summary><c>rolegen ingest</c> and <c>rolegen run</c>: stream a log into a dataset; start (or resume) a run and wait for it.</summary>
public static class RunCommand
{
    public static Task<int> IngestAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var settings = CliCommon.Settings(parse);
        var (file, format, dataset) = IngestArguments(parse, requireFile: true);
        await using var host = await CliHost.StartAsync(settings, durable: false, cancellationToken).ConfigureAwait(false);
        var summary = await IngestFileAsync(host, file!, format, dataset, cancellationToken).ConfigureAwait(false);
        PrintIngest(summary, host.Store);
        return ExitCodes.Ok;
    });

    public static Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var settings = CliCommon.Settings(parse);
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
            throw new CliException(ExitCodes.BadInput, CliCommon.InFlagTerms(invalid));
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
        return await RunAndReportAsync(host, settings, request, parse.GetValue(Commands.Rerun), ingest, watch, cancellationToken,
            parse.GetValue(Commands.LocalCopy)).ConfigureAwait(false);
    });

    internal static RunRequest BuildRequest(ParseResult parse, string dataset, DormancyPolicy policy)
    {
        var given = parse.GetValue(Commands.RunId);
        var runId = string.IsNullOrWhiteSpace(given) ? RunId.New(dataset, DateTimeOffset.UtcNow).Value : CliCommon.ParseAdHocRunId(given);
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
                LlmTokensPerRun = parse.GetValue(Commands.LlmTokens),
            },
        };
        return request.Validate() is { } invalid ? throw new CliException(ExitCodes.BadInput, CliCommon.InFlagTerms(invalid)) : request;
    }

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
        if (Directory.Exists(file.FullName))
        {
            throw new CliException(ExitCodes.BadInput, $"--events '{file.FullName}' is a directory: pass one behaviour log file (e.g. --events {Path.Combine(file.FullName, "UserBehavior.csv")}).");
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
        var dataset = ValidDataset(string.IsNullOrWhiteSpace(datasetText) ? EventStore.DatasetFromFileName(file.FullName) : datasetText);
        if (NoDataRows(file, format) is { } empty)
        {
            throw new CliException(ExitCodes.BadInput, $"--events '{file.FullName}' {empty}: nothing to ingest. Pass a behaviour log with events.");
        }
        if (format == EventFormat.Normalized && LooksLikeTaobao(file) is { } taobaoRow)
        {
            throw new CliException(ExitCodes.BadInput,
                $"'{file.Name}' does not match --format normalized: its first row '{taobaoRow}' is not the header {EventReader.NormalizedHeader} " +
                "but a Taobao UserBehavior row (no header, event types pv|fav|cart|buy). Use --format taobao, or add the header and use view|fav|cart|purchase.");
        }
        return (file, format, dataset);

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

    /// <summary>Why the file holds no data row ("is empty", "has only a header"), or null. Reads at most two lines.</summary>
    internal static string? NoDataRows(FileInfo file, EventFormat format)
    {
        using var reader = new StreamReader(file.OpenRead());
        var lines = new List<string>(2);
        while (lines.Count < 2 && reader.ReadLine() is { } line)
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                lines.Add(line);
            }
        }
        if (lines.Count == 0)
        {
            return file.Length == 0 ? "is empty" : "has only blank lines";
        }
        var headerLike = format is EventFormat.Normalized or EventFormat.Taobao &&
                         lines[0].Split(',') is var cells && cells.Length >= 4 && cells.All(c => c.Trim().Length > 0 && !c.Trim().Any(char.IsAsciiDigit));
        return lines.Count == 1 && headerLike ? $"has only a header ('{lines[0].Trim()}'), no data rows" : null;
    }

    /// <summary>The first data row of a header-less 5-column file whose event type is one of Taobao's own tokens
    /// (<c>pv</c>, <c>buy</c>) — the normalized reader would accept it silently, with the columns taken by position.</summary>
    internal static string? LooksLikeTaobao(FileInfo file)
    {
        using var reader = new StreamReader(file.OpenRead());
        string? line;
        while ((line = reader.ReadLine()) is not null && string.IsNullOrWhiteSpace(line))
        {
        }
        if (line is null)
        {
            return null;
        }
        var cells = line.Split(',');
        return cells.Length == 5 && cells[3].Trim() is var type &&
               (type.Equals("pv", StringComparison.OrdinalIgnoreCase) || type.Equals("buy", StringComparison.OrdinalIgnoreCase))
            ? (line.Length > 60 ? line[..60] + "…" : line)
            : null;
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
        if (summary.Events == 0 && summary.Quarantined == 0)
        {
            throw new CliException(ExitCodes.BadInput,
                $"{file.Name} has no data rows ({(file.Length == 0 ? "the file is empty" : "only a header or blank lines")}): nothing to ingest. Pass a behaviour log with events.");
        }
        if (summary.Events == 0)
        {
            throw new CliException(ExitCodes.BadInput,
                $"No valid events in {file.Name} as '{format}': all {summary.Quarantined:N0} rows were quarantined ({string.Join(", ", summary.QuarantineReasons.Select(kv => $"{kv.Key} {kv.Value:N0}"))}). " +
                $"Is --format right? Rows are in {host.Store.Describe(summary.QuarantinePath)}.");
        }
        return summary;
    }

    private static void PrintIngest(IngestSummary s, IBlobStore store)
    {
        Console.WriteLine($"  ingested {s.Events:N0} events of {s.Users:N0} users from {s.Rows:N0} rows in {s.Seconds:F1} s; " +
                          $"quarantined {s.Quarantined:N0}{(s.Quarantined > 0 ? $" ({string.Join(", ", s.QuarantineReasons.Select(kv => $"{kv.Key}: {kv.Value:N0}"))}) → {store.Describe(s.QuarantinePath)}" : string.Empty)}");
    }

    internal static async Task<int> RunAndReportAsync(CliHost host, CliSettings settings, RunRequest request, bool rerun, IngestSummary? ingest,
        Stopwatch watch, CancellationToken cancellationToken, LocalCopyMode localCopy = LocalCopyMode.Auto)
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
                // Purge the shard-batch sub-orchestrations by id as well: the local sidecar ignores PurgeInstanceOptions.Recursive.
                var previous = await host.Store.TryReadJsonAsync<CohortResult>(BlobLayout.Cohort(request.RunId), cancellationToken).ConfigureAwait(false);
                var shards = previous?.Shards.Count ?? 0;
                var batches = shards == 0 ? 0 : (shards + NightlyRunOrchestrator.BatchSize(shards) - 1) / NightlyRunOrchestrator.BatchSize(shards);
                for (var batch = 0; batch < batches; batch++)
                {
                    await client.PurgeInstanceAsync(ShardBatchOrchestrator.InstanceId(request.RunId, batch), null, cancellationToken).ConfigureAwait(false);
                }
                await client.PurgeInstanceAsync(request.RunId, new PurgeInstanceOptions { Recursive = true }, cancellationToken).ConfigureAwait(false);
            }
            await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(NightlyRunOrchestrator)), request,
                new StartOrchestrationOptions { InstanceId = request.RunId }, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Started run {request.RunId} (dataset {request.Dataset}, shard size {request.ShardSize:N0}, top-{request.TopK}, " +
                              $"{(settings.InMemory ? "in-memory" : "Azure Storage")} durable backend, task hub '{settings.TaskHub}')");
        }

        var runWatch = Stopwatch.StartNew();
        var meta = await RunConsole.WaitWithProgressAsync(client, request.RunId, null, $"Run {request.RunId} disappeared from task hub '{settings.TaskHub}'.", cancellationToken)
            .ConfigureAwait(false);
        if (meta.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            Console.WriteLine($"Run {request.RunId} ended {meta.RuntimeStatus}: {meta.FailureDetails?.ErrorMessage ?? "no details"}");
            return ExitCodes.FailedRun;
        }
        var summary = meta.ReadOutputAs<RunSummary>() ?? throw new CliException(ExitCodes.FailedRun, $"Run {request.RunId} completed without a summary.");
        var manifest = await host.Store.TryReadJsonAsync<RunManifest>(summary.ManifestPath, cancellationToken).ConfigureAwait(false);
        var copy = await SaveLocalCopyAsync(host.Store, summary, localCopy, LocalRunStore.Default(), cancellationToken).ConfigureAwait(false);
        RunConsole.PrintSummary(summary, manifest, ingest, host.Store, watch.Elapsed, runWatch.Elapsed);
        Console.WriteLine(copy.Describe());
        return summary.Status switch
        {
            RunStatus.Succeeded => ExitCodes.Ok,
            RunStatus.PartiallySucceeded => ExitCodes.PartialRun,
            _ => ExitCodes.FailedRun,
        };
    }

    /// <summary>Blob URLs of Azurite are not browsable without a key, and run.sh stops Azurite when it is done: export the
    /// run's report and, unless the run is large, its per-shard results (users, reasoning, candidates) to
    /// <see cref="LocalRunStore"/>, where <c>rolegen candidates</c> / <c>rolegen explain</c> find them. The manifest is written
    /// last and only with the shards (it marks a complete copy; without it those commands read the run from storage).
    /// <see cref="LocalCopyMode.Auto"/> copies the shards up to <see cref="LocalCopyFullMaxUsers"/> published users: a
    /// dormant user's three shard rows are ~11 KB, so a million-user night would otherwise write ~7 GB to the working
    /// directory.</summary>
    internal static async Task<LocalCopy> SaveLocalCopyAsync(IBlobStore store, RunSummary summary, LocalCopyMode mode, LocalRunStore local,
        CancellationToken cancellationToken)
    {
        var folder = local.RunFolder(summary.RunId);
        if (mode == LocalCopyMode.None)
        {
            return new LocalCopy(folder, mode, ShardsCopied: false, summary.Published);
        }
        var withShards = mode == LocalCopyMode.Full || (mode == LocalCopyMode.Auto && summary.Published <= LocalCopyFullMaxUsers);
        var manifest = withShards ? await store.TryReadJsonAsync<RunManifest>(summary.ManifestPath, cancellationToken).ConfigureAwait(false) : null;
        var blobs = new List<string> { summary.ReportPath, BlobLayout.ReportHtml(summary.RunId) };
        if (withShards)
        {
            foreach (var shard in manifest?.Shards.Where(s => s.Status == ShardStatus.Succeeded) ?? [])
            {
                blobs.Add(BlobLayout.ShardCandidates(summary.RunId, shard.Shard));
                blobs.Add(BlobLayout.ShardReasoning(summary.RunId, shard.Shard));
                blobs.Add(BlobLayout.ShardUsers(summary.RunId, shard.Shard));
            }
            blobs.Add(summary.ManifestPath);
        }
        else
        {
            // Report only: a manifest left by an earlier full copy of this run id would make the commands read stale shards.
            var stale = Path.Combine(folder, "manifest.json");
            if (File.Exists(stale))
            {
                File.Delete(stale);
            }
        }
        foreach (var blob in blobs)
        {
            try
            {
                await using var from = await store.OpenReadAsync(blob, cancellationToken).ConfigureAwait(false);
                await using var to = await local.OpenWriteAsync(blob, cancellationToken).ConfigureAwait(false);
                await from.CopyToAsync(to, cancellationToken).ConfigureAwait(false);
            }
            catch (BlobNotFoundException)
            {
                // a failed run may lack some of them (a shard without reasoning, no report); the summary says why
            }
        }
        return new LocalCopy(folder, mode, withShards, summary.Published);
    }

    /// <summary>Published users up to which <see cref="LocalCopyMode.Auto"/> copies the shards (~1.1 GB at ~11 KB per user).</summary>
    public const long LocalCopyFullMaxUsers = 100_000;

    internal sealed record LocalCopy(string Folder, LocalCopyMode Mode, bool ShardsCopied, long Published)
    {
        public string Describe()
        {
            var sep = Path.DirectorySeparatorChar;
            if (Mode == LocalCopyMode.None)
            {
                return "  local copy      none (--local-copy none); rolegen candidates/explain read the run from storage";
            }
            return ShardsCopied
                ? $"  local copy      {Folder}{sep} (report.html, report.md, manifest.json, shards/; read by the commands above)"
                : $"  local copy      {Folder}{sep} (report.html, report.md only: {Published:N0} users > {LocalCopyFullMaxUsers:N0}, shards stay in storage, " +
                  "where rolegen candidates/explain read them while Azurite runs; --local-copy full copies them)";
        }
    }
}

/// <summary>What <c>rolegen run</c>/<c>demo</c> copy to <c>.rolegen/runs/{runId}/</c> when the run ends.</summary>
public enum LocalCopyMode
{
    /// <summary>Report and shards up to <see cref="RunCommand.LocalCopyFullMaxUsers"/> published users, the report alone beyond.</summary>
    Auto,

    /// <summary>Report, manifest and every shard's users, reasoning and candidates.</summary>
    Full,

    /// <summary>report.html and report.md only.</summary>
    Report,

    /// <summary>Nothing.</summary>
    None,
}
