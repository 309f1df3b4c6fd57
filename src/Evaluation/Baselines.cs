using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;

namespace RoleGen.Evaluation;

/// <summary>Most-popular baseline: items ranked by their number of train events (ties: ordinal item id), the user's
/// <see cref="UserTrajectory.Purchased"/> (the exclusion list) skipped.</summary>
public sealed class PopularityRecommender : IRecommender
{
    private readonly string[] _ranked;

    public PopularityRecommender(IEnumerable<BehaviorEvent> trainEvents)
    {
        ArgumentNullException.ThrowIfNull(trainEvents);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var e in trainEvents)
        {
            counts[e.ItemId] = counts.GetValueOrDefault(e.ItemId) + 1;
        }
        _ranked = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key).ToArray();
        Counts = counts;
    }

    public IReadOnlyDictionary<string, long> Counts { get; }

    public ScoringModelRef Model { get; } = new("popularity", "train-counts", "");

    public IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, int topK)
    {
        ArgumentNullException.ThrowIfNull(users);
        return users.Select(u =>
        {
            var excluded = new HashSet<string>(u.Purchased, StringComparer.Ordinal);
            var items = _ranked.Where(id => !excluded.Contains(id)).Take(topK)
                .Select(id => new RecommendedItem(id, EventReader.UnknownCategory, Counts[id], "popularity")).ToArray();
            return new UserRecommendations(u.UserId, items);
        }).ToArray();
    }
}

/// <summary>Builds Core's baseline <see cref="TransitionModel"/> with the production <see cref="TransitionModelBuilder"/>
/// from the train events only (written as one normalized event part into an in-memory blob store).</summary>
public static class TransitionBaseline
{
    public const string Dataset = "eval-train";

    /// <summary>The train events as dataset <see cref="Dataset"/> (one normalized part) in an in-memory store, so the
    /// production builders (transition model, behaviour-graph statistics) read them as they read an ingested dataset.</summary>
    public static async Task<InMemoryBlobStore> StoreAsync(IEnumerable<BehaviorEvent> trainEvents, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trainEvents);
        var store = new InMemoryBlobStore();
        await using (var part = await store.OpenWriteAsync(BlobLayout.EventPart(Dataset, 0), cancellationToken).ConfigureAwait(false))
        {
            using var writer = new NormalizedCsvWriter(part);
            foreach (var e in trainEvents)
            {
                writer.Write(e);
            }
        }
        return store;
    }

    public static async Task<(TransitionRecommender Recommender, TransitionModelInfo Info)> BuildAsync(
        IEnumerable<BehaviorEvent> trainEvents, long asOf, CancellationToken cancellationToken)
    {
        var store = await StoreAsync(trainEvents, cancellationToken).ConfigureAwait(false);
        var builder = new TransitionModelBuilder(store, NullLogger<TransitionModelBuilder>.Instance);
        var info = await builder.BuildAsync("eval", Dataset, asOf, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using var stream = await store.OpenReadAsync(info.Path, cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        var model = TransitionModel.Load(buffer);
        return (new TransitionRecommender(model, new ScoringModelRef(TransitionModel.Kind, "eval", info.Path)), info);
    }
}
