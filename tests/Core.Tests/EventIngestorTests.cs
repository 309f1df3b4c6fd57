using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;
using static RoleGen.Core.Tests.TestSupport;

namespace RoleGen.Core.Tests;

public class EventIngestorTests
{
    private const string Mixed =
        "1,10,100,pv,1511541000\n" +
        "1,11,100,cart,1511541010\n" +
        "2,12,101,buy,1511541020\n" +
        "bad,row\n" +
        "3,13,102,like,1511541030\n" +
        "\n" +
        "3,14,102,pv,notatime\n" +
        "4,15,103,fav,1511541040\n";

    private static EventIngestor Ingestor(IBlobStore store) => new(store, NullLogger<EventIngestor>.Instance);

    /// <summary>The store's blobs outside the live generation, and the live generation's names relative to it.</summary>
    private static (string Outside, string[] Live) Layout(InMemoryBlobStore store, IngestSummary summary) =>
        (string.Join(" ", store.Paths.Where(p => !p.StartsWith(summary.PartsPrefix!, StringComparison.Ordinal))),
         [.. store.Paths.Where(p => p.StartsWith(summary.PartsPrefix!, StringComparison.Ordinal)).Select(p => p[summary.PartsPrefix!.Length..])]);

    private static void AssertLayout(string outside, string[] live, InMemoryBlobStore store, IngestSummary summary)
    {
        var (o, l) = Layout(store, summary);
        Assert.Equal(outside, o);
        Assert.Equal(live, l);
    }

    private static Task<IngestSummary> IngestTextAsync(IBlobStore store, string text, string dataset = "ds", EventFormat format = EventFormat.Taobao, long rowsPerPart = EventIngestor.DefaultRowsPerPart)
        => Ingestor(store).IngestAsync(Utf8(text), "input.csv", format, dataset, rowsPerPart: rowsPerPart);

    [Fact]
    public async Task IngestAsync_ValidAndMalformedRows_WritesPartAndQuarantine()
    {
        var store = new InMemoryBlobStore();

        var summary = await IngestTextAsync(store, Mixed);

        Assert.StartsWith("events/ds/gen-", summary.PartsPrefix, StringComparison.Ordinal);
        AssertLayout("events/ds/_ingest.json", ["_quarantine.jsonl", "part-00000.csv"], store, summary);
        var part = await store.ReadTextAsync(summary.PartsPrefix + "part-00000.csv");
        Assert.Equal(
            EventReader.NormalizedHeader + "\n" +
            "1,10,100,view,1511541000\n1,11,100,cart,1511541010\n2,12,101,purchase,1511541020\n4,15,103,fav,1511541040\n",
            part);
        var quarantine = await ReadJsonLinesAsync<QuarantinedRow>(store, summary.QuarantinePath);
        Assert.Equal([4L, 5, 7], quarantine.Select(q => q.Line));
        Assert.Equal(["column-count", "unknown-event-type", "bad-timestamp"], quarantine.Select(q => q.Code));
        Assert.Equal(["bad,row", "3,13,102,like,1511541030", "3,14,102,pv,notatime"], quarantine.Select(q => q.Raw));
        Assert.All(quarantine, q => Assert.Equal("input.csv", q.Source));
        Assert.All(quarantine, q => Assert.False(string.IsNullOrWhiteSpace(q.Reason)));
    }

    [Fact]
    public async Task IngestAsync_MixedInput_SummaryCountsAreWrittenToIngestJson()
    {
        var store = new InMemoryBlobStore();

        var returned = await IngestTextAsync(store, Mixed);
        var summary = await store.ReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary("ds"));

        foreach (var s in new[] { returned, summary })
        {
            Assert.Equal(7, s.Rows);
            Assert.Equal(4, s.Events);
            Assert.Equal(3, s.Quarantined);
            Assert.Equal(1, s.Parts);
            Assert.Equal(3, s.Users);
            Assert.Equal(1511541000, s.MinTimestamp);
            Assert.Equal(1511541040, s.MaxTimestamp);
            Assert.Equal(EventFormat.Taobao, s.Format);
            Assert.Equal(1, s.QuarantineReasons["column-count"]);
            Assert.Equal(1, s.QuarantineReasons["unknown-event-type"]);
            Assert.Equal(1, s.QuarantineReasons["bad-timestamp"]);
            Assert.Equal("events/ds/", s.EventsPrefix);
            Assert.Equal(s.PartsPrefix + "_quarantine.jsonl", s.QuarantinePath);
        }
        using var doc = JsonDocument.Parse(await store.ReadTextAsync(BlobLayout.IngestSummary("ds")));
        Assert.Equal("taobao", doc.RootElement.GetProperty("format").GetString());
        Assert.Equal(4, doc.RootElement.GetProperty("events").GetInt64());
    }

    [Fact]
    public async Task IngestAsync_RowsPerPart_SplitsIntoSeveralOrderedParts()
    {
        var store = new InMemoryBlobStore();
        var text = string.Concat(Enumerable.Range(0, 10).Select(i => $"{100 + i},{200 + i},7,pv,{1511540000 + i}\n"));

        var summary = await IngestTextAsync(store, text, rowsPerPart: 4);

        Assert.Equal(3, summary.Parts);
        Assert.Equal(["part-00000.csv", "part-00001.csv", "part-00002.csv"], Layout(store, summary).Live.Where(p => p.StartsWith("part-", StringComparison.Ordinal)));
        Assert.Equal(5, (await store.ReadTextAsync(summary.PartsPrefix + "part-00000.csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(3, (await store.ReadTextAsync(summary.PartsPrefix + "part-00002.csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var all = await ReadDatasetAsync(store, "ds");
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{100 + i}"), all.Select(e => e.UserId));
    }

    [Fact]
    public async Task IngestAsync_SmallerReingest_DeletesStalePartsAndReplacesQuarantine()
    {
        var store = new InMemoryBlobStore();
        var big = string.Concat(Enumerable.Range(0, 10).Select(i => $"{100 + i},{200 + i},7,pv,{1511540000 + i}\n")) + "broken\n";
        await IngestTextAsync(store, big, rowsPerPart: 3);
        Assert.Equal(4, store.Paths.Count(p => p.Contains("part-", StringComparison.Ordinal)));

        var summary = await IngestTextAsync(store, "1,2,3,pv,1511540005\n4,5,6,buy,1511540006\n", rowsPerPart: 3);

        Assert.Equal(1, summary.Parts);
        AssertLayout("events/ds/_ingest.json", ["_quarantine.jsonl", "part-00000.csv"], store, summary);
        Assert.Equal(["1", "4"], (await ReadDatasetAsync(store, "ds")).Select(e => e.UserId));
        Assert.Equal(string.Empty, await store.ReadTextAsync(summary.QuarantinePath));
    }

    [Fact]
    public async Task IngestAsync_SameInputTwice_ProducesIdenticalParts()
    {
        var first = new InMemoryBlobStore();
        var once = await IngestTextAsync(first, Mixed, rowsPerPart: 2);
        var again = new InMemoryBlobStore();
        await IngestTextAsync(again, Mixed, rowsPerPart: 2);
        var twice = await IngestTextAsync(again, Mixed, rowsPerPart: 2);

        AssertLayout(Layout(first, once).Outside, Layout(first, once).Live, again, twice);
        foreach (var name in Layout(first, once).Live)
        {
            Assert.Equal(await ReadBytesAsync(first, once.PartsPrefix + name), await ReadBytesAsync(again, twice.PartsPrefix + name));
        }
    }

    [Fact]
    public async Task IngestAsync_OnlyMalformedRows_WritesNoPartAndLeavesThePreviousDatasetLive()
    {
        var store = new InMemoryBlobStore();
        var previous = await IngestTextAsync(store, "1,2,3,pv,1511540005\n");

        var summary = await IngestTextAsync(store, "junk\nmore junk\n");

        Assert.Equal(0, summary.Parts);
        Assert.Equal(0, summary.Events);
        Assert.Equal(2, summary.Quarantined);
        Assert.Equal(0, summary.MinTimestamp);
        Assert.Equal(0, summary.MaxTimestamp);
        Assert.Equal(2, (await ReadJsonLinesAsync<QuarantinedRow>(store, summary.QuarantinePath)).Count);
        Assert.Equal(previous, await store.ReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary("ds")), new SummaryComparer());
        Assert.Equal(["1"], (await ReadDatasetAsync(store, "ds")).Select(e => e.UserId));
    }

    [Fact]
    public async Task IngestAsync_FailsMidway_LeavesThePreviousDatasetIntact()
    {
        var store = new InMemoryBlobStore();
        var previous = await IngestTextAsync(store, "1,2,3,pv,1511540005\n4,5,6,buy,1511540006\n");
        var before = store.Paths.ToArray();
        var failing = new FailingAfterStream(Utf8(string.Concat(Enumerable.Range(0, 2000).Select(i => $"{100 + i},{200 + i},7,pv,{1511540000 + i}\n"))), failAfterBytes: 20_000);

        await Assert.ThrowsAsync<IOException>(() => Ingestor(store).IngestAsync(failing, "input.csv", EventFormat.Taobao, "ds", rowsPerPart: 100));

        Assert.Equal(before, store.Paths);
        Assert.Equal(previous, await store.ReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary("ds")), new SummaryComparer());
        Assert.Equal(["1", "4"], (await ReadDatasetAsync(store, "ds")).Select(e => e.UserId));
    }

    [Fact]
    public async Task IngestAsync_OverADatasetWrittenAtTheRoot_ReplacesItsParts()
    {
        var store = new InMemoryBlobStore();
        await store.WriteTextAsync(BlobLayout.EventPart("ds", 0), EventReader.NormalizedHeader + "\nold,i,c,view,1\n");
        await store.WriteTextAsync(BlobLayout.EventPart("ds", 1), EventReader.NormalizedHeader + "\nold2,i,c,view,1\n");
        await store.WriteTextAsync(BlobLayout.Quarantine("ds"), string.Empty);
        Assert.Equal(["old", "old2"], (await ReadDatasetAsync(store, "ds")).Select(e => e.UserId));

        var summary = await IngestTextAsync(store, "1,2,3,pv,1511540005\n");

        AssertLayout("events/ds/_ingest.json", ["_quarantine.jsonl", "part-00000.csv"], store, summary);
        Assert.Equal(["1"], (await ReadDatasetAsync(store, "ds")).Select(e => e.UserId));
    }

    private sealed class SummaryComparer : IEqualityComparer<IngestSummary>
    {
        public bool Equals(IngestSummary? x, IngestSummary? y) =>
            x is not null && y is not null && x.PartsPrefix == y.PartsPrefix && x.Events == y.Events && x.Source == y.Source && x.Parts == y.Parts;

        public int GetHashCode(IngestSummary obj) => obj.Events.GetHashCode();
    }

    /// <summary>Reads like the source, then throws an <see cref="IOException"/> (a dropped upload, a disk error).</summary>
    private sealed class FailingAfterStream(Stream inner, long failAfterBytes) : Stream
    {
        private long read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (read >= failAfterBytes)
            {
                throw new IOException("connection reset");
            }
            var n = inner.Read(buffer, offset, (int)Math.Min(count, Math.Max(1, failAfterBytes - read)));
            read += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task IngestAsync_OttoInput_CountsSessionsAsRowsAndEventsSeparately()
    {
        var store = new InMemoryBlobStore();
        var text =
            "{\"session\":1,\"events\":[{\"aid\":1,\"ts\":1659305800000,\"type\":\"clicks\"},{\"aid\":2,\"ts\":1659306800000,\"type\":\"orders\"}]}\n" +
            "{\"session\":2,\"events\":[{\"aid\":3,\"ts\":1659307800000,\"type\":\"carts\"}\n";

        var summary = await IngestTextAsync(store, text, format: EventFormat.Otto);

        Assert.Equal(2, summary.Rows);
        Assert.Equal(2, summary.Events);
        Assert.Equal(1, summary.Quarantined);
        Assert.Equal(1, summary.QuarantineReasons["invalid-json"]);
        Assert.Equal(1659305800, summary.MinTimestamp);
        Assert.Equal(1659306800, summary.MaxTimestamp);
    }

    [Fact]
    public async Task IngestAsync_OttoEmptySessionId_EveryCountedEventIsReadableOrQuarantined()
    {
        var store = new InMemoryBlobStore();

        var summary = await IngestTextAsync(store, "{\"session\":\"\",\"events\":[{\"aid\":1,\"ts\":1659304801000,\"type\":\"clicks\"}]}\n" +
            "{\"session\":2,\"events\":[{\"aid\":1,\"ts\":1659304801000,\"type\":\"clicks\"}]}\n", format: EventFormat.Otto);

        Assert.Equal(summary.Events, (await ReadDatasetAsync(store, "ds")).Count);
        Assert.Equal(1, summary.Quarantined);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("has space")]
    [InlineData("../escape")]
    public async Task IngestAsync_InvalidDatasetName_Throws(string dataset)
    {
        var store = new InMemoryBlobStore();

        await Assert.ThrowsAsync<ArgumentException>(() => IngestTextAsync(store, Mixed, dataset));
        Assert.Empty(store.Paths);
    }

    [Fact]
    public async Task IngestAsync_Progress_ReportsFinalCounts()
    {
        var store = new InMemoryBlobStore();
        var reports = new List<IngestProgress>();
        var progress = new SyncProgress<IngestProgress>(reports.Add);

        await Ingestor(store).IngestAsync(Utf8(Mixed), "input.csv", EventFormat.Taobao, "ds", progress);

        var last = Assert.Single(reports);
        Assert.Equal(7, last.Rows);
        Assert.Equal(4, last.Events);
        Assert.Equal(3, last.Quarantined);
        Assert.Equal(Utf8(Mixed).Length, last.BytesRead);
    }

    [Fact]
    public void NormalizedCsvWriter_IdsWithCommasQuotesAndNewlines_RoundTripThroughReader()
    {
        var events = new[]
        {
            new BehaviorEvent("plain", "i1", "c1", EventType.View, 1),
            new BehaviorEvent("a,b", "say \"hi\"", "cat,\"x\"", EventType.Fav, 2),
            new BehaviorEvent("multi\nline", "crlf\r\nid", "c", EventType.Cart, 3),
            new BehaviorEvent("ünïcødé", "\"", ",", EventType.Purchase, 32_503_679_999),
        };
        using var buffer = new MemoryStream();
        using (var writer = new NormalizedCsvWriter(buffer))
        {
            foreach (var e in events)
            {
                writer.Write(e);
            }
            Assert.Equal(4, writer.Rows);
        }

        // RoleGen's own files (dataset parts) are read as trusted: any id round-trips; external input is held to the grammar.
        var rows = EventReader.Read(new MemoryStream(buffer.ToArray()), EventFormat.Normalized, allowHeader: true, trusted: true).ToList();
        Assert.Equal(3, EventReader.Read(new MemoryStream(buffer.ToArray()), EventFormat.Normalized).Count(r => r.ErrorCode == "bad-id"));

        Assert.All(rows, r => Assert.True(r.IsValid, r.Error));
        Assert.Equal(events, rows.Select(r => r.Event));
    }

    [Fact]
    public void NormalizedCsvWriter_WithoutHeader_WritesOnlyRows()
    {
        using var buffer = new MemoryStream();
        using (var writer = new NormalizedCsvWriter(buffer, writeHeader: false))
        {
            writer.Write(new BehaviorEvent("u", "i", "c", EventType.View, 5));
        }

        Assert.Equal("u,i,c,view,5\n", System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Theory]
    [InlineData("UserBehavior_head_raw.csv", "userbehavior_head_raw")]
    [InlineData("/data/My Events (2024).jsonl", "my-events--2024")]
    [InlineData("...csv", "dataset")]
    [InlineData("/data/taobao-head/events_normalized.csv", "taobao-head-events_normalized")]
    [InlineData("/data/otto-sample/events_normalized.csv", "otto-sample-events_normalized")]
    public void DatasetFromFileName_FileNames_GiveValidDatasetNames(string path, string expected)
    {
        var name = EventStore.DatasetFromFileName(path);

        Assert.Equal(expected, name);
        Assert.Equal(name, EventStore.ValidateDataset(name));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; this one reports synchronously so the test can assert at once.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
