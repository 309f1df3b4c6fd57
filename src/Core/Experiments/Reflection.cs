using System.Globalization;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Experiments;

/// <summary>The content of the experiment's priors pointer: which refined fusion-weight set the next run uses.</summary>
public sealed record PriorsPointer(string Version, string FromRun, DateTimeOffset CreatedAt);

/// <summary>
/// Versioned fusion priors written by reflection: <c>priors/{version}/fusion.json</c> (the <see cref="FusionWeights"/>),
/// <c>reflection.json</c> (what was found), <c>candidates.jsonl</c> (refined lists for the users concerned), and the
/// experiment's pointer <c>experiments/{name}/priors-current.json</c>, moved last. Versions are never overwritten by another run's reflection (the version
/// is derived from the run id), so older versions stay readable.
/// </summary>
public static class PriorsRegistry
{
    /// <summary>The reflection of run <paramref name="runId"/> always writes the same version: re-running it replaces its
    /// own output (idempotent) and never another run's.</summary>
    public static string VersionFor(string runId) => $"reflected-{runId}";

    /// <summary>The current fusion weights, or null with the reason (first night, or an incomplete version).</summary>
    public static async Task<(FusionWeights? Weights, string Reason)> ResolveCurrentAsync(IBlobStore store, string experiment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var current = BlobLayout.PriorsCurrent(experiment);
        var pointer = await store.TryReadJsonAsync<PriorsPointer>(current, cancellationToken).ConfigureAwait(false);
        if (pointer is null)
        {
            return (null, $"no reflected priors yet for experiment '{experiment}' ({current} absent): the run's own fusion weights are used");
        }
        var weights = await store.TryReadJsonAsync<FusionWeights>(BlobLayout.PriorsFusion(pointer.Version), cancellationToken).ConfigureAwait(false);
        return weights is null
            ? (null, $"{current} points at {pointer.Version} but {BlobLayout.PriorsFusion(pointer.Version)} is missing: the run's own fusion weights are used")
            : (weights, $"fusion weights {weights.Version} reflected from run {pointer.FromRun}");
    }
}

/// <summary>Impressions and orders of the shown items of one kind (a role, or the backbone's own items).</summary>
/// <param name="Rate">Smoothed orders per impression: (orders + α·p̄) / (impressions + α), p̄ the arm's overall rate.</param>
public sealed record RoleOutcome(string Key, long Impressions, long Clicks, long Orders, double Rate);

/// <summary>What reflection found in one run and what it changed.</summary>
/// <param name="FailedRoles">Roles whose shown items got at least <see cref="ReflectionOptions.MinImpressions"/>
/// impressions and no order.</param>
/// <param name="CollapsedCategories">Categories whose share of the treatment arm's impressions is at least
/// <see cref="ReflectionOptions.CollapseShare"/> and more than twice their share of its orders.</param>
/// <param name="LlmFallbackUsers">Users the LLM reasoner could not serve (embedded fallback), with the first few ids.</param>
public sealed record ReflectionSummary(
    string RunId,
    string Version,
    string PreviousWeights,
    FusionWeights Weights,
    IReadOnlyList<RoleOutcome> Outcomes,
    IReadOnlyList<string> FailedRoles,
    IReadOnlyList<string> CollapsedCategories,
    long LlmFallbackUsers,
    IReadOnlyList<string> LlmFallbackExamples,
    long RefinedUsers,
    string? PromptVersion,
    string? PromptNote);

public sealed record ReflectionOptions
{
    /// <summary>α: pseudo-impressions at the arm's overall rate when smoothing a role's order rate.</summary>
    public double Smoothing { get; init; } = 50;

    /// <summary>κ: impressions of evidence at which the observed prior and the previous prior weigh the same.</summary>
    public double PriorStrength { get; init; } = 200;

    public long MinImpressions { get; init; } = 100;

    public double CollapseShare { get; init; } = 0.05;
}

/// <summary>
/// Reflection without an LLM: turns one run's feedback in the treatment arm into refined fusion priors. For each kind
/// of shown item — the role of a reasoned item, or "backbone" for the model's own items — the smoothed order rate per
/// impression is measured; a role's new prior is its rate relative to the backbone items' rate (so a reasoned item
/// outranks the model's top item exactly when its role has converted better than the model's items), shrunk towards
/// the previous prior by the amount of evidence (κ impressions). Backbone and role weights are set to 1 and the uplift
/// weight kept. Also reports failed roles, collapsed categories and LLM fallbacks, and re-ranks the lists of treatment
/// users whose reasoned items were shown and not clicked with the new priors, those items moved to the end.
/// </summary>
public static class ReflectionEngine
{
    public const string BackboneKey = "backbone";

    public static (ReflectionSummary Summary, IReadOnlyList<CandidateRow> Refined) Reflect(
        string runId,
        FusionWeights previous,
        IReadOnlyList<CandidateRow> candidates,
        IReadOnlyList<OutcomeEvent> attributed,
        IReadOnlyList<UserReasoning> reasoning,
        ReflectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(attributed);
        ArgumentNullException.ThrowIfNull(reasoning);
        var o = options ?? new ReflectionOptions();
        var byUser = attributed.GroupBy(e => e.UserId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var tallies = new Dictionary<string, (long Impressions, long Clicks, long Orders)>(StringComparer.Ordinal);
        var categoryImpressions = new Dictionary<string, long>(StringComparer.Ordinal);
        var categoryOrders = new Dictionary<string, long>(StringComparer.Ordinal);
        var ignoredUsers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in candidates.Where(r => r.Arm == Arm.Treatment))
        {
            var events = byUser.GetValueOrDefault(row.UserId) ?? [];
            var impressions = events.Where(e => e.Type == OutcomeType.Impression).GroupBy(e => e.ItemId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
            var clicks = events.Where(e => e.Type == OutcomeType.Click).GroupBy(e => e.ItemId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
            var orders = events.Where(e => e.Type == OutcomeType.Order).GroupBy(e => e.ItemId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
            var unclickedReasoned = false;
            foreach (var item in row.Items)
            {
                var shown = impressions.GetValueOrDefault(item.ItemId);
                if (shown == 0)
                {
                    continue;
                }
                var key = KeyOf(item);
                var t = tallies.GetValueOrDefault(key);
                tallies[key] = (t.Impressions + shown, t.Clicks + clicks.GetValueOrDefault(item.ItemId), t.Orders + orders.GetValueOrDefault(item.ItemId));
                categoryImpressions[item.CategoryId] = categoryImpressions.GetValueOrDefault(item.CategoryId) + shown;
                categoryOrders[item.CategoryId] = categoryOrders.GetValueOrDefault(item.CategoryId) + orders.GetValueOrDefault(item.ItemId);
                unclickedReasoned |= key != BackboneKey && clicks.GetValueOrDefault(item.ItemId) == 0;
            }
            if (unclickedReasoned)
            {
                ignoredUsers.Add(row.UserId);
            }
        }

        var totalImpressions = tallies.Values.Sum(t => t.Impressions);
        var overall = totalImpressions == 0 ? 0 : (double)tallies.Values.Sum(t => t.Orders) / totalImpressions;
        var outcomes = tallies
            .Select(kv => new RoleOutcome(kv.Key, kv.Value.Impressions, kv.Value.Clicks, kv.Value.Orders,
                Math.Round((kv.Value.Orders + o.Smoothing * overall) / (kv.Value.Impressions + o.Smoothing), 8)))
            .OrderBy(x => x.Key, StringComparer.Ordinal)
            .ToArray();
        var backboneRate = outcomes.FirstOrDefault(x => x.Key == BackboneKey)?.Rate ?? overall;
        double Refine(FunctionalRole role, double old)
        {
            var observed = outcomes.FirstOrDefault(x => x.Key == Key(role));
            if (observed is null || backboneRate <= 0)
            {
                return old;
            }
            var ratio = Math.Clamp(observed.Rate / backboneRate, 0, 5);
            return Math.Round((observed.Impressions * ratio + o.PriorStrength * old) / (observed.Impressions + o.PriorStrength), 4);
        }
        var version = PriorsRegistry.VersionFor(runId);
        var weights = previous with
        {
            Backbone = 1,
            Role = 1,
            ConverterPrior = Refine(FunctionalRole.Converter, previous.ConverterPrior * previous.Role / Math.Max(previous.Backbone, 1e-9)),
            AnchorPrior = Refine(FunctionalRole.Anchor, previous.AnchorPrior * previous.Role / Math.Max(previous.Backbone, 1e-9)),
            ComparisonPrior = Refine(FunctionalRole.Comparison, previous.ComparisonPrior * previous.Role / Math.Max(previous.Backbone, 1e-9)),
            ComplementPrior = Refine(FunctionalRole.Complement, previous.ComplementPrior * previous.Role / Math.Max(previous.Backbone, 1e-9)),
            TriggerPrior = Refine(FunctionalRole.Trigger, previous.TriggerPrior * previous.Role / Math.Max(previous.Backbone, 1e-9)),
            Version = version,
        };

        var failed = outcomes.Where(x => x.Key != BackboneKey && x.Impressions >= o.MinImpressions && x.Orders == 0).Select(x => x.Key).ToArray();
        var totalOrders = categoryOrders.Values.Sum();
        var collapsed = categoryImpressions
            .Where(kv => totalImpressions > 0 && (double)kv.Value / totalImpressions >= o.CollapseShare
                && (totalOrders == 0 || (double)kv.Value / totalImpressions > 2.0 * categoryOrders.GetValueOrDefault(kv.Key) / totalOrders))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} ({(double)kv.Value / totalImpressions:P1} of impressions, {(totalOrders == 0 ? 0 : (double)categoryOrders.GetValueOrDefault(kv.Key) / totalOrders):P1} of orders)"))
            .ToArray();
        var fallbacks = reasoning.Where(r => r.Reasoner == ReasonerKinds.EmbeddedFallback).Select(r => r.UserId).ToArray();

        // Refined lists for treatment users whose reasoned items were shown and not clicked: the new priors re-rank the
        // reasoned items, and the ignored ones go to the end.
        var refined = new List<CandidateRow>();
        foreach (var row in candidates.Where(r => r.Arm == Arm.Treatment && ignoredUsers.Contains(r.UserId)))
        {
            var events = byUser.GetValueOrDefault(row.UserId) ?? [];
            var clicked = events.Where(e => e.Type == OutcomeType.Click).Select(e => e.ItemId).ToHashSet(StringComparer.Ordinal);
            var shown = events.Where(e => e.Type == OutcomeType.Impression).Select(e => e.ItemId).ToHashSet(StringComparer.Ordinal);
            var items = row.Items
                .Select(i => (Item: i, Ignored: shown.Contains(i.ItemId) && !clicked.Contains(i.ItemId),
                    Score: i.Source == "backbone" || i.Role is null ? i.Score : RescoreReasoned(i, previous, weights)))
                .OrderBy(x => x.Ignored).ThenByDescending(x => x.Score).ThenBy(x => x.Item.Rank)
                .Select((x, rank) => x.Item with { Rank = rank + 1, Score = Math.Round(x.Score, 6), Source = x.Ignored ? x.Item.Source + "+ignored" : x.Item.Source })
                .ToArray();
            refined.Add(row with { Items = items });
        }

        var summary = new ReflectionSummary(runId, version, previous.Version, weights, outcomes, failed, collapsed, fallbacks.Length,
            fallbacks.Take(20).ToArray(), refined.Count, null, null);
        return (summary, refined);
    }

    /// <summary>The reasoned part of an item's fused score with the new priors in place of the old (the rest kept).</summary>
    private static double RescoreReasoned(Candidate item, FusionWeights previous, FusionWeights next)
    {
        var role = item.Role!.Value;
        return item.Score - previous.Role * previous.PriorOf(role) + next.Role * next.PriorOf(role);
    }

    private static string KeyOf(Candidate item) =>
        item.Source.Contains(RoleGenFusion.SourceReasoned, StringComparison.Ordinal) && item.Role is { } role ? Key(role) : BackboneKey;

    private static string Key(FunctionalRole role) => role.ToString().ToLowerInvariant();
}
