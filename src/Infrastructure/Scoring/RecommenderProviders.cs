using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RoleGen.Core.Ingest;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;

namespace RoleGen.Infrastructure.Scoring;

/// <summary>Loads ONNX backbones from <c>models/backbone/{version}/</c>: one <see cref="OnnxBackbone"/> session per version,
/// kept for the life of the process (a singleton per model version).</summary>
public sealed class BackboneRecommenderProvider(IBlobStore store, IOptions<ScoringOptions> options, ILogger<BackboneRecommenderProvider> logger)
    : IRecommenderProvider, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<BackboneRecommender>>> _cache = new(StringComparer.Ordinal);

    public async Task<IRecommender> GetAsync(ScoringModelRef model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var lazy = _cache.GetOrAdd(model.Version, _ => new Lazy<Task<BackboneRecommender>>(() => LoadAsync(model)));
        try
        {
            return await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            _cache.TryRemove(new KeyValuePair<string, Lazy<Task<BackboneRecommender>>>(model.Version, lazy)); // retry the load next time
            throw;
        }
    }

    private async Task<BackboneRecommender> LoadAsync(ScoringModelRef model)
    {
        byte[] onnx;
        BackboneVocabulary vocab;
        try
        {
            await using (var stream = await store.OpenReadAsync(BlobLayout.BackboneModel(model.Version)).ConfigureAwait(false))
            using (var buffer = new MemoryStream())
            {
                await stream.CopyToAsync(buffer).ConfigureAwait(false);
                onnx = buffer.ToArray();
            }
            // The hash the resolve step checked against the pointer, checked again on the bytes actually loaded.
            if (model.Sha256 is { } expected && !string.Equals(BackboneRegistry.Sha256Hex(onnx), expected, StringComparison.OrdinalIgnoreCase))
            {
                throw new PermanentFailureException($"Backbone {model.Version}: the SHA-256 of {BlobLayout.BackboneModel(model.Version)} differs from the one " +
                    $"{BlobLayout.BackboneCurrent} recorded when it was published; refused. Re-publish it (`rolegen train`) or delete {BlobLayout.BackboneCurrent}.");
            }
            await using (var stream = await store.OpenReadAsync(BlobLayout.BackboneVocabulary(model.Version)).ConfigureAwait(false))
            {
                vocab = BackboneVocabulary.Parse(stream);
            }
        }
        catch (BlobNotFoundException ex)
        {
            throw new PermanentFailureException($"Backbone {model.Version} is incomplete: {ex.Path} is missing. Re-run `rolegen train` or delete {BlobLayout.BackboneCurrent}.", ex);
        }
        catch (InvalidDataException ex)
        {
            throw new PermanentFailureException($"Backbone {model.Version}: {ex.Message}", ex);
        }
        var o = options.Value;
        OnnxBackbone session;
        try
        {
            session = OnnxBackbone.Create(onnx, vocab.MaxLength, o, logger);
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException ex)
        {
            throw new PermanentFailureException($"Backbone {model.Version}: model.onnx does not load in ONNX Runtime ({ex.Message}).", ex);
        }
        // The conversion-only graph (counterfactual passes) is optional: versions published before it fall back to model.onnx.
        OnnxBackbone? conversion = null;
        var conversionPath = BlobLayout.BackboneConversionModel(model.Version);
        if (await store.ExistsAsync(conversionPath).ConfigureAwait(false))
        {
            try
            {
                await using var stream = await store.OpenReadAsync(conversionPath).ConfigureAwait(false);
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer).ConfigureAwait(false);
                conversion = OnnxBackbone.Create(buffer.ToArray(), vocab.MaxLength, o, logger);
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException ex)
            {
                logger.LogWarning("Backbone {Version}: {Path} does not load ({Message}); counterfactual passes use model.onnx", model.Version, conversionPath, ex.Message);
            }
        }
        logger.LogInformation("Loaded backbone {Version}: {Items} items, max length {Length}, {Provider}, conversion graph {Conversion}",
            model.Version, vocab.NumItems, vocab.MaxLength, session.Provider.Used, conversion is null ? "absent" : "loaded");
        return new BackboneRecommender(session, vocab, model, o.BatchSize, conversion);
    }

    public void Dispose()
    {
        foreach (var lazy in _cache.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                lazy.Value.Result.Dispose();
            }
        }
    }
}

/// <summary>Routes a model reference to the provider of its kind (baseline transitions or ONNX backbone).</summary>
public sealed class RoutingRecommenderProvider(TransitionRecommenderProvider baseline, BackboneRecommenderProvider backbone) : IRecommenderProvider
{
    public Task<IRecommender> GetAsync(ScoringModelRef model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Kind switch
        {
            TransitionModel.Kind => baseline.GetAsync(model, cancellationToken),
            BackboneRegistry.Kind => backbone.GetAsync(model, cancellationToken),
            BlendedRecommender.Kind => BlendAsync(model, cancellationToken),
            _ => throw new PermanentFailureException($"Unknown model kind '{model.Kind}' (known: {TransitionModel.Kind}, {BackboneRegistry.Kind}, {BlendedRecommender.Kind})."),
        };
    }

    private async Task<IRecommender> BlendAsync(ScoringModelRef model, CancellationToken cancellationToken)
    {
        if (model.Components is not [var a, var b] || model.Weight is not { } weight || a.Kind == BlendedRecommender.Kind || b.Kind == BlendedRecommender.Kind)
        {
            throw new PermanentFailureException($"Blend '{model.Version}' must name two (non-blend) models and a weight.");
        }
        return new BlendedRecommender(await GetAsync(a, cancellationToken).ConfigureAwait(false), await GetAsync(b, cancellationToken).ConfigureAwait(false), weight);
    }
}
