using System.Globalization;
using System.Text.Json;
using nietras.SeparatedValues;
using RoleGen.Core.Events;

namespace RoleGen.Core.Ingest;

/// <summary>One input row: either a parsed event or the reason it was quarantined. A source row can yield several
/// events (OTTO sessions), all carrying the row's line number.</summary>
public readonly record struct ParsedRow(long Line, BehaviorEvent Event, string? Error, string? Raw, string? ErrorCode = null)
{
    public bool IsValid => Error is null;
}

/// <summary>Streaming readers for the supported formats. They never throw on a bad row: a bad row comes back with
/// <see cref="ParsedRow.Error"/> set so that the caller can quarantine it. Memory is bounded by one row.</summary>
public static class EventReader
{
    /// <summary>Maximum characters of a bad row kept for the quarantine file.</summary>
    public const int MaxRawLength = 512;

    /// <summary>The documented normalized header.</summary>
    public const string NormalizedHeader = "user_id,item_id,category_id,event_type,timestamp";

    public static IEnumerable<ParsedRow> Read(Stream stream, EventFormat format) => Read(stream, format, allowHeader: true);

    /// <summary>As <see cref="Read(Stream, EventFormat)"/>; <paramref name="allowHeader"/> false reads a normalized file that is
    /// known to have no header (internal spool files), so no row is ever taken for one.</summary>
    public static IEnumerable<ParsedRow> Read(Stream stream, EventFormat format, bool allowHeader)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var text = new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        return format switch
        {
            EventFormat.Taobao => ReadCsv(text, normalized: false, allowHeader: false),
            EventFormat.Normalized => ReadCsv(text, normalized: true, allowHeader),
            EventFormat.Otto => ReadOtto(text),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
        };
    }

    private static IEnumerable<ParsedRow> ReadCsv(TextReader text, bool normalized, bool allowHeader)
    {
        using (text)
        {
            // Quotes are legal in the normalized schema (ids may be quoted); the Taobao file never has them, and
            // disabling quote parsing there keeps one stray quote from swallowing the rest of the file.
            using var reader = Sep.New(',').Reader(o => o with
            {
                HasHeader = false,
                DisableColCountCheck = true,
                DisableQuotesParsing = !normalized,
                Unescape = normalized,
            }).From(text);
            var first = true;
            foreach (var row in reader)
            {
                // Line numbers are 1-based row indices (Sep yields blank lines as rows; a quoted field spanning lines would shift them).
                var line = (long)row.RowIndex + 1;
                if (first)
                {
                    first = false;
                    if (allowHeader && IsHeader(row))
                    {
                        continue; // optional header: the whole row must be the documented column names
                    }
                }
                if (row.ColCount == 1 && row[0].Span.Trim().IsEmpty)
                {
                    continue; // blank line
                }
                if (row.ColCount != 5)
                {
                    yield return Bad(line, "column-count", $"expected 5 columns, found {row.ColCount}", row.Span);
                    continue;
                }
                var user = row[0].Span.Trim();
                var item = row[1].Span.Trim();
                var category = row[2].Span.Trim();
                if (user.IsEmpty || item.IsEmpty)
                {
                    yield return Bad(line, "empty-id", user.IsEmpty ? "empty user id" : "empty item id", row.Span);
                    continue;
                }
                if (category.IsEmpty)
                {
                    yield return Bad(line, "empty-id", "empty category id", row.Span);
                    continue;
                }
                if (!EventTypes.TryParse(row[3].Span, out var type))
                {
                    yield return Bad(line, "unknown-event-type", $"unknown event type '{Clip(row[3].Span)}' (expected {(normalized ? "view|fav|cart|purchase" : "pv|fav|cart|buy")})", row.Span);
                    continue;
                }
                if (!TryParseTimestamp(row[4].Span, allowIso: normalized, out var ts))
                {
                    yield return Bad(line, "bad-timestamp", $"bad timestamp '{Clip(row[4].Span)}' (expected Unix seconds{(normalized ? " or ISO-8601" : string.Empty)})", row.Span);
                    continue;
                }
                yield return new ParsedRow(line, new BehaviorEvent(user.ToString(), item.ToString(), category.ToString(), type, ts), null, null);
            }
        }
    }

    private static readonly string[] HeaderNames = NormalizedHeader.Split(',');

    private static bool IsHeader(SepReader.Row row)
    {
        if (row.ColCount != HeaderNames.Length)
        {
            return false;
        }
        for (var i = 0; i < HeaderNames.Length; i++)
        {
            if (!row[i].Span.Trim().Equals(HeaderNames[i], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }
        return true;
    }

    private static IEnumerable<ParsedRow> ReadOtto(TextReader text)
    {
        using (text)
        {
            long line = 0;
            while (text.ReadLine() is { } raw)
            {
                line++;
                if (string.IsNullOrWhiteSpace(raw))
                {
                    continue;
                }
                var (events, error) = ParseOttoSession(raw);
                if (error is not null)
                {
                    yield return Bad(line, error.StartsWith("invalid JSON", StringComparison.Ordinal) ? "invalid-json" : "bad-session", error, raw);
                    continue;
                }
                foreach (var e in events!)
                {
                    yield return new ParsedRow(line, e, null, null);
                }
            }
        }
    }

    /// <summary>OTTO has no categories: events get category "0" (unknown), which downstream code treats as one bucket.</summary>
    public const string UnknownCategory = "0";

    private static (List<BehaviorEvent>? Events, string? Error) ParseOttoSession(string raw)
    {
        try
        {
            using var doc = JsonDocument.Parse(raw);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, "not a JSON object");
            }
            if (!root.TryGetProperty("session", out var session) || session.ValueKind is not (JsonValueKind.Number or JsonValueKind.String))
            {
                return (null, "missing 'session'");
            }
            if (!root.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
            {
                return (null, "missing 'events' array");
            }
            var user = session.ValueKind == JsonValueKind.Number ? session.GetRawText() : session.GetString()!;
            if (string.IsNullOrWhiteSpace(user))
            {
                return (null, "empty 'session' id");
            }
            var list = new List<BehaviorEvent>(events.GetArrayLength());
            var index = 0;
            foreach (var e in events.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object ||
                    !e.TryGetProperty("aid", out var aid) || aid.ValueKind != JsonValueKind.Number ||
                    !e.TryGetProperty("ts", out var ts) || !ts.TryGetInt64(out var millis) ||
                    !e.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                {
                    return (null, $"event {index} lacks a numeric aid, an integer ts or a string type");
                }
                if (millis < 0)
                {
                    return (null, $"event {index} has a negative ts");
                }
                if (!EventTypes.TryParse(type.GetString(), out var eventType))
                {
                    return (null, $"event {index} has unknown type '{type.GetString()}' (expected clicks|carts|orders)");
                }
                list.Add(new BehaviorEvent(user, aid.GetRawText(), UnknownCategory, eventType, millis / 1000));
                index++;
            }
            return (list, null);
        }
        catch (JsonException ex)
        {
            return (null, $"invalid JSON ({ex.Message})");
        }
    }

    public static bool TryParseTimestamp(ReadOnlySpan<char> text, bool allowIso, out long unixSeconds)
    {
        var t = text.Trim();
        if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out unixSeconds))
        {
            return unixSeconds is >= 0 and < 32_503_680_000; // before year 3000
        }
        // ISO-8601 with a full date (yyyy-MM-dd...): a time alone would silently mean "today" and break reproducibility.
        if (allowIso && t.Length >= 10 && t[4] == '-' && t[7] == '-' &&
            DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto))
        {
            unixSeconds = dto.ToUnixTimeSeconds();
            return unixSeconds is >= 0 and < 32_503_680_000;
        }
        unixSeconds = 0;
        return false;
    }

    private static ParsedRow Bad(long line, string code, string reason, ReadOnlySpan<char> raw) => new(line, default, reason, Clip(raw, MaxRawLength), code);

    private static ParsedRow Bad(long line, string code, string reason, string raw) => new(line, default, reason, Clip(raw.AsSpan(), MaxRawLength), code);

    private static string Clip(ReadOnlySpan<char> s, int max = 40) => s.Length <= max ? s.ToString() : string.Concat(s[..max], "…");
}
