using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Scoring;

public sealed record TransitionModelOptions
{
    /// <summary>How many later steps count as a transition from a step.</summary>
    public int Window { get; init; } = 5;

    /// <summary>Neighbours kept per item.</summary>
    public int MaxNeighbours { get; init; } = 50;

    /// <summary>Popular items kept (the fallback list).</summary>
    public int PopularHead { get; init; } = 500;

    /// <summary>Popularity half-life in days before the as-of time.</summary>
    public double PopularityHalfLifeDays { get; init; } = 7;

    /// <summary>Pair-count budget; past it, lossy counting prunes the lightest pairs (bounded memory on any data size).</summary>
    public int MaxPairs { get; init; } = 20_000_000;

    /// <summary>Events per user-hash partition spooled to local disk while building.</summary>
    public long EventsPerPartition { get; init; } = 4_000_000;
}

public sealed record TransitionModelInfo(string Path, int Items, long Events, long Users, long Pairs, long PrunedPairs, double Seconds);

/// <summary>Builds a <see cref="TransitionModel"/> from an ingested dataset, with events up to the as-of time.
/// Events are partitioned by user hash into local spool files so each user's sequence can be sorted in memory
/// one partition at a time.</summary>
public sealed class TransitionModelBuilder(IBlobStore store, ILogger<TransitionModelBuilder> logger)
{
    public static float ActionWeight(EventType type) => type switch
    {
        EventType.View => 1f,
        EventType.Fav => 2f,
        EventType.Cart => 3f,
        EventType.Purchase => 5f,
        _ => 1f,
    };

    public async Task<TransitionModelInfo> BuildAsync(string runId, string dataset, long asOf, TransitionModelOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new TransitionModelOptions();
        var watch = Stopwatch.StartNew();
        var summary = await store.TryReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary(dataset), cancellationToken).ConfigureAwait(false);
        var partitions = UserSequenceSpool.PartitionsFor(summary?.Events ?? 0, options.EventsPerPartition);

        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new List<string>();
        var cats = new List<string>();
        var pop = new List<float>();
        var halfLife = options.PopularityHalfLifeDays * 86_400.0;

        using var spool = new UserSequenceSpool(partitions, "model");
        // Pass: vocabulary, popularity, and spool (user-partitioned) of compact events.
        long events = 0;
        await foreach (var e in EventStore.ReadAllAsync(store, dataset, cancellationToken).ConfigureAwait(false))
        {
            if (e.Timestamp > asOf)
            {
                continue;
            }
            events++;
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(index, e.ItemId, out var exists);
            if (!exists)
            {
                slot = ids.Count;
                ids.Add(e.ItemId);
                cats.Add(e.CategoryId);
                pop.Add(0);
            }
            var item = slot;
            cats[item] = e.CategoryId;
            pop[item] += ActionWeight(e.Type) * (float)Math.Pow(0.5, (asOf - e.Timestamp) / halfLife);
            spool.Add(e.UserId, new SpooledStep(item, 0, e.Type, e.Timestamp));
        }

        // Per partition: sequences → weighted transitions (lossy counting keeps the map bounded).
        var pairs = new Dictionary<long, float>(PairKeyComparer.Instance);
        var occurrences = new float[ids.Count];
        long users = 0, pruned = 0;
        float pruneBelow = 0;
        foreach (var seq in spool.Users(cancellationToken))
        {
            users++;
            // Collapse immediate repeats (view → cart of the same item) into the strongest action.
            var steps = new List<(int Item, EventType Type)>(seq.Count);
            foreach (var s in seq)
            {
                if (steps.Count > 0 && steps[^1].Item == s.Item)
                {
                    if (s.Type > steps[^1].Type)
                    {
                        steps[^1] = (s.Item, s.Type);
                    }
                    continue;
                }
                steps.Add((s.Item, s.Type));
            }
            for (var i = 0; i < steps.Count; i++)
            {
                var a = steps[i].Item;
                occurrences[a] += 1;
                for (var j = i + 1; j < steps.Count && j <= i + options.Window; j++)
                {
                    var b = steps[j].Item;
                    if (b == a)
                    {
                        continue;
                    }
                    var key = ((long)a << 32) | (uint)b;
                    ref var weight = ref CollectionsMarshal.GetValueRefOrAddDefault(pairs, key, out _);
                    weight += ActionWeight(steps[j].Type) / (j - i);
                }
            }
            if (pairs.Count > options.MaxPairs)
            {
                // Keep the heaviest half: drop every pair at or below the median weight (ties included, so at
                // least half goes). Heavy pairs are never dropped before light ones.
                var weights = pairs.Values.ToArray();
                Array.Sort(weights);
                pruneBelow = weights[weights.Length / 2];
                var before = pairs.Count;
                foreach (var key in pairs.Where(kv => kv.Value <= pruneBelow).Select(kv => kv.Key).ToList())
                {
                    pairs.Remove(key);
                }
                pruned += before - pairs.Count;
                logger.LogInformation("Transition pairs over budget: pruned {Pruned} pairs of weight <= {Threshold}", before - pairs.Count, pruneBelow);
            }
        }

        var grouped = new List<(int Item, float Weight)>[ids.Count];
        foreach (var (key, weight) in pairs)
        {
            var a = (int)(key >> 32);
            var b = (int)(uint)key;
            (grouped[a] ??= []).Add((b, weight / Math.Max(1f, occurrences[a])));
        }
        var neighbours = new (int, float)[ids.Count][];
        for (var a = 0; a < ids.Count; a++)
        {
            neighbours[a] = grouped[a] is null
                ? []
                : [.. grouped[a].OrderByDescending(x => x.Weight).ThenBy(x => x.Item).Take(options.MaxNeighbours)];
        }
        var popArray = pop.ToArray();
        var popular = Enumerable.Range(0, ids.Count).OrderByDescending(i => popArray[i]).ThenBy(i => i).Take(options.PopularHead).ToArray();
        var model = new TransitionModel([.. ids], [.. cats], popArray, neighbours, popular, asOf);
        var path = BlobLayout.RunModel(runId, TransitionModel.Kind);
        await using (var output = await store.OpenWriteAsync(path, cancellationToken).ConfigureAwait(false))
        {
            // Serialize in memory first: blob write streams pay per call, and the model is millions of small writes.
            using var buffer = new MemoryStream();
            model.Save(buffer);
            buffer.Position = 0;
            await buffer.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        }
        logger.LogInformation("Built {Kind} model: {Items} items, {Pairs} pairs from {Events} events of {Users} users in {Seconds:F1} s",
            TransitionModel.Kind, ids.Count, pairs.Count, events, users, watch.Elapsed.TotalSeconds);
        return new TransitionModelInfo(path, ids.Count, events, users, pairs.Count, pruned, watch.Elapsed.TotalSeconds);
    }
}

/// <summary>long.GetHashCode folds the halves with XOR, so (a &lt;&lt; 32 | b) keys of small item indices collide massively
/// (a ^ b); this mixes all 64 bits instead (splitmix64 finalizer).</summary>
internal sealed class PairKeyComparer : IEqualityComparer<long>
{
    public static readonly PairKeyComparer Instance = new();

    public bool Equals(long x, long y) => x == y;

    public int GetHashCode(long obj)
    {
        var h = (ulong)obj;
        h ^= h >> 30;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 27;
        h *= 0x94D049BB133111EBUL;
        h ^= h >> 31;
        return (int)h;
    }
}
