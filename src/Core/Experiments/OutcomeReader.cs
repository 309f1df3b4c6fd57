using System.Globalization;
using nietras.SeparatedValues;

namespace RoleGen.Core.Experiments;

/// <summary>One outcome CSV row: either a parsed <see cref="Event"/> or the quarantine <see cref="Reason"/> code with the
/// clipped <see cref="Raw"/> row (kept so an operator can see what the channel sent).</summary>
public sealed record OutcomeRecord(long Line, OutcomeEvent? Event, string? Reason, string? Raw)
{
    public bool IsValid => Event is not null;
}

/// <summary>Streaming reader of outcome files <c>user,item,type,timestamp[,runId]</c> (an optional first line whose first
/// field starts with "user" and whose third is not a type is a header). Outcomes come from channels RoleGen does not control, so like
/// <see cref="Ingest.EventReader"/> it never throws on a bad row: the row comes back with a quarantine code so the
/// caller can count it, and memory is bounded by one row.</summary>
/// <remarks>
/// Quarantine codes: <c>too-few-fields</c> (fewer than 4 columns), <c>too-many-fields</c> (more than 5),
/// <c>empty-user</c>, <c>empty-item</c>, <c>bad-type</c>, <c>bad-timestamp</c>.
/// Types (case-insensitive): impression|imp, click|clk, cart, order|buy|purchase. The list is strict on purpose:
/// "view"/"pv" are behaviour-log words for a page view, not an impression of a recommendation, so guessing would inflate
/// impressions.
/// Timestamps are integer Unix seconds; values above 1e11 (year 5138 in seconds, 1973 in milliseconds) are taken as
/// milliseconds and floored to seconds, because tracking pipelines commonly export milliseconds while the behaviour log
/// uses seconds.
/// </remarks>
public static class OutcomeReader
{
    /// <summary>Maximum characters of a bad row kept in <see cref="OutcomeRecord.Raw"/>.</summary>
    public const int MaxRawLength = Ingest.EventReader.MaxRawLength;

    /// <summary>Above this a timestamp is taken as Unix milliseconds.</summary>
    public const long MillisecondsThreshold = 100_000_000_000;

    /// <summary>Year 3000 in Unix seconds: later timestamps are typos, not outcomes.</summary>
    private const long MaxUnixSeconds = 32_503_680_000;

    public static class Codes
    {
        public const string TooFewFields = "too-few-fields";
        public const string TooManyFields = "too-many-fields";
        public const string EmptyUser = "empty-user";
        public const string EmptyItem = "empty-item";
        public const string BadType = "bad-type";
        public const string BadTimestamp = "bad-timestamp";
    }

    public static IEnumerable<OutcomeRecord> Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Read(new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16));
    }

    /// <summary>Reads and disposes <paramref name="text"/>.</summary>
    public static IEnumerable<OutcomeRecord> Read(TextReader text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ReadCore(text);
    }

    private static IEnumerable<OutcomeRecord> ReadCore(TextReader text)
    {
        using (text)
        {
            // Ids may be quoted by export tools (as in the normalized event schema), so quotes are parsed and unescaped.
            using var reader = Sep.New(',').Reader(o => o with
            {
                HasHeader = false,
                DisableColCountCheck = true,
                Unescape = true,
            }).From(text);
            var first = true;
            foreach (var row in reader)
            {
                var line = (long)row.RowIndex + 1;
                if (first)
                {
                    first = false;
                    if (IsHeader(row))
                    {
                        continue;
                    }
                }
                if (row.ColCount == 1 && row[0].Span.Trim().IsEmpty)
                {
                    continue; // blank line
                }
                if (row.ColCount < 4)
                {
                    yield return Bad(line, Codes.TooFewFields, row.Span);
                    continue;
                }
                if (row.ColCount > 5)
                {
                    yield return Bad(line, Codes.TooManyFields, row.Span);
                    continue;
                }
                var user = row[0].Span.Trim();
                if (user.IsEmpty)
                {
                    yield return Bad(line, Codes.EmptyUser, row.Span);
                    continue;
                }
                var item = row[1].Span.Trim();
                if (item.IsEmpty)
                {
                    yield return Bad(line, Codes.EmptyItem, row.Span);
                    continue;
                }
                if (!TryParseType(row[2].Span, out var type))
                {
                    yield return Bad(line, Codes.BadType, row.Span);
                    continue;
                }
                if (!TryParseTimestamp(row[3].Span, out var ts))
                {
                    yield return Bad(line, Codes.BadTimestamp, row.Span);
                    continue;
                }
                var runId = row.ColCount == 5 ? row[4].Span.Trim() : default;
                yield return new OutcomeRecord(line, new OutcomeEvent(user.ToString(), item.ToString(), type, ts, runId.IsEmpty ? null : runId.ToString()), null, null);
            }
        }
    }

    /// <summary>Parses an outcome type name or one of its accepted aliases (case-insensitive, surrounding spaces ignored).</summary>
    public static bool TryParseType(ReadOnlySpan<char> text, out OutcomeType type)
    {
        var t = text.Trim();
        if (t.Equals("impression", StringComparison.OrdinalIgnoreCase) || t.Equals("imp", StringComparison.OrdinalIgnoreCase))
        {
            type = OutcomeType.Impression;
            return true;
        }
        if (t.Equals("click", StringComparison.OrdinalIgnoreCase) || t.Equals("clk", StringComparison.OrdinalIgnoreCase))
        {
            type = OutcomeType.Click;
            return true;
        }
        if (t.Equals("cart", StringComparison.OrdinalIgnoreCase))
        {
            type = OutcomeType.Cart;
            return true;
        }
        if (t.Equals("order", StringComparison.OrdinalIgnoreCase) || t.Equals("buy", StringComparison.OrdinalIgnoreCase) ||
            t.Equals("purchase", StringComparison.OrdinalIgnoreCase))
        {
            type = OutcomeType.Order;
            return true;
        }
        type = default;
        return false;
    }

    /// <summary>Integer Unix seconds, or milliseconds above <see cref="MillisecondsThreshold"/> (floored to seconds);
    /// negative values and values after year 3000 are rejected.</summary>
    public static bool TryParseTimestamp(ReadOnlySpan<char> text, out long unixSeconds)
    {
        if (!long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 0)
        {
            unixSeconds = 0;
            return false;
        }
        unixSeconds = value > MillisecondsThreshold ? value / 1000 : value;
        return unixSeconds < MaxUnixSeconds;
    }

    /// <summary>A header's first field starts with "user" (user, user_id, userId...). Ids such as "user42" also do, so
    /// the row is a header only when its type column is not an outcome type either: a data row is never skipped.</summary>
    private static bool IsHeader(SepReader.Row row) =>
        row[0].Span.Trim().StartsWith("user", StringComparison.OrdinalIgnoreCase) && (row.ColCount < 3 || !TryParseType(row[2].Span, out _));

    private static OutcomeRecord Bad(long line, string code, ReadOnlySpan<char> raw) =>
        new(line, null, code, raw.Length <= MaxRawLength ? raw.ToString() : string.Concat(raw[..MaxRawLength], "…"));
}
