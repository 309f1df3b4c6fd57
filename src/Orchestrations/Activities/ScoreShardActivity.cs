using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Scores one shard's users with the run's model and writes <c>scores.jsonl</c> (overwritten on retry).</summary>
public sealed class ScoreShardActivity(IBlobStore store, IRecommenderProvider recommenders, ILogger<ScoreShardActivity> logger)
    : TaskActivity<ScoreShardInput, ScoreShardResult>
{
    public const int BatchSize = 512;

    public override async Task<ScoreShardResult> RunAsync(TaskActivityContext context, ScoreShardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = Stopwatch.StartNew();
        IRecommender recommender;
        try
        {
            recommender = await recommenders.GetAsync(input.Model).ConfigureAwait(false);
        }
        catch (BlobNotFoundException ex)
        {
            throw new PermanentFailureException($"Model '{input.Model.Kind}' version {input.Model.Version} is missing at {ex.Path}.", ex);
        }
        var path = ShardPlan.ScoresPath(input.RunId, input.Shard);
        int users = 0, scored = 0, cold = 0;
        try
        {
            (users, scored, cold) = await ScoreAsync(recommender, input, path).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            // A corrupt shard input will be corrupt on every attempt: fail the shard now, with the line that is wrong.
            throw new PermanentFailureException($"Shard {input.Shard}: {ex.Message}", ex);
        }
        logger.LogInformation("Scored {Users} users in shard {Shard} with {Model} ({Cold} cold) in {Seconds:F2} s",
            scored, input.Shard, input.Model.Kind, cold, watch.Elapsed.TotalSeconds);
        return new ScoreShardResult(input.Shard, users, scored, cold, path, watch.Elapsed.TotalSeconds) { Runtime = recommender.Runtime };
    }

    private async Task<(int Users, int Scored, int Cold)> ScoreAsync(IRecommender recommender, ScoreShardInput input, string path)
    {
        int users = 0, scored = 0, cold = 0;
        await using (var output = await store.OpenWriteAsync(path).ConfigureAwait(false))
        {
            var batch = new List<UserTrajectory>(BatchSize);
            async Task FlushAsync()
            {
                var recs = recommender.Recommend(batch, input.TopK);
                if (recs.Count != batch.Count)
                {
                    throw new InvalidOperationException($"Scorer returned {recs.Count} rows for {batch.Count} users.");
                }
                cold += recs.Count(r => r.Items.Count > 0 && r.Items.All(i => i.Source is "popularity" or "backbone-cold"));
                scored += await JsonLines.WriteAsync(output, recs).ConfigureAwait(false);
                batch.Clear();
            }
            await foreach (var user in store.ReadJsonLinesAsync<UserTrajectory>(input.UsersPath).ConfigureAwait(false))
            {
                users++;
                batch.Add(user);
                if (batch.Count == BatchSize)
                {
                    await FlushAsync().ConfigureAwait(false);
                }
            }
            if (batch.Count > 0)
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        return (users, scored, cold);
    }
}
