using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Demo;

/// <summary>Streams a generated world into <c>events/{dataset}/</c> in the same layout as an ingest, plus the ground
/// truth at <c>events/{dataset}/_truth/world.json</c>. Memory is bounded (one user at a time).</summary>
public sealed class DemoWorldWriter(IBlobStore store, ILogger<DemoWorldWriter> logger)
{
    public async Task<(IngestSummary Summary, DemoWorldTruth Truth)> WriteAsync(DemoWorldOptions options, string dataset,
        IProgress<(long Users, long Events)>? progress = null, long rowsPerPart = EventIngestor.DefaultRowsPerPart,
        CancellationToken cancellationToken = default)
    {
        EventStore.ValidateDataset(dataset);
        var watch = Stopwatch.StartNew();
        var generator = new DemoWorldGenerator(options);
        long users = 0, events = 0, purchases = 0, exposed = 0, lowIntent = 0;
        long minTs = long.MaxValue, maxTs = long.MinValue;
        var part = 0;
        string? lastUser = null;
        Stream? stream = null;
        NormalizedCsvWriter? writer = null;
        try
        {
            foreach (var e in generator.Generate(o =>
                     {
                         users++;
                         purchases += o.Purchases;
                         exposed += o.SawTrigger ? 1 : 0;
                         lowIntent += o.LowIntent ? 1 : 0;
                         if (users % 50_000 == 0)
                         {
                             progress?.Report((users, events));
                         }
                     }))
            {
                // Start a new part only between users so a user's events stay in one part.
                if (writer is null || (writer.Rows >= rowsPerPart && e.UserId != lastUser))
                {
                    if (writer is not null)
                    {
                        await writer.DisposeAsync().ConfigureAwait(false);
                        await stream!.DisposeAsync().ConfigureAwait(false);
                        part++;
                    }
                    stream = await store.OpenWriteAsync(BlobLayout.EventPart(dataset, part), cancellationToken).ConfigureAwait(false);
                    writer = new NormalizedCsvWriter(stream);
                }
                lastUser = e.UserId;
                writer.Write(e);
                events++;
                minTs = Math.Min(minTs, e.Timestamp);
                maxTs = Math.Max(maxTs, e.Timestamp);
                if ((events & 0xFFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
        var parts = writer is null ? 0 : part + 1;
        await EventStore.DeleteStalePartsAsync(store, dataset, parts, cancellationToken).ConfigureAwait(false);
        progress?.Report((users, events));
        var truth = generator.Truth(events, purchases, exposed, lowIntent);
        await store.WriteJsonAsync(BlobLayout.DemoTruth(dataset), truth, cancellationToken).ConfigureAwait(false);
        await store.WriteTextAsync(BlobLayout.Quarantine(dataset), string.Empty, cancellationToken).ConfigureAwait(false);
        var summary = new IngestSummary(dataset, $"demo-world(seed={options.Seed})", EventFormat.Normalized, events, events, 0,
            new Dictionary<string, long>(), parts, users, minTs, maxTs, watch.Elapsed.TotalSeconds,
            BlobLayout.EventsPrefix(dataset), BlobLayout.Quarantine(dataset), DateTimeOffset.UtcNow);
        await store.WriteJsonAsync(BlobLayout.IngestSummary(dataset), summary, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Generated demo world: {Users} users, {Events} events, {Triggers} trigger items in {Seconds:F1} s",
            users, events, truth.Triggers.Count, summary.Seconds);
        return (summary, truth);
    }

}
