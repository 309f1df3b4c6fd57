using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;

namespace RoleGen.Integration.Tests;

public sealed class IngestTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Ingest_MalformedRows_AreQuarantinedWithLineAndReason()
    {
        var csv = string.Join('\n',
            "1,100,10,pv,1511544070",
            "1,101,10,pv,notatime",          // 2: bad timestamp
            "2,102,11,buy,1511544080",
            "3,103,12,wishlist,1511544090",  // 4: unknown type
            "4,104",                          // 5: column count
            ",105,12,pv,1511544095",          // 6: empty user
            "5,106,13,cart,1511544100") + "\n";
        var ingestor = new EventIngestor(azurite.Store, NullLogger<EventIngestor>.Instance);
        var summary = await ingestor.IngestAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "bad.csv", EventFormat.Taobao, "ingest-bad");

        Assert.Equal(7, summary.Rows);
        Assert.Equal(3, summary.Events);
        Assert.Equal(4, summary.Quarantined);
        Assert.Equal(1, summary.QuarantineReasons["bad-timestamp"]);
        Assert.Equal(1, summary.QuarantineReasons["unknown-event-type"]);
        Assert.Equal(1, summary.QuarantineReasons["column-count"]);
        Assert.Equal(1, summary.QuarantineReasons["empty-id"]);

        var quarantined = new List<QuarantinedRow>();
        await foreach (var q in azurite.Store.ReadJsonLinesAsync<QuarantinedRow>(summary.QuarantinePath))
        {
            quarantined.Add(q);
        }
        Assert.Equal([2L, 4L, 5L, 6L], quarantined.Select(q => q.Line));
        Assert.All(quarantined, q => Assert.Equal("bad.csv", q.Source));
        Assert.Contains("wishlist", quarantined[1].Raw, StringComparison.Ordinal);

        var events = new List<Core.Events.BehaviorEvent>();
        await foreach (var e in EventStore.ReadAllAsync(azurite.Store, "ingest-bad"))
        {
            events.Add(e);
        }
        Assert.Equal(["1", "2", "5"], events.Select(e => e.UserId));
        var stored = await azurite.Store.ReadJsonAsync<IngestSummary>(BlobLayout.IngestSummary("ingest-bad"));
        Assert.Equal(4, stored.Quarantined);
    }

    [Fact]
    public async Task Ingest_RealTaobaoHead_CountsEveryLine()
    {
        var path = TestData.Require("taobao-head", "UserBehavior_head_raw.csv");
        var lines = File.ReadLines(path).LongCount();
        var ingestor = new EventIngestor(azurite.Store, NullLogger<EventIngestor>.Instance);
        await using var file = File.OpenRead(path);
        var summary = await ingestor.IngestAsync(file, "UserBehavior_head_raw.csv", EventFormat.Taobao, "taobao-it");
        Assert.Equal(lines, summary.Rows);
        Assert.Equal(lines, summary.Events + summary.Quarantined);
        Assert.True(summary.Events > 84_000, $"only {summary.Events} events");
        Assert.Equal(1, summary.Parts);
    }
}
