using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Pipeline;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>The shard's score step, a thin adapter: reads <c>users.jsonl</c> (and the shard's <c>reasoning.jsonl</c> in
/// lockstep when the run reasons), runs the scoring half of the <see cref="ShardRecommender"/> (model list → fusion →
/// A/B arms) and writes <c>scores.jsonl</c> (overwritten on retry). A reasoning file out of step with the users fails the
/// shard permanently.</summary>
public sealed class ScoreShardActivity(IBlobStore store, ShardRecommenderFactory pipelines, ILogger<ScoreShardActivity> logger)
    : TaskActivity<ScoreShardInput, ScoreShardResult>
{
    public const int BatchSize = 512;

    public override async Task<ScoreShardResult> RunAsync(TaskActivityContext context, ScoreShardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = Stopwatch.StartNew();
        var fuse = input.ReasoningPath is not null && input.Reasoning is not null;
        var statsPath = fuse ? input.Reasoning!.StatsPath : null;
        ShardRecommender pipeline;
        try
        {
            pipeline = await pipelines.ForScoringAsync(input.Model, statsPath, new ShardRecommenderOptions
            {
                TopK = input.TopK,
                Reasoner = input.Reasoning?.Options ?? new ReasonerOptions(),
                Experiment = input.Experiment,
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
        var path = BlobLayout.ShardScores(input.RunId, input.Shard);
        int users = 0, scored = 0;
        try
        {
            await using var output = await store.OpenWriteAsync(path).ConfigureAwait(false);
            await using var reasoning = fuse ? store.ReadJsonLinesAsync<UserReasoning>(input.ReasoningPath!).GetAsyncEnumerator() : null;
            await foreach (var batch in store.ReadJsonLinesAsync<UserTrajectory>(input.UsersPath).Batches(BatchSize).ConfigureAwait(false))
            {
                users += batch.Count;
                List<UserReasoning>? lines = null;
                if (reasoning is not null)
                {
                    lines = new List<UserReasoning>(batch.Count);
                    while (lines.Count < batch.Count && await reasoning.MoveNextAsync().ConfigureAwait(false))
                    {
                        lines.Add(reasoning.Current);
                    }
                }
                scored += await JsonLines.WriteAsync(output, pipeline.Recommend(batch, lines)).ConfigureAwait(false);
            }
            if (reasoning is not null && await reasoning.MoveNextAsync().ConfigureAwait(false))
            {
                throw new InvalidDataException($"{input.ReasoningPath} holds more users than the shard (e.g. '{reasoning.Current.UserId}').");
            }
        }
        catch (InvalidDataException ex)
        {
            // A corrupt shard input will be corrupt on every attempt: fail the shard now, with the line that is wrong.
            throw new PermanentFailureException($"Shard {input.Shard}: {(fuse && ex.Message.StartsWith("the reasoning", StringComparison.Ordinal) ? $"{input.ReasoningPath}: " : "")}{ex.Message}", ex);
        }
        catch (BlobNotFoundException ex) when (ex.Path == input.ReasoningPath)
        {
            // The reason step reported success for this path: a missing file will stay missing on retry.
            throw new PermanentFailureException($"Shard {input.Shard}: the shard's reasoning is missing at {ex.Path}.", ex);
        }
        var tally = pipeline.Scoring;
        logger.LogInformation("Scored {Users} users in shard {Shard} with {Model} ({Cold} cold) in {Seconds:F2} s",
            scored, input.Shard, input.Model.Kind, tally.Cold, watch.Elapsed.TotalSeconds);
        return new ScoreShardResult(input.Shard, users, scored, tally.Cold, path, watch.Elapsed.TotalSeconds)
        {
            Runtime = pipeline.Model.Runtime,
            ItemsBySource = tally.ItemsBySource,
            ItemsByRole = tally.ItemsByRole,
            UsersByArm = input.Experiment is null ? null : tally.UsersByArm,
        };
    }
}
