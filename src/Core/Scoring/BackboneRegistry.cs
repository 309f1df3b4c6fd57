using System.Security.Cryptography;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Scoring;

/// <summary>Published backbone versions: <c>models/backbone/{version}/</c> (model.onnx, vocab.json, train-metrics.json) and
/// the pointer <c>models/backbone/current</c> (JSON <see cref="BackbonePointer"/>). Publishing writes the version's files
/// first and moves the pointer last, so a reader never sees a half-published version. The pointer records the SHA-256 of
/// model.onnx, vocab.json and conversion.onnx; resolving re-hashes the blobs and refuses a version whose bytes changed
/// (scoring then falls back to the baseline, as for any refused pointer). A pointer without hashes (published before they
/// were recorded) is accepted and the reason says it is unchecked.</summary>
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
        if (pointer.ModelSha256 is null)
        {
            return (Reference(pointer.Version), $"scoring with backbone {pointer.Version} (unchecked: {BlobLayout.BackboneCurrent} records no SHA-256, published before hashes; re-publish to record them)");
        }
        foreach (var (path, expected) in new[]
                 {
                     (BlobLayout.BackboneModel(pointer.Version), pointer.ModelSha256),
                     (BlobLayout.BackboneVocabulary(pointer.Version), pointer.VocabularySha256),
                     (BlobLayout.BackboneConversionModel(pointer.Version), pointer.ConversionSha256),
                 })
        {
            if (expected is null)
            {
                continue;
            }
            var actual = await Sha256Async(store, path, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            {
                return (null, $"{BlobLayout.BackboneCurrent} is refused (the SHA-256 of {path} is {Short(actual)}, the pointer recorded {Short(expected)} when it was published): scoring with the baseline transition model");
            }
        }
        return (Reference(pointer.Version) with { Sha256 = pointer.ModelSha256 }, $"scoring with backbone {pointer.Version} (SHA-256 checked)");
    }

    /// <summary>SHA-256 (hex, lower case) of a blob's bytes, or "(missing)" when it does not exist.</summary>
    public static async Task<string> Sha256Async(IBlobStore store, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!await store.ExistsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            return "(missing)";
        }
        await using var stream = await store.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>SHA-256 (hex, lower case) of bytes.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string Short(string hash) => hash.Length <= 12 ? hash : hash[..12] + "…";
}

/// <summary>The content of <c>models/backbone/current</c>: which version, trained on which dataset (item ids are
/// dataset-specific: a backbone only scores runs on the dataset whose vocabulary it learned).</summary>
public sealed record BackbonePointer(string Version, DateTimeOffset PublishedAt)
{
    public string? Dataset { get; init; }

    /// <summary>SHA-256 (hex) of model.onnx, vocab.json and conversion.onnx as published (null: not recorded / not published).</summary>
    public string? ModelSha256 { get; init; }

    public string? VocabularySha256 { get; init; }

    public string? ConversionSha256 { get; init; }
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
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Files)
        {
            var local = Path.Combine(localDirectory, file);
            if (!File.Exists(local))
            {
                throw new FileNotFoundException($"Cannot publish backbone {version}: {local} is missing.", local);
            }
            hashes[file] = await CopyAsync(store, local, BlobLayout.BackboneFolder(version) + file, cancellationToken).ConfigureAwait(false);
        }
        foreach (var file in OptionalFiles)
        {
            var local = Path.Combine(localDirectory, file);
            if (File.Exists(local))
            {
                hashes[file] = await CopyAsync(store, local, BlobLayout.BackboneFolder(version) + file, cancellationToken).ConfigureAwait(false);
            }
        }
        var pointer = new BackbonePointer(version, DateTimeOffset.UtcNow)
        {
            Dataset = dataset,
            ModelSha256 = hashes[BlobLayout.BackboneModelFile],
            VocabularySha256 = hashes[BlobLayout.BackboneVocabularyFile],
            ConversionSha256 = hashes.GetValueOrDefault(BlobLayout.BackboneConversionFile),
        };
        await store.WriteJsonAsync(BlobLayout.BackboneCurrent, pointer, cancellationToken).ConfigureAwait(false);
        return pointer;
    }

    /// <summary>Uploads a local file and returns the SHA-256 of the bytes uploaded (hashed as they are copied).</summary>
    private static async Task<string> CopyAsync(IBlobStore store, string local, string path, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var input = File.OpenRead(local);
        await using var output = await store.OpenWriteAsync(path, cancellationToken).ConfigureAwait(false);
        var buffer = new byte[81_920];
        int read;
        while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
