using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Ingest;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Runs;

/// <summary>Writes a run's manifest (machine-readable) and report (markdown for people).</summary>
public sealed class RunReportWriter(IBlobStore store, ILogger<RunReportWriter> logger)
{
    public async Task<RunSummary> WriteAsync(RunRequest request, CohortSummary? cohort, ScoringModelRef? model,
        IReadOnlyList<ShardOutcome> shards, RunTimings timings, string? error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(shards);
        var input = await store.TryReadJsonAsync<IngestSummary>(EventStore.SummaryPath(request.Dataset), cancellationToken).ConfigureAwait(false);
        var ordered = shards.OrderBy(s => s.Shard).ToArray();
        var failed = ordered.Where(s => s.Status == ShardStatus.Failed).ToArray();
        var counts = new RunCounts(
            cohort?.UsersInWindow ?? 0,
            cohort?.Dormant ?? 0,
            ordered.Sum(s => (long)s.Scored),
            ordered.Sum(s => (long)s.Published),
            ordered.Length,
            ordered.Length - failed.Length,
            failed.Length,
            failed.Sum(s => (long)s.Users));
        var status = error is not null || (ordered.Length > 0 && failed.Length == ordered.Length) ? RunStatus.Failed
            : failed.Length > 0 ? RunStatus.PartiallySucceeded
            : RunStatus.Succeeded;
        var activitySeconds = (cohort?.Seconds ?? 0) + timings.ModelActivitySeconds + ordered.Sum(s => s.ScoreSeconds + s.PublishSeconds);
        timings = timings with
        {
            ActivitySeconds = Math.Round(activitySeconds, 3),
            ShardActivitySeconds = Math.Round(ordered.Sum(s => s.ScoreSeconds + s.PublishSeconds), 3),
        };
        var manifest = new RunManifest(request.RunId, status, error, request, input, cohort, model, counts, timings, ordered, DateTimeOffset.UtcNow);
        var manifestPath = RunManifest.Path(request.RunId);
        var reportPath = RunManifest.ReportPath(request.RunId);
        await store.WriteJsonAsync(manifestPath, manifest, cancellationToken).ConfigureAwait(false);
        await store.WriteTextAsync(reportPath, RenderMarkdown(manifest, store), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Run {RunId} finished {Status}: {Published} of {Dormant} dormant users published in {Shards} shards ({Failed} failed)",
            request.RunId, status, counts.Published, counts.Dormant, counts.Shards, counts.ShardsFailed);
        return new RunSummary(request.RunId, status, request.Dataset, counts.UsersInWindow, counts.Dormant, counts.Published,
            counts.Shards, counts.ShardsFailed, model is null ? null : $"{model.Kind}@{model.Version}", manifestPath, reportPath,
            $"runs/{request.RunId}/shards/", timings.TotalSeconds, error);
    }

    public static string RenderMarkdown(RunManifest m, IBlobStore store)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(store);
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(ci, $"# RoleGen run `{m.RunId}` — {m.Status}");
        sb.AppendLine();
        if (m.Error is not null)
        {
            sb.AppendLine(ci, $"**Error:** {m.Error}");
            sb.AppendLine();
        }
        sb.AppendLine("| | |");
        sb.AppendLine("|---|---|");
        sb.AppendLine(ci, $"| dataset | `{m.Request.Dataset}` |");
        if (m.Input is { } input)
        {
            sb.AppendLine(ci, $"| input | {input.Source} ({input.Format}): {input.Events:N0} events, {input.Quarantined:N0} rows quarantined |");
        }
        if (m.Cohort is { } c)
        {
            sb.AppendLine(ci, $"| window | {DateTimeOffset.FromUnixTimeSeconds(c.WindowStartUnixSeconds):u} → {DateTimeOffset.FromUnixTimeSeconds(c.AsOfUnixSeconds):u} |");
            sb.AppendLine(ci, $"| users in window | {c.UsersInWindow:N0} |");
            sb.AppendLine(ci, $"| dormant users | {c.Dormant:N0} (policy: ≥ {m.Request.Policy.MinViews} views, conversion ≤ {m.Request.Policy.MaxConversionRate:P1}, ≥ {m.Request.Policy.MinActiveDays} active days, {m.Request.Policy.LookbackDays}-day look-back) |");
            if (c.NotDormantReasons.Count > 0)
            {
                sb.AppendLine(ci, $"| not dormant | {string.Join(", ", c.NotDormantReasons.Select(kv => $"{kv.Key}: {kv.Value:N0}"))} |");
            }
            sb.AppendLine(ci, $"| shards | {c.ShardCount} ({c.EmptyShards} empty) |");
        }
        if (m.Model is { } model)
        {
            sb.AppendLine(ci, $"| model | {model.Kind} @ {model.Version} |");
        }
        sb.AppendLine(ci, $"| users published | {m.Counts.Published:N0} of {m.Counts.Dormant:N0} |");
        sb.AppendLine(ci, $"| shards failed | {m.Counts.ShardsFailed} ({m.Counts.UsersInFailedShards:N0} users) |");
        sb.AppendLine(ci, $"| wall time | {m.Timings.TotalSeconds:F1} s (select {m.Timings.SelectSeconds:F1} s, model {m.Timings.ModelSeconds:F1} s, shards {m.Timings.ShardsSeconds:F1} s) |");
        sb.AppendLine(ci, $"| time in activities | {m.Timings.ActivitySeconds:F1} s (shards {m.Timings.ShardActivitySeconds:F1} s) |");
        sb.AppendLine(ci, $"| candidates | `{store.Describe($"runs/{m.RunId}/shards/")}` `*/candidates.jsonl` |");
        sb.AppendLine();
        if (m.Shards.Count > 0)
        {
            sb.AppendLine("## Shards");
            sb.AppendLine();
            sb.AppendLine("| shard | status | users | published | attempts | score s | publish s | model | runtime | error |");
            sb.AppendLine("|---:|---|---:|---:|---:|---:|---:|---|---|---|");
            foreach (var s in m.Shards)
            {
                sb.AppendLine(ci, $"| {s.Shard} | {s.Status} | {s.Users:N0} | {s.Published:N0} | {s.Attempts} | {s.ScoreSeconds:F2} | {s.PublishSeconds:F2} | {s.Model} | {s.Runtime} | {s.Error?.Replace("|", "/", StringComparison.Ordinal)} |");
            }
        }
        return sb.ToString();
    }
}
