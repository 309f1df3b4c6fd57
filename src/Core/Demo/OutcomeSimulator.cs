using System.Globalization;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Experiments;
using RoleGen.Core.Ingest;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Demo;

/// <summary>
/// Parameters of <see cref="OutcomeSimulator"/>. Every rate is a probability per event opportunity; the defaults are
/// calibrated so that a dormant user shown ten items of their intent categories orders from the list with about their
/// own propensity (2–5% per night), which is the order of magnitude of re-engagement campaigns on dormant users.
/// </summary>
public sealed record OutcomeSimulatorOptions
{
    /// <summary>Outcome timestamps lie in <c>[exposureStart, exposureStart + WindowSeconds)</c>: three days.</summary>
    public const long WindowSeconds = 3 * 86_400L;

    /// <summary>Seed of the response model; with the night and the user id it fixes every draw.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>How many of the top candidates (by rank) the channel shows; each gets an impression.</summary>
    public int ShownPerUser { get; init; } = 10;

    /// <summary>Click probability at rank 1 of an item the user carted and did not buy (strongest relevance).</summary>
    public double ClickCartedNotBought { get; init; } = 0.30;

    /// <summary>Click probability at rank 1 of an item the user viewed before (an anchor), or bought already.</summary>
    public double ClickViewed { get; init; } = 0.15;

    /// <summary>Click probability at rank 1 of an item of one of the user's intent categories.</summary>
    public double ClickIntent { get; init; } = 0.08;

    /// <summary>Click probability at rank 1 of an item of a complement (<see cref="DemoWorldTruth.Complements"/>) of an
    /// intent category.</summary>
    public double ClickComplement { get; init; } = 0.04;

    /// <summary>Click probability at rank 1 of an unrelated item.</summary>
    public double ClickOther { get; init; } = 0.015;

    /// <summary>Probability that a click is followed by an add-to-cart (an order always goes through the cart).</summary>
    public double CartAfterClick { get; init; } = 0.30;

    /// <summary>Order probability after a click on a carted-not-bought item, at <see cref="ReferencePropensity"/>.</summary>
    public double OrderCartedNotBought { get; init; } = 0.35;

    /// <summary>Order probability after a click on a viewed item, at <see cref="ReferencePropensity"/>.</summary>
    public double OrderViewed { get; init; } = 0.15;

    /// <summary>Order probability after a click on an intent-category item, at <see cref="ReferencePropensity"/>. With
    /// <see cref="ClickIntent"/> and ten shown items (Σ 1/log2(r+1) ≈ 4.54) a list of intent items converts at ≈ the
    /// user's propensity: 0.08 × 4.54 × 0.08 ≈ 0.029 ≈ 0.03.</summary>
    public double OrderIntent { get; init; } = 0.08;

    /// <summary>Order probability after a click on a complement item, at <see cref="ReferencePropensity"/>.</summary>
    public double OrderComplement { get; init; } = 0.05;

    /// <summary>Order probability after a click on an unrelated item, at <see cref="ReferencePropensity"/>.</summary>
    public double OrderOther { get; init; } = 0.02;

    /// <summary>Propensity of a dormant user who barely browsed (per night).</summary>
    public double MinPropensity { get; init; } = 0.02;

    /// <summary>Propensity of a dormant user who browsed at least <see cref="BrowseSaturationViews"/> items.</summary>
    public double MaxPropensity { get; init; } = 0.04;

    /// <summary>Views in the window at which the browse scaling of the propensity saturates (linear below).</summary>
    public int BrowseSaturationViews { get; init; } = 50;

    /// <summary>Propensity multiplier for users who carted anything in the window (2–4% becomes 2.5–5%).</summary>
    public double CartedPropensityMultiplier { get; init; } = 1.25;

    /// <summary>The propensity at which the <c>Order*</c> rates hold; a user's order rates scale by propensity / this.</summary>
    public double ReferencePropensity { get; init; } = 0.03;

    /// <summary>Weight of a trajectory step relative to the next newer one when ranking intent categories.</summary>
    public double RecencyDecay { get; init; } = 0.85;

    /// <summary>How many of the heaviest categories of the trajectory count as the user's intents.</summary>
    public int MaxIntents { get; init; } = 3;

    /// <summary>Multiplier on the propensity for ordering in a trigger's target category after the trigger was clicked;
    /// null takes each trigger's <see cref="TriggerTruth.Uplift"/> from the world's ground truth.</summary>
    public double? TriggerUplift { get; init; }

    /// <summary>Cap on the trigger-target order probability min(cap, propensity × uplift).</summary>
    public double TriggerOrderCap { get; init; } = 0.6;

    /// <summary>Probability per night of an order that has nothing to do with the list (an item of an intent category,
    /// bought through search or another channel), at <see cref="ReferencePropensity"/>; scaled like the order rates.
    /// Drawn from its own random stream so it is identical in both arms.</summary>
    public double OrganicOrderRate { get; init; } = 0.01;

    /// <summary>Share of events whose run id the channel reports; the others carry a null run id.</summary>
    public double RunIdKnownShare { get; init; } = 0.8;

    /// <summary>The user opens the list uniformly within this many seconds after the exposure start (12 h).</summary>
    public int SessionSpreadSeconds { get; init; } = 12 * 3_600;

    /// <summary>Null when valid, otherwise every problem in one message.</summary>
    public string? Validate()
    {
        var errors = new List<string>();
        double[] probabilities =
        [
            ClickCartedNotBought, ClickViewed, ClickIntent, ClickComplement, ClickOther, CartAfterClick,
            OrderCartedNotBought, OrderViewed, OrderIntent, OrderComplement, OrderOther, MinPropensity, MaxPropensity,
            TriggerOrderCap, OrganicOrderRate, RunIdKnownShare, RecencyDecay,
        ];
        if (probabilities.Any(p => !double.IsFinite(p) || p is < 0 or > 1))
        {
            errors.Add("OutcomeSimulator rates, propensities, caps and shares must be in [0, 1].");
        }
        if (MinPropensity > MaxPropensity)
        {
            errors.Add("OutcomeSimulator.MinPropensity must not exceed MaxPropensity.");
        }
        if (ShownPerUser < 0 || MaxIntents < 0 || BrowseSaturationViews < 1)
        {
            errors.Add("OutcomeSimulator.ShownPerUser and MaxIntents must be >= 0, BrowseSaturationViews >= 1.");
        }
        if (!double.IsFinite(ReferencePropensity) || ReferencePropensity <= 0 || !double.IsFinite(CartedPropensityMultiplier) || CartedPropensityMultiplier < 0)
        {
            errors.Add("OutcomeSimulator.ReferencePropensity must be > 0 and CartedPropensityMultiplier >= 0.");
        }
        if (TriggerUplift is { } u && (!double.IsFinite(u) || u < 0))
        {
            errors.Add("OutcomeSimulator.TriggerUplift must be finite and >= 0.");
        }
        if (SessionSpreadSeconds is < 0 or > 86_400)
        {
            errors.Add("OutcomeSimulator.SessionSpreadSeconds must be in [0, 86400].");
        }
        return errors.Count == 0 ? null : string.Join(" ", errors);
    }
}

/// <summary>How relevant a shown item is to a user, strongest last.</summary>
public enum OutcomeRelevance
{
    /// <summary>Nothing connects the item to the user.</summary>
    Other = 0,

    /// <summary>The item's category is a complement of one of the user's intent categories.</summary>
    Complement = 1,

    /// <summary>The item's category is one of the user's intent categories.</summary>
    Intent = 2,

    /// <summary>The user viewed (or faved, or bought) this very item in the window: an anchor.</summary>
    Viewed = 3,

    /// <summary>The user carted this item in the window and did not buy it.</summary>
    CartedNotBought = 4,
}

/// <summary>What the simulator knows about a user: <see cref="Intents"/> (category → recency weight, heaviest first,
/// at most <see cref="OutcomeSimulatorOptions.MaxIntents"/>), the complement categories of those intents, the items
/// carted and not bought, the items seen, and the per-night purchase <see cref="Propensity"/>.</summary>
public sealed record OutcomeUserProfile(
    string UserId,
    IReadOnlyList<KeyValuePair<string, double>> Intents,
    IReadOnlySet<string> Complements,
    IReadOnlySet<string> CartedNotBought,
    IReadOnlySet<string> Seen,
    double Propensity);

/// <summary>
/// A seeded user-response model that turns the demo world's ground truth (<see cref="DemoWorldTruth"/>) into outcome
/// events for shown recommendations, so the closed loop (A/B → feedback → reflection) runs locally. The model is
/// arm-blind: control and treatment differ only through the lists they show. Per user and night:
/// <list type="number">
/// <item><b>Intents.</b> Each trajectory step weighs <c>RecencyDecay^age</c> (age 0 = newest step) for its category; the
/// <c>MaxIntents</c> heaviest categories are the user's intents, their <see cref="DemoWorldTruth.Complements"/> the
/// complement categories.</item>
/// <item><b>Propensity.</b> <c>p = MinPropensity + (MaxPropensity − MinPropensity) · min(1, views / BrowseSaturationViews)</c>
/// (2–4% by default), × <c>CartedPropensityMultiplier</c> (1.25) for users who carted. Order rates below scale by
/// <c>p / ReferencePropensity</c>.</item>
/// <item><b>List.</b> The user opens the list at <c>exposureStart + U[0, SessionSpreadSeconds)</c>; each of the first
/// <c>ShownPerUser</c> candidates (by rank, position r = 1, 2, …) gets an impression r seconds later. Click probability
/// = <c>1 / log2(r + 1)</c> × the click rate of the item's <see cref="OutcomeRelevance"/>: carted-not-bought 0.30, viewed
/// 0.15, intent category 0.08, complement 0.04, other 0.015.</item>
/// <item><b>Funnel.</b> After a click the user orders with probability <c>min(1, Order[relevance] · p / ReferencePropensity)</c>
/// (0.35, 0.15, 0.08, 0.05, 0.02 at p = 3%); an order is preceded by a cart, and a click that does not convert carts with
/// probability <c>CartAfterClick</c> (0.30).</item>
/// <item><b>Triggers.</b> Clicking a ground-truth trigger item (<see cref="DemoWorldTruth.Triggers"/>) boosts its target
/// category: with probability <c>min(TriggerOrderCap, p · Uplift)</c> (0.6 cap; uplift from the truth, 8 by default) the
/// user orders, 1–3 days later, an item of the target category: the first shown candidate of that category, otherwise its
/// most popular item (the lowest item index in the category). At most one such order per target category.</item>
/// <item><b>Organic.</b> Independently of the list, with probability <c>OrganicOrderRate · p / ReferencePropensity</c>
/// (1% at p = 3%) the user orders an item of an intent category (chosen by intent weight; item Zipf-popular as in the
/// world) at a uniform time in the window. Drawn from a separate random stream, so it is the same in both arms.</item>
/// <item><b>Run id.</b> Each event carries the run id with probability <c>RunIdKnownShare</c> (0.8), otherwise null.</item>
/// </list>
/// Every timestamp lies in <c>[exposureStart, exposureStart + 3 days)</c>. Events come back sorted by timestamp (stable).
/// Draws come from <see cref="Random"/> instances seeded by <see cref="StableHash"/> of (Seed, night, user id), so
/// results do not depend on the run id, the arm, the order in which users are simulated or the process.
/// </summary>
public sealed class OutcomeSimulator
{
    private const long Day = 86_400L;
    private readonly DemoWorldTruth _truth;
    private readonly OutcomeSimulatorOptions _o;
    private readonly Dictionary<string, TriggerTruth> _triggers;
    private readonly double[] _itemInCategoryCdf;
    private readonly int _itemsPerCategory;

    public OutcomeSimulator(DemoWorldTruth truth, OutcomeSimulatorOptions? options = null)
    {
        _truth = truth ?? throw new ArgumentNullException(nameof(truth));
        _o = options ?? new OutcomeSimulatorOptions();
        if (_o.Validate() is { } error)
        {
            throw new ArgumentException(error, nameof(options));
        }
        _itemsPerCategory = truth.Options.ItemsPerCategory;
        if (_itemsPerCategory < 1)
        {
            throw new ArgumentException("The world's ItemsPerCategory must be at least 1.", nameof(truth));
        }
        _triggers = new Dictionary<string, TriggerTruth>(StringComparer.Ordinal);
        foreach (var t in truth.Triggers)
        {
            _triggers[t.ItemId] = t;
        }
        _itemInCategoryCdf = DemoWorldGenerator.ZipfCdf(_itemsPerCategory, 1.1); // the world's in-category popularity
    }

    public OutcomeSimulatorOptions Options => _o;

    /// <summary>Intents, complements, carted-not-bought and seen items, and propensity of <paramref name="user"/>.</summary>
    public OutcomeUserProfile Profile(UserTrajectory user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        var carted = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var purchased = new HashSet<string>(user.Purchased, StringComparer.Ordinal);
        var n = user.Steps.Count;
        for (var i = 0; i < n; i++)
        {
            var step = user.Steps[i];
            weights[step.Category] = weights.GetValueOrDefault(step.Category) + Math.Pow(_o.RecencyDecay, n - 1 - i);
            seen.Add(step.Item);
            if (step.Type == EventType.Cart)
            {
                carted.Add(step.Item);
            }
            else if (step.Type == EventType.Purchase)
            {
                purchased.Add(step.Item);
            }
        }
        carted.ExceptWith(purchased);
        var intents = weights.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(_o.MaxIntents).ToArray();
        var complements = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (category, _) in intents)
        {
            if (_truth.Complements.TryGetValue(category, out var cs))
            {
                complements.UnionWith(cs);
            }
        }
        foreach (var (category, _) in intents)
        {
            complements.Remove(category);
        }
        var browse = Math.Min(1.0, Math.Max(0, user.Views) / (double)_o.BrowseSaturationViews);
        var propensity = _o.MinPropensity + (_o.MaxPropensity - _o.MinPropensity) * browse;
        if (user.Carts > 0 || carted.Count > 0)
        {
            propensity *= _o.CartedPropensityMultiplier;
        }
        return new OutcomeUserProfile(user.UserId, intents, complements, carted, seen, Math.Min(1.0, propensity));
    }

    /// <summary>The relevance level of <paramref name="candidate"/> for the user of <paramref name="profile"/>.</summary>
    public static OutcomeRelevance Relevance(OutcomeUserProfile profile, Candidate candidate)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(candidate);
        if (profile.CartedNotBought.Contains(candidate.ItemId))
        {
            return OutcomeRelevance.CartedNotBought;
        }
        if (profile.Seen.Contains(candidate.ItemId))
        {
            return OutcomeRelevance.Viewed;
        }
        if (profile.Intents.Any(kv => string.Equals(kv.Key, candidate.CategoryId, StringComparison.Ordinal)))
        {
            return OutcomeRelevance.Intent;
        }
        return profile.Complements.Contains(candidate.CategoryId) ? OutcomeRelevance.Complement : OutcomeRelevance.Other;
    }

    /// <summary>Simulates the outcomes of a published run: every user of its candidate rows (with their trajectory from
    /// the shard's users.jsonl), exposed one minute after the manifest was written, written as one CSV at
    /// <c>feedback/{experiment}/{runId}.csv</c> for the feedback step to collect.</summary>
    public async Task<(long Users, long Events, string Path)> WriteRunFeedbackAsync(Storage.IBlobStore store, string runId, int night, string experiment,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var manifest = await Storage.BlobStoreExtensions.ReadJsonAsync<RunManifest>(store, BlobLayout.Manifest(runId), cancellationToken).ConfigureAwait(false);
        var exposure = manifest.WrittenAt.ToUnixTimeSeconds() + 60;
        long users = 0, count = 0;
        var path = $"{BlobLayout.FeedbackPrefix(experiment)}{runId}.csv";
        // Streamed shard by shard to the blob: memory is one shard's trajectories.
        var output = await store.OpenWriteAsync(path, cancellationToken).ConfigureAwait(false);
        await using (output.ConfigureAwait(false))
        {
            var text = new StreamWriter(output, new System.Text.UTF8Encoding(false), 1 << 16);
            await using (text.ConfigureAwait(false))
            {
                OutcomeCsv.WriteHeader(text);
                foreach (var shard in manifest.Shards.Where(s => s.CandidatesPath is not null))
                {
                    var trajectories = new Dictionary<string, UserTrajectory>(StringComparer.Ordinal);
                    await foreach (var u in Storage.BlobStoreExtensions.ReadJsonLinesAsync<UserTrajectory>(store, BlobLayout.ShardUsers(runId, shard.Shard), cancellationToken).ConfigureAwait(false))
                    {
                        trajectories[u.UserId] = u;
                    }
                    await foreach (var row in Storage.BlobStoreExtensions.ReadJsonLinesAsync<CandidateRow>(store, shard.CandidatesPath!, cancellationToken).ConfigureAwait(false))
                    {
                        users++;
                        foreach (var e in Simulate(runId, night, trajectories[row.UserId], row, exposure))
                        {
                            OutcomeCsv.WriteRow(text, e);
                            count++;
                        }
                    }
                }
            }
        }
        return (users, count, path);
    }

    /// <summary>Simulates one night's outcomes of showing <paramref name="row"/> to <paramref name="user"/> from
    /// <paramref name="exposureStart"/> (Unix seconds). See the class summary for the model.</summary>
    public IEnumerable<OutcomeEvent> Simulate(string runId, int night, UserTrajectory user, CandidateRow row, long exposureStart)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(row);
        if (!string.Equals(user.UserId, row.UserId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Candidate row of user '{row.UserId}' given for user '{user.UserId}'.", nameof(row));
        }
        var profile = Profile(user);
        var p = profile.Propensity;
        var scale = p / _o.ReferencePropensity;
        var events = new List<(string Item, OutcomeType Type, long Ts)>();

        // The list: impressions, clicks, carts, orders.
        var rng = UserRandom(user.UserId, "outcome", night);
        var open = exposureStart + rng.Next(_o.SessionSpreadSeconds + 1);
        var shown = row.Items.OrderBy(c => c.Rank).DistinctBy(c => c.ItemId, StringComparer.Ordinal).Take(_o.ShownPerUser).ToArray();
        var boosted = new List<TriggerTruth>();
        for (var i = 0; i < shown.Length; i++)
        {
            var c = shown[i];
            var r = i + 1;
            var impression = open + r;
            events.Add((c.ItemId, OutcomeType.Impression, impression));
            var relevance = Relevance(profile, c);
            if (rng.NextDouble() >= ClickRate(relevance) / Math.Log2(r + 1))
            {
                continue;
            }
            var click = impression + 5 + rng.Next(116);
            events.Add((c.ItemId, OutcomeType.Click, click));
            if (_triggers.TryGetValue(c.ItemId, out var trigger) && !boosted.Any(b => string.Equals(b.TargetCategoryId, trigger.TargetCategoryId, StringComparison.Ordinal)))
            {
                boosted.Add(trigger);
            }
            var order = rng.NextDouble() < Math.Min(1.0, OrderRate(relevance) * scale);
            if (order || rng.NextDouble() < _o.CartAfterClick)
            {
                var cart = click + 10 + rng.Next(291);
                events.Add((c.ItemId, OutcomeType.Cart, cart));
                if (order)
                {
                    events.Add((c.ItemId, OutcomeType.Order, cart + 60 + rng.Next(3_541)));
                }
            }
        }

        // Triggers: a clicked trigger makes a later order in its target category likelier (the world's causal signal).
        foreach (var trigger in boosted)
        {
            var uplift = _o.TriggerUplift ?? trigger.Uplift;
            if (rng.NextDouble() >= Math.Min(_o.TriggerOrderCap, p * uplift))
            {
                continue;
            }
            var item = shown.FirstOrDefault(c => string.Equals(c.CategoryId, trigger.TargetCategoryId, StringComparison.Ordinal))?.ItemId
                ?? (TryCategoryIndex(trigger.TargetCategoryId, out var k) ? DemoWorldGenerator.ItemId(k * _itemsPerCategory) : null);
            if (item is not null)
            {
                events.Add((item, OutcomeType.Order, exposureStart + Day + rng.NextInt64(2 * Day)));
            }
        }

        // Organic: independent of the list (own stream), identical in distribution and realisation for both arms.
        var organic = UserRandom(user.UserId, "outcome-organic", night);
        if (profile.Intents.Count > 0 && organic.NextDouble() < Math.Min(1.0, _o.OrganicOrderRate * scale))
        {
            var category = PickIntent(profile.Intents, organic);
            if (TryCategoryIndex(category, out var k))
            {
                var item = DemoWorldGenerator.ItemId(k * _itemsPerCategory + DemoWorldGenerator.Sample(_itemInCategoryCdf, organic));
                events.Add((item, OutcomeType.Order, exposureStart + organic.NextInt64(OutcomeSimulatorOptions.WindowSeconds)));
            }
        }

        var tags = UserRandom(user.UserId, "outcome-runid", night);
        return events
            .OrderBy(e => e.Ts)
            .Select(e => new OutcomeEvent(user.UserId, e.Item, e.Type, e.Ts, tags.NextDouble() < _o.RunIdKnownShare ? runId : null))
            .ToList();
    }

    private double ClickRate(OutcomeRelevance relevance) => relevance switch
    {
        OutcomeRelevance.CartedNotBought => _o.ClickCartedNotBought,
        OutcomeRelevance.Viewed => _o.ClickViewed,
        OutcomeRelevance.Intent => _o.ClickIntent,
        OutcomeRelevance.Complement => _o.ClickComplement,
        _ => _o.ClickOther,
    };

    private double OrderRate(OutcomeRelevance relevance) => relevance switch
    {
        OutcomeRelevance.CartedNotBought => _o.OrderCartedNotBought,
        OutcomeRelevance.Viewed => _o.OrderViewed,
        OutcomeRelevance.Intent => _o.OrderIntent,
        OutcomeRelevance.Complement => _o.OrderComplement,
        _ => _o.OrderOther,
    };

    private Random UserRandom(string userId, string stream, int night) =>
        new(unchecked((int)StableHash.Hash64(userId, string.Create(CultureInfo.InvariantCulture, $"{stream}:{_o.Seed}:{night}"))));

    private static string PickIntent(IReadOnlyList<KeyValuePair<string, double>> intents, Random rng)
    {
        var total = intents.Sum(kv => kv.Value);
        var x = rng.NextDouble() * total;
        foreach (var (category, weight) in intents)
        {
            x -= weight;
            if (x < 0)
            {
                return category;
            }
        }
        return intents[^1].Key;
    }

    /// <summary>Parses the world's category ids (<c>c{index}</c>).</summary>
    private bool TryCategoryIndex(string categoryId, out int index)
    {
        index = -1;
        return categoryId.Length > 1 && categoryId[0] == 'c'
            && int.TryParse(categoryId.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out index)
            && (long)(index + 1) * _itemsPerCategory <= _truth.Items;
    }
}

/// <summary>Writes outcome events as CSV for <c>feedback/{experiment}/…</c>: header <c>user,item,type,timestamp,runId</c>,
/// type in lower case (impression, click, cart, order), timestamp in Unix seconds, empty run id when unknown, "\n" line
/// ends, fields quoted (RFC 4180) only when they contain a comma, quote or line break.</summary>
public static class OutcomeCsv
{
    public const string Header = "user,item,type,timestamp,runId";

    public static string TypeName(OutcomeType type) => type switch
    {
        OutcomeType.Impression => "impression",
        OutcomeType.Click => "click",
        OutcomeType.Cart => "cart",
        OutcomeType.Order => "order",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static void Write(TextWriter writer, IEnumerable<OutcomeEvent> events)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(events);
        WriteHeader(writer);
        foreach (var e in events)
        {
            WriteRow(writer, e);
        }
    }

    public static void WriteHeader(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Header);
        writer.Write('\n');
    }

    public static void WriteRow(TextWriter writer, OutcomeEvent e)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(e);
        NormalizedCsvWriter.WriteField(writer, e.UserId);
        writer.Write(',');
        NormalizedCsvWriter.WriteField(writer, e.ItemId);
        writer.Write(',');
        writer.Write(TypeName(e.Type));
        writer.Write(',');
        writer.Write(e.Timestamp.ToString(CultureInfo.InvariantCulture));
        writer.Write(',');
        if (e.RunId is not null)
        {
            NormalizedCsvWriter.WriteField(writer, e.RunId);
        }
        writer.Write('\n');
    }
}
