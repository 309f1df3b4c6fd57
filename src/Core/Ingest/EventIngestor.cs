using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Events;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Ingest;

public sealed record IngestSummary(
    string Dataset,
    string Source,
    EventFormat Format,
    long Rows,
    long Events,
    long Quarantined,
    IReadOnlyDictionary<string, long> QuarantineReasons,
    int Parts,
    long Users,
    long MinTimestamp,
    long MaxTimestamp,
    double Seconds,
    string EventsPrefix,
    string QuarantinePath,
    DateTimeOffset IngestedAt)
{
    /// <summary>Where the live parts are: the ingest's generation folder (<see cref="BlobLayout.EventGeneration"/>); null
    /// for datasets written straight under <see cref="BlobLayout.EventsPrefix"/> (demo worlds, older ingests).</summary>
    public string? PartsPrefix { get; init; }
}

public readonly record struct IngestProgress(long Rows, long Events, long Quarantined, long BytesRead, long BytesTotal);

/// <summary>Streams a behaviour log into <c>events/{dataset}/</c> as normalized CSV parts. Malformed rows never stop
/// the ingest: each goes to <c>_quarantine.jsonl</c> with its line number and reason, and is counted. Stage and swap: the
/// parts are written to a new generation folder, which goes live only when the ingest succeeded with at least one event
/// (one write of <c>_ingest.json</c> names it); then the replaced data is deleted. A failed or empty ingest leaves the
/// previous dataset as it was (an empty one keeps its staged quarantine for inspection).</summary>
public sealed class EventIngestor(IBlobStore store, ILogger<EventIngestor> logger)
{
    public const long DefaultRowsPerPart = 5_000_000;

    public async Task<IngestSummary> IngestAsync(Stream source, string sourceName, EventFormat format, string dataset,
        IProgress<IngestProgress>? progress = null, long rowsPerPart = DefaultRowsPerPart, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        EventStore.ValidateDataset(dataset);
        var watch = Stopwatch.StartNew();
        var counting = new CountingStream(source);
        long total = source.CanSeek ? source.Length : -1;

        var reasons = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long rows = 0, events = 0, quarantined = 0, lastLine = 0;
        long minTs = long.MaxValue, maxTs = long.MinValue;
        var users = new HashSet<string>(StringComparer.Ordinal);
        var userCountCapped = false;
        const int UserCountCap = 2_000_000;
        var part = 0;
        var generation = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyyMMddHHmmssfff}-{Guid.NewGuid().ToString("N")[..6]}");
        var staged = BlobLayout.EventGeneration(dataset, generation);
        var quarantinePath = staged + "_quarantine.jsonl";

        Stream? partStream = null;
        NormalizedCsvWriter? writer = null;
        var quarantineStream = await store.OpenWriteAsync(quarantinePath, cancellationToken).ConfigureAwait(false);
        var quarantine = new StreamWriter(quarantineStream, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        var completed = false;
        try
        {
            foreach (var row in EventReader.Read(counting, format))
            {
                if (row.Line != lastLine)
                {
                    rows++;
                    lastLine = row.Line;
                    if ((rows & 0xFFFF) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        progress?.Report(new IngestProgress(rows, events, quarantined, counting.BytesRead, total));
                    }
                }
                if (!row.IsValid)
                {
                    quarantined++;
                    var code = row.ErrorCode ?? "invalid";
                    reasons[code] = reasons.GetValueOrDefault(code) + 1;
                    await quarantine.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(
                        new QuarantinedRow(sourceName, row.Line, code, row.Error!, row.Raw ?? string.Empty), RoleGenJson.Options)).ConfigureAwait(false);
                    if (quarantined <= 5)
                    {
                        logger.LogWarning("Quarantined {Source}:{Line}: {Reason}", sourceName, row.Line, row.Error);
                    }
                    continue;
                }
                if (writer is null || writer.Rows >= rowsPerPart)
                {
                    if (writer is not null)
                    {
                        await writer.DisposeAsync().ConfigureAwait(false);
                        await partStream!.DisposeAsync().ConfigureAwait(false);
                        part++;
                    }
                    partStream = await store.OpenWriteAsync(BlobLayout.PartUnder(staged, part), cancellationToken).ConfigureAwait(false);
                    writer = new NormalizedCsvWriter(partStream);
                }
                var e = row.Event;
                writer.Write(e);
                events++;
                minTs = Math.Min(minTs, e.Timestamp);
                maxTs = Math.Max(maxTs, e.Timestamp);
                if (!userCountCapped)
                {
                    users.Add(e.UserId);
                    if (users.Count >= UserCountCap)
                    {
                        userCountCapped = true; // bounded memory: beyond this the count is reported as a lower bound
                    }
                }
            }
            completed = true;
        }
        finally
        {
            // A part or the quarantine that fails to commit fails the ingest (before the swap).
            try
            {
                if (writer is not null)
                {
                    await writer.DisposeAsync().ConfigureAwait(false);
                }
                if (partStream is not null)
                {
                    await partStream.DisposeAsync().ConfigureAwait(false);
                }
                await quarantine.DisposeAsync().ConfigureAwait(false);
                await quarantineStream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception) when (!completed)
            {
                // the original failure is the one to report
            }
            if (!completed)
            {
                await DeleteStagedAsync(store, staged).ConfigureAwait(false);
            }
        }
        var parts = writer is null ? 0 : part + 1;

        progress?.Report(new IngestProgress(rows, events, quarantined, counting.BytesRead, total));
        var summary = new IngestSummary(dataset, sourceName, format, rows, events, quarantined, reasons, parts, users.Count,
            events == 0 ? 0 : minTs, events == 0 ? 0 : maxTs, watch.Elapsed.TotalSeconds,
            BlobLayout.EventsPrefix(dataset), quarantinePath, DateTimeOffset.UtcNow) { PartsPrefix = staged };
        if (events == 0)
        {
            // Nothing valid: the previous dataset stays live; the staged quarantine stays for inspection.
            logger.LogWarning("No valid events in {Source}: dataset {Dataset} left as it was ({Quarantined} rows quarantined in {Path})",
                sourceName, dataset, quarantined, quarantinePath);
            return summary;
        }
        // The swap: one blob write makes the staged generation the dataset. Then what it replaced goes.
        await store.WriteJsonAsync(BlobLayout.IngestSummary(dataset), summary, cancellationToken).ConfigureAwait(false);
        await DeleteReplacedAsync(store, dataset, staged, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Ingested {Events} events ({Quarantined} quarantined) from {Source} into {Prefix} in {Seconds:F1} s",
            events, quarantined, sourceName, BlobLayout.EventsPrefix(dataset), summary.Seconds);
        return summary;
    }

    /// <summary>Deletes what the swap replaced: parts straight under the dataset, the old quarantine and older generations
    /// (the ingest summary, the live generation and other files such as a demo world's truth stay).</summary>
    private static async Task DeleteReplacedAsync(IBlobStore store, string dataset, string live, CancellationToken cancellationToken)
    {
        var root = BlobLayout.EventsPrefix(dataset);
        var replaced = new List<string>();
        await foreach (var entry in store.ListAsync(root, cancellationToken).ConfigureAwait(false))
        {
            var name = entry.Path[root.Length..];
            if (entry.Path.StartsWith(live, StringComparison.Ordinal))
            {
                continue;
            }
            if ((name.StartsWith("part-", StringComparison.Ordinal) && !name.Contains('/', StringComparison.Ordinal))
                || name == "_quarantine.jsonl" || name.StartsWith("gen-", StringComparison.Ordinal))
            {
                replaced.Add(entry.Path);
            }
        }
        foreach (var path in replaced)
        {
            await store.DeleteAsync(path, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Best effort: a staged generation that never went live is never read; the next successful ingest deletes it.</summary>
    private static async Task DeleteStagedAsync(IBlobStore store, string staged)
    {
        try
        {
            var paths = new List<string>();
            await foreach (var entry in store.ListAsync(staged, CancellationToken.None).ConfigureAwait(false))
            {
                paths.Add(entry.Path);
            }
            foreach (var path in paths)
            {
                await store.DeleteAsync(path, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            System.Diagnostics.Debug.WriteLine(ex.Message);
        }
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            BytesRead += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

public sealed record QuarantinedRow(string Source, long Line, string Code, string Reason, string Raw);
