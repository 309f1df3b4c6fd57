using System.Runtime.CompilerServices;
using RoleGen.Core.Events;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Ingest;

/// <summary>Blob layout of an ingested dataset: <c>events/{dataset}/part-NNNNN.csv</c> (normalized CSV),
/// <c>events/{dataset}/_ingest.json</c> (summary) and <c>events/{dataset}/_quarantine.jsonl</c> (rejected rows).</summary>
public static class EventStore
{
    /// <summary>Dataset names become blob prefixes: lowercase letters, digits, '-' and '_' only.</summary>
    public static string ValidateDataset(string dataset)
    {
        if (string.IsNullOrWhiteSpace(dataset) || dataset.Length > 63 ||
            !dataset.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_'))
        {
            throw new ArgumentException($"Dataset name '{dataset}' is not valid: use 1-63 lowercase letters, digits, '-' or '_'.", nameof(dataset));
        }
        return dataset;
    }

    /// <summary>File stems that say nothing about the data: such a file is named after its folder too, so that
    /// <c>a/events_normalized.csv</c> and <c>b/events_normalized.csv</c> do not land in (and replace) one dataset.</summary>
    private static readonly HashSet<string> GenericStems = new(StringComparer.Ordinal)
    {
        "events", "events_normalized", "events-normalized", "normalized", "data", "dataset", "train", "test", "sample", "log", "logs",
        "input", "export", "behavior", "behaviour", "interactions", "sessions",
    };

    /// <summary>Dataset name derived from a file path: <c>UserBehavior_head_raw.csv</c> → <c>userbehavior_head_raw</c>; a
    /// generic file name is prefixed with its folder: <c>taobao-head/events_normalized.csv</c> → <c>taobao-head-events_normalized</c>.</summary>
    public static string DatasetFromFileName(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stem = System.IO.Path.GetFileNameWithoutExtension(path).ToLowerInvariant();
        var folder = System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(path) ?? string.Empty);
        if (GenericStems.Contains(stem) && !string.IsNullOrEmpty(folder))
        {
            stem = folder.ToLowerInvariant() + "-" + stem;
        }
        var chars = stem.Select(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' ? c : '-').ToArray();
        var name = new string(chars).Trim('-');
        if (name.Length == 0)
        {
            name = "dataset";
        }
        return name.Length > 63 ? name[..63] : name;
    }

    /// <summary>Deletes <c>part-NNNNN.csv</c> blobs numbered <paramref name="keepParts"/> and above: what an earlier, larger
    /// write of the same dataset left behind (so re-writing a dataset replaces it).</summary>
    public static async Task DeleteStalePartsAsync(IBlobStore store, string dataset, int keepParts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var stale = new List<string>();
        await foreach (var entry in store.ListAsync(BlobLayout.EventsPrefix(dataset), cancellationToken).ConfigureAwait(false))
        {
            var name = entry.Path[BlobLayout.EventsPrefix(dataset).Length..];
            if (name.StartsWith("part-", StringComparison.Ordinal) && name.Length >= 14 && int.TryParse(name.AsSpan(5, 5), out var index) && index >= keepParts)
            {
                stale.Add(entry.Path);
            }
        }
        foreach (var path in stale)
        {
            await store.DeleteAsync(path, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The live event parts of a dataset (in order) and their total size: those of the generation the ingest
    /// summary names (<see cref="IngestSummary.PartsPrefix"/>), else <c>part-NNNNN.csv</c> straight under the dataset.</summary>
    public static async Task<(IReadOnlyList<string> Parts, long Bytes)> LivePartsAsync(IBlobStore store, string dataset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var summary = await store.TryReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary(dataset), cancellationToken).ConfigureAwait(false);
        var prefix = summary?.PartsPrefix is { Length: > 0 } p && p.StartsWith(BlobLayout.EventsPrefix(dataset), StringComparison.Ordinal)
            ? p
            : BlobLayout.EventsPrefix(dataset);
        var parts = new List<string>();
        long bytes = 0;
        await foreach (var entry in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var name = entry.Path[prefix.Length..];
            if (name.StartsWith("part-", StringComparison.Ordinal) && name.EndsWith(".csv", StringComparison.Ordinal) && !name.Contains('/', StringComparison.Ordinal))
            {
                parts.Add(entry.Path);
                bytes += entry.Size;
            }
        }
        parts.Sort(StringComparer.Ordinal);
        return (parts, bytes);
    }

    /// <summary>Streams every event of an ingested dataset, part after part (the parts were validated at ingest).</summary>
    public static async IAsyncEnumerable<BehaviorEvent> ReadAllAsync(IBlobStore store, string dataset,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (parts, _) = await LivePartsAsync(store, dataset, cancellationToken).ConfigureAwait(false);
        if (parts.Count == 0)
        {
            throw new PermanentFailureException($"Dataset '{dataset}' has no event parts under {BlobLayout.EventsPrefix(dataset)}: ingest it first (rolegen ingest).");
        }
        foreach (var part in parts)
        {
            await using var stream = await store.OpenReadAsync(part, cancellationToken).ConfigureAwait(false);
            // Parts were validated at ingest (or written by RoleGen): read their structure only.
            foreach (var row in EventReader.Read(stream, EventFormat.Normalized, allowHeader: true, trusted: true))
            {
                if (row.IsValid)
                {
                    yield return row.Event;
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}

/// <summary>A failure that retrying cannot fix (missing input, invalid configuration). Retry policies do not retry it.</summary>
public sealed class PermanentFailureException : Exception
{
    public PermanentFailureException(string message)
        : base(message)
    {
    }

    public PermanentFailureException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
