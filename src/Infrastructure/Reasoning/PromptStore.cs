using System.Security.Cryptography;
using System.Text;
using RoleGen.Core.Storage;

namespace RoleGen.Infrastructure.Reasoning;

/// <summary>A prompt template as used: its version, text and SHA-256 (hex, lower case) of the UTF-8 text.</summary>
public sealed record PromptTemplate(string Version, string Text, string Sha256);

/// <summary>
/// Prompt templates in blob storage at <c>prompts/reasoner/{version}</c>. Versions are immutable: a version that exists
/// in blob is used as stored (so a later reflection step can write <c>v2</c> without a deployment), and the template
/// shipped in this assembly is uploaded only when its version is absent — never over an existing blob.
/// </summary>
/// <remarks>Two processes seeing the version absent at the same time both upload the same embedded text, so the race
/// is harmless; a version that is neither in blob nor shipped is an error.</remarks>
public sealed class PromptStore(IBlobStore store)
{
    public const string Prefix = "prompts/reasoner/";

    private const string ResourcePrefix = "RoleGen.Infrastructure.Reasoning.Prompts.reasoner-";

    public static string PathFor(string version) => Prefix + version;

    /// <summary>Returns the stored template of <paramref name="version"/>, uploading the shipped one first when absent.</summary>
    public async Task<PromptTemplate> EnsureAsync(string version, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        var path = PathFor(version);
        if (!await store.ExistsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            var shipped = Shipped(version)
                ?? throw new InvalidOperationException($"Prompt version '{version}' is neither in blob ({store.Describe(path)}) nor shipped with RoleGen.");
            await store.WriteTextAsync(path, shipped, cancellationToken).ConfigureAwait(false);
        }
        var text = await store.ReadTextAsync(path, cancellationToken).ConfigureAwait(false);
        return new PromptTemplate(version, text, Sha256Hex(text));
    }

    /// <summary>The template shipped in this assembly for <paramref name="version"/> (Reasoning/Prompts/reasoner-{version}.md), or null.</summary>
    public static string? Shipped(string version)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        using var stream = typeof(PromptStore).Assembly.GetManifestResourceStream($"{ResourcePrefix}{version}.md");
        if (stream is null)
        {
            return null;
        }
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    internal static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
