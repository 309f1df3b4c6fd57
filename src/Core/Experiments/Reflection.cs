using System.Globalization;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Experiments;

/// <summary>The content of the experiment's priors pointer: which refined fusion-weight set the next run uses.</summary>
public sealed record PriorsPointer(string Version, string FromRun, DateTimeOffset CreatedAt)
{
    /// <summary>SHA-256 (hex) of the fusion.json bytes written with the pointer (null: written before hashes were recorded).</summary>
    public string? FusionSha256 { get; init; }
}

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
        if (BlobLayout.VersionProblem(pointer.Version) is { } invalid)
        {
            return (null, $"{current} is refused ({invalid}): the run's own fusion weights are used");
        }
        var path = BlobLayout.PriorsFusion(pointer.Version);
        if (!await store.ExistsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            return (null, $"{current} points at {pointer.Version} but {path} is missing: the run's own fusion weights are used");
        }
        byte[] bytes;
        await using (var stream = await store.OpenReadAsync(path, cancellationToken).ConfigureAwait(false))
        using (var buffer = new MemoryStream())
        {
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            bytes = buffer.ToArray();
        }
        if (pointer.FusionSha256 is { } expected && !string.Equals(Scoring.BackboneRegistry.Sha256Hex(bytes), expected, StringComparison.OrdinalIgnoreCase))
        {
            return (null, $"{current} is refused (the SHA-256 of {path} differs from the one recorded when it was written): the run's own fusion weights are used");
        }
        var weights = System.Text.Json.JsonSerializer.Deserialize<FusionWeights>(bytes, RoleGenJson.Options)
            ?? throw new InvalidDataException($"Blob '{path}' holds JSON null.");
        return (weights, $"fusion weights {weights.Version} reflected from run {pointer.FromRun}"
            + (pointer.FusionSha256 is null ? $" (unchecked: {current} records no SHA-256, written before hashes)" : ""));
    }

    /// <summary>Writes <c>priors/{version}/fusion.json</c> and returns the SHA-256 of the bytes written (for the pointer).</summary>
    public static async Task<string> WriteFusionAsync(IBlobStore store, string version, FusionWeights weights, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(weights, RoleGenJson.Indented);
        await using (var stream = await store.OpenWriteAsync(BlobLayout.PriorsFusion(version), cancellationToken).ConfigureAwait(false))
        {
            await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        return Scoring.BackboneRegistry.Sha256Hex(bytes);
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
/// <param name="PromptVersion">The prompt revision staged as a candidate (current only when <paramref name="PromptNote"/> says it was promoted).</param>
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

    /// <summary>Reflection of a run held in memory: <see cref="Tally"/>, <see cref="Summarize"/>, then <see cref="Refine"/>
    /// for every treatment row. The sharded reflection does the same with the tallies summed over shards.</summary>
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
        var (roles, categoryImpressions, categoryOrders) = Tally(candidates, attributed);
        var fallbacks = reasoning.Where(r => r.Reasoner == ReasonerKinds.EmbeddedFallback).Select(r => r.UserId).ToArray();
        var summary = Summarize(runId, previous, roles, categoryImpressions, categoryOrders, fallbacks.Length, [.. fallbacks.Take(FeedbackPartial.MaxFallbackExamples)], options);
        var byUser = attributed.GroupBy(e => e.UserId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlyList<OutcomeEvent>)g.ToList(), StringComparer.Ordinal);
        var refined = candidates
            .Select(row => Refine(row, byUser.GetValueOrDefault(row.UserId) ?? [], previous, summary.Weights))
            .OfType<CandidateRow>()
            .ToArray();
        return (summary with { RefinedUsers = refined.Length }, refined);
    }

    /// <summary>The treatment arm's outcomes per kind of shown item (role or <see cref="BackboneKey"/>), and impressions
    /// and orders per category of the shown items, over <paramref name="candidates"/> (the first row of a user counts,
    /// as in <see cref="FeedbackCalculator.Attribute"/>) and their <paramref name="attributed"/> outcomes. Sums: the
    /// tallies of disjoint sets of users add up.</summary>
    public static (Dictionary<string, RoleTally> Roles, Dictionary<string, long> CategoryImpressions, Dictionary<string, long> CategoryOrders) Tally(
        IEnumerable<CandidateRow> candidates, IEnumerable<OutcomeEvent> attributed)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(attributed);
        var byUser = attributed.GroupBy(e => e.UserId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var roles = new Dictionary<string, RoleTally>(StringComparer.Ordinal);
        var categoryImpressions = new Dictionary<string, long>(StringComparer.Ordinal);
        var categoryOrders = new Dictionary<string, long>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in candidates)
        {
            if (!seen.Add(row.UserId) || row.Arm != Arm.Treatment || !byUser.TryGetValue(row.UserId, out var events))
            {
                continue;
            }
            var (impressions, clicks, orders) = PerItem(events);
            foreach (var item in row.Items)
            {
                var shown = impressions.GetValueOrDefault(item.ItemId);
                if (shown == 0)
                {
                    continue;
                }
                var key = KeyOf(item);
                var ordered = orders.GetValueOrDefault(item.ItemId);
                roles[key] = (roles.GetValueOrDefault(key) ?? new RoleTally(0, 0, 0)).Add(new RoleTally(shown, clicks.GetValueOrDefault(item.ItemId), ordered));
                categoryImpressions[item.CategoryId] = categoryImpressions.GetValueOrDefault(item.CategoryId) + shown;
                categoryOrders[item.CategoryId] = categoryOrders.GetValueOrDefault(item.CategoryId) + ordered;
            }
        }
        return (roles, categoryImpressions, categoryOrders);
    }

    /// <summary>What reflection finds in a run's tallies (of the whole run, or summed over its shards) and the refined
    /// fusion weights. <see cref="ReflectionSummary.RefinedUsers"/> is 0: the caller counts the rows <see cref="Refine"/>
    /// returns.</summary>
    public static ReflectionSummary Summarize(
        string runId,
        FusionWeights previous,
        IReadOnlyDictionary<string, RoleTally> roles,
        IReadOnlyDictionary<string, long> categoryImpressions,
        IReadOnlyDictionary<string, long> categoryOrders,
        long fallbackUsers,
        IReadOnlyList<string> fallbackExamples,
        ReflectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(roles);
        ArgumentNullException.ThrowIfNull(categoryImpressions);
        ArgumentNullException.ThrowIfNull(categoryOrders);
        var o = options ?? new ReflectionOptions();
        var totalImpressions = roles.Values.Sum(t => t.Impressions);
        var overall = totalImpressions == 0 ? 0 : (double)roles.Values.Sum(t => t.Orders) / totalImpressions;
        var outcomes = roles
            .Select(kv => new RoleOutcome(kv.Key, kv.Value.Impressions, kv.Value.Clicks, kv.Value.Orders,
                Math.Round((kv.Value.Orders + o.Smoothing * overall) / (kv.Value.Impressions + o.Smoothing), 8)))
            .OrderBy(x => x.Key, StringComparer.Ordinal)
            .ToArray();
        var backboneRate = outcomes.FirstOrDefault(x => x.Key == BackboneKey)?.Rate ?? overall;
        double Refined(FunctionalRole role, double old)
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
        var scale = previous.Role / Math.Max(previous.Backbone, 1e-9);
        var weights = previous with
        {
            Backbone = 1,
            Role = 1,
            ConverterPrior = Refined(FunctionalRole.Converter, previous.ConverterPrior * scale),
            AnchorPrior = Refined(FunctionalRole.Anchor, previous.AnchorPrior * scale),
            ComparisonPrior = Refined(FunctionalRole.Comparison, previous.ComparisonPrior * scale),
            ComplementPrior = Refined(FunctionalRole.Complement, previous.ComplementPrior * scale),
            TriggerPrior = Refined(FunctionalRole.Trigger, previous.TriggerPrior * scale),
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
        return new ReflectionSummary(runId, version, previous.Version, weights, outcomes, failed, collapsed, fallbackUsers,
            [.. (fallbackExamples ?? []).Take(FeedbackPartial.MaxFallbackExamples)], 0, null, null);
    }

    /// <summary>The refined list of a treatment user whose reasoned items were shown and not clicked (null for anyone
    /// else): the new priors re-rank the reasoned items, and the ignored ones go to the end. <paramref name="events"/> are
    /// the user's attributed outcomes.</summary>
    public static CandidateRow? Refine(CandidateRow row, IReadOnlyList<OutcomeEvent> events, FusionWeights previous, FusionWeights weights)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(events);
        return row.Arm != Arm.Treatment || events.Count == 0 ? null : Refine(row, IgnoredItems(row, events), previous, weights);
    }

    /// <summary><see cref="Refine(CandidateRow, IReadOnlyList{OutcomeEvent}, FusionWeights, FusionWeights)"/> given the
    /// user's <paramref name="ignored"/> items (<see cref="IgnoredItems"/>: all that list needs of the outcomes).</summary>
    public static CandidateRow? Refine(CandidateRow row, IReadOnlyCollection<string> ignored, FusionWeights previous, FusionWeights weights)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(ignored);
        var set = ignored as IReadOnlySet<string> ?? ignored.ToHashSet(StringComparer.Ordinal);
        if (row.Arm != Arm.Treatment || !HasIgnoredReasonedItem(row, set))
        {
            return null;
        }
        var items = row.Items
            .Select(i => (Item: i, Ignored: set.Contains(i.ItemId),
                Score: i.Source == "backbone" || i.Role is null ? i.Score : RescoreReasoned(i, previous, weights)))
            .OrderBy(x => x.Ignored).ThenByDescending(x => x.Score).ThenBy(x => x.Item.Rank)
            .Select((x, rank) => x.Item with { Rank = rank + 1, Score = Math.Round(x.Score, 6), Source = x.Ignored ? x.Item.Source + "+ignored" : x.Item.Source })
            .ToArray();
        return row with { Items = items };
    }

    /// <summary>The items of <paramref name="row"/> that <paramref name="events"/> show and do not click, in list order
    /// (distinct).</summary>
    public static IReadOnlyList<string> IgnoredItems(CandidateRow row, IReadOnlyList<OutcomeEvent> events)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return [];
        }
        var (impressions, clicks, _) = PerItem(events);
        return [.. row.Items.Where(i => impressions.ContainsKey(i.ItemId) && !clicks.ContainsKey(i.ItemId)).Select(i => i.ItemId).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>True when <see cref="Refine(CandidateRow, IReadOnlyList{OutcomeEvent}, FusionWeights, FusionWeights)"/>
    /// returns a list for <paramref name="row"/> with these <paramref name="ignored"/> items, whatever the weights: a
    /// treatment user with a reasoned item shown and not clicked. The feedback step keeps only these rows (with their
    /// ignored items) for the reflection, so the reflection never re-reads the run's candidates or outcomes.</summary>
    public static bool IsRefinable(CandidateRow row, IReadOnlyCollection<string> ignored)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(ignored);
        return row.Arm == Arm.Treatment && ignored.Count > 0 && HasIgnoredReasonedItem(row, ignored as IReadOnlySet<string> ?? ignored.ToHashSet(StringComparer.Ordinal));
    }

    private static bool HasIgnoredReasonedItem(CandidateRow row, IReadOnlySet<string> ignored) =>
        row.Items.Any(i => ignored.Contains(i.ItemId) && KeyOf(i) != BackboneKey);

    private static (Dictionary<string, long> Impressions, Dictionary<string, long> Clicks, Dictionary<string, long> Orders) PerItem(IEnumerable<OutcomeEvent> events)
    {
        var impressions = new Dictionary<string, long>(StringComparer.Ordinal);
        var clicks = new Dictionary<string, long>(StringComparer.Ordinal);
        var orders = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            var target = e.Type switch
            {
                OutcomeType.Impression => impressions,
                OutcomeType.Click => clicks,
                OutcomeType.Order => orders,
                _ => null,
            };
            if (target is not null)
            {
                target[e.ItemId] = target.GetValueOrDefault(e.ItemId) + 1;
            }
        }
        return (impressions, clicks, orders);
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
