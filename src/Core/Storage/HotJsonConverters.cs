using System.Text.Json;
using System.Text.Json.Serialization;
using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;

namespace RoleGen.Core.Storage;

/// <summary>
/// Hand-written JSON for the two row types the nightly loop moves by the gigabyte (<see cref="CandidateRow"/> with its
/// <see cref="Candidate"/> items, and <see cref="OutcomeEvent"/>), registered in <see cref="RoleGenJson.Options"/>. The
/// general serializer spends most of its time on these rows boxing constructor arguments and allocating one string per
/// item id, category and source; this reads the exact shape RoleGen writes in one pass, with the repeated short strings
/// taken from a small per-thread pool, and writes the same bytes the general serializer writes.
/// </summary>
/// <remarks>
/// Anything else — a property name in another case, an unknown property, a number written as a string, an enum written as
/// a number, a duplicate property, a null item — is not guessed at: the reader rewinds to the row's start and hands the
/// row to the general serializer with the same settings (<see cref="RoleGenJson.General"/>), so every input is read
/// exactly as before, errors included. Writing falls back the same way for values it does not write itself (an enum value
/// without a name, a non-finite score). <c>HotJsonConvertersTests</c> checks both directions against the general serializer.
/// </remarks>
internal static class HotJson
{
    public static readonly JsonConverter[] Converters = [new CandidateRowJsonConverter(), new OutcomeEventJsonConverter()];

    /// <summary><see cref="NextProperty"/>: the object ended.</summary>
    public const int End = -1;

    /// <summary><see cref="NextProperty"/>: not the shape written here (an unknown or repeated name, truncated input): fall back.</summary>
    public const int Other = -2;

    /// <summary>Moves to the next property of the object being read and onto its value: the property's index in
    /// <paramref name="names"/> (exact, case-sensitive match), <see cref="End"/> at the end of the object, or
    /// <see cref="Other"/> for a name not in the list or already in <paramref name="seen"/> (a bit per index).</summary>
    public static int NextProperty(ref Utf8JsonReader reader, byte[][] names, ref int seen)
    {
        if (!reader.Read())
        {
            return Other;
        }
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            return End;
        }
        for (var i = 0; i < names.Length; i++)
        {
            if (reader.ValueTextEquals(names[i]))
            {
                if ((seen & (1 << i)) != 0 || !reader.Read())
                {
                    return Other;
                }
                seen |= 1 << i;
                return i;
            }
        }
        return Other;
    }

    public static bool TryReadInt32(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
    }

    /// <summary>A string value or null; false when the token is neither (the caller falls back).</summary>
    public static bool TryReadString(ref Utf8JsonReader reader, bool pooled, out string? value)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                value = null;
                return true;
            case JsonTokenType.String:
                value = pooled ? StringPool.Get(ref reader) : reader.GetString();
                return true;
            default:
                value = null;
                return false;
        }
    }
}

/// <summary>The property names the converters write, encoded once.</summary>
internal static class Names
{
    public static readonly JsonEncodedText Arm = JsonEncodedText.Encode("arm");
    public static readonly JsonEncodedText CategoryId = JsonEncodedText.Encode("categoryId");
    public static readonly JsonEncodedText ItemId = JsonEncodedText.Encode("itemId");
    public static readonly JsonEncodedText Items = JsonEncodedText.Encode("items");
    public static readonly JsonEncodedText Rank = JsonEncodedText.Encode("rank");
    public static readonly JsonEncodedText Role = JsonEncodedText.Encode("role");
    public static readonly JsonEncodedText RunId = JsonEncodedText.Encode("runId");
    public static readonly JsonEncodedText Score = JsonEncodedText.Encode("score");
    public static readonly JsonEncodedText Shard = JsonEncodedText.Encode("shard");
    public static readonly JsonEncodedText Source = JsonEncodedText.Encode("source");
    public static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    public static readonly JsonEncodedText UserId = JsonEncodedText.Encode("userId");
}

/// <summary>Camel-case names of an enum's defined values, as <see cref="JsonStringEnumConverter"/> with
/// <see cref="JsonNamingPolicy.CamelCase"/> writes them; values without a name are left to the general serializer.</summary>
internal static class EnumNames<TEnum> where TEnum : struct, Enum
{
    private static readonly TEnum[] Values = Enum.GetValues<TEnum>();
    private static readonly byte[][] Utf8 = [.. Values.Select(v => System.Text.Encoding.UTF8.GetBytes(JsonNamingPolicy.CamelCase.ConvertName(v.ToString())))];
    private static readonly JsonEncodedText[] Encoded = [.. Values.Select(v => JsonEncodedText.Encode(JsonNamingPolicy.CamelCase.ConvertName(v.ToString())))];

    /// <summary>The value whose camel-case name the string token holds exactly; false otherwise (another case, a number).</summary>
    public static bool TryRead(ref Utf8JsonReader reader, out TEnum value)
    {
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            var span = reader.ValueSpan;
            for (var i = 0; i < Utf8.Length; i++)
            {
                if (span.SequenceEqual(Utf8[i]))
                {
                    value = Values[i];
                    return true;
                }
            }
        }
        value = default;
        return false;
    }

    /// <summary>Null, or a value as <see cref="TryRead"/> reads it.</summary>
    public static bool TryReadNullable(ref Utf8JsonReader reader, out TEnum? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }
        if (!TryRead(ref reader, out var v))
        {
            return false;
        }
        value = v;
        return true;
    }

    /// <summary>The encoded name of a defined value; false for a value without one.</summary>
    public static bool TryName(TEnum value, out JsonEncodedText name)
    {
        var i = Array.IndexOf(Values, value);
        if (i < 0)
        {
            name = default;
            return false;
        }
        name = Encoded[i];
        return true;
    }
}

/// <summary>
/// A per-thread pool of short strings (item ids, category ids, sources, run ids: a few thousand distinct values repeated
/// millions of times), so reading a row allocates a string only the first time the thread meets its value. Strings are
/// immutable, so sharing one instance is invisible to callers. Cleared when it holds <see cref="Capacity"/> strings, so its
/// memory stays bounded whatever the catalogue size.
/// </summary>
internal static class StringPool
{
    public const int Capacity = 1 << 16;
    private const int MaxChars = 64;

    [ThreadStatic]
    private static Dictionary<string, string>? t_strings;

    public static string Get(ref Utf8JsonReader reader)
    {
        var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length > MaxChars)
        {
            return reader.GetString()!;
        }
        Span<char> chars = stackalloc char[MaxChars];
        var n = reader.CopyString(chars);
        var strings = t_strings ??= new Dictionary<string, string>(1024, StringComparer.Ordinal);
        var lookup = strings.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..n], out var found))
        {
            return found;
        }
        if (strings.Count >= Capacity)
        {
            strings.Clear();
        }
        var value = new string(chars[..n]);
        strings[value] = value;
        return value;
    }
}

/// <summary>The hand-written <see cref="CandidateRow"/> reader and writer (see <see cref="HotJson"/>).</summary>
internal sealed class CandidateRowJsonConverter : JsonConverter<CandidateRow>
{
    public override CandidateRow? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var start = reader;
        if (TryReadFast(ref reader, out var row))
        {
            return row;
        }
        reader = start;
        return JsonSerializer.Deserialize<CandidateRow>(ref reader, RoleGenJson.General);
    }

    public override void Write(Utf8JsonWriter writer, CandidateRow value, JsonSerializerOptions options)
    {
        if (!CanWriteFast(value))
        {
            JsonSerializer.Serialize(writer, value, RoleGenJson.General);
            return;
        }
        writer.WriteStartObject();
        if (value.RunId is not null)
        {
            writer.WriteString(Names.RunId, value.RunId);
        }
        if (value.UserId is not null)
        {
            writer.WriteString(Names.UserId, value.UserId);
        }
        writer.WriteNumber(Names.Shard, value.Shard);
        if (value.Items is not null)
        {
            writer.WriteStartArray(Names.Items);
            foreach (var c in value.Items)
            {
                writer.WriteStartObject();
                writer.WriteNumber(Names.Rank, c.Rank);
                if (c.ItemId is not null)
                {
                    writer.WriteString(Names.ItemId, c.ItemId);
                }
                if (c.CategoryId is not null)
                {
                    writer.WriteString(Names.CategoryId, c.CategoryId);
                }
                writer.WriteNumber(Names.Score, c.Score);
                if (c.Source is not null)
                {
                    writer.WriteString(Names.Source, c.Source);
                }
                if (c.Role is { } role)
                {
                    EnumNames<FunctionalRole>.TryName(role, out var name);
                    writer.WriteString(Names.Role, name);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        if (value.Arm is { } arm)
        {
            EnumNames<Arm>.TryName(arm, out var name);
            writer.WriteString(Names.Arm, name);
        }
        writer.WriteEndObject();
    }

    /// <summary>Every value has a form written here: named enum values, finite scores, no null item.</summary>
    private static bool CanWriteFast(CandidateRow value)
    {
        if (value.Arm is { } arm && !EnumNames<Arm>.TryName(arm, out _))
        {
            return false;
        }
        if (value.Items is null)
        {
            return true;
        }
        foreach (var c in value.Items)
        {
            if (c is null || !double.IsFinite(c.Score) || (c.Role is { } role && !EnumNames<FunctionalRole>.TryName(role, out _)))
            {
                return false;
            }
        }
        return true;
    }

    private static readonly byte[][] RowNames = [.. new[] { "runId", "userId", "shard", "items", "arm" }.Select(System.Text.Encoding.UTF8.GetBytes)];

    private static readonly byte[][] CandidateNames = [.. new[] { "rank", "itemId", "categoryId", "score", "source", "role" }.Select(System.Text.Encoding.UTF8.GetBytes)];

    private static bool TryReadFast(ref Utf8JsonReader reader, out CandidateRow? row)
    {
        row = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }
        string? runId = null, userId = null;
        int shard = 0;
        List<Candidate>? items = null;
        Arm? arm = null;
        var seen = 0;
        while (true)
        {
            var index = HotJson.NextProperty(ref reader, RowNames, ref seen);
            if (index == HotJson.End)
            {
                row = new CandidateRow(runId!, userId!, shard, items!) { Arm = arm };
                return true;
            }
            var ok = index switch
            {
                0 => HotJson.TryReadString(ref reader, pooled: true, out runId),
                1 => HotJson.TryReadString(ref reader, pooled: false, out userId),
                2 => HotJson.TryReadInt32(ref reader, out shard),
                3 => TryReadItems(ref reader, out items),
                4 => EnumNames<Arm>.TryReadNullable(ref reader, out arm),
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }
    }

    /// <summary>Null or an array of candidates.</summary>
    private static bool TryReadItems(ref Utf8JsonReader reader, out List<Candidate>? items)
    {
        items = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }
        items = new List<Candidate>(32);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return true;
            }
            if (reader.TokenType != JsonTokenType.StartObject || !TryReadCandidate(ref reader, out var candidate))
            {
                return false;
            }
            items.Add(candidate!);
        }
        return false;
    }

    private static bool TryReadCandidate(ref Utf8JsonReader reader, out Candidate? candidate)
    {
        candidate = null;
        int rank = 0;
        string? itemId = null, categoryId = null, source = null;
        double score = 0;
        FunctionalRole? role = null;
        var seen = 0;
        while (true)
        {
            var index = HotJson.NextProperty(ref reader, CandidateNames, ref seen);
            if (index == HotJson.End)
            {
                candidate = new Candidate(rank, itemId!, categoryId!, score, source!) { Role = role };
                return true;
            }
            var ok = index switch
            {
                0 => HotJson.TryReadInt32(ref reader, out rank),
                1 => HotJson.TryReadString(ref reader, pooled: true, out itemId),
                2 => HotJson.TryReadString(ref reader, pooled: true, out categoryId),
                3 => reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out score),
                4 => HotJson.TryReadString(ref reader, pooled: true, out source),
                5 => EnumNames<FunctionalRole>.TryReadNullable(ref reader, out role),
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }
    }
}

/// <summary>The hand-written <see cref="OutcomeEvent"/> reader and writer (see <see cref="HotJson"/>).</summary>
internal sealed class OutcomeEventJsonConverter : JsonConverter<OutcomeEvent>
{
    public override OutcomeEvent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var start = reader;
        if (TryReadFast(ref reader, out var e))
        {
            return e;
        }
        reader = start;
        return JsonSerializer.Deserialize<OutcomeEvent>(ref reader, RoleGenJson.General);
    }

    public override void Write(Utf8JsonWriter writer, OutcomeEvent value, JsonSerializerOptions options)
    {
        if (!EnumNames<OutcomeType>.TryName(value.Type, out var type))
        {
            JsonSerializer.Serialize(writer, value, RoleGenJson.General);
            return;
        }
        writer.WriteStartObject();
        if (value.UserId is not null)
        {
            writer.WriteString(Names.UserId, value.UserId);
        }
        if (value.ItemId is not null)
        {
            writer.WriteString(Names.ItemId, value.ItemId);
        }
        writer.WriteString(Names.Type, type);
        writer.WriteNumber(Names.Timestamp, value.Timestamp);
        if (value.RunId is not null)
        {
            writer.WriteString(Names.RunId, value.RunId);
        }
        writer.WriteEndObject();
    }

    private static readonly byte[][] EventNames = [.. new[] { "userId", "itemId", "type", "timestamp", "runId" }.Select(System.Text.Encoding.UTF8.GetBytes)];

    private static bool TryReadFast(ref Utf8JsonReader reader, out OutcomeEvent? e)
    {
        e = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }
        string? userId = null, itemId = null, runId = null;
        OutcomeType type = default;
        long timestamp = 0;
        var seen = 0;
        while (true)
        {
            var index = HotJson.NextProperty(ref reader, EventNames, ref seen);
            if (index == HotJson.End)
            {
                e = new OutcomeEvent(userId!, itemId!, type, timestamp, runId);
                return true;
            }
            var ok = index switch
            {
                0 => HotJson.TryReadString(ref reader, pooled: false, out userId),
                1 => HotJson.TryReadString(ref reader, pooled: true, out itemId),
                2 => EnumNames<OutcomeType>.TryRead(ref reader, out type),
                3 => reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out timestamp),
                4 => HotJson.TryReadString(ref reader, pooled: true, out runId),
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }
    }
}
