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

    /// <summary>Reads an external log: every row is held to its format's grammar (<see cref="InputGrammar"/>).</summary>
    public static IEnumerable<ParsedRow> Read(Stream stream, EventFormat format) => Read(stream, format, allowHeader: true);

    /// <summary>As <see cref="Read(Stream, EventFormat)"/>; <paramref name="allowHeader"/> false reads a normalized file that is
    /// known to have no header (internal spool files), so no row is ever taken for one. <paramref name="trusted"/>: the file
    /// was written by RoleGen (dataset parts), so only its structure is checked, not the input grammar.</summary>
    public static IEnumerable<ParsedRow> Read(Stream stream, EventFormat format, bool allowHeader, bool trusted = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var text = new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        return format switch
        {
            EventFormat.Taobao => ReadCsv(text, normalized: false, allowHeader: false, strict: !trusted),
            EventFormat.Normalized => ReadCsv(text, normalized: true, allowHeader, strict: !trusted),
            EventFormat.Otto => ReadOtto(text, strict: !trusted),
            EventFormat.Sasrec => ReadSasrec(text, strict: !trusted),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
        };
    }

    /// <summary>Column positions of a CSV layout (category -1 when the file has none).</summary>
    private readonly record struct CsvLayout(int Columns, int User, int Item, int Category, int Type, int Timestamp)
    {
        public static readonly CsvLayout WithCategory = new(5, 0, 1, 2, 3, 4);

        public static readonly CsvLayout WithoutCategory = new(4, 0, 1, -1, 2, 3);

        public string Describe => Category >= 0 ? "user_id,item_id,category_id,event_type,timestamp" : "user_id,item_id,event_type,timestamp";
    }

    /// <summary>Header names accepted per column of the normalized schema (case-insensitive).</summary>
    private static readonly (string Column, string[] Names)[] HeaderAliases =
    [
        ("user", ["user_id", "user", "userid", "session", "visitor_id"]),
        ("item", ["item_id", "item", "itemid", "aid", "product_id"]),
        ("category", ["category_id", "category", "categoryid", "cat_id"]),
        ("type", ["event_type", "event", "type", "behavior", "behaviour", "action"]),
        ("timestamp", ["timestamp", "ts", "time", "event_time"]),
    ];

    private static IEnumerable<ParsedRow> ReadCsv(TextReader text, bool normalized, bool allowHeader, bool strict)
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
            // The layout is fixed by the header, else by the first data row (normalized: 5 columns with a category, 4
            // without); every later row must match it, so a row with an extra or a missing column is quarantined.
            CsvLayout? layout = normalized ? null : CsvLayout.WithCategory;
            var first = true;
            foreach (var row in reader)
            {
                // Line numbers are 1-based row indices (Sep yields blank lines as rows; a quoted field spanning lines would shift them).
                var line = (long)row.RowIndex + 1;
                if (row.ColCount == 1 && row[0].Span.Trim().IsEmpty)
                {
                    continue; // blank line
                }
                if (first)
                {
                    first = false;
                    if (normalized && allowHeader && TryHeader(row, out var header, out var headerError))
                    {
                        if (headerError is not null)
                        {
                            yield return Bad(line, "bad-header", headerError, row.Span);
                            yield break;
                        }
                        layout = header;
                        continue;
                    }
                    layout ??= row.ColCount == 4 ? CsvLayout.WithoutCategory : CsvLayout.WithCategory;
                }
                var l = layout!.Value;
                if (row.ColCount != l.Columns)
                {
                    yield return Bad(line, "column-count", $"expected {l.Columns} columns ({l.Describe}), found {row.ColCount}", row.Span);
                    continue;
                }
                var user = row[l.User].Span.Trim();
                var item = row[l.Item].Span.Trim();
                var category = l.Category >= 0 ? row[l.Category].Span.Trim() : [];
                if (user.IsEmpty || item.IsEmpty)
                {
                    yield return Bad(line, "empty-id", user.IsEmpty ? "empty user id" : "empty item id", row.Span);
                    continue;
                }
                if (category.IsEmpty && !normalized)
                {
                    yield return Bad(line, "empty-id", "empty category id", row.Span);
                    continue;
                }
                if (strict && (InputGrammar.IdProblem(user, "user", digitsOnly: !normalized) ?? InputGrammar.IdProblem(item, "item", digitsOnly: !normalized)
                    ?? (category.IsEmpty ? null : InputGrammar.IdProblem(category, "category", digitsOnly: !normalized))) is { } idProblem)
                {
                    yield return Bad(line, idProblem.Code, idProblem.Reason, row.Span);
                    continue;
                }
                if (!(strict && !normalized ? TryParseTaobaoType(row[l.Type].Span, out var type) : EventTypes.TryParse(row[l.Type].Span, out type)))
                {
                    yield return Bad(line, "unknown-event-type", $"unknown event type '{Clip(row[l.Type].Span)}' (expected {(normalized ? "view|fav|cart|purchase" : "pv|fav|cart|buy")})", row.Span);
                    continue;
                }
                if (!TryParseTimestamp(row[l.Timestamp].Span, allowIso: normalized, out var ts) || (strict && !normalized && !InputGrammar.IsPlausible(ts)))
                {
                    yield return Bad(line, "bad-timestamp", $"bad timestamp '{Clip(row[l.Timestamp].Span)}' (expected Unix seconds{(normalized ? " or ISO-8601" : " from 2000 to 2100")})", row.Span);
                    continue;
                }
                // A missing category (no column, or an empty cell) is data, not an error: the item's category is unknown.
                yield return new ParsedRow(line, new BehaviorEvent(user.ToString(), item.ToString(), category.IsEmpty ? UnknownCategory : category.ToString(), type, ts), null, null);
            }
        }
    }

    /// <summary>True when the row is a header: every cell is a known column name (<see cref="HeaderAliases"/>).
    /// <paramref name="error"/>: a header that names a column twice or lacks a required one (user, item, event type,
    /// timestamp); no row of such a file can be read.</summary>
    private static bool TryHeader(SepReader.Row row, out CsvLayout layout, out string? error)
    {
        layout = default;
        error = null;
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < row.ColCount; i++)
        {
            var cell = row[i].Span.Trim();
            string? column = null;
            foreach (var (c, names) in HeaderAliases)
            {
                foreach (var n in names)
                {
                    if (cell.Equals(n, StringComparison.OrdinalIgnoreCase))
                    {
                        column = c;
                    }
                }
            }
            if (column is null)
            {
                return false; // a data row (an unknown header is then quarantined like one)
            }
            if (!positions.TryAdd(column, i))
            {
                error = $"the header names the {column} column twice";
                return true;
            }
        }
        var missing = new[] { "user", "item", "type", "timestamp" }.Where(c => !positions.ContainsKey(c)).ToArray();
        if (missing.Length > 0)
        {
            error = $"the header lacks the {string.Join(", ", missing)} column(s) (expected {NormalizedHeader}; category_id is optional)";
            return true;
        }
        layout = new CsvLayout(row.ColCount, positions["user"], positions["item"], positions.GetValueOrDefault("category", -1), positions["type"], positions["timestamp"]);
        return true;
    }

    /// <summary>Synthetic time of the first event of a SASRec line (event i: this + i seconds).</summary>
    public const long SasrecBaseTimestamp = 1_500_000_000;

    /// <summary>The Taobao (UserBehavior) behaviour words, exactly as the dataset documents them.</summary>
    private static bool TryParseTaobaoType(ReadOnlySpan<char> text, out EventType type)
    {
        var t = text.Trim();
        (var ok, type) = t switch
        {
            "pv" => (true, EventType.View),
            "fav" => (true, EventType.Fav),
            "cart" => (true, EventType.Cart),
            "buy" => (true, EventType.Purchase),
            _ => (false, default(EventType)),
        };
        return ok;
    }

    private static IEnumerable<ParsedRow> ReadSasrec(TextReader text, bool strict)
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
                var parts = raw.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 2)
                {
                    yield return Bad(line, "column-count", "expected a user id followed by at least one item id", raw);
                    continue;
                }
                if (strict && parts.Select((p, i) => InputGrammar.IdProblem(p, i == 0 ? "user" : "item", digitsOnly: false)).FirstOrDefault(p => p is not null) is { } idProblem)
                {
                    yield return Bad(line, idProblem.Code, idProblem.Reason, raw);
                    continue;
                }
                for (var i = 1; i < parts.Length; i++)
                {
                    yield return new ParsedRow(line, new BehaviorEvent(parts[0], parts[i], UnknownCategory, EventType.Purchase, SasrecBaseTimestamp + i - 1), null, null);
                }
            }
        }
    }

    private static IEnumerable<ParsedRow> ReadOtto(TextReader text, bool strict)
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
                var (events, error) = ParseOttoSession(raw, strict);
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

    private static (List<BehaviorEvent>? Events, string? Error) ParseOttoSession(string raw, bool strict)
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
            if (strict && InputGrammar.IdProblem(user, "session", digitsOnly: true) is { } sessionProblem)
            {
                return (null, sessionProblem.Reason);
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
                if (strict && !InputGrammar.IsPlausible(millis / 1000))
                {
                    return (null, $"event {index} has ts {millis} outside 2000-2100 (milliseconds)");
                }
                if (strict && InputGrammar.IdProblem(aid.GetRawText(), "aid", digitsOnly: true) is { } aidProblem)
                {
                    return (null, $"event {index}: {aidProblem.Reason}");
                }
                if (strict ? type.GetString() is not ("clicks" or "carts" or "orders") || !EventTypes.TryParse(type.GetString(), out var eventType)
                    : !EventTypes.TryParse(type.GetString(), out eventType))
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
