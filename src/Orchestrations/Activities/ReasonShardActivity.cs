using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Pipeline;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>
/// The shard's reason step, a thin adapter: reads <c>users.jsonl</c>, runs the reasoning half of the
/// <see cref="ShardRecommender"/> (embedded reasoner, refined by the LLM when one is configured — fallback and counting
/// live in Core's <see cref="LlmRefiningReasoner"/>) and writes <c>reasoning.jsonl</c> (one <see cref="UserReasoning"/>
/// per user, in users.jsonl order; overwritten on retry).
/// </summary>
public sealed class ReasonShardActivity(IBlobStore store, ShardRecommenderFactory pipelines, ILogger<ReasonShardActivity> logger)
    : TaskActivity<ReasonShardInput, ReasonShardResult>
{
    public const int BatchSize = 256;

    public override async Task<ReasonShardResult> RunAsync(TaskActivityContext context, ReasonShardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = Stopwatch.StartNew();
        ShardRecommender pipeline;
        try
        {
            pipeline = await pipelines.ForReasoningAsync(input.Model, input.Reasoning.StatsPath,
                new ShardRecommenderOptions { Reasoner = input.Reasoning.Options }).ConfigureAwait(false);
        }
        catch (BlobNotFoundException ex) when (ex.Path == input.Reasoning.StatsPath)
        {
            throw new PermanentFailureException($"Shard {input.Shard}: the run's reasoning statistics are missing at {ex.Path}.", ex);
        }
        catch (BlobNotFoundException ex)
        {
            throw new PermanentFailureException($"Model '{input.Model.Kind}' version {input.Model.Version} is missing at {ex.Path}.", ex);
        }
        var path = BlobLayout.ShardReasoning(input.RunId, input.Shard);
        try
        {
            await using var output = await store.OpenWriteAsync(path).ConfigureAwait(false);
            await foreach (var batch in store.ReadJsonLinesAsync<UserTrajectory>(input.UsersPath).Batches(BatchSize).ConfigureAwait(false))
            {
                await JsonLines.WriteAsync(output, await pipeline.ReasonAsync(batch).ConfigureAwait(false)).ConfigureAwait(false);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new PermanentFailureException($"Shard {input.Shard}: {ex.Message}", ex);
        }
        var result = pipeline.SummarizeReasoning(watch.Elapsed.TotalSeconds);
        logger.LogInformation("Reasoned over {Users} users of shard {Shard}: {Paths} paths ({World}) in {Seconds:F2} s",
            result.Users, input.Shard, result.Paths, result.WorldModel, watch.Elapsed.TotalSeconds);
        if (result.Reasoners.GetValueOrDefault(ReasonerKinds.EmbeddedFallback) is var fallbacks and > 0)
        {
            // Aggregated, never per user: user ids are personal data.
            logger.LogWarning("LLM reasoner unusable for {Fallbacks} of {Users} users of shard {Shard} (embedded result kept): {Reasons}",
                fallbacks, result.Users, input.Shard, string.Join(", ", (pipeline.Reasoner as LlmRefiningReasoner)?.FallbackReasons.Select(kv => $"{kv.Key} {kv.Value}") ?? []));
        }
        return new ReasonShardResult(input.Shard, result, path);
    }
}
