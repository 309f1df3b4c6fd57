using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Checks a shard's scores against its users (exactly one row per user, nothing unknown, nothing twice) and
/// publishes <c>candidates.jsonl</c> under its deterministic name (overwrite: a retry never duplicates output).</summary>
public sealed class PublishShardActivity(IBlobStore store, ILogger<PublishShardActivity> logger) : TaskActivity<PublishShardInput, PublishShardResult>
{
    public override async Task<PublishShardResult> RunAsync(TaskActivityContext context, PublishShardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = Stopwatch.StartNew();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var user in store.ReadJsonLinesAsync<UserTrajectory>(input.UsersPath).ConfigureAwait(false))
        {
            expected.Add(user.UserId);
        }
        var rows = new List<CandidateRow>(expected.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var rec in store.ReadJsonLinesAsync<UserRecommendations>(input.ScoresPath).ConfigureAwait(false))
        {
            if (!expected.Contains(rec.UserId))
            {
                throw new PermanentFailureException($"Shard {input.Shard}: scores hold unknown user '{rec.UserId}'.");
            }
            if (!seen.Add(rec.UserId))
            {
                throw new PermanentFailureException($"Shard {input.Shard}: scores hold user '{rec.UserId}' twice.");
            }
            rows.Add(new CandidateRow(input.RunId, rec.UserId, input.Shard,
                rec.Items.Select((item, rank) => new Candidate(rank + 1, item.ItemId, item.CategoryId, item.Score, item.Source) { Role = item.Role }).ToArray())
            {
                Arm = rec.Arm,
            });
        }
        if (seen.Count != expected.Count)
        {
            var missing = expected.Except(seen).Take(3);
            throw new PermanentFailureException($"Shard {input.Shard}: {expected.Count - seen.Count} users have no scores (e.g. {string.Join(", ", missing)}).");
        }
        var path = BlobLayout.ShardCandidates(input.RunId, input.Shard);
        var published = await store.WriteJsonLinesAsync(path, rows).ConfigureAwait(false);
        logger.LogInformation("Published {Rows} candidate rows for shard {Shard} to {Path}", published, input.Shard, path);
        return new PublishShardResult(input.Shard, published, path, watch.Elapsed.TotalSeconds);
    }
}
