using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Experiments;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Scores one shard's users with the run's model and writes <c>scores.jsonl</c> (overwritten on retry).</summary>
/// <remarks>With a reasoning path, the shard's <c>reasoning.jsonl</c> is read in lockstep with users.jsonl (same order; a
/// user id mismatch fails the shard permanently) and fused into the model's list (<see cref="RoleGenFusion"/>): every
/// item then carries its source and role.</remarks>
public sealed class ScoreShardActivity(IBlobStore store, IRecommenderProvider recommenders, ReasoningStatisticsCache statistics, ILogger<ScoreShardActivity> logger)
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
        var path = BlobLayout.ShardScores(input.RunId, input.Shard);
        int users = 0, scored = 0, cold = 0;
        RoleGenFusion? fusion = null;
        if (input.ReasoningPath is not null && input.Reasoning is not null)
        {
            try
            {
                var stats = await statistics.GetAsync(input.Reasoning.StatsPath).ConfigureAwait(false);
                fusion = new RoleGenFusion(input.Reasoning.Options.Fusion, stats, input.Reasoning.Options);
            }
            catch (BlobNotFoundException ex)
            {
                throw new PermanentFailureException($"Shard {input.Shard}: the run's reasoning statistics are missing at {ex.Path}.", ex);
            }
        }
        var bySource = new Dictionary<string, long>(StringComparer.Ordinal);
        var byRole = new Dictionary<string, long>(StringComparer.Ordinal);
        var byArm = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            (users, scored, cold) = await ScoreAsync(recommender, input, path, fusion, bySource, byRole, byArm).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            // A corrupt shard input will be corrupt on every attempt: fail the shard now, with the line that is wrong.
            throw new PermanentFailureException($"Shard {input.Shard}: {ex.Message}", ex);
        }
        catch (BlobNotFoundException ex) when (ex.Path == input.ReasoningPath)
        {
            // The reason step reported success for this path: a missing file will stay missing on retry.
            throw new PermanentFailureException($"Shard {input.Shard}: the shard's reasoning is missing at {ex.Path}.", ex);
        }
        logger.LogInformation("Scored {Users} users in shard {Shard} with {Model} ({Cold} cold) in {Seconds:F2} s",
            scored, input.Shard, input.Model.Kind, cold, watch.Elapsed.TotalSeconds);
        return new ScoreShardResult(input.Shard, users, scored, cold, path, watch.Elapsed.TotalSeconds)
        {
            Runtime = recommender.Runtime,
            ItemsBySource = bySource,
            ItemsByRole = byRole,
            UsersByArm = input.Experiment is null ? null : byArm,
        };
    }

    private async Task<(int Users, int Scored, int Cold)> ScoreAsync(IRecommender recommender, ScoreShardInput input, string path,
        RoleGenFusion? fusion, Dictionary<string, long> bySource, Dictionary<string, long> byRole, Dictionary<string, long> byArm)
    {
        var experiment = input.Experiment;
        int users = 0, scored = 0, cold = 0;
        // The model lists a few more than top-K when fusing, so reasoned items can enter without emptying the tail.
        var listSize = fusion is null ? input.TopK : input.TopK + input.Reasoning!.Options.PathsPerUser;
        IAsyncEnumerator<UserReasoning>? reasoning = fusion is null
            ? null
            : store.ReadJsonLinesAsync<UserReasoning>(input.ReasoningPath!).GetAsyncEnumerator();
        try
        {
            await using var output = await store.OpenWriteAsync(path).ConfigureAwait(false);
            var batch = new List<UserTrajectory>(BatchSize);
            async Task FlushAsync()
            {
                var recs = recommender.Recommend(batch, listSize);
                if (recs.Count != batch.Count)
                {
                    throw new InvalidOperationException($"Scorer returned {recs.Count} rows for {batch.Count} users.");
                }
                cold += recs.Count(r => r.Items.Count > 0 && r.Items.All(i => i.Source is "popularity" or "backbone-cold"));
                var final = new UserRecommendations[recs.Count];
                for (var i = 0; i < recs.Count; i++)
                {
                    UserReasoning? line = null;
                    if (fusion is not null)
                    {
                        if (!await reasoning!.MoveNextAsync().ConfigureAwait(false))
                        {
                            throw new InvalidDataException($"{input.ReasoningPath} ends before user '{batch[i].UserId}'.");
                        }
                        if (!string.Equals(reasoning.Current.UserId, batch[i].UserId, StringComparison.Ordinal))
                        {
                            throw new InvalidDataException($"{input.ReasoningPath} is out of step with the shard's users: '{reasoning.Current.UserId}' where '{batch[i].UserId}' was expected.");
                        }
                        line = reasoning.Current;
                    }
                    // A/B: control users get the model's own list (the baseline policy), treatment users RoleGen's.
                    var arm = experiment is null ? (Arm?)null : ArmAssignment.Of(experiment.Name, batch[i].UserId, experiment.TreatmentShare);
                    if (arm is { } a)
                    {
                        var key = a.ToString().ToLowerInvariant();
                        byArm[key] = byArm.GetValueOrDefault(key) + 1;
                    }
                    final[i] = fusion is not null && arm != Arm.Control
                        ? fusion.Fuse(batch[i], recs[i], line, input.TopK) with { Arm = arm }
                        : recs[i] with { Items = recs[i].Items.Take(input.TopK).ToArray(), Arm = arm };
                }
                foreach (var item in final.SelectMany(r => r.Items))
                {
                    bySource[item.Source] = bySource.GetValueOrDefault(item.Source) + 1;
                    var role = item.Role?.ToString().ToLowerInvariant() ?? "none";
                    byRole[role] = byRole.GetValueOrDefault(role) + 1;
                }
                scored += await JsonLines.WriteAsync(output, final).ConfigureAwait(false);
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
            if (reasoning is not null && await reasoning.MoveNextAsync().ConfigureAwait(false))
            {
                throw new InvalidDataException($"{input.ReasoningPath} holds more users than the shard (e.g. '{reasoning.Current.UserId}').");
            }
        }
        finally
        {
            if (reasoning is not null)
            {
                await reasoning.DisposeAsync().ConfigureAwait(false);
            }
        }
        return (users, scored, cold);
    }
}
