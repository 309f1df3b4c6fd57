using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

/// <summary>Each format's documented grammar (<see cref="InputGrammar"/>): phantom ids and words are quarantined with a
/// code, and a seeded fuzzer checks that the quarantined rows are exactly the damaged ones in every format.</summary>
public sealed class InputGrammarTests
{
    private const string Good = "1,2,3,pv,1511540000";

    [Theory]
    [InlineData("\"123\",2,3,pv,1511540000", "bad-id")]          // a quoted id (the Taobao file has no quoting)
    [InlineData("u123,2,3,pv,1511540000", "bad-id")]             // Taobao ids are integers
    [InlineData("1\u0000,2,3,pv,1511540000", "bad-id")]          // NUL byte
    [InlineData("1,2,3,click,1511540000", "unknown-event-type")] // Taobao words are pv|fav|cart|buy only
    [InlineData("1,2,3,PV,1511540000", "unknown-event-type")]
    [InlineData("1,2,3,pv,1", "bad-timestamp")]                  // 1970
    [InlineData("1,2,3,pv,4102444800", "bad-timestamp")]         // 2100
    [InlineData("1,2,3 4,pv,1511540000", "bad-id")]
    public void Read_TaobaoPhantoms_AreQuarantinedWithACode(string row, string code)
    {
        var rows = EventReader.Read(Utf8(Good + "\n" + row + "\n" + Good + "\n"), EventFormat.Taobao).ToList();

        Assert.Equal(3, rows.Count);
        Assert.True(rows[0].IsValid && rows[2].IsValid);
        Assert.Equal(code, rows[1].ErrorCode);
        Assert.Equal(2, rows[1].Line);
    }

    [Fact]
    public void Read_OneMegabyteId_IsQuarantinedAsTooLongInEveryFormat()
    {
        var huge = new string('7', 1 << 20);
        Assert.Equal("id-too-long", Single($"{huge},2,3,pv,1511540000", EventFormat.Taobao).ErrorCode);
        Assert.Equal("id-too-long", Single($"u{huge},i,c,view,100", EventFormat.Normalized).ErrorCode);
        Assert.Equal("id-too-long", Single($"1 {huge}", EventFormat.Sasrec).ErrorCode);
        Assert.False(Single($"{{\"session\":{huge},\"events\":[{{\"aid\":1,\"ts\":1659304800000,\"type\":\"clicks\"}}]}}", EventFormat.Otto).IsValid);
        Assert.True(Single($"{new string('7', InputGrammar.MaxIdLength)},2,3,pv,1511540000", EventFormat.Taobao).IsValid);
        Assert.Equal("id-too-long", Single($"{new string('7', InputGrammar.MaxIdLength + 1)},2,3,pv,1511540000", EventFormat.Taobao).ErrorCode);
    }

    [Fact]
    public void Read_InvalidUtf8InAnId_IsQuarantinedNotDecodedIntoAnotherId()
    {
        var bytes = Encoding.UTF8.GetBytes("12").Concat(new byte[] { 0xFF, 0xFE }).Concat(Encoding.UTF8.GetBytes("3,2,3,pv,1511540000\n")).ToArray();

        var taobao = Assert.Single(EventReader.Read(new MemoryStream(bytes), EventFormat.Taobao));
        var normalized = Assert.Single(EventReader.Read(new MemoryStream(bytes), EventFormat.Normalized));

        Assert.Equal("bad-id", taobao.ErrorCode);
        Assert.Equal("bad-id", normalized.ErrorCode);
    }

    [Theory]
    [InlineData("{\"session\":\"u1\",\"events\":[{\"aid\":1,\"ts\":1659304800000,\"type\":\"clicks\"}]}")]
    [InlineData("{\"session\":1,\"events\":[{\"aid\":1.5,\"ts\":1659304800000,\"type\":\"clicks\"}]}")]
    [InlineData("{\"session\":1,\"events\":[{\"aid\":1,\"ts\":1000,\"type\":\"clicks\"}]}")]
    [InlineData("{\"session\":1,\"events\":[{\"aid\":1,\"ts\":1659304800000,\"type\":\"click\"}]}")]
    [InlineData("{\"session\":1,\"events\":[{\"aid\":1,\"ts\":1659304800000,\"type\":\"Clicks\"}]}")]
    public void Read_OttoPhantoms_AreQuarantined(string line)
    {
        Assert.Equal("bad-session", Single(line, EventFormat.Otto).ErrorCode);
    }

    [Theory]
    [InlineData("u1,i1,c1,view,1")] // synthetic clocks are valid in the normalized format
    [InlineData("u1,i1,,click,100")] // empty category = unknown; the normalized format takes the documented aliases
    [InlineData("\"u1\",i1,c1,view,100")] // CSV quoting
    [InlineData("u1,i1,c1,view,100\r")] // CRLF
    public void Read_NormalizedDocumentedInput_IsAccepted(string row)
    {
        Assert.True(Single(row, EventFormat.Normalized).IsValid);
    }

    public enum Damage
    {
        BadId,
        UnknownWord,
        ExtraColumn,
        MissingColumn,
        Truncated,
        MegabyteField,
        InvalidUtf8,
        AbsurdTimestamp,
        NulByte,
    }

    /// <summary>Damages the format cannot detect because the damaged row is valid input there (documented in
    /// <see cref="InputGrammar"/> and the README): none for Taobao; the others as listed.</summary>
    private static readonly Dictionary<EventFormat, Damage[]> NotApplicable = new()
    {
        [EventFormat.Taobao] = [],
        [EventFormat.Normalized] = [],
        [EventFormat.Otto] = [Damage.ExtraColumn],                                    // JSON objects are open: an extra property is valid
        [EventFormat.Sasrec] = [Damage.UnknownWord, Damage.ExtraColumn, Damage.AbsurdTimestamp], // no words or times; one more item is a longer sequence
    };

    [Theory]
    [InlineData(EventFormat.Taobao, 11)]
    [InlineData(EventFormat.Normalized, 12)]
    [InlineData(EventFormat.Otto, 13)]
    [InlineData(EventFormat.Sasrec, 14)]
    public async Task Fuzz_OnePercentDamagedRows_QuarantinedRowsAreExactlyTheDamagedOnes(EventFormat format, int seed)
    {
        const int Rows = 3000;
        var random = new Random(seed);
        var kinds = Enum.GetValues<Damage>().Except(NotApplicable[format]).ToArray();
        var output = new MemoryStream();
        var physical = 0L;
        var damagedLines = new SortedSet<long>();
        var megabytes = 0;
        long expectedEvents = 0;
        var next = 0;
        if (format == EventFormat.Normalized)
        {
            Write(output, EventReader.NormalizedHeader + "\n");
            physical++;
        }
        for (var r = 0; r < Rows; r++)
        {
            var (clean, events) = CleanRow(format, r, random);
            byte[] line;
            if (random.NextDouble() < 0.01)
            {
                var kind = kinds[next++ % kinds.Length];
                if (kind == Damage.MegabyteField && megabytes++ > 0)
                {
                    kind = Damage.BadId; // one megabyte row per format is enough
                }
                line = Apply(format, kind, clean, random);
                damagedLines.Add(physical + 1);
            }
            else
            {
                line = Encoding.UTF8.GetBytes(clean);
                expectedEvents += events;
            }
            output.Write(line);
            physical++;
            // Valid input variations on undamaged and damaged rows alike: CRLF line ends and blank lines.
            Write(output, random.NextDouble() < 0.01 ? "\r\n" : "\n");
            if (random.NextDouble() < 0.01)
            {
                Write(output, "\n");
                physical++;
            }
        }
        Assert.True(damagedLines.Count >= kinds.Length, $"only {damagedLines.Count} damaged rows");

        output.Position = 0;
        var rows = EventReader.Read(new MemoryStream(output.ToArray()), format).ToList();
        var quarantined = rows.Where(r => !r.IsValid).Select(r => r.Line).ToList();
        var store = new InMemoryBlobStore();
        var summary = await new EventIngestor(store, NullLogger<EventIngestor>.Instance).IngestAsync(new MemoryStream(output.ToArray()), "fuzz", format, "fuzz");

        Assert.Equal(damagedLines, new SortedSet<long>(quarantined));
        Assert.Equal(quarantined.Count, quarantined.Distinct().Count());
        Assert.Equal(damagedLines.Count, summary.Quarantined);
        Assert.Equal(expectedEvents, summary.Events);
        Assert.Equal(expectedEvents, rows.Count(r => r.IsValid));
    }

    private static (string Row, int Events) CleanRow(EventFormat format, int r, Random random)
    {
        var user = 1000 + random.Next(500);
        var item = 50_000 + random.Next(10_000);
        var ts = 1_511_540_000L + (r * 37L);
        return format switch
        {
            EventFormat.Taobao => ($"{user},{item},{item % 97},{new[] { "pv", "fav", "cart", "buy" }[random.Next(4)]},{ts}", 1),
            EventFormat.Normalized => ($"u{user},i{item},c{item % 97},{new[] { "view", "fav", "cart", "purchase" }[random.Next(4)]},{ts}", 1),
            EventFormat.Otto => ($"{{\"session\":{user},\"events\":[{{\"aid\":{item},\"ts\":{ts * 1000},\"type\":\"clicks\"}},{{\"aid\":{item + 1},\"ts\":{(ts + 5) * 1000},\"type\":\"orders\"}}]}}", 2),
            _ => ($"{user} {item} {item + 1} {item + 2}", 3),
        };
    }

    private static byte[] Apply(EventFormat format, Damage kind, string clean, Random random)
    {
        var huge = new string('9', 1 << 20);
        string text = (format, kind) switch
        {
            (EventFormat.Otto, Damage.BadId) => clean.Replace("\"session\":", "\"session\":\"u", StringComparison.Ordinal).Replace(",\"events\"", "\",\"events\"", StringComparison.Ordinal),
            (EventFormat.Otto, Damage.UnknownWord) => clean.Replace("clicks", "likes", StringComparison.Ordinal),
            (EventFormat.Otto, Damage.MissingColumn) => clean.Replace("\"aid\":", "\"item\":", StringComparison.Ordinal),
            (EventFormat.Otto, Damage.Truncated) => clean[..(1 + random.Next(clean.Length - 1))],
            (EventFormat.Otto, Damage.MegabyteField) => clean.Replace("\"session\":", "\"session\":" + huge, StringComparison.Ordinal),
            (EventFormat.Otto, Damage.AbsurdTimestamp) => ReplaceTs(clean),
            (EventFormat.Otto, Damage.NulByte) => clean.Replace("clicks", "cli\u0000cks", StringComparison.Ordinal),
            (EventFormat.Otto, Damage.InvalidUtf8) => clean,
            (EventFormat.Sasrec, Damage.BadId) => clean.Insert(clean.IndexOf(' ', StringComparison.Ordinal) + 1, "\""),
            (EventFormat.Sasrec, Damage.MissingColumn or Damage.Truncated) => clean[..clean.IndexOf(' ', StringComparison.Ordinal)],
            (EventFormat.Sasrec, Damage.MegabyteField) => clean + " " + huge,
            (EventFormat.Sasrec, Damage.NulByte) => clean + "\u0000",
            (EventFormat.Sasrec, Damage.InvalidUtf8) => clean,
            (_, Damage.BadId) => format == EventFormat.Taobao ? "u" + clean : "u x" + clean,
            (_, Damage.UnknownWord) => ReplaceColumn(clean, 3, "click_through"),
            (_, Damage.ExtraColumn) => clean + ",extra",
            (_, Damage.MissingColumn) => clean[..clean.LastIndexOf(',')],
            // Normalized: a timestamp cut short is still a valid Unix time (synthetic clocks are accepted), so the cut
            // falls before the timestamp; Taobao's is then implausible (1970s) and caught.
            (_, Damage.Truncated) => clean[..(1 + random.Next((format == EventFormat.Normalized ? clean.LastIndexOf(',') + 1 : clean.Length) - 1))],
            (_, Damage.MegabyteField) => ReplaceColumn(clean, 1, huge),
            (_, Damage.AbsurdTimestamp) => ReplaceColumn(clean, 4, format == EventFormat.Taobao ? "1" : "99999999999999"),
            (_, Damage.NulByte) => "1\u0000" + clean,
            (_, Damage.InvalidUtf8) => clean,
            _ => throw new InvalidOperationException($"{kind} does not apply to {format}"),
        };
        var bytes = Encoding.UTF8.GetBytes(text);
        if (kind == Damage.InvalidUtf8)
        {
            // Invalid bytes inside the first id (Otto: inside the type word).
            var at = format == EventFormat.Otto ? text.IndexOf("clicks", StringComparison.Ordinal) + 2 : 1;
            bytes = [.. bytes[..at], 0xC3, 0x28, 0xFF, .. bytes[at..]];
        }
        return bytes;
    }

    private static string ReplaceTs(string clean)
    {
        var start = clean.IndexOf("\"ts\":", StringComparison.Ordinal) + 5;
        var end = clean.IndexOf(',', start);
        return clean[..start] + "1" + clean[end..];
    }

    private static string ReplaceColumn(string clean, int column, string value)
    {
        var parts = clean.Split(',');
        parts[column] = value;
        return string.Join(',', parts);
    }

    private static ParsedRow Single(string row, EventFormat format) => Assert.Single(EventReader.Read(Utf8(row + "\n"), format));

    private static MemoryStream Utf8(string text) => new(new UTF8Encoding(false).GetBytes(text));

    private static void Write(Stream stream, string text) => stream.Write(Encoding.UTF8.GetBytes(text));
}
