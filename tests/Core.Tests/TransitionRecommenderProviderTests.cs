using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

public sealed class TransitionRecommenderProviderTests
{
    [Fact]
    public async Task GetAsync_ModelMissingThenWritten_FailedLoadIsNotCached()
    {
        var store = new InMemoryBlobStore();
        var provider = new TransitionRecommenderProvider(store);
        var reference = new ScoringModelRef(TransitionModel.Kind, "v1", "runs/r/model/baseline-transitions.bin");

        await Assert.ThrowsAsync<BlobNotFoundException>(() => provider.GetAsync(reference));

        var model = new TransitionModel(["a", "b"], ["c1", "c1"], [1f, 2f], [[(1, 1f)], []], [1, 0], 0);
        await using (var stream = await store.OpenWriteAsync(reference.Path))
        {
            model.Save(stream);
        }
        var recommender = await provider.GetAsync(reference);
        Assert.Equal(reference, recommender.Model);
        Assert.Same(recommender, await provider.GetAsync(reference));
    }
}
