using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Cohort;

public sealed record ShardInput(int Shard, string UsersPath, int Users);

public sealed record CohortResult(
    string RunId,
    string Dataset,
    DormancyPolicy Policy,
    long AsOfUnixSeconds,
    long WindowStartUnixSeconds,
    long EventsRead,
    long EventsInWindow,
    long UsersInWindow,
    long Dormant,
    IReadOnlyDictionary<string, long> NotDormantReasons,
    int ShardCount,
    int EmptyShards,
    IReadOnlyList<ShardInput> Shards,
    double Seconds);

/// <summary>Selects the dormant cohort and writes one <c>users.jsonl</c> per shard. Two streaming passes over the events:
/// (1) per-user window statistics (O(users) memory, ~100 bytes each); (2) the dormant users' events are spooled to one
/// local temp file per shard, then each shard is grouped, sorted and uploaded alone (O(largest shard) memory).
/// Output names are deterministic and overwritten, so a retry replaces its own output.</summary>
public sealed class DormantCohortSelector(IBlobStore store, ILogger<DormantCohortSelector> logger)
{
    public const int DefaultMaxSteps = 200;

    private struct Stats
    {
        public int Views;
        public int Carts;
        public int Purchases;
        public ulong DaysMask;
    }

    public async Task<CohortResult> SelectAsync(string runId, string dataset, DormancyPolicy policy, int shardSize,
        int pinnedShardCount = 0, int maxSteps = DefaultMaxSteps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Validate() is { } invalid)
        {
            throw new PermanentFailureException($"Invalid dormancy policy: {invalid}");
        }
        var watch = Stopwatch.StartNew();
        var asOf = policy.AsOfUnixSeconds ?? await LatestTimestampAsync(dataset, cancellationToken).ConfigureAwait(false);
        var windowStart = asOf - policy.LookbackDays * 86_400L;

        // Pass 1: statistics.
        var stats = new Dictionary<string, Stats>(StringComparer.Ordinal);
        long read = 0, inWindow = 0;
        await foreach (var e in EventStore.ReadAllAsync(store, dataset, cancellationToken).ConfigureAwait(false))
        {
            read++;
            if (e.Timestamp > asOf || e.Timestamp <= windowStart)
            {
                continue;
            }
            inWindow++;
            ref var s = ref CollectionsMarshal.GetValueRefOrAddDefault(stats, e.UserId, out _);
            switch (e.Type)
            {
                case EventType.View: s.Views++; break;
                case EventType.Cart: s.Carts++; break;
                case EventType.Purchase: s.Purchases++; break;
            }
            var daysAgo = (asOf - e.Timestamp) / 86_400L;
            if (daysAgo < 64)
            {
                s.DaysMask |= 1UL << (int)daysAgo;
            }
        }

        var reasons = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var dormant = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (user, s) in stats)
        {
            var reason = policy.NotDormantReason(s.Views, s.Purchases, System.Numerics.BitOperations.PopCount(s.DaysMask));
            if (reason is null)
            {
                dormant.Add(user);
            }
            else
            {
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
            }
        }
        var shardCount = dormant.Count == 0 ? 0 : ShardPlan.ShardCount(dormant.Count, shardSize, pinnedShardCount);
        logger.LogInformation("Dormant cohort of {Dataset}: {Dormant} of {Users} users in the window; {Shards} shards",
            dataset, dormant.Count, stats.Count, shardCount);

        // Pass 2: spool dormant users' events per shard.
        var spoolDir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rolegen-spool", $"{runId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(spoolDir);
        try
        {
            var buffers = new Dictionary<int, List<BehaviorEvent>>();
            void Flush(int shard, List<BehaviorEvent> buffer)
            {
                using var file = new FileStream(System.IO.Path.Combine(spoolDir, $"{shard}.csv"), FileMode.Append, FileAccess.Write);
                using var writer = new NormalizedCsvWriter(file, writeHeader: false);
                foreach (var e in buffer)
                {
                    writer.Write(e);
                }
                buffer.Clear();
            }
            await foreach (var e in EventStore.ReadAllAsync(store, dataset, cancellationToken).ConfigureAwait(false))
            {
                if (e.Timestamp > asOf || e.Timestamp <= windowStart || !dormant.Contains(e.UserId))
                {
                    continue;
                }
                var shard = ShardPlan.ShardOf(e.UserId, shardCount);
                if (!buffers.TryGetValue(shard, out var buffer))
                {
                    buffers[shard] = buffer = new List<BehaviorEvent>(1024);
                }
                buffer.Add(e);
                if (buffer.Count >= 4096)
                {
                    Flush(shard, buffer);
                }
            }
            foreach (var (shard, buffer) in buffers)
            {
                if (buffer.Count > 0)
                {
                    Flush(shard, buffer);
                }
            }
            buffers.Clear();

            // Per shard: group, sort, write users.jsonl (users in id order: deterministic bytes for the same input).
            var shards = new List<ShardInput>();
            for (var shard = 0; shard < shardCount; shard++)
            {
                var file = System.IO.Path.Combine(spoolDir, $"{shard}.csv");
                if (!File.Exists(file))
                {
                    continue;
                }
                var byUser = new SortedDictionary<string, List<BehaviorEvent>>(StringComparer.Ordinal);
                await using (var input = File.OpenRead(file))
                {
                    foreach (var row in EventReader.Read(input, EventFormat.Normalized, allowHeader: false))
                    {
                        if (!byUser.TryGetValue(row.Event.UserId, out var list))
                        {
                            byUser[row.Event.UserId] = list = [];
                        }
                        list.Add(row.Event);
                    }
                }
                var trajectories = byUser.Select(kv => ToTrajectory(kv.Key, kv.Value, stats[kv.Key], maxSteps));
                var path = BlobLayout.ShardUsers(runId, shard);
                var written = await store.WriteJsonLinesAsync(path, trajectories, cancellationToken).ConfigureAwait(false);
                shards.Add(new ShardInput(shard, path, written));
                File.Delete(file);
            }

            var result = new CohortResult(runId, dataset, policy, asOf, windowStart, read, inWindow, stats.Count, dormant.Count,
                reasons, shardCount, shardCount - shards.Count, shards, watch.Elapsed.TotalSeconds);
            await store.WriteJsonAsync(BlobLayout.Cohort(runId), result, cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            try
            {
                Directory.Delete(spoolDir, recursive: true);
            }
            catch (IOException ex)
            {
                logger.LogWarning(ex, "Could not delete spool directory {Directory}", spoolDir);
            }
        }
    }

    private static UserTrajectory ToTrajectory(string user, List<BehaviorEvent> events, Stats stats, int maxSteps)
    {
        // Stable sort by time keeps the file order for equal timestamps (Taobao has many).
        var ordered = events.Select((e, i) => (e, i)).OrderBy(x => x.e.Timestamp).ThenBy(x => x.i).Select(x => x.e).ToList();
        var purchased = ordered.Where(e => e.Type == EventType.Purchase).Select(e => e.ItemId).Distinct(StringComparer.Ordinal).ToArray();
        var steps = ordered.Skip(Math.Max(0, ordered.Count - maxSteps))
            .Select(e => new TrajectoryStep(e.ItemId, e.CategoryId, e.Type, e.Timestamp)).ToArray();
        return new UserTrajectory(user, stats.Views, stats.Carts, stats.Purchases,
            System.Numerics.BitOperations.PopCount(stats.DaysMask), steps, purchased);
    }

    private async Task<long> LatestTimestampAsync(string dataset, CancellationToken cancellationToken)
    {
        var summary = await store.TryReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary(dataset), cancellationToken).ConfigureAwait(false);
        if (summary is { Events: > 0 })
        {
            return summary.MaxTimestamp;
        }
        long max = 0;
        await foreach (var e in EventStore.ReadAllAsync(store, dataset, cancellationToken).ConfigureAwait(false))
        {
            max = Math.Max(max, e.Timestamp);
        }
        return max;
    }
}
