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
        IReadOnlyList<ShardOutcome> shards, RunTimings timings, string? error, CancellationToken cancellationToken = default,
        RunReasoning? reasoning = null, RunRanker? ranker = null, RunPreparation? preparation = null, RunInterruptions? interruptions = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(shards);
        var input = await store.TryReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary(request.Dataset), cancellationToken).ConfigureAwait(false);
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
        var shardActivity = ordered.Sum(s => s.ScoreSeconds + s.PublishSeconds + (s.Reasoning?.Seconds ?? 0));
        var activitySeconds = (cohort?.Seconds ?? 0) + timings.ModelActivitySeconds + (reasoning?.StatsSeconds ?? 0) + shardActivity;
        timings = timings with
        {
            ActivitySeconds = Math.Round(activitySeconds, 3),
            ShardActivitySeconds = Math.Round(shardActivity, 3),
        };
        RunExperiment? experiment = null;
        if (request.Experiment is { } x)
        {
            var arms = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (k, v) in ordered.SelectMany(s => s.UsersByArm ?? new Dictionary<string, long>()))
            {
                arms[k] = arms.GetValueOrDefault(k) + v;
            }
            experiment = new RunExperiment(x.Name, x.TreatmentShare, x.AttributionDays, arms);
        }
        var manifest = new RunManifest(request.RunId, status, error, request, input, cohort, model, counts, timings, ordered, DateTimeOffset.UtcNow)
        {
            Reasoning = reasoning,
            Experiment = experiment,
            Ranker = ranker,
            Preparation = preparation,
            Interruptions = interruptions,
        };
        var manifestPath = BlobLayout.Manifest(request.RunId);
        var reportPath = BlobLayout.Report(request.RunId);
        await store.WriteJsonAsync(manifestPath, manifest, cancellationToken).ConfigureAwait(false);
        await store.WriteTextAsync(reportPath, RenderMarkdown(manifest, store), cancellationToken).ConfigureAwait(false);
        await WriteHtmlAsync(manifest, cancellationToken).ConfigureAwait(false);
        if (experiment is not null && status != RunStatus.Failed && counts.Published > 0)
        {
            // The nightly chain's "previous run": written last, only for runs whose candidates were published.
            await store.WriteJsonAsync(BlobLayout.LatestRun(experiment.Name),
                new LatestRun(request.RunId, request.Dataset, manifest.WrittenAt, status), cancellationToken).ConfigureAwait(false);
        }
        logger.LogInformation("Run {RunId} finished {Status}: {Published} of {Dormant} dormant users published in {Shards} shards ({Failed} failed)",
            request.RunId, status, counts.Published, counts.Dormant, counts.Shards, counts.ShardsFailed);
        return new RunSummary(request.RunId, status, request.Dataset, counts.UsersInWindow, counts.Dormant, counts.Published,
            counts.Shards, counts.ShardsFailed, model is null ? null : $"{model.Kind}@{model.Version}", manifestPath, reportPath,
            $"runs/{request.RunId}/shards/", timings.TotalSeconds, error);
    }

    /// <summary>Users explained in report.html (from the first succeeded shard; a few reads at the head of its files).</summary>
    public const int ExplainedUsers = 5;

    private async Task WriteHtmlAsync(RunManifest manifest, CancellationToken cancellationToken)
    {
        IReadOnlyList<UserExplanation> sample = [];
        if (manifest.Shards.FirstOrDefault(s => s.Status == ShardStatus.Succeeded && s.Published > 0) is { } shard)
        {
            try
            {
                sample = await new RunResultsReader(store).SampleAsync(manifest.RunId, shard.Shard, ExplainedUsers, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException ex)
            {
                // a corrupt shard file costs the report its examples, not the run its report
                logger.LogWarning(ex, "Run {RunId}: no user explanations in report.html", manifest.RunId);
            }
        }
        await store.WriteTextAsync(BlobLayout.ReportHtml(manifest.RunId), RunHtmlReport.Render(manifest, sample), cancellationToken).ConfigureAwait(false);
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
        if (m.Preparation is { } prep)
        {
            sb.AppendLine(ci, $"| one pass over the events | {prep.EventsRead:N0} events, {prep.BytesRead / 1048576.0:F1} MiB read once; stream {prep.StreamSeconds:F1} s, users {prep.UsersSeconds:F1} s, writes {prep.WriteSeconds:F1} s |");
        }
        if (m.Interruptions is { Shards: > 0 } cut)
        {
            sb.AppendLine(ci, $"| interruptions | {cut.Shards} shards waited {cut.DowntimeSeconds:F0} s in all (host down or starved; not counted as overhead); {cut.Executions} activity starts for {cut.Attempts} attempts |");
        }
        if (m.Ranker?.Note is { } rankerNote)
        {
            sb.AppendLine(ci, $"| ranker choice | {rankerNote.Replace("|", "/", StringComparison.Ordinal)} |");
        }
        sb.AppendLine(ci, $"| users published | {m.Counts.Published:N0} of {m.Counts.Dormant:N0} |");
        sb.AppendLine(ci, $"| shards failed | {m.Counts.ShardsFailed} ({m.Counts.UsersInFailedShards:N0} users) |");
        sb.AppendLine(ci, $"| wall time | {m.Timings.TotalSeconds:F1} s (select {m.Timings.SelectSeconds:F1} s, model {m.Timings.ModelSeconds:F1} s, shards {m.Timings.ShardsSeconds:F1} s) |");
        sb.AppendLine(ci, $"| time in activities | {m.Timings.ActivitySeconds:F1} s (shards {m.Timings.ShardActivitySeconds:F1} s) |");
        sb.AppendLine(ci, $"| candidates | `{store.Describe($"runs/{m.RunId}/shards/")}` `*/candidates.jsonl` |");
        sb.AppendLine();
        if (m.Experiment is { } ex)
        {
            sb.AppendLine(ci, $"**Experiment** `{ex.Name}`: treatment share {ex.TreatmentShare:P0} (RoleGen), control = the model alone; users by arm: {(ex.UsersByArm.Count == 0 ? "none" : string.Join(", ", ex.UsersByArm.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value:N0}")))}; attribution window {ex.AttributionDays:0.#} days.");
            sb.AppendLine();
        }
        if (m.Reasoning is { } r)
        {
            sb.AppendLine("## Reasoning");
            sb.AppendLine();
            if (!r.Enabled)
            {
                var why = r.Note ?? (m.Request.Reasoner.Enabled
                    ? "not reached (the run ended before the reasoning step, or had no dormant users)"
                    : "disabled in the run request");
                sb.AppendLine(ci, $"Off: {why}.");
                sb.AppendLine();
            }
            else
            {
                static string Pairs(IReadOnlyDictionary<string, long> d) => d.Count == 0 ? "—" : string.Join(", ", d.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:N0}")));
                sb.AppendLine("| | |");
                sb.AppendLine("|---|---|");
                sb.AppendLine(ci, $"| users reasoned | {r.Users:N0} ({Pairs(r.Reasoners)}) |");
                sb.AppendLine(ci, $"| conversion paths kept | {r.Paths:N0} ({Pairs(r.PathsByRole)}); mean Δ {r.MeanDelta:+0.0000;-0.0000;0} |");
                sb.AppendLine(ci, $"| recommended items by source | {Pairs(r.ItemsBySource)} |");
                sb.AppendLine(ci, $"| recommended items by role | {Pairs(r.ItemsByRole)} |");
                sb.AppendLine(ci, $"| world model | {string.Join("; ", r.WorldModels)} |");
                sb.AppendLine(ci, $"| fusion weights | {r.FusionVersion} (backbone {m.Request.Reasoner.Fusion.Backbone}, uplift {m.Request.Reasoner.Fusion.Uplift}, role {m.Request.Reasoner.Fusion.Role}) |");
                sb.AppendLine(ci, $"| LLM reasoner | {(r.PromptVersion is null ? "not configured (embedded reasoner only)" : $"prompt {r.PromptVersion}: {Pairs(r.Llm ?? new Dictionary<string, long>())}")} |");
                sb.AppendLine(ci, $"| statistics | `{r.StatsPath}` ({r.StatsSeconds:F1} s) |");
                sb.AppendLine(ci, $"| cost | reasoning {r.ReasonSeconds:F1} s vs scoring {r.ScoreSeconds:F1} s in activities ({r.ReasoningOverScoring:F2}×) |");
                if (r.Note is not null)
                {
                    sb.AppendLine(ci, $"| note | {r.Note} |");
                }
                sb.AppendLine();
            }
        }
        if (m.Shards.Count > 0)
        {
            sb.AppendLine("## Shards");
            sb.AppendLine();
            sb.AppendLine("| shard | status | users | published | attempts | reason s | score s | publish s | model | runtime | error |");
            sb.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|");
            foreach (var s in m.Shards)
            {
                sb.AppendLine(ci, $"| {s.Shard} | {s.Status} | {s.Users:N0} | {s.Published:N0} | {s.Attempts} | {s.Reasoning?.Seconds ?? 0:F2} | {s.ScoreSeconds:F2} | {s.PublishSeconds:F2} | {s.Model} | {s.Runtime} | {s.Error?.Replace("|", "/", StringComparison.Ordinal)} |");
            }
        }
        return sb.ToString();
    }
}
