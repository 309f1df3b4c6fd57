using RoleGen.Core.Experiments;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

/// <summary>Pointers are not trusted: a version read from <c>models/backbone/current</c> or
/// <c>experiments/{x}/priors-current.json</c> never becomes a path step.</summary>
public sealed class PointerValidationTests
{
    [Theory]
    [InlineData("../../runs/r1")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("v1/../../x")]
    [InlineData("")]
    public async Task ResolveCurrent_PointerWithAPathStep_IsRefused(string version)
    {
        var store = new InMemoryBlobStore();
        // The files the traversal would reach exist: only the version rule stands in the way.
        await store.WriteTextAsync(BlobLayout.BackboneModel(version), "x");
        await store.WriteTextAsync(BlobLayout.BackboneVocabulary(version), "x");
        await store.WriteJsonAsync(BlobLayout.BackboneCurrent, new BackbonePointer(version, DateTimeOffset.UnixEpoch));
        await store.WriteJsonAsync(BlobLayout.PriorsFusion(version), new RoleGen.Core.Reasoning.FusionWeights());
        await store.WriteJsonAsync(BlobLayout.PriorsCurrent("ab"), new PriorsPointer(version, "r1", DateTimeOffset.UnixEpoch));

        var (model, reason) = await BackboneRegistry.ResolveCurrentAsync(store);
        var (weights, why) = await PriorsRegistry.ResolveCurrentAsync(store, "ab");

        Assert.Null(model);
        Assert.Null(weights);
        Assert.True(reason.Contains("refused", StringComparison.Ordinal) || reason.Contains("absent", StringComparison.Ordinal), reason);
        Assert.True(why.Contains("refused", StringComparison.Ordinal), why);
    }

    [Fact]
    public void VersionRule_AcceptsPublishedNamesAndRefusesPathSteps()
    {
        Assert.Null(BlobLayout.VersionProblem("demo-20261203-020000"));
        Assert.Null(BlobLayout.VersionProblem("reflected-nightly-2026-12-03"));
        Assert.NotNull(BlobLayout.VersionProblem("a..b"));
        Assert.False(ExperimentOptions.IsValidName(".."));
        Assert.False(ExperimentOptions.IsValidName("x/../y"));
    }
}
