using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Scoring;

namespace RoleGen.Core.Reasoning;

/// <summary>
/// Merges a user's reasoned conversion paths into the backbone's ranking (score: <see cref="FusionWeights"/>). Every
/// returned item carries its source (backbone, reasoned, backbone+reasoned) and its functional role: the path's role for a
/// reasoned item; for a backbone-only item the role the trajectory and the behaviour graph give it (carted → Converter,
/// seen before → Anchor, the live intent's category → Comparison, a category bought after one of the user's → Complement,
/// a high-uplift item → Trigger), else none. Items the user bought are never returned.
/// </summary>
public sealed class RoleGenFusion(FusionWeights weights, BehaviorGraphStatistics? stats = null, ReasonerOptions? options = null)
{
    public const string SourceReasoned = "reasoned";

    private readonly ReasonerOptions _options = options ?? new ReasonerOptions();

    public FusionWeights Weights { get; } = weights ?? throw new ArgumentNullException(nameof(weights));

    public UserRecommendations Fuse(UserTrajectory user, UserRecommendations model, UserReasoning? reasoning, int topK)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(model);
        var purchased = new HashSet<string>(user.Purchased, StringComparer.Ordinal);
        var rows = new Dictionary<string, (string Category, double Score, string Source, FunctionalRole? Role, int Rank)>(StringComparer.Ordinal);
        for (var r = 0; r < model.Items.Count; r++)
        {
            var item = model.Items[r];
            if (purchased.Contains(item.ItemId) || rows.ContainsKey(item.ItemId))
            {
                continue;
            }
            rows[item.ItemId] = (item.CategoryId, Weights.Backbone / Math.Log2(r + 2), item.Source, item.Role, r);
        }
        if (reasoning is not null)
        {
            foreach (var path in reasoning.Paths)
            {
                if (purchased.Contains(path.Item))
                {
                    continue;
                }
                var reasoned = EmbeddedReasoner.PathScore(path, reasoning.BaseConversion, Weights);
                rows[path.Item] = rows.TryGetValue(path.Item, out var b)
                    ? (b.Category, b.Score + reasoned, $"{b.Source}+{SourceReasoned}", path.Role, b.Rank)
                    : (path.Category, reasoned, SourceReasoned, path.Role, int.MaxValue);
            }
        }
        var context = stats is null ? null : new UserContext(user);
        var ranked = rows
            .OrderByDescending(kv => kv.Value.Score)
            .ThenBy(kv => kv.Value.Rank)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(topK)
            .Select(kv => new RecommendedItem(kv.Key, kv.Value.Category, Math.Round(kv.Value.Score, 6), kv.Value.Source)
            {
                Role = kv.Value.Role ?? RoleOf(kv.Key, kv.Value.Category, context),
            })
            .ToArray();
        return new UserRecommendations(user.UserId, ranked);
    }

    private FunctionalRole? RoleOf(string item, string category, UserContext? user)
    {
        if (user is null || stats is null)
        {
            return null;
        }
        if (user.Carted.Contains(item))
        {
            return FunctionalRole.Converter;
        }
        if (user.Seen.Contains(item))
        {
            return FunctionalRole.Anchor;
        }
        if (category == user.Live)
        {
            return FunctionalRole.Comparison;
        }
        foreach (var from in user.Categories)
        {
            if (from != category && stats.TransitionLift(from, category).Value >= _options.ComplementLift)
            {
                return FunctionalRole.Complement;
            }
        }
        return stats.ItemUplift(item).Value >= _options.TriggerUplift ? FunctionalRole.Trigger : null;
    }

    private sealed class UserContext(UserTrajectory user)
    {
        public HashSet<string> Seen { get; } = new(user.Steps.Select(s => s.Item), StringComparer.Ordinal);

        public HashSet<string> Carted { get; } = new(user.Steps.Where(s => s.Type == EventType.Cart).Select(s => s.Item), StringComparer.Ordinal);

        public HashSet<string> Categories { get; } = new(user.Steps.Select(s => s.Category), StringComparer.Ordinal);

        public string? Live { get; } = user.Steps.Count > 0 ? user.Steps[^1].Category : null;
    }
}
