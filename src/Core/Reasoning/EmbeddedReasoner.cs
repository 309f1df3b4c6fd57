using System.Globalization;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;

namespace RoleGen.Core.Reasoning;

/// <summary>
/// Run-level lookup tables for proposing interventions, computed once from <see cref="BehaviorGraphStatistics"/>:
/// trigger items (high smoothed uplift, enough exposed users) and, per category, the items to show for it (most
/// purchased first).
/// </summary>
public sealed class InterventionCatalog
{
    private readonly Dictionary<string, string[]> _bestByCategory;

    public InterventionCatalog(BehaviorGraphStatistics stats, ReasonerOptions options)
    {
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(options);
        Stats = stats;
        Triggers = stats.RankItemsByUplift(options.MinTriggerUsers)
            .Where(x => x.Uplift.Value >= options.TriggerUplift)
            .Take(500)
            .Select(x => (x.Item.Item, x.Item.Category, x.Uplift.Value))
            .ToArray();
        _bestByCategory = stats.Items
            .Where(i => i.Purchasers > 0 || i.Users >= options.MinTriggerUsers)
            .GroupBy(i => i.Category, StringComparer.Ordinal)
            .ToDictionary(
                g => g.Key,
                g => g.OrderByDescending(i => i.Purchasers).ThenByDescending(i => i.Users).ThenBy(i => i.Item, StringComparer.Ordinal)
                    .Take(5).Select(i => i.Item).ToArray(),
                StringComparer.Ordinal);
    }

    public BehaviorGraphStatistics Stats { get; }

    /// <summary>Trigger items, highest uplift first.</summary>
    public IReadOnlyList<(string Item, string Category, double Uplift)> Triggers { get; }

    /// <summary>Items to show for a category (most purchased first; empty when the category is unknown).</summary>
    public IReadOnlyList<string> BestOf(string category) => _bestByCategory.GetValueOrDefault(category) ?? [];
}

/// <summary>
/// The embedded (deterministic, no-LLM) Conversion Trajectory Reasoner. Per user: (1) assigns a functional role to every
/// step (<see cref="EmbeddedRoleAssigner"/>); (2) proposes role-diverse interventions do(show x) — items the user carted
/// and did not buy (Converter), revisited references (Anchor), alternatives within the live intent (Comparison), items of
/// categories bought with the user's (Complement) and high-uplift items that open a new intent in another category
/// (Trigger) — picking round-robin over roles and preferring categories not yet chosen, so the paths do not all sit in
/// the dominant intent (interest collapse); (3) estimates Δ for each with the world model in one batched call; (4) keeps the
/// K best paths by role prior and uplift.
/// </summary>
public sealed class EmbeddedReasoner : IReasoner
{
    private static readonly FunctionalRole[] RoleOrder =
        [FunctionalRole.Converter, FunctionalRole.Anchor, FunctionalRole.Complement, FunctionalRole.Trigger, FunctionalRole.Comparison];

    private readonly InterventionCatalog _catalog;
    private readonly ReasonerOptions _options;
    private readonly EmbeddedRoleAssigner _roles;
    private readonly ICounterfactualModel _world;

    public EmbeddedReasoner(InterventionCatalog catalog, ICounterfactualModel world, ReasonerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(world);
        _catalog = catalog;
        _world = world;
        _options = options ?? new ReasonerOptions();
        _roles = new EmbeddedRoleAssigner(catalog.Stats, new RoleAssignerOptions { TriggerUplift = _options.TriggerUplift, ComplementLift = _options.ComplementLift });
    }

    public string WorldModel => _world.Name;

    /// <summary>Cumulative time spent in role assignment + intervention proposal, and in the world model (for the
    /// reasoning-cost figures; not synchronised: read it after the calls).</summary>
    public TimeSpan RolesAndProposalTime { get; private set; }

    public TimeSpan WorldModelTime { get; private set; }

    public string? PromptVersion => null;

    public IReadOnlyDictionary<string, long>? LlmCounters => null;

    public Task<IReadOnlyList<UserReasoning>> ReasonAsync(IReadOnlyList<UserTrajectory> users, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Reason(users));
    }

    /// <summary>Reasons over a batch of users (one world-model call for the batch). One result per user, in input order.</summary>
    public IReadOnlyList<UserReasoning> Reason(IReadOnlyList<UserTrajectory> users)
    {
        ArgumentNullException.ThrowIfNull(users);
        var roles = new IReadOnlyList<StepRole>[users.Count];
        var interventions = new IReadOnlyList<Intervention>[users.Count];
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var u = 0; u < users.Count; u++)
        {
            roles[u] = _roles.Assign(users[u]);
            interventions[u] = Propose(users[u], roles[u]);
        }
        var proposed = System.Diagnostics.Stopwatch.GetTimestamp();
        var estimates = _world.Evaluate(users, interventions);
        RolesAndProposalTime += System.Diagnostics.Stopwatch.GetElapsedTime(started, proposed);
        WorldModelTime += System.Diagnostics.Stopwatch.GetElapsedTime(proposed);
        var result = new UserReasoning[users.Count];
        for (var u = 0; u < users.Count; u++)
        {
            var p0 = estimates.Base[u];
            var paths = new List<ConversionPath>(interventions[u].Count);
            for (var j = 0; j < interventions[u].Count; j++)
            {
                var x = interventions[u][j];
                var p1 = estimates.WithIntervention[u][j];
                var delta = double.IsFinite(p1) ? p1 - p0 : 0;
                // An item outside the world model gets Δ 0 and P(conv) = P0 (said in the rationale): JSON has no NaN.
                paths.Add(new ConversionPath(x.Item, x.Category, x.Role, x.TargetCategory, Math.Round(delta, 6),
                    Math.Round(double.IsFinite(p1) ? p1 : p0, 6), _options.Fusion.PriorOf(x.Role),
                    double.IsFinite(p1)
                        ? string.Create(CultureInfo.InvariantCulture, $"{x.Why}; Δ {delta:+0.0000;-0.0000;0}")
                        : $"{x.Why}; Δ unknown (item outside the world model)"));
            }
            var kept = KeepBest(paths, p0, _options.PathsPerUser, _options.Fusion);
            result[u] = new UserReasoning(users[u].UserId, ReasonerKinds.Embedded, Math.Round(p0, 6), roles[u], kept, Summarize(roles[u], kept));
        }
        return result;
    }

    /// <summary>The <paramref name="k"/> best paths by <see cref="PathScore"/> under <paramref name="weights"/> (ties: item id).
    /// The one selection rule: the reasoner keeps paths with it, and an evaluation that re-weights fusion re-selects with it.</summary>
    public static ConversionPath[] KeepBest(IEnumerable<ConversionPath> paths, double baseConversion, int k, FusionWeights weights) =>
        paths.OrderByDescending(p => PathScore(p, baseConversion, weights)).ThenBy(p => p.Item, StringComparer.Ordinal).Take(k).ToArray();

    /// <summary>Role prior plus scaled uplift: the reasoned part of the fusion score (<see cref="FusionWeights"/>).</summary>
    public static double PathScore(ConversionPath path, double baseConversion, FusionWeights weights)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(weights);
        return weights.Role * weights.PriorOf(path.Role) + weights.Uplift * ScaledUplift(path.Delta, baseConversion);
    }

    /// <summary>Δ relative to the user's base conversion probability, clamped to [−1, 1] (0 for a non-finite Δ).</summary>
    public static double ScaledUplift(double delta, double baseConversion) =>
        double.IsFinite(delta) ? Math.Clamp(delta / Math.Max(baseConversion, 0.001), -1, 1) : 0;

    /// <summary>Role-diverse candidate interventions, at most <see cref="ReasonerOptions.MaxInterventions"/>.</summary>
    public IReadOnlyList<Intervention> Propose(UserTrajectory user, IReadOnlyList<StepRole> roles)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(roles);
        var max = _options.MaxInterventions;
        if (max == 0)
        {
            return [];
        }
        var purchased = new HashSet<string>(user.Purchased, StringComparer.Ordinal);
        var seen = new HashSet<string>(user.Steps.Select(s => s.Item), StringComparer.Ordinal);
        var userCategories = CategoryWeights(user);
        var userCategorySet = new HashSet<string>(userCategories, StringComparer.Ordinal);
        var live = user.Steps.Count > 0 ? user.Steps[^1].Category : null;
        var pools = new Dictionary<FunctionalRole, List<Intervention>>
        {
            [FunctionalRole.Converter] = [],
            [FunctionalRole.Anchor] = [],
            [FunctionalRole.Comparison] = [],
            [FunctionalRole.Complement] = [],
            [FunctionalRole.Trigger] = [],
        };

        // In-trajectory candidates, most recent first: carted-not-bought (Converter), revisited (Anchor), compared (Comparison).
        // An item carted at any step is a Converter candidate, even when a later step revisits it.
        var carted = new HashSet<string>(user.Steps.Where(s => s.Type == EventType.Cart).Select(s => s.Item), StringComparer.Ordinal);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (var i = roles.Count - 1; i >= 0; i--)
        {
            var r = roles[i];
            if (purchased.Contains(r.Item))
            {
                continue;
            }
            if (carted.Contains(r.Item) && taken.Add(r.Item))
            {
                pools[FunctionalRole.Converter].Add(new Intervention(r.Item, r.Category, FunctionalRole.Converter, r.Category, "carted, not bought"));
            }
            else if (r.Role == FunctionalRole.Anchor && taken.Add(r.Item))
            {
                pools[FunctionalRole.Anchor].Add(new Intervention(r.Item, r.Category, FunctionalRole.Anchor, r.Category, r.Reason));
            }
            else if (r.Role == FunctionalRole.Comparison && r.Category == live && taken.Add(r.Item))
            {
                pools[FunctionalRole.Comparison].Add(new Intervention(r.Item, r.Category, FunctionalRole.Comparison, r.Category, "compared within the live intent"));
            }
        }
        // Unseen alternatives within the live intent.
        if (live is not null)
        {
            foreach (var item in _catalog.BestOf(live))
            {
                if (!seen.Contains(item) && !purchased.Contains(item) && taken.Add(item))
                {
                    pools[FunctionalRole.Comparison].Add(new Intervention(item, live, FunctionalRole.Comparison, live, "most bought alternative in the live intent"));
                }
            }
        }
        // Complements: categories bought after the user's categories (highest lift first), outside the user's categories.
        var complements = new List<(string From, string To, double Lift)>();
        foreach (var category in userCategories.Take(3))
        {
            foreach (var t in _catalog.Stats.TransitionsFrom(category).Take(10))
            {
                if (userCategorySet.Contains(t.To))
                {
                    continue;
                }
                var lift = _catalog.Stats.TransitionLift(category, t.To).Value;
                if (lift >= _options.ComplementLift)
                {
                    complements.Add((category, t.To, lift));
                }
            }
        }
        foreach (var (from, to, lift) in complements.OrderByDescending(c => c.Lift).ThenBy(c => c.To, StringComparer.Ordinal))
        {
            var item = _catalog.BestOf(to).FirstOrDefault(i => !seen.Contains(i) && !purchased.Contains(i));
            if (item is not null && taken.Add(item))
            {
                pools[FunctionalRole.Complement].Add(new Intervention(item, to, FunctionalRole.Complement, to,
                    string.Create(CultureInfo.InvariantCulture, $"{to} is bought after {from} (lift {lift:F2})")));
            }
        }
        // Triggers: high-uplift unseen items outside the user's dominant category.
        var dominant = userCategories.Count > 0 ? userCategories[0] : null;
        foreach (var (item, category, uplift) in _catalog.Triggers)
        {
            if (pools[FunctionalRole.Trigger].Count >= max)
            {
                break;
            }
            if (category != dominant && !seen.Contains(item) && !purchased.Contains(item) && taken.Add(item))
            {
                pools[FunctionalRole.Trigger].Add(new Intervention(item, category, FunctionalRole.Trigger, TargetOf(category),
                    string.Create(CultureInfo.InvariantCulture, $"opens a new intent (uplift {uplift:F2})")));
            }
        }

        // Round-robin over roles; first pass prefers categories not chosen yet.
        var chosen = new List<Intervention>(max);
        var categories = new HashSet<string>(StringComparer.Ordinal);
        var cursor = RoleOrder.ToDictionary(r => r, _ => 0);
        for (var pass = 0; pass < 2 && chosen.Count < max; pass++)
        {
            var progress = true;
            while (chosen.Count < max && progress)
            {
                progress = false;
                foreach (var role in RoleOrder)
                {
                    var pool = pools[role];
                    while (cursor[role] < pool.Count)
                    {
                        var x = pool[cursor[role]++];
                        if (pass == 0 && !categories.Add(x.Category) && role is FunctionalRole.Complement or FunctionalRole.Trigger)
                        {
                            continue; // a second item of an already chosen category: only in the second pass
                        }
                        chosen.Add(x);
                        categories.Add(x.Category);
                        progress = true;
                        break;
                    }
                    if (chosen.Count == max)
                    {
                        break;
                    }
                }
            }
            if (pass == 0)
            {
                cursor = RoleOrder.ToDictionary(r => r, _ => 0);
                foreach (var x in chosen)
                {
                    pools[x.Role].Remove(x);
                }
            }
        }
        return chosen;
    }

    private string TargetOf(string category)
    {
        var t = _catalog.Stats.TransitionsFrom(category);
        return t.Count > 0 ? t[0].To : category;
    }

    /// <summary>The user's categories weighted by recency (a step counts 1 / (1 + steps after it)), heaviest first.</summary>
    private static List<string> CategoryWeights(UserTrajectory user)
    {
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < user.Steps.Count; i++)
        {
            var s = user.Steps[i];
            weights[s.Category] = weights.GetValueOrDefault(s.Category) + 1.0 / (user.Steps.Count - i);
        }
        return weights.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key).ToList();
    }

    private static string Summarize(IReadOnlyList<StepRole> roles, IReadOnlyList<ConversionPath> paths)
    {
        var counts = roles.Where(r => r.Role != FunctionalRole.Noise).GroupBy(r => r.Role).OrderBy(g => g.Key)
            .Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}");
        var head = string.Join(", ", counts);
        var best = paths.Count == 0
            ? "no intervention proposed"
            : string.Create(CultureInfo.InvariantCulture, $"best path: show {paths[0].Item} ({paths[0].Role.ToString().ToLowerInvariant()}) → {paths[0].TargetCategory}, Δ {paths[0].Delta:+0.0000;-0.0000;0}");
        return head.Length == 0 ? best : $"{head}; {best}";
    }
}
