using System.Text.Json;
using System.Text.Json.Nodes;
using RoleGen.Core.Reasoning;

namespace RoleGen.Infrastructure.Reasoning;

/// <summary>A validated model answer, mapped onto the trajectory and the candidates.</summary>
/// <param name="DroppedIds">Path items the model returned that are not candidates (invented ids).</param>
/// <param name="DroppedRoles">Role entries with an out-of-range or duplicate position.</param>
internal sealed record ValidatedOutput(IReadOnlyList<StepRole> Roles, IReadOnlyList<ConversionPath> Paths, string Rationale, int DroppedIds, int DroppedRoles);

/// <summary>
/// The structured-output contract (a strict JSON schema sent as the response format) and its validation on return:
/// strict mode constrains decoding, but a deployment without structured output, a truncated answer or a content filter
/// can still return anything, so every answer is parsed and checked here before it is used.
/// </summary>
internal static class ReasonerOutput
{
    public const string SchemaName = "rolegen_reasoning";

    private const int MaxReasonLength = 300;
    private const int MaxRationaleLength = 1_000;

    public static readonly string[] RoleNames = Enum.GetValues<FunctionalRole>().Select(ReasonerMessage.RoleName).ToArray();

    /// <summary>The JSON schema: strict mode requires every property to be required and no additional properties.</summary>
    public static BinaryData Schema { get; } = BinaryData.FromString(BuildSchema().ToJsonString());

    private static JsonObject BuildSchema()
    {
        static JsonObject Obj(params (string Name, JsonObject Schema)[] properties)
        {
            var props = new JsonObject();
            foreach (var (name, schema) in properties)
            {
                props[name] = schema;
            }
            return new JsonObject
            {
                ["type"] = "object",
                ["properties"] = props,
                ["required"] = new JsonArray(properties.Select(p => (JsonNode)JsonValue.Create(p.Name)).ToArray()),
                ["additionalProperties"] = false,
            };
        }
        static JsonObject Type(string type) => new() { ["type"] = type };
        static JsonObject Array(JsonObject items) => new() { ["type"] = "array", ["items"] = items };

        var role = Type("string");
        role["enum"] = new JsonArray(RoleNames.Select(r => (JsonNode)JsonValue.Create(r)).ToArray());
        return Obj(
            ("roles", Array(Obj(("position", Type("integer")), ("role", role), ("confidence", Type("number")), ("reason", Type("string"))))),
            ("paths", Array(Obj(("item", Type("string")), ("targetCategory", Type("string")), ("rationale", Type("string"))))),
            ("rationale", Type("string")));
    }

    /// <summary>Parses and validates <paramref name="content"/>. Returns false (with the reason) when it is not JSON or
    /// does not match the schema; recoverable defects (invented ids, bad positions, missing positions) are repaired and counted.</summary>
    public static bool TryValidate(string? content, ReasonerMessage message, out ValidatedOutput? output, out string? error)
    {
        ArgumentNullException.ThrowIfNull(message);
        output = null;
        if (string.IsNullOrWhiteSpace(content))
        {
            error = "empty answer";
            return false;
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(content);
        }
        catch (JsonException ex)
        {
            error = $"not JSON: {ex.Message}";
            return false;
        }
        using (doc)
        {
            try
            {
                output = Map(doc.RootElement, message);
                error = null;
                return true;
            }
            catch (SchemaMismatchException ex)
            {
                error = $"schema mismatch: {ex.Message}";
                return false;
            }
        }
    }

    private static ValidatedOutput Map(JsonElement root, ReasonerMessage message)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new SchemaMismatchException("the answer is not a JSON object");
        }
        var rolesJson = Property(root, "roles", JsonValueKind.Array);
        var pathsJson = Property(root, "paths", JsonValueKind.Array);
        var rationale = Truncate(Property(root, "rationale", JsonValueKind.String).GetString()!, MaxRationaleLength);

        var first = message.FirstPosition;
        var count = message.Steps.Count;
        var assigned = new StepRole?[count];
        var droppedRoles = 0;
        var index = 0;
        foreach (var entry in rolesJson.EnumerateArray())
        {
            var at = $"roles[{index++}]";
            if (entry.ValueKind != JsonValueKind.Object)
            {
                throw new SchemaMismatchException($"{at} is not an object");
            }
            var positionJson = Property(entry, "position", JsonValueKind.Number, at);
            var roleName = Property(entry, "role", JsonValueKind.String, at).GetString()!;
            var confidenceJson = Property(entry, "confidence", JsonValueKind.Number, at);
            var reason = Property(entry, "reason", JsonValueKind.String, at).GetString()!;
            if (!positionJson.TryGetInt32(out var position))
            {
                throw new SchemaMismatchException($"{at}.position is not an integer");
            }
            var roleIndex = Array.IndexOf(RoleNames, roleName);
            if (roleIndex < 0)
            {
                throw new SchemaMismatchException($"{at}.role '{Truncate(roleName, 40)}' is not a functional role");
            }
            var confidence = confidenceJson.GetDouble();
            if (!double.IsFinite(confidence))
            {
                throw new SchemaMismatchException($"{at}.confidence is not a finite number");
            }
            var slot = position - first;
            if (slot < 0 || slot >= count || assigned[slot] is not null)
            {
                droppedRoles++; // out of range or duplicate: the first answer for a position wins
                continue;
            }
            var step = message.Steps[slot];
            // Item and category always come from the trajectory, never from the model.
            assigned[slot] = new StepRole(position, step.Item, step.Category, Enum.GetValues<FunctionalRole>()[roleIndex],
                Math.Clamp(confidence, 0, 1), Truncate(reason, MaxReasonLength));
        }

        var embedded = new Dictionary<int, StepRole>();
        foreach (var hint in message.Embedded)
        {
            embedded.TryAdd(hint.Position, hint); // the embedded reasoner gives one role per position; tolerate repeats
        }
        var roles = new StepRole[count];
        for (var slot = 0; slot < count; slot++)
        {
            var step = message.Steps[slot];
            roles[slot] = assigned[slot]
                ?? (embedded.TryGetValue(first + slot, out var hint)
                    ? hint with { Item = step.Item, Category = step.Category }
                    : new StepRole(first + slot, step.Item, step.Category, FunctionalRole.Noise, 0, "not assigned by the model"));
        }

        var paths = new List<ConversionPath>();
        var chosen = new HashSet<ConversionPath>(ReferenceEqualityComparer.Instance);
        var droppedIds = 0;
        index = 0;
        foreach (var entry in pathsJson.EnumerateArray())
        {
            var at = $"paths[{index++}]";
            if (entry.ValueKind != JsonValueKind.Object)
            {
                throw new SchemaMismatchException($"{at} is not an object");
            }
            var item = Property(entry, "item", JsonValueKind.String, at).GetString()!;
            var target = Property(entry, "targetCategory", JsonValueKind.String, at).GetString()!;
            var why = Property(entry, "rationale", JsonValueKind.String, at).GetString()!;
            var candidate = message.Candidates.FirstOrDefault(c => c.Item == item && c.TargetCategory == target && !chosen.Contains(c))
                ?? message.Candidates.FirstOrDefault(c => c.Item == item && !chosen.Contains(c));
            if (candidate is null)
            {
                if (!message.Candidates.Any(c => c.Item == item))
                {
                    droppedIds++; // an id the model invented (or altered)
                }
                continue; // else: the same candidate twice
            }
            if (paths.Count >= message.MaxPaths)
            {
                continue;
            }
            chosen.Add(candidate);
            paths.Add(candidate with { Rationale = Truncate(why, MaxReasonLength) });
        }
        return new ValidatedOutput(roles, paths, rationale, droppedIds, droppedRoles);
    }

    private static JsonElement Property(JsonElement obj, string name, JsonValueKind kind, string? at = null)
    {
        var where = at is null ? name : $"{at}.{name}";
        if (!obj.TryGetProperty(name, out var value))
        {
            throw new SchemaMismatchException($"'{where}' is missing");
        }
        if (value.ValueKind != kind)
        {
            throw new SchemaMismatchException($"'{where}' is {value.ValueKind}, expected {kind}");
        }
        return value;
    }

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];

    private sealed class SchemaMismatchException(string message) : Exception(message);
}
