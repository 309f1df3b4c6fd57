namespace RoleGen.Core.Ingest;

/// <summary>
/// What each input format accepts, defined once (the README's "Input grammar" table mirrors it). A row outside it is
/// quarantined with a code and counted, never accepted silently:
/// <list type="bullet">
/// <item>ids (user, item, category): 1-<see cref="MaxIdLength"/> characters of <c>A-Z a-z 0-9 - _ . :</c>; Taobao and OTTO ids
/// are unsigned integers (digits only, as their datasets define them). A NUL, a quote, a space, a replacement character
/// (invalid UTF-8 in the source) or a 1 MB id is quarantined (<c>bad-id</c> / <c>id-too-long</c>).</item>
/// <item>event words: Taobao exactly <c>pv|fav|cart|buy</c>, OTTO exactly <c>clicks|carts|orders</c>; the normalized format
/// takes the aliases of <see cref="Events.EventTypes"/> (any case).</item>
/// <item>timestamps: Taobao and OTTO between <see cref="MinPlausibleTimestamp"/> (2000-01-01) and
/// <see cref="MaxPlausibleTimestamp"/> (2100-01-01): a time in 1970 is a damaged row there; the normalized format accepts any
/// Unix time from 0 to the year 3000 (synthetic and relative clocks are valid input).</item>
/// </list>
/// Blank lines and CRLF line ends are valid input in every format.
/// </summary>
public static class InputGrammar
{
    public const int MaxIdLength = 64;

    /// <summary>2000-01-01T00:00:00Z.</summary>
    public const long MinPlausibleTimestamp = 946_684_800;

    /// <summary>2100-01-01T00:00:00Z (exclusive).</summary>
    public const long MaxPlausibleTimestamp = 4_102_444_800;

    /// <summary>The quarantine code and reason of an id outside the grammar, or null when it is valid.</summary>
    public static (string Code, string Reason)? IdProblem(ReadOnlySpan<char> id, string what, bool digitsOnly)
    {
        if (id.IsEmpty)
        {
            return ("empty-id", $"empty {what} id");
        }
        if (id.Length > MaxIdLength)
        {
            return ("id-too-long", $"{what} id is {id.Length} characters long (at most {MaxIdLength})");
        }
        foreach (var c in id)
        {
            var ok = digitsOnly ? char.IsAsciiDigit(c) : char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':';
            if (!ok)
            {
                return ("bad-id", digitsOnly
                    ? $"{what} id '{Show(id)}' is not an unsigned integer"
                    : $"{what} id '{Show(id)}' has a character outside A-Z a-z 0-9 - _ . :");
            }
        }
        return null;
    }

    public static bool IsPlausible(long unixSeconds) => unixSeconds is >= MinPlausibleTimestamp and < MaxPlausibleTimestamp;

    private static string Show(ReadOnlySpan<char> id)
    {
        var clipped = id.Length <= 40 ? id.ToString() : string.Concat(id[..40], "…");
        return string.Create(clipped.Length, clipped, (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) ? '?' : s[i];
            }
        });
    }
}
