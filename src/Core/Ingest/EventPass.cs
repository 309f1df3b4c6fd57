using RoleGen.Core.Events;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Ingest;

/// <summary>Dense indices of the items and categories seen in a pass (an item's category is the last one seen).</summary>
public sealed class EventVocabulary
{
    private readonly Dictionary<string, int> _items = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _categories = new(StringComparer.Ordinal);

    public List<string> ItemIds { get; } = [];

    /// <summary>Category index of each item (its last event's category).</summary>
    public List<int> ItemCategory { get; } = [];

    public List<string> CategoryIds { get; } = [];

    public int Items => ItemIds.Count;

    /// <summary>The indices of the event's item and category (added when new; the item takes the event's category).</summary>
    public (int Item, int Category) Add(in BehaviorEvent e)
    {
        ref var cslot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_categories, e.CategoryId, out var cexists);
        if (!cexists)
        {
            cslot = CategoryIds.Count;
            CategoryIds.Add(e.CategoryId);
        }
        var category = cslot;
        ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_items, e.ItemId, out var exists);
        if (!exists)
        {
            slot = ItemIds.Count;
            ItemIds.Add(e.ItemId);
            ItemCategory.Add(category);
        }
        ItemCategory[slot] = category;
        return (slot, category);
    }

    /// <summary>The category id of an item (its last event's category).</summary>
    public string CategoryOf(int item) => CategoryIds[ItemCategory[item]];
}

/// <summary>A consumer of <see cref="EventPass"/>: sees every event up to the as-of time as it streams, then every user's
/// time-ordered steps once the stream has ended.</summary>
public interface IEventPassConsumer
{
    void OnEvent(in BehaviorEvent e, int item, int category);

    /// <summary>The stream has ended: <paramref name="eventsRead"/> counts every event read, also those after the as-of time.</summary>
    void OnStreamEnd(EventVocabulary vocabulary, long eventsRead);

    void OnUser(string userId, IReadOnlyList<SpooledStep> steps);
}

/// <summary>What one pass read: every event (<see cref="EventsRead"/>), those up to the as-of time (<see cref="EventsUsed"/>),
/// the users they belong to and the bytes of the event parts read from blob.</summary>
public sealed record EventPassResult(EventVocabulary Vocabulary, long EventsRead, long EventsUsed, long Users, long BytesRead, double StreamSeconds, double UsersSeconds);

/// <summary>
/// One streaming read of a dataset's events (<c>events/{dataset}/part-*.csv</c>) shared by every consumer: the cohort
/// statistics and shard trajectories, the transition model and the behaviour-graph statistics are all built from the same
/// read. Events up to the as-of time are spooled, compact, to local disk partitioned by user (bounded memory: one
/// partition at a time), then replayed per user in time order (ties keep the file order).
/// </summary>
public static class EventPass
{
    /// <summary>Events per local spool partition.</summary>
    public const long DefaultEventsPerPartition = 4_000_000;

    public static async Task<EventPassResult> RunAsync(IBlobStore store, string dataset, long asOf, IReadOnlyList<IEventPassConsumer> consumers,
        long eventsPerPartition = DefaultEventsPerPartition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(consumers);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var summary = await store.TryReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary(dataset), cancellationToken).ConfigureAwait(false);
        var (_, bytes) = await EventStore.LivePartsAsync(store, dataset, cancellationToken).ConfigureAwait(false);
        var vocabulary = new EventVocabulary();
        using var spool = new UserSequenceSpool(UserSequenceSpool.PartitionsFor(summary?.Events ?? 0, eventsPerPartition), "pass");
        long read = 0, used = 0;
        await foreach (var e in EventStore.ReadAllAsync(store, dataset, cancellationToken).ConfigureAwait(false))
        {
            read++;
            if (e.Timestamp > asOf)
            {
                continue;
            }
            used++;
            var (item, category) = vocabulary.Add(e);
            foreach (var c in consumers)
            {
                c.OnEvent(e, item, category);
            }
            spool.Add(e.UserId, new SpooledStep(item, category, e.Type, e.Timestamp));
        }
        var streamSeconds = watch.Elapsed.TotalSeconds;
        foreach (var c in consumers)
        {
            c.OnStreamEnd(vocabulary, read);
        }
        long users = 0;
        foreach (var (user, steps) in spool.Users(cancellationToken))
        {
            users++;
            foreach (var c in consumers)
            {
                c.OnUser(user, steps);
            }
        }
        return new EventPassResult(vocabulary, read, used, users, bytes, streamSeconds, watch.Elapsed.TotalSeconds - streamSeconds);
    }

    /// <summary>The dataset's latest event time: from the ingest summary, else one extra read of the events.</summary>
    public static async Task<long> LatestTimestampAsync(IBlobStore store, string dataset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
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
