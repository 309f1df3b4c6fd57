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
        var consumer = new TransitionConsumer(options, asOf, logger);
        await EventPass.RunAsync(store, dataset, asOf, [consumer], options.EventsPerPartition, cancellationToken).ConfigureAwait(false);
        return await consumer.WriteAsync(store, runId, watch, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The transition model's share of an <see cref="EventPass"/>: popularity while the events stream, weighted
/// transitions per user sequence (lossy counting keeps the pair map bounded), then the model.</summary>
public sealed class TransitionConsumer(TransitionModelOptions options, long asOf, ILogger logger) : IEventPassConsumer
{
    private readonly List<float> _popularity = [];
    private readonly double _halfLife = options.PopularityHalfLifeDays * 86_400.0;
    private readonly Dictionary<long, float> _pairs = new(PairKeyComparer.Instance);
    private readonly List<(int Item, EventType Type)> _steps = [];
    private EventVocabulary? _vocabulary;
    private float[] _occurrences = [];
    private long _events;
    private long _users;
    private long _pruned;

    public void OnEvent(in BehaviorEvent e, int item, int category)
    {
        _events++;
        while (_popularity.Count <= item)
        {
            _popularity.Add(0);
        }
        _popularity[item] += TransitionModelBuilder.ActionWeight(e.Type) * (float)Math.Pow(0.5, (asOf - e.Timestamp) / _halfLife);
    }

    public void OnStreamEnd(EventVocabulary vocabulary, long eventsRead)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocabulary = vocabulary;
        _occurrences = new float[vocabulary.Items];
    }

    public void OnUser(string userId, IReadOnlyList<SpooledStep> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        _users++;
        // Collapse immediate repeats (view → cart of the same item) into the strongest action.
        _steps.Clear();
        foreach (var s in steps)
        {
            if (_steps.Count > 0 && _steps[^1].Item == s.Item)
            {
                if (s.Type > _steps[^1].Type)
                {
                    _steps[^1] = (s.Item, s.Type);
                }
                continue;
            }
            _steps.Add((s.Item, s.Type));
        }
        for (var i = 0; i < _steps.Count; i++)
        {
            var a = _steps[i].Item;
            _occurrences[a] += 1;
            for (var j = i + 1; j < _steps.Count && j <= i + options.Window; j++)
            {
                var b = _steps[j].Item;
                if (b == a)
                {
                    continue;
                }
                var key = ((long)a << 32) | (uint)b;
                ref var weight = ref CollectionsMarshal.GetValueRefOrAddDefault(_pairs, key, out _);
                weight += TransitionModelBuilder.ActionWeight(_steps[j].Type) / (j - i);
            }
        }
        if (_pairs.Count > options.MaxPairs)
        {
            // Keep the heaviest half: drop every pair at or below the median weight (ties included, so at
            // least half goes). Heavy pairs are never dropped before light ones.
            var weights = _pairs.Values.ToArray();
            Array.Sort(weights);
            var pruneBelow = weights[weights.Length / 2];
            var before = _pairs.Count;
            foreach (var key in _pairs.Where(kv => kv.Value <= pruneBelow).Select(kv => kv.Key).ToList())
            {
                _pairs.Remove(key);
            }
            _pruned += before - _pairs.Count;
            logger.LogInformation("Transition pairs over budget: pruned {Pruned} pairs of weight <= {Threshold}", before - _pairs.Count, pruneBelow);
        }
    }

    /// <summary>The model of the pass (call after the pass).</summary>
    public TransitionModel Build()
    {
        var vocabulary = _vocabulary ?? throw new InvalidOperationException("The pass has not run.");
        var items = vocabulary.Items;
        var grouped = new List<(int Item, float Weight)>[items];
        foreach (var (key, weight) in _pairs)
        {
            var a = (int)(key >> 32);
            var b = (int)(uint)key;
            (grouped[a] ??= []).Add((b, weight / Math.Max(1f, _occurrences[a])));
        }
        var neighbours = new (int, float)[items][];
        for (var a = 0; a < items; a++)
        {
            neighbours[a] = grouped[a] is null
                ? []
                : [.. grouped[a].OrderByDescending(x => x.Weight).ThenBy(x => x.Item).Take(options.MaxNeighbours)];
        }
        var popArray = Enumerable.Range(0, items).Select(i => i < _popularity.Count ? _popularity[i] : 0f).ToArray();
        var popular = Enumerable.Range(0, items).OrderByDescending(i => popArray[i]).ThenBy(i => i).Take(options.PopularHead).ToArray();
        return new TransitionModel([.. vocabulary.ItemIds], [.. Enumerable.Range(0, items).Select(vocabulary.CategoryOf)], popArray, neighbours, popular, asOf);
    }

    /// <summary>Builds the model and writes it to <c>runs/{runId}/model/transition.bin</c>.</summary>
    public async Task<TransitionModelInfo> WriteAsync(IBlobStore store, string runId, Stopwatch watch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(watch);
        var model = Build();
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
            TransitionModel.Kind, model.ItemIds.Length, _pairs.Count, _events, _users, watch.Elapsed.TotalSeconds);
        return new TransitionModelInfo(path, _vocabulary!.Items, _events, _users, _pairs.Count, _pruned, watch.Elapsed.TotalSeconds);
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
