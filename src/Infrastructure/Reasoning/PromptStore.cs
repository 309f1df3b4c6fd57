using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Storage;

namespace RoleGen.Infrastructure.Reasoning;

/// <summary>A prompt template as used: its version, text and SHA-256 (hex, lower case) of the UTF-8 text.</summary>
public sealed record PromptTemplate(string Version, string Text, string Sha256);

/// <summary>The content of <c>prompts/reasoner/current</c>: the prompt version in use, the one it was revised from, when
/// and why (the model's description of its changes, or the promotion's reason).</summary>
public sealed record PromptPointer(string Version, string? BasedOn, DateTimeOffset CreatedAt, string? Reason)
{
    /// <summary>SHA-256 (hex, lower case) of the UTF-8 template the pointer was moved to; checked on load (a pointer without
    /// one was written before hashes and is accepted with a warning).</summary>
    public string? Sha256 { get; init; }
}

/// <summary>A staged revision (<c>prompts/reasoner/candidates/{version}</c>): written by the reviser, promoted only by
/// <see cref="PromptStore.PromoteAsync"/> (an offline check with Reflection:AutoPromote on, or <c>rolegen prompts promote</c>).</summary>
public sealed record PromptCandidate(string Version, string BasedOn, DateTimeOffset CreatedAt, string? Reason, string Sha256);

/// <summary>One move of the current pointer: <c>promote</c> or <c>rollback</c>, from which version to which, when and why.</summary>
public sealed record PromptHistoryEntry(string Action, string Version, string? From, DateTimeOffset At, string? Reason);

/// <summary>The prompt in use and why another one was refused, when it was (null: the pointer was followed or absent).</summary>
public sealed record PromptResolution(PromptTemplate Template, string? Problem);

/// <summary>
/// Prompt templates in blob storage at <c>prompts/reasoner/{version}</c>. Versions are immutable: a version that exists
/// in blob is used as stored (so a later reflection step can write <c>v2</c> without a deployment), and the template
/// shipped in this assembly is uploaded only when its version is absent — never over an existing blob.
/// </summary>
/// <remarks>Two processes seeing the version absent at the same time both upload the same embedded text, so the race
/// is harmless; a version that is neither in blob nor shipped is an error.
/// The version in use is named by the pointer <c>prompts/reasoner/current</c> (<see cref="PromptPointer"/>). The prompt
/// reviser only stages a new version (<see cref="StageAsync"/>); the pointer moves on <see cref="PromoteAsync"/> and
/// <see cref="RollbackAsync"/>, which record the template's SHA-256 and append to <c>history.json</c>. A reasoner configured
/// with <see cref="Latest"/> follows the pointer (<see cref="LoadAsync"/>, hash checked), a reasoner configured with an
/// explicit version stays pinned to it.</remarks>
public sealed class PromptStore(IBlobStore store, ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <summary>Names under <c>prompts/reasoner/</c> that are not versions.</summary>
    private static readonly string[] Reserved = ["current", "candidates", "history.json"];

    private const string ResourcePrefix = "RoleGen.Infrastructure.Reasoning.Prompts.reasoner-";

    /// <summary>The configured version that follows the <see cref="BlobLayout.PromptCurrent"/> pointer (the default).</summary>
    public const string Latest = "latest";

    /// <summary>The version used while no pointer exists: the one shipped with RoleGen.</summary>
    public const string DefaultVersion = "v1";

    /// <summary>
    /// The version to use for the configured <paramref name="configured"/>: an explicit version pins itself; <see cref="Latest"/>
    /// follows the pointer when it exists, names a version stored in blob and (when it records one) the stored template's
    /// SHA-256 matches, else <see cref="DefaultVersion"/> (an absent, unreadable, dangling or tampered pointer never stops the
    /// reasoner). Prefer <see cref="LoadAsync"/>, which checks the text it returns.
    /// </summary>
    public async Task<string> ResolveAsync(string configured, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configured);
        return string.Equals(configured, Latest, StringComparison.Ordinal)
            ? (await LoadAsync(configured, cancellationToken).ConfigureAwait(false)).Template.Version
            : configured;
    }

    /// <summary>
    /// The template to use for <paramref name="configured"/> (see <see cref="ResolveAsync"/>), with the reason the pointer
    /// was refused when it was. The SHA-256 recorded in the pointer is compared with the text returned here (the bytes the
    /// reasoner will send), so a template blob changed after promotion is refused and <see cref="DefaultVersion"/> used; a
    /// pointer without a hash (written before hashes were recorded) is followed with a logged warning.
    /// </summary>
    public async Task<PromptResolution> LoadAsync(string configured, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configured);
        if (!string.Equals(configured, Latest, StringComparison.Ordinal))
        {
            return new PromptResolution(await EnsureAsync(configured, cancellationToken).ConfigureAwait(false), null);
        }
        var pointer = await TryReadPointerAsync(cancellationToken).ConfigureAwait(false);
        string? problem = null;
        if (pointer is { Version: { Length: > 0 } version })
        {
            if (BlobLayout.VersionProblem(version) is { } invalid)
            {
                problem = invalid;
            }
            else if (!IsTemplateVersion(version))
            {
                problem = $"'{version}' is a reserved name, not a prompt version";
            }
            else if (!await store.ExistsAsync(BlobLayout.Prompt(version), cancellationToken).ConfigureAwait(false))
            {
                problem = $"{BlobLayout.Prompt(version)} is missing";
            }
            else
            {
                var template = await EnsureAsync(version, cancellationToken).ConfigureAwait(false);
                if (pointer.Sha256 is null)
                {
                    _logger.LogWarning("{Pointer} names {Version} without a SHA-256 (written before hashes were recorded): followed unchecked; "
                        + "promote it again to record one", BlobLayout.PromptCurrent, version);
                    return new PromptResolution(template, null);
                }
                if (string.Equals(pointer.Sha256, template.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    return new PromptResolution(template, null);
                }
                problem = $"the SHA-256 of {BlobLayout.Prompt(version)} ({Short(template.Sha256)}) differs from the one recorded when it was promoted ({Short(pointer.Sha256)})";
            }
        }
        if (problem is not null)
        {
            problem = $"{BlobLayout.PromptCurrent} is refused ({problem}): using the shipped {DefaultVersion}";
            _logger.LogError("{Problem}", problem);
        }
        return new PromptResolution(await EnsureAsync(DefaultVersion, cancellationToken).ConfigureAwait(false), problem);
    }

    private static string Short(string hash) => hash.Length <= 12 ? hash : hash[..12] + "…";

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

    /// <summary>Writes the <see cref="BlobLayout.PromptCurrent"/> pointer as given: no hash, no history (a raw write, as
    /// pointers were written before promotion existed). Use <see cref="PromoteAsync"/>.</summary>
    public Task MovePointerAsync(PromptPointer pointer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pointer);
        return store.WriteJsonAsync(BlobLayout.PromptCurrent, pointer, cancellationToken);
    }

    /// <summary>False for the names that are not template versions: <see cref="Latest"/>, the pointer's, the candidates
    /// folder's and the history's names.</summary>
    public static bool IsTemplateVersion(string version) =>
        !string.Equals(version, Latest, StringComparison.Ordinal) && !Reserved.Contains(version, StringComparer.Ordinal);

    /// <summary>Stages <paramref name="version"/> (already written with <see cref="TryCreateAsync"/>) as a candidate: the
    /// current pointer does not move.</summary>
    public async Task<PromptCandidate> StageAsync(string version, string basedOn, DateTimeOffset at, string? reason, CancellationToken cancellationToken = default)
    {
        var text = await store.ReadTextAsync(BlobLayout.Prompt(CheckedVersion(version)), cancellationToken).ConfigureAwait(false);
        var candidate = new PromptCandidate(version, basedOn, at, reason, Sha256Hex(text));
        await store.WriteJsonAsync(BlobLayout.PromptCandidate(version), candidate, cancellationToken).ConfigureAwait(false);
        return candidate;
    }

    /// <summary>The staged candidates, oldest version first (promoted ones included: <see cref="HistoryAsync"/> says which).</summary>
    public async Task<IReadOnlyList<PromptCandidate>> CandidatesAsync(CancellationToken cancellationToken = default)
    {
        var candidates = new List<PromptCandidate>();
        await foreach (var entry in store.ListAsync(BlobLayout.PromptCandidatesPrefix, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                if (await store.TryReadJsonAsync<PromptCandidate>(entry.Path, cancellationToken).ConfigureAwait(false) is { } c)
                {
                    candidates.Add(c);
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidDataException)
            {
                _logger.LogWarning(ex, "Ignoring unreadable {Path}", entry.Path);
            }
        }
        return [.. candidates.OrderBy(c => VersionNumber(c.Version)).ThenBy(c => c.Version, StringComparer.Ordinal)];
    }

    /// <summary>Every move of the pointer, oldest first (empty before the first promotion).</summary>
    public async Task<IReadOnlyList<PromptHistoryEntry>> HistoryAsync(CancellationToken cancellationToken = default) =>
        await store.TryReadJsonAsync<List<PromptHistoryEntry>>(BlobLayout.PromptHistory, cancellationToken).ConfigureAwait(false) ?? [];

    /// <summary>
    /// Moves the current pointer to <paramref name="version"/> (a stored or shipped version), recording the template's
    /// SHA-256 in the pointer and the move in the history. A staged candidate must still hash as it did when staged.
    /// </summary>
    public async Task<PromptPointer> PromoteAsync(string version, string? reason, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var template = await EnsureAsync(CheckedVersion(version), cancellationToken).ConfigureAwait(false);
        var candidate = await store.TryReadJsonAsync<PromptCandidate>(BlobLayout.PromptCandidate(version), cancellationToken).ConfigureAwait(false);
        if (candidate is not null && !string.Equals(candidate.Sha256, template.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Prompt {version} changed after it was staged (SHA-256 {Short(template.Sha256)}, staged {Short(candidate.Sha256)}): not promoted.");
        }
        var previous = await TryReadPointerAsync(cancellationToken).ConfigureAwait(false);
        var pointer = new PromptPointer(version, candidate?.BasedOn ?? previous?.Version, at, reason ?? candidate?.Reason) { Sha256 = template.Sha256 };
        await MoveAsync(pointer, "promote", previous?.Version, reason, cancellationToken).ConfigureAwait(false);
        return pointer;
    }

    /// <summary>
    /// Moves the current pointer back to the version it named before the last promotion (promotions push, rollbacks pop;
    /// the shipped <see cref="DefaultVersion"/> is the bottom). Throws <see cref="InvalidOperationException"/> when there is
    /// nothing to roll back to.
    /// </summary>
    public async Task<PromptPointer> RollbackAsync(DateTimeOffset at, string? reason = null, CancellationToken cancellationToken = default)
    {
        var current = await TryReadPointerAsync(cancellationToken).ConfigureAwait(false);
        var stack = Stack(await HistoryAsync(cancellationToken).ConfigureAwait(false), current?.Version);
        if (stack.Count < 2)
        {
            throw new InvalidOperationException($"Nothing to roll back to: the current prompt is {stack[^1]} and no earlier version was current.");
        }
        var target = stack[^2];
        var template = await EnsureAsync(target, cancellationToken).ConfigureAwait(false);
        var why = reason ?? $"rollback from {stack[^1]}";
        var pointer = new PromptPointer(target, null, at, why) { Sha256 = template.Sha256 };
        await MoveAsync(pointer, "rollback", stack[^1], why, cancellationToken).ConfigureAwait(false);
        return pointer;
    }

    /// <summary>The versions a rollback walks back through, bottom (<see cref="DefaultVersion"/>) first, current last.</summary>
    public static IReadOnlyList<string> Stack(IReadOnlyList<PromptHistoryEntry> history, string? current)
    {
        ArgumentNullException.ThrowIfNull(history);
        var stack = new List<string> { DefaultVersion };
        foreach (var entry in history)
        {
            if (entry.Action == "rollback" && stack.Count > 1)
            {
                stack.RemoveAt(stack.Count - 1);
            }
            else if (entry.Action == "promote" && entry.Version != stack[^1])
            {
                stack.Add(entry.Version);
            }
        }
        // A pointer moved without history (written before the history existed, or by hand) is the top.
        if (current is not null && current != stack[^1])
        {
            stack.Add(current);
        }
        return stack;
    }

    private async Task MoveAsync(PromptPointer pointer, string action, string? from, string? reason, CancellationToken cancellationToken)
    {
        var history = new List<PromptHistoryEntry>(await HistoryAsync(cancellationToken).ConfigureAwait(false))
        {
            new(action, pointer.Version, from, pointer.CreatedAt, reason),
        };
        // History first: a crash between the two leaves a history entry for a move that did not happen, which Stack
        // tolerates (the pointer is the top); the pointer never moves unrecorded.
        await store.WriteJsonAsync(BlobLayout.PromptHistory, history, cancellationToken).ConfigureAwait(false);
        await store.WriteJsonAsync(BlobLayout.PromptCurrent, pointer, cancellationToken).ConfigureAwait(false);
    }

    private static string CheckedVersion(string version)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        if (BlobLayout.VersionProblem(version) is { } invalid)
        {
            throw new ArgumentException(char.ToUpperInvariant(invalid[0]) + invalid[1..] + ".", nameof(version));
        }
        return IsTemplateVersion(version) ? version : throw new ArgumentException($"'{version}' is reserved and cannot be a prompt version.", nameof(version));
    }

    private static int VersionNumber(string version) =>
        version.Length > 1 && version[0] == 'v' && int.TryParse(version.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue;

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
