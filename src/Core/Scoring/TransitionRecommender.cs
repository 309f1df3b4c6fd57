using System.Collections.Concurrent;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Scoring;

/// <summary>Scores users with a <see cref="TransitionModel"/>: the last <see cref="RecentItems"/> distinct items of the
/// trajectory vote for their neighbours (newer and stronger actions vote more); popularity fills the rest.
/// Bought items are never recommended.</summary>
public sealed class TransitionRecommender(TransitionModel model, ScoringModelRef reference) : IRecommender
{
    public const int RecentItems = 20;
    public const double RecencyDecay = 0.85;

    public ScoringModelRef Model { get; } = reference;

    public static double SourceWeight(EventType type) => type switch
    {
        EventType.View => 1.0,
        EventType.Fav => 1.5,
        EventType.Cart => 2.0,
        EventType.Purchase => 0.7,
        _ => 1.0,
    };

    public IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, int topK)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        var result = new UserRecommendations[users.Count];
        var scores = new Dictionary<int, double>();
        for (var u = 0; u < users.Count; u++)
        {
            result[u] = RecommendOne(users[u], topK, scores);
        }
        return result;
    }

    private UserRecommendations RecommendOne(UserTrajectory user, int topK, Dictionary<int, double> scores)
    {
        scores.Clear();
        var bought = new HashSet<string>(user.Purchased, StringComparer.Ordinal);
        var seen = new HashSet<int>();
        var rank = 0;
        for (var i = user.Steps.Count - 1; i >= 0 && seen.Count < RecentItems; i--)
        {
            var step = user.Steps[i];
            if (!model.Index.TryGetValue(step.Item, out var a))
            {
                continue; // unknown item: no evidence
            }
            if (!seen.Add(a))
            {
                continue;
            }
            var w = Math.Pow(RecencyDecay, rank++) * SourceWeight(step.Type);
            foreach (var (b, p) in model.Neighbours[a])
            {
                scores[b] = scores.GetValueOrDefault(b) + w * p;
            }
        }
        var items = new List<RecommendedItem>(topK);
        foreach (var (b, s) in scores.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key))
        {
            if (bought.Contains(model.ItemIds[b]))
            {
                continue;
            }
            items.Add(new RecommendedItem(model.ItemIds[b], model.Categories[b], Math.Round(s, 6), "transition"));
            if (items.Count == topK)
            {
                break;
            }
        }
        if (items.Count < topK)
        {
            var taken = new HashSet<string>(items.Select(x => x.ItemId), StringComparer.Ordinal);
            var max = model.Popular.Length > 0 ? model.Popularity[model.Popular[0]] : 1f;
            foreach (var p in model.Popular)
            {
                var id = model.ItemIds[p];
                if (bought.Contains(id) || !taken.Add(id))
                {
                    continue;
                }
                // Popularity scores sit below any transition score (fallback), scaled to (0, 1e-3].
                items.Add(new RecommendedItem(id, model.Categories[p], Math.Round(1e-3 * model.Popularity[p] / Math.Max(max, 1e-9f), 9), "popularity"));
                if (items.Count == topK)
                {
                    break;
                }
            }
        }
        return new UserRecommendations(user.UserId, items);
    }
}

/// <summary>Loads baseline models from blob storage once per path.</summary>
public sealed class TransitionRecommenderProvider(IBlobStore store) : IRecommenderProvider
{
    private readonly ConcurrentDictionary<string, Lazy<Task<IRecommender>>> _cache = new(StringComparer.Ordinal);

    public Task<IRecommender> GetAsync(ScoringModelRef model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Kind != TransitionModel.Kind)
        {
            throw new NotSupportedException($"Model kind '{model.Kind}' is not served by {nameof(TransitionRecommenderProvider)}.");
        }
        var lazy = _cache.GetOrAdd(model.Path, _ => new Lazy<Task<IRecommender>>(() => LoadAsync(model)));
        return Unwrap(model.Path, lazy);
    }

    private async Task<IRecommender> Unwrap(string key, Lazy<Task<IRecommender>> lazy)
    {
        try
        {
            return await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            // A failed load (missing blob, transient error) is not cached: the next attempt loads again.
            _cache.TryRemove(new KeyValuePair<string, Lazy<Task<IRecommender>>>(key, lazy));
            throw;
        }
    }

    private async Task<IRecommender> LoadAsync(ScoringModelRef model)
    {
        await using var stream = await store.OpenReadAsync(model.Path).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer).ConfigureAwait(false);
        buffer.Position = 0;
        return new TransitionRecommender(TransitionModel.Load(buffer), model);
    }
}
