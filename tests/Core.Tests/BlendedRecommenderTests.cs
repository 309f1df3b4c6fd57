using RoleGen.Core.Cohort;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

public sealed class BlendedRecommenderTests
{
    private sealed class Fixed(string kind, params string[] items) : IRecommender
    {
        public ScoringModelRef Model { get; } = new(kind, "1", "");

        public IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, int topK) =>
            users.Select(u => new UserRecommendations(u.UserId, items.Take(topK).Select(i => new RecommendedItem(i, "c", 1, kind)).ToArray())).ToArray();
    }

    private static readonly UserTrajectory[] Users = [new("u", 1, 0, 0, 1, [], [])];

    [Fact]
    public void Model_references_round_trip_as_json_a_backbone_and_a_blend_of_it()
    {
        var backbone = new ScoringModelRef(BackboneRegistry.Kind, "v1", "models/backbone/v1/");
        var blend = ScoringModelRef.Blend(backbone, new ScoringModelRef("transition", "r1", "runs/r1/model/transition.bin"), 0.25);

        foreach (var model in new[] { backbone, blend })
        {
            var json = System.Text.Json.JsonSerializer.Serialize(model, RoleGenJson.Options);
            var back = System.Text.Json.JsonSerializer.Deserialize<ScoringModelRef>(json, RoleGenJson.Options)!;
            Assert.Equal(model.Kind, back.Kind);
            Assert.Equal(model.Version, back.Version);
            Assert.Equal("v1", back.Backbone!.Version);
            Assert.DoesNotContain("\"backbone\":{", json, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Weight_one_is_model_a_and_weight_zero_is_model_b()
    {
        var a = new Fixed("backbone", "a1", "a2", "a3");
        var b = new Fixed("transition", "b1", "b2", "b3");

        Assert.Equal(["a1", "a2"], new BlendedRecommender(a, b, 1).Recommend(Users, 2)[0].Items.Select(i => i.ItemId));
        Assert.Equal(["b1", "b2"], new BlendedRecommender(a, b, 0).Recommend(Users, 2)[0].Items.Select(i => i.ItemId));
    }

    [Fact]
    public void A_blend_ranks_items_both_models_list_first_and_names_both_sources()
    {
        var a = new Fixed("backbone", "x", "a1", "shared");
        var b = new Fixed("transition", "shared", "b1", "x2");

        var items = new BlendedRecommender(a, b, 0.5).Recommend(Users, 4)[0].Items;

        // shared: 0.5/log2(4) + 0.5/log2(2) = 0.75 > x: 0.5 > b1: 0.5/log2(3) = a1.
        Assert.Equal("shared", items[0].ItemId);
        Assert.Equal("backbone+transition", items[0].Source);
        Assert.Equal("x", items[1].ItemId);
        Assert.Equal(["a1", "b1"], items.Skip(2).Select(i => i.ItemId)); // tie at 0.5/log2(3): the better rank in A first
        Assert.Throws<ArgumentOutOfRangeException>(() => new BlendedRecommender(a, b, 1.5));
    }

    [Fact]
    public async Task Tuning_of_another_dataset_or_out_of_range_is_ignored_with_the_reason()
    {
        var store = new InMemoryBlobStore();
        Assert.Null((await RankerTuning.ResolveAsync(store, "demo")).Tuning);
        var ok = new RankerTuning("demo", 0.25, new FusionWeights(), "validation", 0.1, 0.2, DateTimeOffset.UnixEpoch);
        await store.WriteJsonAsync(BlobLayout.Tuning("demo"), ok);
        Assert.Equal(0.25, (await RankerTuning.ResolveAsync(store, "demo")).Tuning!.BackboneWeight);

        await store.WriteJsonAsync(BlobLayout.Tuning("demo"), ok with { Dataset = "other" });
        var (none, reason) = await RankerTuning.ResolveAsync(store, "demo");
        Assert.Null(none);
        Assert.Contains("validated on 'other'", reason, StringComparison.Ordinal);

        await store.WriteJsonAsync(BlobLayout.Tuning("demo"), ok with { BackboneWeight = 2 });
        Assert.Null((await RankerTuning.ResolveAsync(store, "demo")).Tuning);
    }
}
