using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Reasoning;

public sealed record BehaviorGraphOptions
{
    /// <summary>H: days after a first exposure in which a purchase counts as its downstream conversion.</summary>
    public double HorizonDays { get; init; } = 7;

    /// <summary>Steps further apart than this start a new occasion (session) for revisits.</summary>
    public double SessionGapSeconds { get; init; } = 1_800;

    /// <summary>α: pseudo-exposures of the Beta prior used to shrink small-sample uplift towards the base rate. On the demo
    /// world (5,000 users) α = 20/50/100/200 give trigger precision@72 of 0.36/0.53/0.60/0.67: small samples are noisy.</summary>
    public double PriorStrength { get; init; } = 100;

    /// <summary>Events per user-hash partition spooled to local disk while building (bounded memory).</summary>
    public long EventsPerPartition { get; init; } = 4_000_000;
}

/// <summary>Builds <see cref="BehaviorGraphStatistics"/> from an ingested dataset with events up to the as-of time, in the
/// same way as <see cref="Scoring.TransitionModelBuilder"/>: one streaming pass builds the vocabularies and spools compact
/// events partitioned by user hash to local disk; each partition is then grouped by user and sorted in memory. Memory is
/// O(items + categories² + one partition).</summary>
public sealed class BehaviorGraphStatisticsBuilder(IBlobStore store, ILogger<BehaviorGraphStatisticsBuilder> logger)
{
    public async Task<BehaviorGraphStatistics> BuildAsync(string runId, string dataset, long asOf, BehaviorGraphOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var stats = await ComputeAsync(dataset, asOf, options, cancellationToken).ConfigureAwait(false);
        await store.WriteJsonAsync(BlobLayout.GraphStatistics(runId), stats, cancellationToken).ConfigureAwait(false);
        return stats;
    }

    public static Task<BehaviorGraphStatistics> LoadAsync(IBlobStore store, string runId, CancellationToken cancellationToken = default) =>
        store.ReadJsonAsync<BehaviorGraphStatistics>(BlobLayout.GraphStatistics(runId), cancellationToken);

    /// <summary>Computes the statistics without writing them.</summary>
    public async Task<BehaviorGraphStatistics> ComputeAsync(string dataset, long asOf, BehaviorGraphOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new BehaviorGraphOptions();
        var watch = Stopwatch.StartNew();
        var consumer = new GraphStatisticsConsumer(options, asOf);
        await EventPass.RunAsync(store, dataset, asOf, [consumer], options.EventsPerPartition, cancellationToken).ConfigureAwait(false);
        var stats = consumer.Build();
        logger.LogInformation("Built behaviour-graph statistics: {Items} items, {Categories} categories, {Transitions} transitions from {Events} events of {Users} users in {Seconds:F1} s (base rate {BaseRate:F4})",
            stats.Items.Count, stats.Categories.Count, stats.Transitions.Count, stats.Events, stats.Users, watch.Elapsed.TotalSeconds, stats.BaseRate);
        return stats;
    }
}

/// <summary>The behaviour-graph statistics' share of an <see cref="EventPass"/>: per-user exposure, revisit, conversion and
/// category-transition counters, then <see cref="BehaviorGraphStatistics"/>. Memory: O(items + categories²).</summary>
public sealed class GraphStatisticsConsumer(BehaviorGraphOptions options, long asOf) : IEventPassConsumer
{
    private EventVocabulary? _vocabulary;
    private Accumulator? _acc;
    private long _events;

    public void OnEvent(in BehaviorEvent e, int item, int category) => _events++;

    public void OnStreamEnd(EventVocabulary vocabulary, long eventsRead)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocabulary = vocabulary;
        _acc = new Accumulator(vocabulary.Items, vocabulary.CategoryIds.Count, (long)Math.Round(options.HorizonDays * 86_400), (long)Math.Round(options.SessionGapSeconds));
    }

    public void OnUser(string userId, IReadOnlyList<SpooledStep> steps) => _acc!.AddUser(steps, _vocabulary!.ItemCategory);

    /// <summary>The statistics of the pass (call after the pass).</summary>
    public BehaviorGraphStatistics Build()
    {
        var acc = _acc ?? throw new InvalidOperationException("The pass has not run.");
        var v = _vocabulary!;
        var items = new ItemStatistics[v.Items];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = new ItemStatistics(v.ItemIds[i], v.CategoryOf(i), acc.ItemExposures[i], acc.ItemUsers[i], acc.ItemConverted[i],
                acc.ItemEverOther[i], acc.ItemRevisits[i], acc.ItemPurchasers[i]);
        }
        var categories = new CategoryStatistics[v.CategoryIds.Count];
        for (var c = 0; c < categories.Length; c++)
        {
            // Users with a purchase outside c: purchasers anywhere minus those whose only purchase category is c.
            var outside = acc.UsersWithPurchase - acc.OnlyPurchasedIn[c];
            categories[c] = new CategoryStatistics(v.CategoryIds[c], acc.CatExposures[c], acc.CatUsers[c], acc.CatConverted[c], acc.CatRevisits[c],
                acc.CatPurchasers[c], outside);
        }
        var transitions = acc.Transitions
            .Select(kv => new CategoryTransition(v.CategoryIds[(int)(kv.Key >> 32)], v.CategoryIds[(int)(uint)kv.Key], kv.Value))
            .OrderBy(t => t.From, StringComparer.Ordinal).ThenBy(t => t.To, StringComparer.Ordinal)
            .ToArray();
        return new BehaviorGraphStatistics(asOf, options.HorizonDays, options.SessionGapSeconds, options.PriorStrength,
            acc.Users, _events, acc.UsersWithPurchase, acc.BaselineExposed, acc.BaselineConverted, items, categories, transitions);
    }

    /// <summary>Per-user updates of the global counters (all user-local state is rebuilt per user).</summary>
    private sealed class Accumulator(int items, int categories, long horizon, long gap)
    {
        public long[] ItemExposures { get; } = new long[items];
        public long[] ItemUsers { get; } = new long[items];
        public long[] ItemConverted { get; } = new long[items];
        public long[] ItemEverOther { get; } = new long[items];
        public long[] ItemRevisits { get; } = new long[items];
        public long[] ItemPurchasers { get; } = new long[items];
        public long[] CatExposures { get; } = new long[categories];
        public long[] CatUsers { get; } = new long[categories];
        public long[] CatConverted { get; } = new long[categories];
        public long[] CatRevisits { get; } = new long[categories];
        public long[] CatPurchasers { get; } = new long[categories];
        public long[] OnlyPurchasedIn { get; } = new long[categories];
        public Dictionary<long, long> Transitions { get; } = [];
        public long Users { get; private set; }
        public long UsersWithPurchase { get; private set; }
        public long BaselineExposed { get; private set; }
        public long BaselineConverted { get; private set; }

        private readonly Dictionary<int, (long First, long Last, bool Revisited, bool Purchased)> _items = [];
        private readonly Dictionary<int, (long First, long Last, bool Revisited)> _cats = [];
        private readonly List<(long Ts, int Cat)> _purchases = [];
        private readonly HashSet<int> _purchaseCats = [];
        private readonly HashSet<int> _targets = [];

        public void AddUser(IReadOnlyList<SpooledStep> steps, List<int> itemCat)
        {
            Users++;
            _items.Clear();
            _cats.Clear();
            _purchases.Clear();
            _purchaseCats.Clear();
            foreach (var s in steps)
            {
                ItemExposures[s.Item]++;
                CatExposures[s.Category]++;
                ref var it = ref CollectionsMarshal.GetValueRefOrAddDefault(_items, s.Item, out var seen);
                it = seen
                    ? (it.First, s.Ts, it.Revisited || s.Ts - it.Last > gap, it.Purchased || s.Type == EventType.Purchase)
                    : (s.Ts, s.Ts, false, s.Type == EventType.Purchase);
                ref var ct = ref CollectionsMarshal.GetValueRefOrAddDefault(_cats, s.Category, out var cseen);
                ct = cseen ? (ct.First, s.Ts, ct.Revisited || s.Ts - ct.Last > gap) : (s.Ts, s.Ts, false);
                if (s.Type == EventType.Purchase)
                {
                    _purchases.Add((s.Ts, s.Category));
                    _purchaseCats.Add(s.Category);
                }
            }
            if (_purchaseCats.Count > 0)
            {
                UsersWithPurchase++;
                foreach (var c in _purchaseCats)
                {
                    CatPurchasers[c]++;
                }
                if (_purchaseCats.Count == 1)
                {
                    OnlyPurchasedIn[_purchaseCats.First()]++;
                }
            }
            foreach (var (item, st) in _items)
            {
                var cat = itemCat[item];
                ItemUsers[item]++;
                BaselineExposed++;
                if (st.Revisited)
                {
                    ItemRevisits[item]++;
                }
                if (st.Purchased)
                {
                    ItemPurchasers[item]++;
                }
                if (_purchaseCats.Count > (_purchaseCats.Contains(cat) ? 1 : 0))
                {
                    ItemEverOther[item]++;
                }
                if (ConvertsOther(st.First, cat))
                {
                    ItemConverted[item]++;
                    BaselineConverted++;
                }
            }
            foreach (var (cat, st) in _cats)
            {
                CatUsers[cat]++;
                if (st.Revisited)
                {
                    CatRevisits[cat]++;
                }
                if (ConvertsOther(st.First, cat))
                {
                    CatConverted[cat]++;
                }
                _targets.Clear();
                foreach (var (ts, to) in _purchases)
                {
                    if (to != cat && ts > st.First && ts <= st.First + horizon && _targets.Add(to))
                    {
                        var key = ((long)cat << 32) | (uint)to;
                        ref var n = ref CollectionsMarshal.GetValueRefOrAddDefault(Transitions, key, out _);
                        n++;
                    }
                }
            }
        }

        private bool ConvertsOther(long first, int cat)
        {
            foreach (var (ts, c) in _purchases)
            {
                if (ts > first + horizon)
                {
                    break;
                }
                if (c != cat && ts > first)
                {
                    return true;
                }
            }
            return false;
        }
    }
}
