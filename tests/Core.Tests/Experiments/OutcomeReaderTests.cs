using RoleGen.Core.Experiments;
using RoleGen.Core.Storage;
using static RoleGen.Core.Tests.TestSupport;

namespace RoleGen.Core.Tests.Experiments;

public class OutcomeReaderTests
{
    private static List<OutcomeRecord> Read(string text) => [.. OutcomeReader.Read(Utf8(text))];

    [Fact]
    public void Read_ValidRowsWithHeader_ParsesTypesAliasesRunIdAndLines()
    {
        var rows = Read(
            "user,item,type,timestamp,runId\n" +
            "u1,i1,impression,100\n" +
            "u1,i1,CLK,101,run-1\n" +
            "u2,i2,Cart,102,\n" +
            "u2,i2,buy,103,run-2\n" +
            " u3 , i3 ,purchase,104\n" +
            "u3,i3,imp,105\n" +
            "u3,i3,order,106\n");

        Assert.All(rows, r => Assert.True(r.IsValid, r.Reason));
        Assert.Equal([2L, 3, 4, 5, 6, 7, 8], rows.Select(r => r.Line));
        Assert.Equal(new OutcomeEvent("u1", "i1", OutcomeType.Impression, 100, null), rows[0].Event);
        Assert.Equal(new OutcomeEvent("u1", "i1", OutcomeType.Click, 101, "run-1"), rows[1].Event);
        Assert.Equal(new OutcomeEvent("u2", "i2", OutcomeType.Cart, 102, null), rows[2].Event);
        Assert.Equal(new OutcomeEvent("u2", "i2", OutcomeType.Order, 103, "run-2"), rows[3].Event);
        Assert.Equal(new OutcomeEvent("u3", "i3", OutcomeType.Order, 104, null), rows[4].Event);
        Assert.Equal(OutcomeType.Impression, rows[5].Event!.Type);
        Assert.Equal(OutcomeType.Order, rows[6].Event!.Type);
    }

    [Fact]
    public void Read_UserIdsStartingWithUser_AreDataNotHeader()
    {
        var rows = Read("user42,i1,click,100\nuser43,i1,order,101\n");

        Assert.Equal(["user42", "user43"], rows.Select(r => r.Event!.UserId));
        Assert.Equal(1, rows[0].Line);
    }

    [Fact]
    public void Read_MillisecondTimestamps_ConvertedToSeconds()
    {
        // Above 1e11 (strictly) a value is milliseconds; 1e11 itself is seconds (year 5138), after year 3000: rejected.
        var rows = Read("u1,i1,click,1511544070123\nu1,i1,click,1511544070\nu1,i1,click,100000000001\nu1,i1,click,100000000000\n");

        Assert.Equal([1511544070L, 1511544070, 100000000], rows.Take(3).Select(r => r.Event!.Timestamp));
        Assert.Equal(OutcomeReader.Codes.BadTimestamp, rows[3].Reason);
    }

    [Fact]
    public void Read_BadRows_QuarantinedWithCodesNeverThrown()
    {
        var rows = Read(
            "u1,i1,click\n" +                 // too-few-fields
            "u1,i1,click,1,r,extra\n" +       // too-many-fields
            ",i1,click,1\n" +                 // empty-user
            "u1, ,click,1\n" +                // empty-item
            "u1,i1,view,1\n" +                // bad-type (strict: no behaviour-log words)
            "u1,i1,pv,1\n" +                  // bad-type
            "u1,i1,click,yesterday\n" +       // bad-timestamp
            "u1,i1,click,-5\n" +              // bad-timestamp
            "u1,i1,click,1.5\n" +             // bad-timestamp
            "\n" +                            // blank: skipped
            "u1,i1,click,99999999999999999\n" + // bad-timestamp (after year 3000 even as ms)
            "u1,i1,click,7\n");

        Assert.Equal(
            ["too-few-fields", "too-many-fields", "empty-user", "empty-item", "bad-type", "bad-type", "bad-timestamp", "bad-timestamp", "bad-timestamp", "bad-timestamp", null],
            rows.Select(r => r.Reason));
        Assert.Equal("u1,i1,click", rows[0].Raw);
        Assert.Equal(12, rows[^1].Line);
        Assert.Equal(7, rows[^1].Event!.Timestamp);
        Assert.All(rows.Take(10), r => Assert.Null(r.Event));
    }

    [Fact]
    public void Read_QuotedIds_AreUnescaped()
    {
        var rows = Read("\"u,1\",\"i1\",click,5\n");

        Assert.Equal(new OutcomeEvent("u,1", "i1", OutcomeType.Click, 5, null), rows.Single().Event);
    }

    [Fact]
    public void Read_LongBadRow_RawIsClipped()
    {
        var rows = Read("u1,i1,click,1," + new string('x', 2_000) + ",more\n");

        Assert.Equal(OutcomeReader.Codes.TooManyFields, rows.Single().Reason);
        Assert.Equal(OutcomeReader.MaxRawLength + 1, rows.Single().Raw!.Length);
    }

    [Fact]
    public async Task ReadAllAsync_ReadsEveryBlobUnderThePrefixAndCountsQuarantine()
    {
        var store = new InMemoryBlobStore();
        await store.WriteTextAsync("feedback/exp/2024-01-01.csv", "user,item,type,timestamp\nu1,i1,click,10\nu1,i1,bogus,11\n");
        await store.WriteTextAsync("feedback/exp/day2/part-1.csv", "u2,i2,order,12,r1\nu2,,order,13\nu3,i3,order,x\n");
        await store.WriteTextAsync("feedback/exp/_manifest.json", "{}");
        await store.WriteTextAsync("feedback/exp2/other.csv", "u9,i9,order,1\n");
        await store.WriteTextAsync("feedback/exp-other/x.csv", "u9,i9,order,1\n");

        var result = await OutcomeStore.ReadAllAsync(store, "exp");

        Assert.Equal("feedback/exp/", BlobLayout.FeedbackPrefix("exp"));
        Assert.Equal(2, result.Files);
        Assert.Equal(5, result.Rows);
        Assert.Equal(
            [new OutcomeEvent("u1", "i1", OutcomeType.Click, 10, null), new OutcomeEvent("u2", "i2", OutcomeType.Order, 12, "r1")],
            result.Events);
        Assert.Equal(new Dictionary<string, long> { ["bad-timestamp"] = 1, ["bad-type"] = 1, ["empty-item"] = 1 }, result.QuarantinedByReason);
        Assert.Equal(3, result.Quarantined);
        Assert.Equal("feedback/exp/2024-01-01.csv:3 bad-type u1,i1,bogus,11", result.Samples[0]);
        Assert.Equal(new[] { "feedback/exp/2024-01-01.csv", "feedback/exp/_manifest.json", "feedback/exp/day2/part-1.csv", "feedback/exp2/other.csv", "feedback/exp-other/x.csv" }.Order(StringComparer.Ordinal), store.Paths);
    }

    [Fact]
    public async Task ReadAllAsync_NoFeedbackYet_IsEmpty()
    {
        var result = await OutcomeStore.ReadAllAsync(new InMemoryBlobStore(), "exp");

        Assert.Equal((0, 0L, 0L), (result.Files, result.Rows, result.Quarantined));
        Assert.Empty(result.Events);
    }
}
