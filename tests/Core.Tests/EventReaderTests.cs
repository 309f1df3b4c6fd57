using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using static RoleGen.Core.Tests.TestSupport;

namespace RoleGen.Core.Tests;

public class EventReaderTests
{
    [Fact]
    public void Read_TaobaoRows_MapsBehavioursIdsAndUnixSeconds()
    {
        var rows = Read(
            "1,2268318,2520377,pv,1511544070\n" +
            "1,2333346,2520771,fav,1511561733\n" +
            "100,3,4,cart,1511572885\n" +
            "100,5,6,buy,1511600000\n",
            EventFormat.Taobao);

        Assert.All(rows, r => Assert.True(r.IsValid, r.Error));
        Assert.Equal(
            [EventType.View, EventType.Fav, EventType.Cart, EventType.Purchase],
            rows.Select(r => r.Event.Type));
        Assert.Equal(new BehaviorEvent("1", "2268318", "2520377", EventType.View, 1511544070), rows[0].Event);
        Assert.Equal(new BehaviorEvent("100", "5", "6", EventType.Purchase, 1511600000), rows[3].Event);
        Assert.Equal([1L, 2, 3, 4], rows.Select(r => r.Line));
    }

    [Fact]
    public void Read_NormalizedWithHeader_SkipsHeaderAndKeepsLineNumbers()
    {
        var rows = Read(
            "user_id,item_id,category_id,event_type,timestamp\n" +
            "u1,i1,c1,view,100\n" +
            "u1,i2,c1,purchase,200\n",
            EventFormat.Normalized);

        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.True(r.IsValid, r.Error));
        Assert.Equal(new BehaviorEvent("u1", "i1", "c1", EventType.View, 100), rows[0].Event);
        Assert.Equal(EventType.Purchase, rows[1].Event.Type);
        Assert.Equal([2L, 3], rows.Select(r => r.Line));
    }

    [Fact]
    public void Read_NormalizedWithoutHeader_ParsesFirstRowAsData()
    {
        var rows = Read("u1,i1,c1,cart,100\nu2,i2,c2,fav,101\n", EventFormat.Normalized);

        Assert.Equal(2, rows.Count);
        Assert.Equal(new BehaviorEvent("u1", "i1", "c1", EventType.Cart, 100), rows[0].Event);
        Assert.Equal(new BehaviorEvent("u2", "i2", "c2", EventType.Fav, 101), rows[1].Event);
        Assert.Equal(1, rows[0].Line);
    }

    [Fact]
    public void Read_NormalizedIsoTimestamps_ConvertsToUnixSecondsUtc()
    {
        var rows = Read(
            "u1,i1,c1,view,2017-11-25T00:00:00Z\n" +
            "u1,i1,c1,view,2017-11-25T08:00:00+08:00\n" +
            "u1,i1,c1,view,2017-11-25 00:00:01\n",
            EventFormat.Normalized);

        Assert.All(rows, r => Assert.True(r.IsValid, r.Error));
        var expected = new DateTimeOffset(2017, 11, 25, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        Assert.Equal([expected, expected, expected + 1], rows.Select(r => r.Event.Timestamp));
    }

    [Fact]
    public void Read_TaobaoIsoTimestamp_IsQuarantinedBecauseTaobaoIsUnixOnly()
    {
        var row = Assert.Single(Read("1,2,3,pv,1511542017-11-25T00:00:00Z\n", EventFormat.Taobao));

        Assert.False(row.IsValid);
        Assert.Equal("bad-timestamp", row.ErrorCode);
    }

    [Fact]
    public void Read_NormalizedQuotedIds_AreUnquotedButCommasAndQuotesInsideAreBadIds()
    {
        var rows = Read(
            "user_id,item_id,category_id,event_type,timestamp\n" +
            "\"u1\",\"i-7\",\"c1\",view,100\n" +
            "\"u,1\",\"item \"\"A\"\", large\",\"c,1\",view,100\n",
            EventFormat.Normalized);

        Assert.Equal(2, rows.Count);
        Assert.True(rows[0].IsValid, rows[0].Error);
        Assert.Equal(new BehaviorEvent("u1", "i-7", "c1", EventType.View, 100), rows[0].Event);
        Assert.Equal("bad-id", rows[1].ErrorCode);
    }

    [Fact]
    public void Read_OttoSession_MapsTypesMillisecondsAndUnknownCategory()
    {
        var rows = Read(
            "{\"session\":7,\"events\":[{\"aid\":11,\"ts\":1659304800025,\"type\":\"clicks\"},{\"aid\":12,\"ts\":1659304801999,\"type\":\"carts\"},{\"aid\":12,\"ts\":1659304900000,\"type\":\"orders\"}]}\n",
            EventFormat.Otto);

        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.True(r.IsValid, r.Error));
        Assert.All(rows, r => Assert.Equal(1, r.Line));
        Assert.Equal(new BehaviorEvent("7", "11", "0", EventType.View, 1659304800), rows[0].Event);
        Assert.Equal(new BehaviorEvent("7", "12", "0", EventType.Cart, 1659304801), rows[1].Event);
        Assert.Equal(new BehaviorEvent("7", "12", EventReader.UnknownCategory, EventType.Purchase, 1659304900), rows[2].Event);
    }

    [Theory]
    [InlineData("1,2,3,pv\n", "column-count")]
    [InlineData("1,2,3,pv,1511540100,extra\n", "column-count")]
    [InlineData(",2,3,pv,1511540100\n", "empty-id")]
    [InlineData("1, ,3,pv,1511540100\n", "empty-id")]
    [InlineData("1,2,,pv,1511540100\n", "empty-id")]
    [InlineData("1,2,3,like,1511540100\n", "unknown-event-type")]
    [InlineData("1,2,3,pv,abc\n", "bad-timestamp")]
    [InlineData("1,2,3,pv,-5\n", "bad-timestamp")]
    [InlineData("1,2,3,pv,99999999999999\n", "bad-timestamp")]
    public void Read_MalformedTaobaoRow_ReturnsErrorCodeAndLine(string bad, string code)
    {
        var rows = Read("1,2,3,pv,1511540100\n" + bad + "4,5,6,buy,1511540200\n", EventFormat.Taobao);

        Assert.Equal(3, rows.Count);
        Assert.True(rows[0].IsValid);
        Assert.False(rows[1].IsValid);
        Assert.Equal(code, rows[1].ErrorCode);
        Assert.Equal(2, rows[1].Line);
        Assert.False(string.IsNullOrEmpty(rows[1].Error));
        Assert.Equal(bad.TrimEnd('\n'), rows[1].Raw);
        Assert.True(rows[2].IsValid, rows[2].Error);
        Assert.Equal(3, rows[2].Line);
    }

    [Theory]
    [InlineData("u1,i1,c1,view\n", "column-count")]
    [InlineData("\"\",i1,c1,view,100\n", "empty-id")]
    [InlineData("u1,i1,c1,click-ish,100\n", "unknown-event-type")]
    [InlineData("u1,i1,c1,view,not-a-date\n", "bad-timestamp")]
    public void Read_MalformedNormalizedRow_ReturnsErrorCodeAndLine(string bad, string code)
    {
        var rows = Read(EventReader.NormalizedHeader + "\nu0,i0,c0,view,1\n" + bad + "u2,i2,c2,cart,1511540003\n", EventFormat.Normalized);

        Assert.Equal(3, rows.Count);
        Assert.Equal(code, rows[1].ErrorCode);
        Assert.Equal(3, rows[1].Line);
        Assert.True(rows[2].IsValid, rows[2].Error);
        Assert.Equal(4, rows[2].Line);
    }

    [Theory]
    [InlineData("{\"session\":1,\"events\":[{\"aid\":1,\"ts\":1659304801000,\"type\":\"clicks\"}", "invalid-json")]
    [InlineData("not json at all", "invalid-json")]
    [InlineData("{\"session\":1,\"events\":[{\"ts\":1659304801000,\"type\":\"clicks\"}]}", "bad-session")]
    [InlineData("{\"session\":1,\"events\":[{\"aid\":\"x\",\"ts\":1659304801000,\"type\":\"clicks\"}]}", "bad-session")]
    [InlineData("{\"session\":1,\"events\":[{\"aid\":1,\"ts\":1659304801000,\"type\":\"likes\"}]}", "bad-session")]
    [InlineData("{\"events\":[]}", "bad-session")]
    [InlineData("{\"session\":1}", "bad-session")]
    [InlineData("[1,2,3]", "bad-session")]
    public void Read_MalformedOttoLine_ReturnsErrorCodeAndLineWithoutPartialEvents(string bad, string code)
    {
        var rows = Read(
            "{\"session\":0,\"events\":[{\"aid\":5,\"ts\":1659304801000,\"type\":\"clicks\"}]}\n" + bad + "\n" +
            "{\"session\":2,\"events\":[{\"aid\":6,\"ts\":1659304802000,\"type\":\"orders\"}]}\n",
            EventFormat.Otto);

        Assert.Equal(3, rows.Count);
        Assert.True(rows[0].IsValid);
        Assert.False(rows[1].IsValid);
        Assert.Equal(code, rows[1].ErrorCode);
        Assert.Equal(2, rows[1].Line);
        Assert.Equal(bad, rows[1].Raw);
        Assert.Equal(new BehaviorEvent("2", "6", "0", EventType.Purchase, 1659304802), rows[2].Event);
        Assert.Equal(3, rows[2].Line);
    }

    [Fact]
    public void Read_OttoEventWithoutAidAfterGoodEvents_QuarantinesWholeSession()
    {
        var rows = Read("{\"session\":1,\"events\":[{\"aid\":1,\"ts\":1659304801000,\"type\":\"clicks\"},{\"ts\":1659304802000,\"type\":\"clicks\"}]}\n", EventFormat.Otto);

        var row = Assert.Single(rows);
        Assert.Equal("bad-session", row.ErrorCode);
        Assert.Contains("event 1", row.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BlankLines_AreSkippedInEveryFormat()
    {
        var taobao = Read("\n1,2,3,pv,1511540100\n\n   \n4,5,6,buy,1511540200\n\n", EventFormat.Taobao);
        var normalized = Read(EventReader.NormalizedHeader + "\n\nu,i,c,view,1\n\n", EventFormat.Normalized);
        var otto = Read("\n{\"session\":1,\"events\":[{\"aid\":1,\"ts\":1659304801000,\"type\":\"clicks\"}]}\n  \n\n", EventFormat.Otto);

        Assert.Equal(2, taobao.Count);
        Assert.All(taobao, r => Assert.True(r.IsValid, r.Error));
        Assert.Equal([2L, 5], taobao.Select(r => r.Line));
        Assert.True(Assert.Single(normalized).IsValid);
        var o = Assert.Single(otto);
        Assert.True(o.IsValid);
        Assert.Equal(2, o.Line);
    }

    [Fact]
    public void Read_TruncatedLastTaobaoLine_IsQuarantinedAndEarlierRowsKept()
    {
        var rows = Read("1,2,3,pv,1511540100\n4,5,6,cart,1511540200\n100370,1968385,1875258,pv", EventFormat.Taobao);

        Assert.Equal(3, rows.Count);
        Assert.True(rows[0].IsValid && rows[1].IsValid);
        Assert.Equal("column-count", rows[2].ErrorCode);
        Assert.Equal(3, rows[2].Line);
        Assert.Equal("100370,1968385,1875258,pv", rows[2].Raw);
    }

    [Fact]
    public void Read_TruncatedLastOttoLine_IsQuarantinedAsInvalidJson()
    {
        var rows = Read(
            "{\"session\":1,\"events\":[{\"aid\":1,\"ts\":1659304801000,\"type\":\"clicks\"}]}\n{\"session\":2,\"events\":[{\"aid\":1,\"ts\":1659304800010",
            EventFormat.Otto);

        Assert.Equal(2, rows.Count);
        Assert.True(rows[0].IsValid);
        Assert.Equal("invalid-json", rows[1].ErrorCode);
        Assert.Equal(2, rows[1].Line);
    }

    [Fact]
    public void Read_StrayQuoteInTaobaoRow_DoesNotSwallowLaterRows()
    {
        var rows = Read("1,\"2,3,pv,1511540100\n4,5,6,pv,1511540200\n7,8,9,buy,1511540300\n", EventFormat.Taobao);

        Assert.Equal(3, rows.Count);
        Assert.Equal("bad-id", rows[0].ErrorCode);
        Assert.True(rows[1].IsValid && rows[2].IsValid);
        Assert.Equal("7", rows[2].Event.UserId);
    }

    [Fact]
    public void Read_RowLongerThanLimit_ClipsRawForQuarantine()
    {
        var longRow = "1,2,3,pv," + new string('9', 2_000);

        var row = Assert.Single(Read(longRow + "\n", EventFormat.Taobao));

        Assert.Equal("bad-timestamp", row.ErrorCode);
        Assert.True(row.Raw!.Length <= EventReader.MaxRawLength + 1, $"raw kept {row.Raw.Length} chars");
        Assert.StartsWith("1,2,3,pv,999", row.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_GarbageBytesInEveryFormat_NeverThrows()
    {
        var garbage = "\u0000\u0001,,,\"\"\"\n{{{\n\"unterminated,quote\n,,,,,,,,\n\uFFFD\uFFFD\n";

        foreach (var format in Enum.GetValues<EventFormat>())
        {
            var rows = Read(garbage, format);
            Assert.NotEmpty(rows);
            Assert.All(rows, r => Assert.False(r.IsValid, $"{format}: {r.Event}"));
            Assert.All(rows, r => Assert.NotNull(r.ErrorCode));
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("32503679999")]
    public void TryParseTimestamp_UnixSecondsInRange_Accepted(string text)
    {
        Assert.True(EventReader.TryParseTimestamp(text, allowIso: false, out var ts));
        Assert.Equal(long.Parse(text, System.Globalization.CultureInfo.InvariantCulture), ts);
    }

    [Fact]
    public void TryParseTimestamp_IsoWhenNotAllowed_Rejected()
    {
        Assert.False(EventReader.TryParseTimestamp("2017-11-25T00:00:00Z", allowIso: false, out _));
        Assert.True(EventReader.TryParseTimestamp("2017-11-25T00:00:00Z", allowIso: true, out var ts));
        Assert.Equal(1511568000, ts);
    }

    [Theory]
    [InlineData("10:30")]
    [InlineData("1960-01-01T00:00:00Z")]
    [InlineData("3500-01-01T00:00:00Z")]
    public void Read_NormalizedIsoTimestampWithoutDateOrOutOfRange_IsQuarantined(string timestamp)
    {
        var row = Assert.Single(Read($"u,i,c,view,{timestamp}\n", EventFormat.Normalized));

        Assert.False(row.IsValid, $"accepted as {row.Event.Timestamp}");
        Assert.Equal("bad-timestamp", row.ErrorCode);
    }

    [Theory]
    [InlineData("{\"session\":\"\",\"events\":[{\"aid\":1,\"ts\":1659304801000,\"type\":\"clicks\"}]}")]
    [InlineData("{\"session\":\"  \",\"events\":[{\"aid\":1,\"ts\":1659304801000,\"type\":\"clicks\"}]}")]
    [InlineData("{\"session\":1,\"events\":[{\"aid\":1,\"ts\":-5000,\"type\":\"clicks\"}]}")]
    public void Read_OttoSessionWithEmptyIdOrNegativeTs_IsQuarantined(string line)
    {
        var row = Assert.Single(Read(line + "\n", EventFormat.Otto));

        Assert.False(row.IsValid, $"accepted as {row.Event}");
        Assert.Equal("bad-session", row.ErrorCode);
    }

    [Fact]
    public void Read_NormalizedUnterminatedQuoteOnLastLine_IsQuarantinedWithoutThrowing()
    {
        var rows = Read("u,i,c,view,1\nu,\"i1", EventFormat.Normalized);

        Assert.Equal(2, rows.Count);
        Assert.True(rows[0].IsValid);
        Assert.False(rows[1].IsValid);
        Assert.Equal(2, rows[1].Line);
    }

    [Theory]
    [InlineData("pv", EventType.View)]
    [InlineData("CLICKS", EventType.View)]
    [InlineData(" favorite ", EventType.Fav)]
    [InlineData("carts", EventType.Cart)]
    [InlineData("buy", EventType.Purchase)]
    [InlineData("orders", EventType.Purchase)]
    public void EventTypesTryParse_DatasetSpellings_MapToCanonicalType(string text, EventType expected)
    {
        Assert.True(EventTypes.TryParse(text, out var type));
        Assert.Equal(expected, type);
        Assert.True(EventTypes.TryParse(type.ToName(), out var roundTrip));
        Assert.Equal(type, roundTrip);
    }

    [Fact]
    public void EventTypesTryParse_Unknown_ReturnsFalse()
    {
        Assert.False(EventTypes.TryParse("like", out _));
        Assert.False(EventTypes.TryParse(string.Empty, out _));
    }

    [Theory]
    [InlineData("taobao", EventFormat.Taobao)]
    [InlineData(" CSV ", EventFormat.Normalized)]
    [InlineData("jsonl", EventFormat.Otto)]
    public void EventFormatsTryParse_KnownNames_Parse(string text, EventFormat expected)
    {
        Assert.True(EventFormats.TryParse(text, out var format));
        Assert.Equal(expected, format);
    }

    [Fact]
    public void EventFormatsTryParse_UnknownOrNull_ReturnsFalse()
    {
        Assert.False(EventFormats.TryParse("parquet", out _));
        Assert.False(EventFormats.TryParse(null, out _));
    }

    [Fact]
    public void Read_NormalizedFourColumnHeader_ReadsEventsWithUnknownCategory()
    {
        var rows = Read("user_id,item_id,event_type,timestamp\nu1,i1,view,100\nu1,i2,purchase,200\n", EventFormat.Normalized);

        Assert.All(rows, r => Assert.True(r.IsValid, r.Error));
        Assert.Equal(new BehaviorEvent("u1", "i1", EventReader.UnknownCategory, EventType.View, 100), rows[0].Event);
        Assert.Equal([2L, 3], rows.Select(r => r.Line));
    }

    [Fact]
    public void Read_NormalizedHeaderInAnyOrderWithAliases_MapsColumnsByName()
    {
        var rows = Read("timestamp,event,item,user,category\n100,cart,i1,u1,c9\n", EventFormat.Normalized);

        Assert.Equal(new BehaviorEvent("u1", "i1", "c9", EventType.Cart, 100), Assert.Single(rows).Event);
    }

    [Fact]
    public void Read_NormalizedFourColumnsWithoutHeader_ReadsEventsAndQuarantinesRowsOfAnotherWidth()
    {
        var rows = Read("u1,i1,view,100\nu1,i2,c2,view,200\nu2,i3,cart,1511540300\n", EventFormat.Normalized);

        Assert.Equal(3, rows.Count);
        Assert.Equal(new BehaviorEvent("u1", "i1", EventReader.UnknownCategory, EventType.View, 100), rows[0].Event);
        Assert.Equal("column-count", rows[1].ErrorCode);
        Assert.True(rows[2].IsValid, rows[2].Error);
    }

    [Fact]
    public void Read_NormalizedEmptyCategory_IsUnknownCategoryNotAnError()
    {
        var rows = Read(EventReader.NormalizedHeader + "\nu1,i1,,view,100\nu1,i2,c2,view,200\n", EventFormat.Normalized);

        Assert.All(rows, r => Assert.True(r.IsValid, r.Error));
        Assert.Equal(EventReader.UnknownCategory, rows[0].Event.CategoryId);
        Assert.Equal("c2", rows[1].Event.CategoryId);
    }

    [Fact]
    public void Read_NormalizedHeaderWithoutTimestamp_QuarantinesTheFileWithTheReason()
    {
        var rows = Read("user_id,item_id,category_id,event_type\nu1,i1,c1,view\n", EventFormat.Normalized);

        var bad = Assert.Single(rows);
        Assert.Equal("bad-header", bad.ErrorCode);
        Assert.Contains("timestamp", bad.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TaobaoEmptyCategory_IsStillQuarantined()
    {
        var rows = Read("1,2,,pv,1511540100\n", EventFormat.Taobao);

        Assert.Equal("empty-id", Assert.Single(rows).ErrorCode);
    }

    [Fact]
    public void Read_SasrecLines_GiveOrderedPurchasesWithSyntheticTimes()
    {
        var rows = Read("7 10 11 12\n8 10\n\n9\n", EventFormat.Sasrec);

        Assert.Equal(5, rows.Count);
        Assert.Equal(new BehaviorEvent("7", "10", EventReader.UnknownCategory, EventType.Purchase, EventReader.SasrecBaseTimestamp), rows[0].Event);
        Assert.Equal(EventReader.SasrecBaseTimestamp + 2, rows[2].Event.Timestamp);
        Assert.Equal(["10", "11", "12", "10"], rows.Take(4).Select(r => r.Event.ItemId));
        Assert.Equal("column-count", rows[4].ErrorCode);
        Assert.Equal(4, rows[4].Line);
    }
}
