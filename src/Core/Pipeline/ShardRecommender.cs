using RoleGen.Core.Cohort;
using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;

namespace RoleGen.Core.Pipeline;

/// <summary>What a shard's recommendations are made of: the list length and the run's reasoner, fusion and experiment
/// options (all from the run request).</summary>
public sealed record ShardRecommenderOptions
{
    /// <summary>Candidates per user (the final list length).</summary>
    public int TopK { get; init; } = RunDefaults.TopK;

    /// <summary>Reasoner and fusion options (fusion weights, role priors, paths per user).</summary>
    public ReasonerOptions Reasoner { get; init; } = new();

    /// <summary>The run's experiment: control users get the model's own list, treatment users the fused one. Null: no
    /// experiment, every user gets the fused list (what offline evaluation measures for RoleGen).</summary>
    public ExperimentOptions? Experiment { get; init; }

    /// <summary>Tokens the LLM reasoner may spend on this shard attempt (its share of the run's budget, less what earlier
    /// attempts spent). Null: the LLM reasoner's own budget.</summary>
    public long? LlmTokenLimit { get; init; }
}

/// <summary>
/// The recommendation pipeline of one batch of users, the same for the nightly run and for offline evaluation:
/// reasoning (roles, counterfactual paths; <see cref="IReasoner"/>) → scoring by the run's model (<see cref="IRecommender"/>)
/// → fusion of the reasoned paths into the model's list (<see cref="RoleGenFusion"/>) → A/B arm per user (control = the
/// model's list, treatment = the fused list). Returns one <see cref="UserRecommendations"/> per user, in input order, and
/// counts what it did (<see cref="Scoring"/>, <see cref="Reasoning"/>).
/// </summary>
/// <remarks>The durable run splits it over two activities (reason, then score with the reasoning read back from blob), which
/// is why <see cref="ReasonAsync"/> and <see cref="Recommend"/> are public; <see cref="RecommendAsync"/> is both in one
/// call. Without a reasoner or statistics (reasoner off, or the run's statistics failed) users get the model's list.</remarks>
public sealed class ShardRecommender
{
    private readonly IRecommender? _model;
    private readonly IReasoner? _reasoner;
    private readonly RoleGenFusion? _fusion;

    /// <param name="model">The run's ranker (null for a reasoning-only instance).</param>
    /// <param name="reasoner">The reasoner (null: no reasoning in this instance; reasoning may still be passed to <see cref="Recommend"/>).</param>
    /// <param name="statistics">The run's behaviour-graph statistics; null means no fusion (the model alone).</param>
    public ShardRecommender(IRecommender? model, IReasoner? reasoner, BehaviorGraphStatistics? statistics, ShardRecommenderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TopK is < RunDefaults.TopKMin or > RunDefaults.TopKMax)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.TopK, $"TopK must be between {RunDefaults.TopKMin} and {RunDefaults.TopKMax}.");
        }
        _model = model;
        _reasoner = reasoner;
        Options = options;
        _fusion = statistics is not null && options.Reasoner.Enabled ? new RoleGenFusion(options.Reasoner.Fusion, statistics, options.Reasoner) : null;
    }

    public ShardRecommenderOptions Options { get; }

    /// <summary>True when reasoned paths are fused into the model's lists.</summary>
    public bool Fuses => _fusion is not null;

    /// <summary>Items the model lists per user: a few more than top-K when fusing, so reasoned items can enter without
    /// emptying the tail.</summary>
    public int ModelListSize => _fusion is null ? Options.TopK : Options.TopK + Options.Reasoner.PathsPerUser;

    public IRecommender Model => _model ?? throw new InvalidOperationException("This shard recommender has no model (reasoning only).");

    public IReasoner Reasoner => _reasoner ?? throw new InvalidOperationException("This shard recommender has no reasoner.");

    public ScoringTally Scoring { get; } = new();

    public ReasoningTally Reasoning { get; } = new();

    /// <summary>Roles, counterfactual paths and rationale per user (in input order), counted in <see cref="Reasoning"/>.</summary>
    public async Task<IReadOnlyList<UserReasoning>> ReasonAsync(IReadOnlyList<UserTrajectory> users, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(users);
        var reasoned = await Reasoner.ReasonAsync(users, cancellationToken).ConfigureAwait(false);
        if (reasoned.Count != users.Count)
        {
            throw new InvalidOperationException($"The reasoner returned {reasoned.Count} results for {users.Count} users.");
        }
        foreach (var r in reasoned)
        {
            Reasoning.Add(r);
        }
        return reasoned;
    }

    /// <summary>Scores <paramref name="users"/> with the model, fuses <paramref name="reasoning"/> (one line per user, same
    /// order; ignored when this instance does not fuse) into the treatment users' lists and assigns the arms.</summary>
    /// <exception cref="InvalidDataException">The reasoning is not in step with the users (fewer lines, or another user's
    /// line): a corrupt input that a retry cannot fix.</exception>
    public IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, IReadOnlyList<UserReasoning>? reasoning)
    {
        ArgumentNullException.ThrowIfNull(users);
        if (_fusion is not null && reasoning is not null)
        {
            for (var i = 0; i < users.Count; i++)
            {
                if (i >= reasoning.Count)
                {
                    throw new InvalidDataException($"the reasoning ends before user '{users[i].UserId}'.");
                }
                if (!string.Equals(reasoning[i].UserId, users[i].UserId, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"the reasoning is out of step with the shard's users: '{reasoning[i].UserId}' where '{users[i].UserId}' was expected.");
                }
            }
        }
        var recs = Model.Recommend(users, ModelListSize);
        if (recs.Count != users.Count)
        {
            throw new InvalidOperationException($"Scorer returned {recs.Count} rows for {users.Count} users.");
        }
        var experiment = Options.Experiment;
        var final = new UserRecommendations[recs.Count];
        for (var i = 0; i < recs.Count; i++)
        {
            var arm = experiment is null ? (Arm?)null : ArmAssignment.Of(experiment.Name, users[i].UserId, experiment.TreatmentShare);
            // A/B: control users get the model's own list (the baseline policy), treatment users RoleGen's.
            var fused = _fusion is not null && reasoning is not null && arm != Arm.Control;
            final[i] = fused
                ? _fusion!.Fuse(users[i], recs[i], reasoning![i], Options.TopK) with { Arm = arm }
                : recs[i] with { Items = recs[i].Items.Take(Options.TopK).ToArray(), Arm = arm };
            Scoring.Add(recs[i], final[i], fused ? Options.TopK : 0);
        }
        return final;
    }

    /// <summary>Reasoning (when this instance reasons and fuses) and recommendation in one call.</summary>
    public async Task<IReadOnlyList<UserRecommendations>> RecommendAsync(IReadOnlyList<UserTrajectory> users, CancellationToken cancellationToken = default)
    {
        var reasoning = _fusion is not null && _reasoner is not null ? await ReasonAsync(users, cancellationToken).ConfigureAwait(false) : null;
        return Recommend(users, reasoning);
    }

    /// <summary>The shard's reasoning summary for the manifest.</summary>
    public ShardReasoning SummarizeReasoning(double seconds) => new(
        Reasoning.Users, Reasoning.Paths, Reasoning.Reasoners, Reasoning.PathsByRole, Reasoning.MeanDelta, Reasoner.WorldModel,
        Reasoner.PromptVersion, Options.Reasoner.Fusion.Version, Math.Round(seconds, 3),
        Math.Round(Reasoner.RolesAndProposalTime.TotalSeconds, 3), Math.Round(Reasoner.WorldModelTime.TotalSeconds, 3),
        Reasoner.LlmCounters is { } llm ? new Dictionary<string, long>(llm, StringComparer.Ordinal) : null);
}

/// <summary>What scoring produced: users scored, cold users (only popularity/cold items), final items by source and by
/// role, users per arm.</summary>
public sealed class ScoringTally
{
    public int Users { get; private set; }

    public int Cold { get; private set; }

    public Dictionary<string, long> ItemsBySource { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, long> ItemsByRole { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, long> UsersByArm { get; } = new(StringComparer.Ordinal);

    /// <summary>Categories of the model's own top-K of the users whose list was fused (before fusion)…</summary>
    public Dictionary<string, long> CategoriesBeforeFusion { get; } = new(StringComparer.Ordinal);

    /// <summary>…and of their final lists (after fusion): what fusion did to the category mix.</summary>
    public Dictionary<string, long> CategoriesAfterFusion { get; } = new(StringComparer.Ordinal);

    /// <summary>Tallies one user. <paramref name="fusedTopK"/> &gt; 0: the final list is the fusion of the model's list
    /// (its top <paramref name="fusedTopK"/> is what the user would have got without fusion).</summary>
    public void Add(UserRecommendations model, UserRecommendations final, int fusedTopK = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(final);
        Users++;
        if (model.Items.Count > 0 && model.Items.All(i => i.Source is "popularity" or "backbone-cold"))
        {
            Cold++;
        }
        if (final.Arm is { } arm)
        {
            var key = arm.ToString().ToLowerInvariant();
            UsersByArm[key] = UsersByArm.GetValueOrDefault(key) + 1;
        }
        if (fusedTopK > 0)
        {
            foreach (var item in model.Items.Take(fusedTopK))
            {
                CategoriesBeforeFusion[item.CategoryId] = CategoriesBeforeFusion.GetValueOrDefault(item.CategoryId) + 1;
            }
            foreach (var item in final.Items)
            {
                CategoriesAfterFusion[item.CategoryId] = CategoriesAfterFusion.GetValueOrDefault(item.CategoryId) + 1;
            }
        }
        foreach (var item in final.Items)
        {
            ItemsBySource[item.Source] = ItemsBySource.GetValueOrDefault(item.Source) + 1;
            var role = item.Role?.ToString().ToLowerInvariant() ?? "none";
            ItemsByRole[role] = ItemsByRole.GetValueOrDefault(role) + 1;
        }
    }
}

/// <summary>What reasoning produced: users per reasoner kind, kept paths (per role), mean Δ of the paths with a finite Δ.</summary>
public sealed class ReasoningTally
{
    private double _deltaSum;
    private long _deltaCount;

    public int Users { get; private set; }

    /// <summary>Users with at least one kept path.</summary>
    public int UsersWithPaths { get; private set; }

    public long Paths { get; private set; }

    public Dictionary<string, long> Reasoners { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, long> PathsByRole { get; } = new(StringComparer.Ordinal);

    public double MeanDelta => _deltaCount == 0 ? 0 : Math.Round(_deltaSum / _deltaCount, 6);

    public void Add(UserReasoning reasoning)
    {
        ArgumentNullException.ThrowIfNull(reasoning);
        Users++;
        UsersWithPaths += reasoning.Paths.Count > 0 ? 1 : 0;
        Reasoners[reasoning.Reasoner] = Reasoners.GetValueOrDefault(reasoning.Reasoner) + 1;
        foreach (var p in reasoning.Paths)
        {
            Paths++;
            var role = p.Role.ToString().ToLowerInvariant();
            PathsByRole[role] = PathsByRole.GetValueOrDefault(role) + 1;
            if (double.IsFinite(p.Delta))
            {
                _deltaSum += p.Delta;
                _deltaCount++;
            }
        }
    }
}
