using System.Globalization;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Training.Model;

namespace RoleGen.Training.Data;

/// <summary>Training data: one chronological sequence of item tokens (1..V) and action tokens (1..4) per user.</summary>
public sealed class SequenceCorpus
{
    public SequenceCorpus(ItemVocabulary vocabulary, IReadOnlyList<int[]> itemSeqs, IReadOnlyList<int[]> actionSeqs, IReadOnlyList<string>? userIds = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(itemSeqs);
        ArgumentNullException.ThrowIfNull(actionSeqs);
        if (itemSeqs.Count != actionSeqs.Count)
        {
            throw new ArgumentException("one action sequence per item sequence", nameof(actionSeqs));
        }
        if (userIds is not null && userIds.Count != itemSeqs.Count)
        {
            throw new ArgumentException("one user id per sequence", nameof(userIds));
        }
        for (var u = 0; u < itemSeqs.Count; u++)
        {
            var items = itemSeqs[u];
            var actions = actionSeqs[u];
            if (items.Length != actions.Length)
            {
                throw new ArgumentException($"sequence {u}: {items.Length} items but {actions.Length} actions");
            }
            foreach (var t in items)
            {
                if (t < 1 || t > vocabulary.Count)
                {
                    throw new ArgumentException($"sequence {u}: item token {t} outside 1..{vocabulary.Count}");
                }
            }
            foreach (var a in actions)
            {
                if (a is < ActionTokens.View or > ActionTokens.Purchase)
                {
                    throw new ArgumentException($"sequence {u}: action token {a} outside 1..4");
                }
            }
        }
        Vocabulary = vocabulary;
        ItemSeqs = itemSeqs;
        ActionSeqs = actionSeqs;
        UserIds = userIds ?? Enumerable.Range(0, itemSeqs.Count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    public ItemVocabulary Vocabulary { get; }

    /// <summary>Whether consecutive repeats of one (item, action) were collapsed when the sequences were built: serving must
    /// encode histories the same way (written to vocab.json as <c>collapseRepeats</c>).</summary>
    public bool CollapseRepeats { get; init; }

    public IReadOnlyList<int[]> ItemSeqs { get; }

    public IReadOnlyList<int[]> ActionSeqs { get; }

    public IReadOnlyList<string> UserIds { get; }

    public int NumItems => Vocabulary.Count;

    public long EventCount => ItemSeqs.Sum(s => (long)s.Length);

    /// <summary>Reads the SASRec-format Amazon file (<c>user item item ...</c> per line, chronological); every action is a purchase.</summary>
    public static SequenceCorpus FromBeautyFile(string path)
    {
        using var reader = new StreamReader(path);
        return FromBeauty(reader);
    }

    public static SequenceCorpus FromBeauty(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var users = new List<string>();
        var raw = new List<string[]>();
        while (reader.ReadLine() is { } line)
        {
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2)
            {
                continue;
            }
            users.Add(parts[0]);
            raw.Add(parts[1..]);
        }
        var vocabulary = BuildVocabulary(raw.SelectMany(r => r).Select(id => (id, EventReader.UnknownCategory)), minCount: 1, maxItems: int.MaxValue);
        var itemSeqs = raw.Select(r => r.Select(id => vocabulary.TryGetToken(id, out var t) ? t : throw new InvalidOperationException()).ToArray()).ToArray();
        var actionSeqs = itemSeqs.Select(s => Enumerable.Repeat(ActionTokens.Purchase, s.Length).ToArray()).ToArray();
        return new SequenceCorpus(vocabulary, itemSeqs, actionSeqs, users);
    }

    /// <summary>Streams events with Core's <see cref="EventReader"/> and builds per-user sequences; bad rows are counted and skipped.</summary>
    public static SequenceCorpus FromEventStream(Stream stream, EventFormat format, EventCorpusOptions? options, out EventCorpusStats stats)
    {
        long quarantined = 0;
        var events = EventReader.Read(stream, format).Where(r =>
        {
            if (!r.IsValid)
            {
                quarantined++;
            }
            return r.IsValid;
        }).Select(r => r.Event);
        var corpus = FromEvents(events, options, out var inner);
        stats = inner with { RowsQuarantined = quarantined };
        return corpus;
    }

    /// <summary>Per user: events sorted by timestamp (ties keep input order); items kept by frequency
    /// (<see cref="EventCorpusOptions.MinItemCount"/>, <see cref="EventCorpusOptions.MaxItems"/>); consecutive repeats of the
    /// same (item, action) collapsed; users with fewer than <see cref="EventCorpusOptions.MinEvents"/> events dropped.
    /// Tokens are assigned by descending frequency (ties: ordinal item id); an item's category is the last one seen.</summary>
    public static SequenceCorpus FromEvents(IEnumerable<BehaviorEvent> events, EventCorpusOptions? options, out EventCorpusStats stats)
    {
        ArgumentNullException.ThrowIfNull(events);
        options ??= new EventCorpusOptions();
        var userIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var itemIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var itemIds = new List<string>();
        var itemCategories = new List<string>();
        var itemCounts = new List<long>();
        var userIds = new List<string>();
        var all = new List<CompactEvent>();
        foreach (var e in events)
        {
            if (!userIndex.TryGetValue(e.UserId, out var u))
            {
                u = userIds.Count;
                userIndex.Add(e.UserId, u);
                userIds.Add(e.UserId);
            }
            if (!itemIndex.TryGetValue(e.ItemId, out var i))
            {
                i = itemIds.Count;
                itemIndex.Add(e.ItemId, i);
                itemIds.Add(e.ItemId);
                itemCategories.Add(e.CategoryId);
                itemCounts.Add(0);
            }
            else if (e.CategoryId != EventReader.UnknownCategory)
            {
                itemCategories[i] = e.CategoryId;
            }
            itemCounts[i]++;
            all.Add(new CompactEvent(u, i, (byte)ActionTokens.FromEventType(e.Type), e.Timestamp, all.Count));
        }

        // Vocabulary: frequent items first.
        var kept = Enumerable.Range(0, itemIds.Count)
            .Where(i => itemCounts[i] >= options.MinItemCount)
            .OrderByDescending(i => itemCounts[i]).ThenBy(i => itemIds[i], StringComparer.Ordinal)
            .Take(options.MaxItems)
            .ToArray();
        var tokenOf = new int[itemIds.Count];
        for (var t = 0; t < kept.Length; t++)
        {
            tokenOf[kept[t]] = t + 1;
        }
        var vocabulary = new ItemVocabulary(kept.Select(i => itemIds[i]).ToArray(), kept.Select(i => itemCategories[i]).ToArray());

        all.Sort(static (a, b) =>
        {
            var c = a.User.CompareTo(b.User);
            if (c != 0)
            {
                return c;
            }
            c = a.Ts.CompareTo(b.Ts);
            return c != 0 ? c : a.Seq.CompareTo(b.Seq);
        });
        var seqItems = new List<int[]>();
        var seqActions = new List<int[]>();
        var seqUsers = new List<string>();
        var items = new List<int>();
        var actions = new List<int>();
        long used = 0;
        for (var start = 0; start < all.Count;)
        {
            var end = start;
            while (end < all.Count && all[end].User == all[start].User)
            {
                end++;
            }
            items.Clear();
            actions.Clear();
            for (var j = start; j < end; j++)
            {
                var token = tokenOf[all[j].Item];
                if (token == 0)
                {
                    continue;
                }
                if (options.CollapseRepeats && items.Count > 0 && items[^1] == token && actions[^1] == all[j].Action)
                {
                    continue;
                }
                items.Add(token);
                actions.Add(all[j].Action);
            }
            if (items.Count >= options.MinEvents)
            {
                seqItems.Add(items.ToArray());
                seqActions.Add(actions.ToArray());
                seqUsers.Add(userIds[all[start].User]);
                used += items.Count;
            }
            start = end;
        }
        stats = new EventCorpusStats(all.Count, 0, used, seqUsers.Count, userIds.Count, vocabulary.Count, itemIds.Count);
        return new SequenceCorpus(vocabulary, seqItems, seqActions, seqUsers) { CollapseRepeats = options.CollapseRepeats };
    }

    internal static ItemVocabulary BuildVocabulary(IEnumerable<(string Id, string Category)> occurrences, long minCount, int maxItems)
    {
        var counts = new Dictionary<string, (long Count, string Category)>(StringComparer.Ordinal);
        foreach (var (id, category) in occurrences)
        {
            counts[id] = counts.TryGetValue(id, out var c) ? (c.Count + 1, category) : (1, category);
        }
        var kept = counts.Where(kv => kv.Value.Count >= minCount)
            .OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(maxItems)
            .ToArray();
        return new ItemVocabulary(kept.Select(kv => kv.Key).ToArray(), kept.Select(kv => kv.Value.Category).ToArray());
    }

    private readonly record struct CompactEvent(int User, int Item, byte Action, long Ts, int Seq);
}

/// <summary>How <see cref="SequenceCorpus.FromEvents"/> turns an event log into sequences.</summary>
public sealed record EventCorpusOptions
{
    /// <summary>Items seen fewer times are dropped from the vocabulary and the sequences.</summary>
    public long MinItemCount { get; init; } = 1;

    /// <summary>Cap on the vocabulary (most frequent items win): bounds the embedding table.</summary>
    public int MaxItems { get; init; } = 500_000;

    /// <summary>Collapse consecutive identical (item, action) events (repeated page views).</summary>
    public bool CollapseRepeats { get; init; } = true;

    /// <summary>Users with fewer events (after filtering) are dropped; 2 is the minimum that gives a training target.</summary>
    public int MinEvents { get; init; } = 2;
}

public sealed record EventCorpusStats(long EventsRead, long RowsQuarantined, long EventsUsed, int UsersKept, int UsersSeen, int ItemsKept, int ItemsSeen);
