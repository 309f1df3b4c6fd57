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

/// <summary>Selects the dormant cohort and writes one <c>users.jsonl</c> per shard, in one <see cref="EventPass"/> over the
/// events (<see cref="CohortConsumer"/>): per-user window statistics while the events stream (O(users) memory, ~100 bytes
/// each), then each dormant user's window trajectory to a local per-shard file as the pass replays the users; each shard is
/// then sorted by user id and uploaded alone (O(largest shard) memory). Output names are deterministic and overwritten, so
/// a retry replaces its own output.</summary>
public sealed class DormantCohortSelector(IBlobStore store, ILogger<DormantCohortSelector> logger)
{
    public const int DefaultMaxSteps = 200;

    public async Task<CohortResult> SelectAsync(string runId, string dataset, DormancyPolicy policy, int shardSize,
        int pinnedShardCount = 0, int maxSteps = DefaultMaxSteps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var watch = Stopwatch.StartNew();
        var asOf = policy.AsOfUnixSeconds ?? await EventPass.LatestTimestampAsync(store, dataset, cancellationToken).ConfigureAwait(false);
        using var cohort = new CohortConsumer(runId, dataset, policy, asOf, shardSize, pinnedShardCount, maxSteps, logger);
        await EventPass.RunAsync(store, dataset, asOf, [cohort], cancellationToken: cancellationToken).ConfigureAwait(false);
        return await cohort.WriteAsync(store, watch, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The dormant cohort's share of an <see cref="EventPass"/>: window statistics per user while the events stream;
/// at the end of the stream the dormant set and the shard count; while users replay, each dormant user's trajectory (the
/// last <c>maxSteps</c> window steps, the items bought in the window) goes to a local file of its shard; finally each shard
/// is sorted by user id (deterministic bytes for the same input) and written as <c>users.jsonl</c>.</summary>
public sealed class CohortConsumer : IEventPassConsumer, IDisposable
{
    private struct Stats
    {
        public int Views;
        public int Carts;
        public int Purchases;
        public ulong DaysMask;
    }

    private readonly string _runId;
    private readonly string _dataset;
    private readonly DormancyPolicy _policy;
    private readonly long _asOf;
    private readonly long _windowStart;
    private readonly int _shardSize;
    private readonly int _pinnedShardCount;
    private readonly int _maxSteps;
    private readonly ILogger _logger;
    private readonly Dictionary<string, Stats> _stats = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _reasons = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dormant = new(StringComparer.Ordinal);
    private readonly string _spoolDir;
    private readonly Dictionary<int, StreamWriter> _shardFiles = [];
    private EventVocabulary? _vocabulary;
    private long _read;
    private long _inWindow;
    private int _shardCount;

    public CohortConsumer(string runId, string dataset, DormancyPolicy policy, long asOf, int shardSize, int pinnedShardCount, int maxSteps, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Validate() is { } invalid)
        {
            throw new PermanentFailureException($"Invalid dormancy policy: {invalid}");
        }
        _runId = runId;
        _dataset = dataset;
        _policy = policy;
        _asOf = asOf;
        _windowStart = asOf - policy.LookbackDays * 86_400L;
        _shardSize = shardSize;
        _pinnedShardCount = pinnedShardCount;
        _maxSteps = maxSteps;
        _logger = logger;
        _spoolDir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rolegen-spool", $"{runId}-cohort-{Guid.NewGuid():N}");
    }

    public long AsOf => _asOf;

    public void OnEvent(in BehaviorEvent e, int item, int category)
    {
        if (e.Timestamp <= _windowStart)
        {
            return;
        }
        _inWindow++;
        ref var s = ref CollectionsMarshal.GetValueRefOrAddDefault(_stats, e.UserId, out _);
        switch (e.Type)
        {
            case EventType.View: s.Views++; break;
            case EventType.Cart: s.Carts++; break;
            case EventType.Purchase: s.Purchases++; break;
        }
        var daysAgo = (_asOf - e.Timestamp) / 86_400L;
        if (daysAgo < 64)
        {
            s.DaysMask |= 1UL << (int)daysAgo;
        }
    }

    public void OnStreamEnd(EventVocabulary vocabulary, long eventsRead)
    {
        _vocabulary = vocabulary;
        _read = eventsRead;
        foreach (var (user, s) in _stats)
        {
            var reason = _policy.NotDormantReason(s.Views, s.Purchases, System.Numerics.BitOperations.PopCount(s.DaysMask));
            if (reason is null)
            {
                _dormant.Add(user);
            }
            else
            {
                _reasons[reason] = _reasons.GetValueOrDefault(reason) + 1;
            }
        }
        _shardCount = _dormant.Count == 0 ? 0 : ShardPlan.ShardCount(_dormant.Count, _shardSize, _pinnedShardCount);
        _logger.LogInformation("Dormant cohort of {Dataset}: {Dormant} of {Users} users in the window; {Shards} shards",
            _dataset, _dormant.Count, _stats.Count, _shardCount);
        Directory.CreateDirectory(_spoolDir);
    }

    public void OnUser(string userId, IReadOnlyList<SpooledStep> steps)
    {
        if (!_dormant.Contains(userId))
        {
            return;
        }
        var v = _vocabulary!;
        // The window's steps, already in time order (ties in file order).
        var window = steps.Where(s => s.Ts > _windowStart).ToList();
        var purchased = window.Where(s => s.Type == EventType.Purchase).Select(s => v.ItemIds[s.Item]).Distinct(StringComparer.Ordinal).ToArray();
        var kept = window.Skip(Math.Max(0, window.Count - _maxSteps))
            .Select(s => new TrajectoryStep(v.ItemIds[s.Item], v.CategoryIds[s.Category], s.Type, s.Ts)).ToArray();
        var stats = _stats[userId];
        var trajectory = new UserTrajectory(userId, stats.Views, stats.Carts, stats.Purchases,
            System.Numerics.BitOperations.PopCount(stats.DaysMask), kept, purchased);
        var shard = ShardPlan.ShardOf(userId, _shardCount);
        if (!_shardFiles.TryGetValue(shard, out var writer))
        {
            _shardFiles[shard] = writer = new StreamWriter(System.IO.Path.Combine(_spoolDir, $"{shard}.jsonl"), append: false, new System.Text.UTF8Encoding(false), 1 << 16);
        }
        // The user id as a JSON string (no raw tab or newline in it), a tab, the JSON line: sorted by user id before upload.
        writer.Write(System.Text.Json.JsonSerializer.Serialize(userId, RoleGenJson.Options));
        writer.Write('\t');
        writer.WriteLine(System.Text.Json.JsonSerializer.Serialize(trajectory, RoleGenJson.Options));
    }

    /// <summary>Uploads every shard's <c>users.jsonl</c> (users in ordinal id order) and <c>cohort.json</c>.</summary>
    public async Task<CohortResult> WriteAsync(IBlobStore store, Stopwatch watch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(watch);
        foreach (var w in _shardFiles.Values)
        {
            w.Dispose();
        }
        var shards = new List<ShardInput>();
        for (var shard = 0; shard < _shardCount; shard++)
        {
            var file = System.IO.Path.Combine(_spoolDir, $"{shard}.jsonl");
            if (!File.Exists(file))
            {
                continue;
            }
            var lines = await File.ReadAllLinesAsync(file, cancellationToken).ConfigureAwait(false);
            var ordered = lines.Select(l =>
                {
                    var tab = l.IndexOf('\t', StringComparison.Ordinal);
                    return (User: System.Text.Json.JsonSerializer.Deserialize<string>(l.AsSpan(0, tab), RoleGenJson.Options)!, Json: l[(tab + 1)..]);
                })
                .OrderBy(x => x.User, StringComparer.Ordinal).ToArray();
            var path = BlobLayout.ShardUsers(_runId, shard);
            await using (var output = await store.OpenWriteAsync(path, cancellationToken).ConfigureAwait(false))
            await using (var text = new StreamWriter(output, new System.Text.UTF8Encoding(false), 1 << 16) { NewLine = "\n" })
            {
                foreach (var (_, json) in ordered)
                {
                    await text.WriteLineAsync(json.AsMemory(), cancellationToken).ConfigureAwait(false);
                }
            }
            shards.Add(new ShardInput(shard, path, ordered.Length));
            File.Delete(file);
        }
        var result = new CohortResult(_runId, _dataset, _policy, _asOf, _windowStart, _read, _inWindow, _stats.Count, _dormant.Count,
            _reasons, _shardCount, _shardCount - shards.Count, shards, watch.Elapsed.TotalSeconds);
        await store.WriteJsonAsync(BlobLayout.Cohort(_runId), result, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public void Dispose()
    {
        foreach (var w in _shardFiles.Values)
        {
            w.Dispose();
        }
        try
        {
            if (Directory.Exists(_spoolDir))
            {
                Directory.Delete(_spoolDir, recursive: true);
            }
        }
        catch (IOException ex)
        {
            _logger.LogWarning(ex, "Could not delete spool directory {Directory}", _spoolDir);
        }
    }
}
