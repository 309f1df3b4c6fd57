using RoleGen.Core.Storage;

namespace RoleGen.Core.Scoring;

/// <summary>Published backbone versions: <c>models/backbone/{version}/</c> (model.onnx, vocab.json, train-metrics.json) and
/// the pointer <c>models/backbone/current</c> (JSON <see cref="BackbonePointer"/>). Publishing writes the version's files
/// first and moves the pointer last, so a reader never sees a half-published version.</summary>
public static class BackboneRegistry
{
    public const string Kind = "backbone-onnx";
    public static ScoringModelRef Reference(string version) => new(Kind, version, BlobLayout.BackboneFolder(version));

    /// <summary>The current backbone, or null with the reason (no pointer, or the pointed version is incomplete).</summary>
    public static async Task<(ScoringModelRef? Model, string Reason)> ResolveCurrentAsync(IBlobStore store, string? dataset = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var pointer = await store.TryReadJsonAsync<BackbonePointer>(BlobLayout.BackboneCurrent, cancellationToken).ConfigureAwait(false);
        if (pointer is null || string.IsNullOrWhiteSpace(pointer.Version))
        {
            return (null, $"no trained backbone ({BlobLayout.BackboneCurrent} absent): scoring with the baseline transition model");
        }
        if (BlobLayout.VersionProblem(pointer.Version) is { } invalid)
        {
            return (null, $"{BlobLayout.BackboneCurrent} is refused ({invalid}): scoring with the baseline transition model");
        }
        if (dataset is not null && pointer.Dataset is not null && !string.Equals(pointer.Dataset, dataset, StringComparison.Ordinal))
        {
            return (null, $"the current backbone {pointer.Version} was trained on dataset '{pointer.Dataset}', not '{dataset}': scoring with the baseline transition model");
        }
        foreach (var path in new[] { BlobLayout.BackboneModel(pointer.Version), BlobLayout.BackboneVocabulary(pointer.Version) })
        {
            if (!await store.ExistsAsync(path, cancellationToken).ConfigureAwait(false))
            {
                return (null, $"{BlobLayout.BackboneCurrent} points at version {pointer.Version} but {path} is missing: scoring with the baseline transition model");
            }
        }
        return (Reference(pointer.Version), $"scoring with backbone {pointer.Version}");
    }
}

/// <summary>The content of <c>models/backbone/current</c>: which version, trained on which dataset (item ids are
/// dataset-specific: a backbone only scores runs on the dataset whose vocabulary it learned).</summary>
public sealed record BackbonePointer(string Version, DateTimeOffset PublishedAt)
{
    public string? Dataset { get; init; }
}

/// <summary>Publishes a trained backbone folder (model.onnx, vocab.json, train-metrics.json) as a version and moves the
/// current pointer to it last.</summary>
public static class BackbonePublisher
{
    public static readonly string[] Files = ["model.onnx", "vocab.json", "train-metrics.json"];

    /// <summary>Published when present (training writes it since the reasoner landed).</summary>
    public static readonly string[] OptionalFiles = [BlobLayout.BackboneConversionFile];

    public static async Task<BackbonePointer> PublishAsync(IBlobStore store, string localDirectory, string version, string? dataset,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (BlobLayout.VersionProblem(version) is { } invalid)
        {
            throw new ArgumentException(char.ToUpperInvariant(invalid[0]) + invalid[1..] + ".", nameof(version));
        }
        foreach (var file in Files)
        {
            var local = Path.Combine(localDirectory, file);
            if (!File.Exists(local))
            {
                throw new FileNotFoundException($"Cannot publish backbone {version}: {local} is missing.", local);
            }
            await using var input = File.OpenRead(local);
            await using var output = await store.OpenWriteAsync(BlobLayout.BackboneFolder(version) + file, cancellationToken).ConfigureAwait(false);
            await input.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        }
        foreach (var file in OptionalFiles)
        {
            var local = Path.Combine(localDirectory, file);
            if (File.Exists(local))
            {
                await using var input = File.OpenRead(local);
                await using var output = await store.OpenWriteAsync(BlobLayout.BackboneFolder(version) + file, cancellationToken).ConfigureAwait(false);
                await input.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
            }
        }
        var pointer = new BackbonePointer(version, DateTimeOffset.UtcNow) { Dataset = dataset };
        await store.WriteJsonAsync(BlobLayout.BackboneCurrent, pointer, cancellationToken).ConfigureAwait(false);
        return pointer;
    }
}
