using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

/// <summary>Small helpers shared by the tests: streams from text, in-memory ingest, reading blobs back.</summary>
internal static class TestSupport
{
    public static MemoryStream Utf8(string text) => new(new UTF8Encoding(false).GetBytes(text));

    public static List<ParsedRow> Read(string text, EventFormat format) => [.. EventReader.Read(Utf8(text), format)];

    public static BehaviorEvent Ev(string user, string item, EventType type, long ts, string category = "c1") =>
        new(user, item, category, type, ts);

    /// <summary>Writes events as one normalized part (with an <c>_ingest.json</c>) so Core components can read the dataset.</summary>
    public static async Task<IngestSummary> IngestEventsAsync(IBlobStore store, string dataset, IEnumerable<BehaviorEvent> events, long rowsPerPart = EventIngestor.DefaultRowsPerPart)
    {
        using var csv = new MemoryStream();
        using (var writer = new NormalizedCsvWriter(csv))
        {
            foreach (var e in events)
            {
                writer.Write(e);
            }
        }
        using var input = new MemoryStream(csv.ToArray());
        var ingestor = new EventIngestor(store, NullLogger<EventIngestor>.Instance);
        return await ingestor.IngestAsync(input, $"{dataset}.csv", EventFormat.Normalized, dataset, rowsPerPart: rowsPerPart);
    }

    public static async Task<List<T>> ReadJsonLinesAsync<T>(IBlobStore store, string path)
    {
        var list = new List<T>();
        await foreach (var row in store.ReadJsonLinesAsync<T>(path))
        {
            list.Add(row);
        }
        return list;
    }

    public static async Task<byte[]> ReadBytesAsync(IBlobStore store, string path)
    {
        await using var stream = await store.OpenReadAsync(path);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    public static async Task<List<BehaviorEvent>> ReadDatasetAsync(IBlobStore store, string dataset)
    {
        var list = new List<BehaviorEvent>();
        await foreach (var e in EventStore.ReadAllAsync(store, dataset))
        {
            list.Add(e);
        }
        return list;
    }

    public static UserTrajectory Trajectory(string user, IEnumerable<(string Item, EventType Type)> steps, params string[] purchased)
    {
        var list = steps.Select((s, i) => new TrajectoryStep(s.Item, "c", s.Type, 1_000 + i)).ToArray();
        return new UserTrajectory(user, list.Count(s => s.Type == EventType.View), 0, purchased.Length, 1, list, purchased);
    }
}
