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
    DateTimeOffset IngestedAt);

public readonly record struct IngestProgress(long Rows, long Events, long Quarantined, long BytesRead, long BytesTotal);

/// <summary>Streams a behaviour log into <c>events/{dataset}/</c> as normalized CSV parts. Malformed rows never stop
/// the ingest: each goes to <c>_quarantine.jsonl</c> with its line number and reason, and is counted. Re-ingesting a
/// dataset replaces it (stale parts are deleted), so the operation is idempotent.</summary>
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

        Stream? partStream = null;
        NormalizedCsvWriter? writer = null;
        await using var quarantineStream = await store.OpenWriteAsync(BlobLayout.Quarantine(dataset), cancellationToken).ConfigureAwait(false);
        await using var quarantine = new StreamWriter(quarantineStream, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
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
                    partStream = await store.OpenWriteAsync(BlobLayout.EventPart(dataset, part), cancellationToken).ConfigureAwait(false);
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
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
            if (partStream is not null)
            {
                await partStream.DisposeAsync().ConfigureAwait(false);
            }
        }
        var parts = writer is null ? 0 : part + 1;

        // Replace the dataset: delete parts left over from an earlier, larger ingest.
        await EventStore.DeleteStalePartsAsync(store, dataset, parts, cancellationToken).ConfigureAwait(false);

        progress?.Report(new IngestProgress(rows, events, quarantined, counting.BytesRead, total));
        var summary = new IngestSummary(dataset, sourceName, format, rows, events, quarantined, reasons, parts, users.Count,
            events == 0 ? 0 : minTs, events == 0 ? 0 : maxTs, watch.Elapsed.TotalSeconds,
            BlobLayout.EventsPrefix(dataset), BlobLayout.Quarantine(dataset), DateTimeOffset.UtcNow);
        await store.WriteJsonAsync(BlobLayout.IngestSummary(dataset), summary, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Ingested {Events} events ({Quarantined} quarantined) from {Source} into {Prefix} in {Seconds:F1} s",
            events, quarantined, sourceName, BlobLayout.EventsPrefix(dataset), summary.Seconds);
        return summary;
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
