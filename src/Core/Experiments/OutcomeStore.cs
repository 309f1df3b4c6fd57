using RoleGen.Core.Storage;

namespace RoleGen.Core.Experiments;

/// <summary>Everything read from an experiment's feedback folder: the valid events and what was quarantined.</summary>
/// <param name="Files">Outcome blobs read.</param>
/// <param name="Rows">Data rows seen (valid + quarantined; headers and blank lines excluded).</param>
/// <param name="QuarantinedByReason">Quarantined rows per <see cref="OutcomeReader.Codes"/> code, in code order.</param>
/// <param name="Samples">The first few quarantined rows (<c>path:line reason raw</c>) so an operator can see what the
/// channel sent without downloading the files.</param>
public sealed record OutcomeReadResult(
    int Files,
    long Rows,
    IReadOnlyList<OutcomeEvent> Events,
    IReadOnlyDictionary<string, long> QuarantinedByReason,
    IReadOnlyList<string> Samples)
{
    public long Quarantined => QuarantinedByReason.Values.Sum();
}

/// <summary>Blob layout of outcome feedback: channels drop CSV files (<see cref="OutcomeReader"/> format) under
/// <c>feedback/{experiment}/</c>, any names and sub-folders. Outcomes are per experiment, not per run, because one
/// delivery can cover several nightly runs; <see cref="FeedbackCalculator"/> attributes them to a run.</summary>
public static class OutcomeStore
{
    /// <summary>Quarantined rows quoted in <see cref="OutcomeReadResult.Samples"/>.</summary>
    public const int MaxSamples = 10;

    /// <summary>Reads every blob under <see cref="BlobLayout.FeedbackPrefix"/> into memory (<see cref="ScanAsync"/>).</summary>
    public static async Task<OutcomeReadResult> ReadAllAsync(IBlobStore store, string experiment, CancellationToken cancellationToken = default)
    {
        var events = new List<OutcomeEvent>();
        var scan = await ScanAsync(store, experiment, events.Add, cancellationToken).ConfigureAwait(false);
        return new OutcomeReadResult(scan.Files, scan.Rows, events, scan.QuarantinedByReason, scan.Samples);
    }

    /// <summary>Streams every blob under <see cref="BlobLayout.FeedbackPrefix"/> in name order (so results are reproducible)
    /// to <paramref name="onEvent"/>, except names whose last segment starts with '_' or '.', which by the storage
    /// convention (<c>_ingest.json</c>, <c>_quarantine.jsonl</c>) are metadata, not data. Bad rows are counted, never
    /// thrown; nothing is written. Memory is one row; <see cref="OutcomeReadResult.Events"/> of the result is empty.</summary>
    public static async Task<OutcomeReadResult> ScanAsync(IBlobStore store, string experiment, Action<OutcomeEvent> onEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(onEvent);
        var prefix = BlobLayout.FeedbackPrefix(experiment);
        var paths = new List<string>();
        await foreach (var entry in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var name = entry.Path[(entry.Path.LastIndexOf('/') + 1)..];
            if (name.Length > 0 && name[0] is not ('_' or '.'))
            {
                paths.Add(entry.Path);
            }
        }
        paths.Sort(StringComparer.Ordinal);
        var quarantined = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var samples = new List<string>();
        long rows = 0;
        foreach (var path in paths)
        {
            var stream = await store.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                foreach (var record in OutcomeReader.Read(stream))
                {
                    rows++;
                    if (record.Event is { } e)
                    {
                        onEvent(e);
                        continue;
                    }
                    quarantined[record.Reason!] = quarantined.GetValueOrDefault(record.Reason!) + 1;
                    if (samples.Count < MaxSamples)
                    {
                        samples.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{path}:{record.Line} {record.Reason} {record.Raw}"));
                    }
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
        return new OutcomeReadResult(paths.Count, rows, [], quarantined, samples);
    }
}
