using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RoleGen.Core.Storage;

namespace RoleGen.Infrastructure.Reasoning;

/// <summary>A prompt template as used: its version, text and SHA-256 (hex, lower case) of the UTF-8 text.</summary>
public sealed record PromptTemplate(string Version, string Text, string Sha256);

/// <summary>The content of <c>prompts/reasoner/current</c>: the newest prompt version, the one it was revised from, when
/// and why (the model's description of its changes).</summary>
public sealed record PromptPointer(string Version, string? BasedOn, DateTimeOffset CreatedAt, string? Reason);

/// <summary>
/// Prompt templates in blob storage at <c>prompts/reasoner/{version}</c>. Versions are immutable: a version that exists
/// in blob is used as stored (so a later reflection step can write <c>v2</c> without a deployment), and the template
/// shipped in this assembly is uploaded only when its version is absent — never over an existing blob.
/// </summary>
/// <remarks>Two processes seeing the version absent at the same time both upload the same embedded text, so the race
/// is harmless; a version that is neither in blob nor shipped is an error.
/// The newest version is named by the pointer <c>prompts/reasoner/current</c> (<see cref="PromptPointer"/>), moved by the
/// prompt reviser after it wrote a new version; a reasoner configured with <see cref="Latest"/> follows it
/// (<see cref="ResolveAsync"/>), a reasoner configured with an explicit version stays pinned to it.</remarks>
public sealed class PromptStore(IBlobStore store)
{
    private const string ResourcePrefix = "RoleGen.Infrastructure.Reasoning.Prompts.reasoner-";

    /// <summary>The configured version that follows the <see cref="BlobLayout.PromptCurrent"/> pointer (the default).</summary>
    public const string Latest = "latest";

    /// <summary>The version used while no pointer exists: the one shipped with RoleGen.</summary>
    public const string DefaultVersion = "v1";

    /// <summary>
    /// The version to use for the configured <paramref name="configured"/>: an explicit version pins itself; <see cref="Latest"/>
    /// follows the pointer when it exists and names a version stored in blob, else <see cref="DefaultVersion"/> (an absent,
    /// unreadable or dangling pointer never stops the reasoner).
    /// </summary>
    public async Task<string> ResolveAsync(string configured, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configured);
        if (!string.Equals(configured, Latest, StringComparison.Ordinal))
        {
            return configured;
        }
        var pointer = await TryReadPointerAsync(cancellationToken).ConfigureAwait(false);
        if (pointer is { Version: { Length: > 0 } version } && BlobLayout.VersionProblem(version) is null && IsTemplateVersion(version)
            && await store.ExistsAsync(BlobLayout.Prompt(version), cancellationToken).ConfigureAwait(false))
        {
            return version;
        }
        return DefaultVersion;
    }

    /// <summary>The pointer, or null when absent or unreadable.</summary>
    public async Task<PromptPointer?> TryReadPointerAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await store.TryReadJsonAsync<PromptPointer>(BlobLayout.PromptCurrent, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>The next free numbered version: <c>v{n+1}</c> for the largest <c>v{n}</c> stored (the shipped v1 counts
    /// as stored, so the first revision is v2).</summary>
    public async Task<string> NextVersionAsync(CancellationToken cancellationToken = default)
    {
        var max = 1;
        await foreach (var entry in store.ListAsync(BlobLayout.PromptsPrefix, cancellationToken).ConfigureAwait(false))
        {
            var name = entry.Path[BlobLayout.PromptsPrefix.Length..];
            if (name.Length > 1 && name[0] == 'v' && name.Skip(1).All(char.IsAsciiDigit)
                && int.TryParse(name.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > max)
            {
                max = n;
            }
        }
        return string.Create(CultureInfo.InvariantCulture, $"v{max + 1}");
    }

    /// <summary>Writes <paramref name="text"/> as <paramref name="version"/> unless that version exists (versions are
    /// immutable); false when it existed and nothing was written.</summary>
    /// <remarks>Check-then-write: IBlobStore has no conditional create, so two writers racing for the same new version
    /// could both write; revisions run once per reflection, one at a time.</remarks>
    public async Task<bool> TryCreateAsync(string version, string text, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ArgumentNullException.ThrowIfNull(text);
        if (!IsTemplateVersion(version))
        {
            throw new ArgumentException($"'{version}' is reserved and cannot be a prompt version.", nameof(version));
        }
        var path = BlobLayout.Prompt(version);
        if (await store.ExistsAsync(path, cancellationToken).ConfigureAwait(false) || Shipped(version) is not null)
        {
            return false;
        }
        await store.WriteTextAsync(path, text, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Moves the <see cref="BlobLayout.PromptCurrent"/> pointer (after the version it names was written).</summary>
    public Task MovePointerAsync(PromptPointer pointer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pointer);
        return store.WriteJsonAsync(BlobLayout.PromptCurrent, pointer, cancellationToken);
    }

    /// <summary>False for the names that are not template versions: <see cref="Latest"/> and the pointer's name.</summary>
    public static bool IsTemplateVersion(string version) =>
        !string.Equals(version, Latest, StringComparison.Ordinal) && !string.Equals(BlobLayout.Prompt(version), BlobLayout.PromptCurrent, StringComparison.Ordinal);

    /// <summary>Returns the stored template of <paramref name="version"/>, uploading the shipped one first when absent.</summary>
    public async Task<PromptTemplate> EnsureAsync(string version, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        if (!IsTemplateVersion(version))
        {
            throw new ArgumentException($"'{version}' is not a prompt version: resolve it first (PromptStore.ResolveAsync).", nameof(version));
        }
        var path = BlobLayout.Prompt(version);
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
