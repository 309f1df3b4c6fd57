using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Cli;

/// <summary>
/// <c>rolegen bench loop --run R [--repeat N]</c>: times feedback + reflection alone, N times, on a finished run whose
/// outcomes are already under <c>feedback/{experiment}/</c> (a run left by <c>bench nightly</c>): no world generation,
/// no nightly run. Both steps are idempotent, so each repetition rewrites the same files; on a shared, noisy machine,
/// alternating builds and repetitions compares them side by side in minutes instead of a whole nightly bench.
/// </summary>
internal static class BenchLoopCommand
{
    private static readonly Option<string> Run = new("--run") { Description = "The finished run (with simulated outcomes) whose feedback and reflection are timed.", Required = true };
    private static readonly Option<int> Repeat = new("--repeat") { Description = "Repetitions.", DefaultValueFactory = _ => 1 };

    public static Command Build()
    {
        var command = new Command("loop", "Feedback + reflection alone on a finished run with outcomes (e.g. one bench nightly left): seconds per step, peak RSS, bytes read per kind.")
        {
            Run, Repeat,
        };
        command.SetAction(RunAsync);
        return command;
    }

    private static Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var settings = CliCommon.Settings(parse);
        if (parse.GetResult(Commands.TaskHub) is not { Implicit: false })
        {
            settings = settings with { TaskHub = string.Create(CultureInfo.InvariantCulture, $"benchloop{DateTime.UtcNow:yyyyMMddHHmmss}") };
        }
        var runId = parse.GetValue(Run)!;
        var repeat = Math.Max(1, parse.GetValue(Repeat));
        var counting = (CountingBlobStore?)null;
        await using var host = await CliHost.StartAsync(settings, durable: true, cancellationToken, inner => counting = new CountingBlobStore(inner)).ConfigureAwait(false);
        counting ??= host.Store as CountingBlobStore ?? throw new InvalidOperationException("The bench's counting blob store is not in place.");
        var manifest = await host.Store.TryReadJsonAsync<RunManifest>(BlobLayout.Manifest(runId), cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.BadInput, $"--run: no manifest at {BlobLayout.Manifest(runId)}.");
        Console.WriteLine($"Loop bench: run {runId} ({manifest.Counts.Published:N0} published, {manifest.Shards.Count} shards), {repeat} repetition(s); {Environment.ProcessorCount} cores");
        for (var i = 1; i <= repeat; i++)
        {
            var stamp = DateTime.UtcNow.ToString("HHmmss", CliCommon.Ci);
            var before = counting.Snapshot();
            var baseline = ProcessMemory.SettleAndResetPeak();
            var watch = Stopwatch.StartNew();
            var feedback = await RunToEndAsync<FeedbackResult>(host.Client, nameof(FeedbackOrchestrator), new FeedbackRequest(runId), $"{runId}:bench-loop-{stamp}-{i}-feedback", cancellationToken).ConfigureAwait(false);
            var feedbackSeconds = watch.Elapsed.TotalSeconds;
            watch.Restart();
            var reflection = await RunToEndAsync<ReflectionResult>(host.Client, nameof(ReflectionOrchestrator), new ReflectionRequest(runId), $"{runId}:bench-loop-{stamp}-{i}-reflection", cancellationToken).ConfigureAwait(false);
            var reflectionSeconds = watch.Elapsed.TotalSeconds;
            var peak = ProcessMemory.Peak();
            var after = counting.Snapshot();
            var read = after.Select(kv => (kv.Key, Bytes: kv.Value.Read - before.GetValueOrDefault(kv.Key).Read)).Where(x => x.Bytes > 0).OrderByDescending(x => x.Bytes);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  #{i}: feedback {feedbackSeconds:F1} s ({feedback.OutcomesAttributed:N0} outcomes attributed over {feedback.Shards} shards{(feedback.Skipped is null ? "" : "; skipped: " + feedback.Skipped)}), " +
                $"reflection {reflectionSeconds:F1} s ({reflection.RefinedUsers:N0} refined lists over {reflection.RefinedShards} shards{(reflection.Skipped is null ? "" : "; skipped: " + reflection.Skipped)}); " +
                $"total {feedbackSeconds + reflectionSeconds:F1} s; peak RSS {peak / 1048576.0:N0} MiB (RSS at its start {baseline / 1048576.0:N0} MiB)"));
            Console.WriteLine($"      read: {string.Join(", ", read.Select(x => $"{x.Key} {x.Bytes / 1048576.0:N1} MiB"))}");
        }
        return ExitCodes.Ok;
    });

    private static async Task<T> RunToEndAsync<T>(DurableTaskClient client, string name, object input, string instanceId, CancellationToken cancellationToken)
    {
        await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(name), input, new StartOrchestrationOptions { InstanceId = instanceId }, cancellationToken).ConfigureAwait(false);
        var meta = await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        return meta.RuntimeStatus == OrchestrationRuntimeStatus.Completed
            ? meta.ReadOutputAs<T>()!
            : throw new CliException(ExitCodes.FailedRun, $"{name} {instanceId} ended {meta.RuntimeStatus}: {meta.FailureDetails?.ErrorMessage}");
    }
}
