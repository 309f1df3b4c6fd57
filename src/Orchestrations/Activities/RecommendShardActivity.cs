using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Pipeline;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Core.Telemetry;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>
/// One shard end to end, a thin adapter over Core's <see cref="ShardRecommender"/>: reads the shard's <c>users.jsonl</c>
/// once, then per batch reasons (embedded reasoner, LLM-refined when configured), scores with the run's model, fuses and
/// assigns the A/B arms, and streams <c>reasoning.jsonl</c> and <c>candidates.jsonl</c> (exactly one row per user: a user
/// twice in the input fails the shard permanently). Last it writes <c>shard.json</c>, the shard's full outcome, which the
/// run's finalize step reads. Every name is deterministic and overwritten, so a retry replaces its own output.
/// </summary>
public sealed class RecommendShardActivity(IBlobStore store, ShardRecommenderFactory pipelines, ILogger<RecommendShardActivity> logger)
    : TaskActivity<RecommendShardInput, RecommendShardResult>
{
    public const int BatchSize = 256;

    public override async Task<RecommendShardResult> RunAsync(TaskActivityContext context, RecommendShardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var span = RoleGenTelemetry.Source.StartActivity(nameof(RecommendShardActivity));
        span?.SetTag("rolegen.run_id", input.RunId);
        span?.SetTag("rolegen.shard", input.Shard);
        try
        {
            var result = await RecommendAsync(input).ConfigureAwait(false);
            RoleGenTelemetry.ShardsCompleted.Add(1, new KeyValuePair<string, object?>(RoleGenTelemetry.ShardStatusTag, "succeeded"));
            return result;
        }
        catch (Exception ex)
        {
            RoleGenTelemetry.ShardsCompleted.Add(1, new KeyValuePair<string, object?>(RoleGenTelemetry.ShardStatusTag, "failed"));
            span?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
    }

    private async Task<RecommendShardResult> RecommendAsync(RecommendShardInput input)
    {
        var started = DateTime.UtcNow;
        var watch = Stopwatch.StartNew();
        var executions = await CountExecutionAsync(input).ConfigureAwait(false);
        var statsPath = input.Reasoning?.StatsPath;
        // The run-level LLM budget: this shard's share, less what its earlier attempts spent (the ledger).
        var budgeted = input.LlmTokens is not null && statsPath is not null && pipelines.HasLlm;
        var spentBefore = budgeted ? await ReadLedgerAsync(input).ConfigureAwait(false) : 0;
        ShardRecommender pipeline;
        try
        {
            pipeline = await pipelines.ForShardAsync(input.Model, statsPath, new ShardRecommenderOptions
            {
                TopK = input.TopK,
                Reasoner = input.Reasoning?.Options ?? new ReasonerOptions(),
                Experiment = input.Experiment,
                LlmTokenLimit = budgeted ? Math.Max(0, input.LlmTokens!.Value - spentBefore) : null,
            }).ConfigureAwait(false);
        }
        catch (BlobNotFoundException ex) when (statsPath is not null && ex.Path == statsPath)
        {
            throw new PermanentFailureException($"Shard {input.Shard}: the run's reasoning statistics are missing at {ex.Path}.", ex);
        }
        catch (BlobNotFoundException ex)
        {
            throw new PermanentFailureException($"Model '{input.Model.Kind}' version {input.Model.Version} is missing at {ex.Path}.", ex);
        }

        var refining = pipeline.Fuses ? pipeline.Reasoner as LlmRefiningReasoner : null;
        long SpentSoFar() => spentBefore + (refining?.LlmTokensSpent ?? 0);
        var candidatesPath = BlobLayout.ShardCandidates(input.RunId, input.Shard);
        var reasoningPath = BlobLayout.ShardReasoning(input.RunId, input.Shard);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int users = 0, published = 0;
        double reasonSeconds = 0, scoreSeconds = 0;
        // The files are written locally first and uploaded only when the whole shard succeeded: a failed attempt publishes
        // nothing (not even an empty candidates file), and the retry writes them whole.
        var spool = Path.Combine(Path.GetTempPath(), "rolegen-spool", $"{input.RunId}-shard{input.Shard:D5}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(spool);
        try
        {
            await using (var candidates = new FileStream(Path.Combine(spool, "candidates.jsonl"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            await using (var reasoning = pipeline.Fuses ? new FileStream(Path.Combine(spool, "reasoning.jsonl"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16) : null)
            {
                await foreach (var batch in store.ReadJsonLinesAsync<UserTrajectory>(input.UsersPath).Batches(BatchSize).ConfigureAwait(false))
                {
                    foreach (var user in batch)
                    {
                        if (!seen.Add(user.UserId))
                        {
                            throw new InvalidDataException($"{input.UsersPath} holds user '{user.UserId}' twice.");
                        }
                    }
                    users += batch.Count;
                    var step = Stopwatch.StartNew();
                    IReadOnlyList<UserReasoning>? reasoned = null;
                    if (reasoning is not null)
                    {
                        using var reasonSpan = RoleGenTelemetry.Source.StartActivity("reason");
                        reasoned = await pipeline.ReasonAsync(batch).ConfigureAwait(false);
                        await JsonLines.WriteAsync(reasoning, reasoned).ConfigureAwait(false);
                        if (budgeted)
                        {
                            await WriteLedgerAsync(input, SpentSoFar()).ConfigureAwait(false);
                        }
                    }
                    reasonSeconds += step.Elapsed.TotalSeconds;
                    step.Restart();
                    IReadOnlyList<UserRecommendations> recs;
                    using (var scoreSpan = RoleGenTelemetry.Source.StartActivity("score"))
                    {
                        scoreSpan?.SetTag(RoleGenTelemetry.ExecutionProviderTag, pipeline.Model.Runtime);
                        recs = pipeline.Recommend(batch, reasoned);
                    }
                    scoreSeconds += step.Elapsed.TotalSeconds;
                    published += await JsonLines.WriteAsync(candidates, recs.Select(r => new CandidateRow(input.RunId, r.UserId, input.Shard,
                        r.Items.Select((item, rank) => new Candidate(rank + 1, item.ItemId, item.CategoryId, item.Score, item.Source) { Role = item.Role }).ToArray())
                    {
                        Arm = r.Arm,
                    })).ConfigureAwait(false);
                }
            }
            using var publishSpan = RoleGenTelemetry.Source.StartActivity("publish");
            if (pipeline.Fuses)
            {
                await UploadAsync(Path.Combine(spool, "reasoning.jsonl"), reasoningPath).ConfigureAwait(false);
            }
            await UploadAsync(Path.Combine(spool, "candidates.jsonl"), candidatesPath).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            // A corrupt shard input will be corrupt on every attempt: fail the shard now, with the line that is wrong.
            await SaveLedgerOnFailureAsync().ConfigureAwait(false);
            throw new PermanentFailureException($"Shard {input.Shard}: {ex.Message}", ex);
        }
        catch (Exception)
        {
            // A failed attempt's tokens are spent all the same: record them so the retry gets only what is left.
            await SaveLedgerOnFailureAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            try
            {
                Directory.Delete(spool, recursive: true);
            }
            catch (IOException)
            {
                // best effort: the OS cleans its temp directory
            }
        }
        if (users != input.Users)
        {
            logger.LogWarning("Shard {Shard}: {Read} users read where the cohort counted {Expected}", input.Shard, users, input.Users);
        }
        var tally = pipeline.Scoring;
        // Score, reason and the rest (reading users, writing the files): the three add up to the activity's time.
        var ioSeconds = Math.Max(0, watch.Elapsed.TotalSeconds - scoreSeconds - reasonSeconds);
        var outcome = new ShardOutcome(input.Shard, ShardStatus.Succeeded, users, tally.Users, published, candidatesPath, null, input.Attempt,
            Math.Round(scoreSeconds, 3), Math.Round(ioSeconds, 3), started, DateTime.UtcNow)
        {
            Model = $"{input.Model.Kind}@{input.Model.Version}",
            Runtime = pipeline.Model.Runtime,
            Reasoning = pipeline.Fuses ? pipeline.SummarizeReasoning(reasonSeconds) : null,
            ItemsBySource = tally.ItemsBySource,
            ItemsByRole = tally.ItemsByRole,
            CategoriesBeforeFusion = ShardOutcome.Top(tally.CategoriesBeforeFusion),
            CategoriesAfterFusion = ShardOutcome.Top(tally.CategoriesAfterFusion),
            UsersByArm = input.Experiment is null ? null : tally.UsersByArm,
            LlmTokenShare = budgeted ? input.LlmTokens : null,
            LlmTokensSpent = refining is null ? null : SpentSoFar(),
            Executions = executions,
        };
        RecordMetrics(outcome, pipeline, reasonSeconds, scoreSeconds, ioSeconds);
        var reportPath = BlobLayout.ShardReport(input.RunId, input.Shard);
        await store.WriteJsonAsync(reportPath, outcome).ConfigureAwait(false);
        logger.LogInformation("Shard {Shard}: {Published} users published ({Cold} cold) with {Model} in {Seconds:F2} s (reasoning {Reason:F2} s, scoring {Score:F2} s)",
            input.Shard, published, tally.Cold, input.Model.Kind, watch.Elapsed.TotalSeconds, reasonSeconds, scoreSeconds);
        if (outcome.Reasoning?.Reasoners.GetValueOrDefault(ReasonerKinds.EmbeddedFallback) is > 0 and var fallbacks)
        {
            // Aggregated, never per user: user ids are personal data.
            logger.LogWarning("LLM reasoner unusable for {Fallbacks} of {Users} users of shard {Shard} (embedded result kept): {Reasons}",
                fallbacks, users, input.Shard, string.Join(", ", (pipeline.Reasoner as LlmRefiningReasoner)?.FallbackReasons.Select(kv => $"{kv.Key} {kv.Value}") ?? []));
        }
        if (budgeted)
        {
            await WriteLedgerAsync(input, SpentSoFar()).ConfigureAwait(false);
        }
        return new RecommendShardResult(input.Shard, users, published, candidatesPath, reportPath, started, Math.Round(watch.Elapsed.TotalSeconds, 3), executions)
        {
            LlmTokensSpent = budgeted ? SpentSoFar() : refining?.LlmTokensSpent ?? 0,
        };

        async Task SaveLedgerOnFailureAsync()
        {
            if (!budgeted)
            {
                return;
            }
            try
            {
                await WriteLedgerAsync(input, SpentSoFar()).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Shard {Shard}: could not record the LLM tokens of the failed attempt", input.Shard);
            }
        }
    }

    /// <summary>Tokens the shard's earlier attempts of this run spent (0 for the first, or for a re-run of the same id).</summary>
    private async Task<long> ReadLedgerAsync(RecommendShardInput input)
    {
        var path = BlobLayout.ShardLlmLedger(input.RunId, input.Shard);
        if (!await store.ExistsAsync(path).ConfigureAwait(false))
        {
            return 0;
        }
        var parts = (await store.ReadTextAsync(path).ConfigureAwait(false)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2 && parts[0] == input.RunStartedAt.Ticks.ToString(CultureInfo.InvariantCulture)
            && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var spent) && spent >= 0 ? spent : 0;
    }

    private Task WriteLedgerAsync(RecommendShardInput input, long spent) =>
        store.WriteTextAsync(BlobLayout.ShardLlmLedger(input.RunId, input.Shard),
            string.Create(CultureInfo.InvariantCulture, $"{input.RunStartedAt.Ticks} {spent}"));

    /// <summary>The shard's counts and step durations as metrics (aggregates only; no user id leaves as an attribute).</summary>
    private static void RecordMetrics(ShardOutcome outcome, ShardRecommender pipeline, double reasonSeconds, double scoreSeconds, double ioSeconds)
    {
        var provider = new KeyValuePair<string, object?>(RoleGenTelemetry.ExecutionProviderTag, pipeline.Model.Runtime ?? "unknown");
        RoleGenTelemetry.UsersScored.Add(outcome.Scored);
        RoleGenTelemetry.UsersPublished.Add(outcome.Published);
        RoleGenTelemetry.ScoreDuration.Record(scoreSeconds, provider);
        RoleGenTelemetry.ShardDuration.Record(scoreSeconds, new KeyValuePair<string, object?>(RoleGenTelemetry.StepTag, "score"));
        RoleGenTelemetry.ShardDuration.Record(ioSeconds, new KeyValuePair<string, object?>(RoleGenTelemetry.StepTag, "publish"));
        if (outcome.Reasoning is { } r)
        {
            RoleGenTelemetry.UsersReasoned.Add(r.Users);
            RoleGenTelemetry.ShardDuration.Record(reasonSeconds, new KeyValuePair<string, object?>(RoleGenTelemetry.StepTag, "reason"));
            RoleGenTelemetry.RecordLlm(r.Llm, r.Reasoners.GetValueOrDefault(ReasonerKinds.EmbeddedFallback));
        }
    }

    private async Task UploadAsync(string file, string path)
    {
        await using var input = File.OpenRead(file);
        await using var output = await store.OpenWriteAsync(path).ConfigureAwait(false);
        await input.CopyToAsync(output).ConfigureAwait(false);
    }

    /// <summary>Counts this start in the shard's executions marker (crash re-deliveries included): the real attempts.</summary>
    private async Task<int> CountExecutionAsync(RecommendShardInput input)
    {
        // "{run start ticks} {count}": a re-run of the same id (a new start time) counts from 1 again.
        var path = BlobLayout.ShardExecutions(input.RunId, input.Shard);
        var stamp = input.RunStartedAt.Ticks.ToString(CultureInfo.InvariantCulture);
        var previous = 0;
        if (await store.ExistsAsync(path).ConfigureAwait(false))
        {
            var parts = (await store.ReadTextAsync(path).ConfigureAwait(false)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == stamp)
            {
                _ = int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out previous);
            }
        }
        var now = previous + 1;
        await store.WriteTextAsync(path, string.Create(CultureInfo.InvariantCulture, $"{stamp} {now}")).ConfigureAwait(false);
        return now;
    }
}
