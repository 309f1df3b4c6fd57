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

/// <summary>The backbone pointer records the SHA-256 of what was published; resolving refuses bytes that changed.</summary>
public sealed class BackboneHashTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rolegen-hash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<InMemoryBlobStore> PublishedAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "model.onnx"), "weights");
        await File.WriteAllTextAsync(Path.Combine(_dir, "vocab.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(_dir, "train-metrics.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(_dir, "conversion.onnx"), "conversion weights");
        var store = new InMemoryBlobStore();
        await BackbonePublisher.PublishAsync(store, _dir, "b1", "demo");
        return store;
    }

    [Fact]
    public async Task Published_RecordsHashes_AndResolvesChecked()
    {
        var store = await PublishedAsync();

        var pointer = await store.ReadJsonAsync<BackbonePointer>(BlobLayout.BackboneCurrent);
        var (model, reason) = await BackboneRegistry.ResolveCurrentAsync(store, "demo");

        Assert.Equal(BackboneRegistry.Sha256Hex("weights"u8), pointer.ModelSha256);
        Assert.Equal(BackboneRegistry.Sha256Hex("{}"u8), pointer.VocabularySha256);
        Assert.Equal(BackboneRegistry.Sha256Hex("conversion weights"u8), pointer.ConversionSha256);
        Assert.NotNull(model);
        Assert.Equal("b1", model.Version);
        Assert.Equal(pointer.ModelSha256, model.Sha256);
        Assert.Contains("SHA-256 checked", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model.onnx")]
    [InlineData("vocab.json")]
    [InlineData("conversion.onnx")]
    public async Task TamperedFile_IsRefused_AndScoringFallsBackToTheBaseline(string file)
    {
        var store = await PublishedAsync();
        await store.WriteTextAsync(BlobLayout.BackboneFolder("b1") + file, "tampered");

        var (model, reason) = await BackboneRegistry.ResolveCurrentAsync(store, "demo");

        Assert.Null(model);
        Assert.Contains("refused", reason, StringComparison.Ordinal);
        Assert.Contains("SHA-256", reason, StringComparison.Ordinal);
        Assert.Contains(file, reason, StringComparison.Ordinal);
        Assert.Contains("baseline transition model", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PointerWithoutHashes_IsAccepted_AndSaysUnchecked()
    {
        var store = await PublishedAsync();
        await store.WriteJsonAsync(BlobLayout.BackboneCurrent, new BackbonePointer("b1", DateTimeOffset.UnixEpoch) { Dataset = "demo" });

        var (model, reason) = await BackboneRegistry.ResolveCurrentAsync(store, "demo");

        Assert.NotNull(model);
        Assert.Null(model.Sha256);
        Assert.Contains("unchecked", reason, StringComparison.Ordinal);
    }
}

/// <summary>The priors pointer records the SHA-256 of the fusion.json it names; resolving refuses changed bytes.</summary>
public sealed class PriorsHashTests
{
    private static async Task<InMemoryBlobStore> WrittenAsync()
    {
        var store = new InMemoryBlobStore();
        var hash = await PriorsRegistry.WriteFusionAsync(store, "reflected-r1", new RoleGen.Core.Reasoning.FusionWeights { Version = "reflected-r1" });
        await store.WriteJsonAsync(BlobLayout.PriorsCurrent("ab"), new PriorsPointer("reflected-r1", "r1", DateTimeOffset.UnixEpoch) { FusionSha256 = hash });
        return store;
    }

    [Fact]
    public async Task Correct_IsLoaded()
    {
        var store = await WrittenAsync();

        var (weights, reason) = await PriorsRegistry.ResolveCurrentAsync(store, "ab");

        Assert.NotNull(weights);
        Assert.Equal("reflected-r1", weights.Version);
        Assert.DoesNotContain("unchecked", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TamperedFusion_IsRefused_AndTheRunsOwnWeightsAreUsed()
    {
        var store = await WrittenAsync();
        var fusion = await store.ReadJsonAsync<RoleGen.Core.Reasoning.FusionWeights>(BlobLayout.PriorsFusion("reflected-r1"));
        await store.WriteJsonAsync(BlobLayout.PriorsFusion("reflected-r1"), fusion with { TriggerPrior = fusion.TriggerPrior + 5 });

        var (weights, reason) = await PriorsRegistry.ResolveCurrentAsync(store, "ab");

        Assert.Null(weights);
        Assert.Contains("refused", reason, StringComparison.Ordinal);
        Assert.Contains("SHA-256", reason, StringComparison.Ordinal);
        Assert.Contains("the run's own fusion weights are used", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PointerWithoutHash_IsAccepted_AndSaysUnchecked()
    {
        var store = await WrittenAsync();
        await store.WriteJsonAsync(BlobLayout.PriorsCurrent("ab"), new PriorsPointer("reflected-r1", "r1", DateTimeOffset.UnixEpoch));

        var (weights, reason) = await PriorsRegistry.ResolveCurrentAsync(store, "ab");

        Assert.NotNull(weights);
        Assert.Contains("unchecked", reason, StringComparison.Ordinal);
    }
}
