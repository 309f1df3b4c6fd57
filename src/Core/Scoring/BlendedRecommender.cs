using RoleGen.Core.Cohort;

namespace RoleGen.Core.Scoring;

/// <summary>
/// A rank blend of two models (the backbone and the transition baseline): an item's score is
/// <c>w / log2(2 + rank_a) + (1 − w) / log2(2 + rank_b)</c> over the two models' lists (a term is 0 for an item the model
/// did not list); ties go to the better rank in A, then the item id. <c>w = 1</c> is model A alone, <c>w = 0</c> model B
/// alone. The weight is chosen on validation (<c>rolegen eval</c>, recorded in the run's tuning) so that RoleGen fuses its
/// reasoned items into the strongest list available, not into a weak one.
/// </summary>
public sealed class BlendedRecommender : IRecommender
{
    public const string Kind = "blend";

    private readonly IRecommender _a;
    private readonly IRecommender _b;

    public BlendedRecommender(IRecommender a, IRecommender b, double weightA)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!double.IsFinite(weightA) || weightA is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(weightA), weightA, "the blend weight must be in [0, 1]");
        }
        _a = a;
        _b = b;
        WeightA = weightA;
        Model = new ScoringModelRef(Kind, Version(a.Model, b.Model, weightA), "");
    }

    /// <summary>The version label of a blend: <c>{a kind}@{a version}*{w}+{b kind}@{b version}</c>.</summary>
    public static string Version(ScoringModelRef a, ScoringModelRef b, double weightA)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{a.Kind}@{a.Version}*{weightA:0.##}+{b.Kind}@{b.Version}");
    }

    public double WeightA { get; }

    public ScoringModelRef Model { get; }

    public string Runtime => _a.Runtime == _b.Runtime ? _a.Runtime : $"{_a.Runtime}; {_b.Runtime}";

    public IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, int topK)
    {
        ArgumentNullException.ThrowIfNull(users);
        // Each model lists twice as many as asked, so an item ranked low by one but high by the other can surface.
        var depth = Math.Max(2 * topK, topK + 10);
        var a = WeightA > 0 ? _a.Recommend(users, depth) : null;
        var b = WeightA < 1 ? _b.Recommend(users, depth) : null;
        var result = new UserRecommendations[users.Count];
        for (var u = 0; u < users.Count; u++)
        {
            var rows = new Dictionary<string, (RecommendedItem Item, double Score, int RankA, string Source)>(StringComparer.Ordinal);
            void Add(IReadOnlyList<RecommendedItem> items, double weight, bool isA)
            {
                for (var r = 0; r < items.Count; r++)
                {
                    var item = items[r];
                    var score = weight / Math.Log2(r + 2);
                    rows[item.ItemId] = rows.TryGetValue(item.ItemId, out var existing)
                        ? (existing.Item, existing.Score + score, isA ? r : existing.RankA, existing.Source == item.Source ? existing.Source : $"{existing.Source}+{item.Source}")
                        : (item, score, isA ? r : int.MaxValue, item.Source);
                }
            }
            if (a is not null)
            {
                Add(a[u].Items, WeightA, isA: true);
            }
            if (b is not null)
            {
                Add(b[u].Items, 1 - WeightA, isA: false);
            }
            result[u] = new UserRecommendations(users[u].UserId, rows
                .OrderByDescending(kv => kv.Value.Score).ThenBy(kv => kv.Value.RankA).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                .Take(topK)
                .Select(kv => kv.Value.Item with { Score = Math.Round(kv.Value.Score, 6), Source = kv.Value.Source })
                .ToArray());
        }
        return result;
    }
}
