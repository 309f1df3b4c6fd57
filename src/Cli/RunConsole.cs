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

/// <summary>The console side of a run: the progress line while it runs and the summary when it ends.</summary>
public static class RunConsole
{
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

    internal static void PrintSummary(RunSummary s, RunManifest? m, IngestSummary? ingest, IBlobStore store, TimeSpan total, TimeSpan orchestration)
    {
        var peak = Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0;
        // resolve model, the one pass over the events, finalize, and one activity start per shard attempt (crash re-deliveries included)
        var activities = m is null ? 0 : 3 + (m.Interruptions?.Executions ?? m.Shards.Sum(x => Math.Max(1, x.Attempts)));
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
            // The run-level activity before the fan-out (the one pass over the events) is serial work, not overhead.
            var overhead = m.Timings.OverheadShare(CliHost.ActivitySlots, m.Shards.Count, m.Request.MaxParallelShards,
                (m.Cohort?.Seconds ?? 0) + (m.Reasoning?.StatsSeconds ?? 0));
            if (m.Preparation is { } prep)
            {
                Console.WriteLine($"  one pass        {prep.EventsRead:N0} events ({prep.BytesRead / 1048576.0:F1} MiB) read once: stream {prep.StreamSeconds:F1} s, " +
                                  $"users {prep.UsersSeconds:F1} s, shards/model/statistics written {prep.WriteSeconds:F1} s");
            }
            if (m.Interruptions is { Shards: > 0 } cut)
            {
                Console.WriteLine($"  interruptions   {cut.Shards} shards waited {cut.DowntimeSeconds:F0} s in all (host down or starved; excluded from the overhead)");
            }
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
        Console.WriteLine($"  results         rolegen candidates {s.RunId} [--user U] [--out candidates.csv|.jsonl]");
        Console.WriteLine($"                  rolegen explain {s.RunId} --user U");
        Console.WriteLine($"                  (blobs: {store.Describe($"runs/{s.RunId}/")})");
        if (m is not null)
        {
            foreach (var failed in m.Shards.Where(x => x.Status == ShardStatus.Failed).Take(5))
            {
                Console.WriteLine($"  failed shard {failed.Shard}: {failed.Error}");
            }
        }
    }
}
