using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RoleGen.Core.Ingest;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Scoring;

namespace RoleGen.Infrastructure.Tests.Scoring;

/// <summary>The loader checks the model bytes it loads against the SHA-256 the resolve step carried from the pointer.</summary>
public sealed class BackboneHashTests
{
    [Fact]
    public async Task Load_ModelBytesNotMatchingTheRecordedHash_IsRefused()
    {
        var store = new InMemoryBlobStore();
        await store.WriteTextAsync(BlobLayout.BackboneModel("b1"), "not the published model");
        await store.WriteTextAsync(BlobLayout.BackboneVocabulary("b1"), """{"maxLength":4,"items":["i1"]}""");
        using var provider = new BackboneRecommenderProvider(store, Options.Create(new ScoringOptions()), NullLogger<BackboneRecommenderProvider>.Instance);

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() =>
            provider.GetAsync(BackboneRegistry.Reference("b1") with { Sha256 = BackboneRegistry.Sha256Hex("the published model"u8) }));

        Assert.Contains("SHA-256", ex.Message, StringComparison.Ordinal);
        Assert.Contains("refused", ex.Message, StringComparison.Ordinal);
    }
}
