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

/// <summary><c>rolegen status</c>: a run's runtime status, progress and the manifest's verdict.</summary>
public static class StatusCommand
{
    public static Task<int> StatusAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var settings = CliCommon.Settings(parse);
        var runId = CliCommon.ParseRunId(parse.GetValue(Commands.RunIdArgument));
        // A client only: reading a run's status must never run (or resume) the task hub's work in this process.
        await using var host = await CliHost.StartAsync(settings, durable: true, cancellationToken, clientOnly: true).ConfigureAwait(false);
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
                Console.WriteLine($"  {RunConsole.FormatProgress(p)}");
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
}
