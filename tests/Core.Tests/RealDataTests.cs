using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

/// <summary>The readers against the real fixtures in <c>shared/data</c> (counts from their SOURCE.txt files).
/// Skipped with a message when the folder is not next to the repository.</summary>
public class RealDataTests
{
    private const string OttoFolder = "otto-sample";
    private const string OttoFile = "otto_train_first20sessions.jsonl";
    private const string TaobaoFolder = "taobao-head";
    private const string TaobaoFile = "UserBehavior_head_raw.csv";

    [SharedDataFact(OttoFolder, OttoFile)]
    public void Read_OttoFirst20Sessions_MatchesSourceCounts()
    {
        using var stream = File.OpenRead(SharedData.PathOf(OttoFolder, OttoFile));

        var rows = EventReader.Read(stream, EventFormat.Otto).ToList();

        Assert.All(rows, r => Assert.True(r.IsValid, $"line {r.Line}: {r.Error}"));
        Assert.Equal(862, rows.Count);
        Assert.Equal(20, rows.Select(r => r.Event.UserId).Distinct().Count());
        Assert.Equal(510, rows.Select(r => r.Event.ItemId).Distinct().Count());
        Assert.Equal(800, rows.Count(r => r.Event.Type == EventType.View));
        Assert.Equal(52, rows.Count(r => r.Event.Type == EventType.Cart));
        Assert.Equal(10, rows.Count(r => r.Event.Type == EventType.Purchase));
        Assert.All(rows, r => Assert.Equal(EventReader.UnknownCategory, r.Event.CategoryId));
        // Session 0 starts with aid 1517085 at ts 1659304800025 ms.
        Assert.Equal(new BehaviorEvent("0", "1517085", "0", EventType.View, 1659304800), rows[0].Event);
        Assert.Equal(20, rows[^1].Line);
    }

    [SharedDataFact(TaobaoFolder, TaobaoFile)]
    public void Read_TaobaoHead_ParsesAllCompleteRowsAndQuarantinesTruncatedLastLine()
    {
        using var stream = File.OpenRead(SharedData.PathOf(TaobaoFolder, TaobaoFile));

        var rows = EventReader.Read(stream, EventFormat.Taobao).ToList();

        // 84,475 newline-terminated rows, then the cut-off row "100370,1968385,1875258,pv" without a newline.
        var valid = rows.Where(r => r.IsValid).ToList();
        var bad = Assert.Single(rows, r => !r.IsValid);
        Assert.Equal(84_475, valid.Count);
        Assert.Equal("column-count", bad.ErrorCode);
        Assert.Equal(84_476, bad.Line);
        Assert.Equal("100370,1968385,1875258,pv", bad.Raw);
        Assert.Equal(new BehaviorEvent("1", "2268318", "2520377", EventType.View, 1511544070), valid[0].Event);
        Assert.Equal(1_750, valid.Count(r => r.Event.Type == EventType.Purchase));
        Assert.Equal(4_497, valid.Count(r => r.Event.Type == EventType.Cart));
        Assert.Equal(2_356, valid.Count(r => r.Event.Type == EventType.Fav));
        Assert.Equal(75_872, valid.Count(r => r.Event.Type == EventType.View));
        Assert.Equal(815, valid.Select(r => r.Event.UserId).Distinct().Count());
    }

    [SharedDataFact(TaobaoFolder, TaobaoFile)]
    public async Task IngestAsync_TaobaoHead_WritesEventsAndOneQuarantinedRow()
    {
        var store = new InMemoryBlobStore();
        await using var stream = File.OpenRead(SharedData.PathOf(TaobaoFolder, TaobaoFile));

        var summary = await new EventIngestor(store, NullLogger<EventIngestor>.Instance)
            .IngestAsync(stream, TaobaoFile, EventFormat.Taobao, "taobao-head", rowsPerPart: 50_000);

        Assert.Equal(84_475, summary.Events);
        Assert.Equal(1, summary.Quarantined);
        Assert.Equal(84_476, summary.Rows);
        Assert.Equal(2, summary.Parts);
        Assert.Equal(815, summary.Users);
        Assert.Equal(1, summary.QuarantineReasons["column-count"]);
        var quarantine = await TestSupport.ReadJsonLinesAsync<QuarantinedRow>(store, summary.QuarantinePath);
        var q = Assert.Single(quarantine);
        Assert.Equal(84_476, q.Line);
        Assert.Equal((await TestSupport.ReadDatasetAsync(store, "taobao-head")).Count, summary.Events);
    }
}
