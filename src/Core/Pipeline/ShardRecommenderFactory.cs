using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;

namespace RoleGen.Core.Pipeline;

/// <summary>
/// Builds <see cref="ShardRecommender"/>s from what crosses the durable boundary (a model reference, the statistics' blob
/// path, the run's options): resolves the model (<see cref="IRecommenderProvider"/>), the run's statistics
/// (<see cref="ReasoningStatisticsCache"/>), the world model (<see cref="ICounterfactualModelProvider"/>) and, when one is
/// registered, wraps the embedded reasoner in the <see cref="LlmRefiningReasoner"/>. Register it transient: each activity
/// gets its own LLM reasoner instance (its own token budget scope).
/// </summary>
/// <remarks>Missing blobs surface as <see cref="Storage.BlobNotFoundException"/> (the caller decides whether that is permanent).</remarks>
public sealed class ShardRecommenderFactory(
    IRecommenderProvider recommenders,
    ICounterfactualModelProvider worlds,
    ReasoningStatisticsCache statistics,
    IEnumerable<ILlmReasoner> llms)
{
    private readonly ILlmReasoner? _llm = llms?.FirstOrDefault();

    /// <summary>True when an LLM reasoner is configured on this host.</summary>
    public bool HasLlm => _llm is not null;

    /// <summary>The reasoning half (the shard's reason step): the reasoner over the run's statistics and world model.</summary>
    public async Task<ShardRecommender> ForReasoningAsync(ScoringModelRef model, string statsPath, ShardRecommenderOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var stats = await statistics.GetAsync(statsPath, cancellationToken).ConfigureAwait(false);
        var world = await worlds.GetAsync(model, stats, cancellationToken).ConfigureAwait(false);
        return new ShardRecommender(null, CreateReasoner(stats, world, options.Reasoner, Limited(options)), stats, options);
    }

    /// <summary>The scoring half (the shard's score step): the run's model, and fusion when <paramref name="statsPath"/> is given.</summary>
    public async Task<ShardRecommender> ForScoringAsync(ScoringModelRef model, string? statsPath, ShardRecommenderOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var recommender = await recommenders.GetAsync(model, cancellationToken).ConfigureAwait(false);
        var stats = statsPath is null ? null : await statistics.GetAsync(statsPath, cancellationToken).ConfigureAwait(false);
        return new ShardRecommender(recommender, null, stats, options);
    }

    /// <summary>The whole pipeline of a shard: the run's model, and — when <paramref name="statsPath"/> is given — the
    /// reasoner over the run's statistics and world model with fusion.</summary>
    public async Task<ShardRecommender> ForShardAsync(ScoringModelRef model, string? statsPath, ShardRecommenderOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var recommender = await recommenders.GetAsync(model, cancellationToken).ConfigureAwait(false);
        if (statsPath is null)
        {
            return new ShardRecommender(recommender, null, null, options);
        }
        var stats = await statistics.GetAsync(statsPath, cancellationToken).ConfigureAwait(false);
        var world = await worlds.GetAsync(model, stats, cancellationToken).ConfigureAwait(false);
        return new ShardRecommender(recommender, CreateReasoner(stats, world, options.Reasoner, Limited(options)), stats, options);
    }

    /// <summary>The LLM reasoner with the shard attempt's token limit applied (this factory's instance is the activity's own).</summary>
    private ILlmReasoner? Limited(ShardRecommenderOptions options)
    {
        if (_llm is not null && options.LlmTokenLimit is { } limit)
        {
            _llm.LimitTokens(Math.Max(0, limit));
        }
        return _llm;
    }

    /// <summary>The reasoner of a run: the embedded reasoner, refined by <paramref name="llm"/> when given.</summary>
    public static IReasoner CreateReasoner(BehaviorGraphStatistics stats, ICounterfactualModel world, ReasonerOptions options, ILlmReasoner? llm = null)
    {
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(options);
        var embedded = new EmbeddedReasoner(new InterventionCatalog(stats, options), world, options);
        return llm is null ? embedded : new LlmRefiningReasoner(embedded, llm, options.PathsPerUser);
    }
}
