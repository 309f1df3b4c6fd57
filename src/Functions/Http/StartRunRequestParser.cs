using System.Globalization;
using System.Text.Json;
using RoleGen.Core.Cohort;
using RoleGen.Core.Runs;
using RoleGen.Functions.Composition;

namespace RoleGen.Functions.Http;

/// <summary>Parses the body of <c>POST /api/runs</c> into a <see cref="RunRequest"/>, collecting every problem (unknown
/// fields, wrong types, missing dataset, invalid values) instead of stopping at the first. Fields not given take the
/// configured defaults (<see cref="RunsOptions"/>, <see cref="DormancyPolicy"/>).</summary>
/// <remarks>Body: <c>{"dataset": "demo", "runId"?: "...", "topK"?: 20, "shardSize"?: 5000, "shardCount"?: 0,
/// "maxParallelShards"?: 8, "policy"?: {"lookbackDays"?, "minViews"?, "maxConversionRate"?, "minActiveDays"?}}</c>.</remarks>
public static class StartRunRequestParser
{
    public const int MaxBodyChars = 64 * 1024;

    private static readonly string[] Fields = ["dataset", "runId", "topK", "shardSize", "shardCount", "maxParallelShards", "policy"];

    private static readonly string[] PolicyFields = ["lookbackDays", "minViews", "maxConversionRate", "minActiveDays"];

    public sealed record Result(RunRequest? Request, IReadOnlyList<string> Problems)
    {
        public bool IsValid => Request is not null && Problems.Count == 0;
    }

    /// <param name="body">The raw request body.</param>
    /// <param name="defaults">Run defaults.</param>
    /// <param name="defaultPolicy">Dormancy policy defaults.</param>
    /// <param name="newRunId">Makes a run id from the dataset when the body has none.</param>
    public static Result Parse(string? body, RunsOptions defaults, DormancyPolicy defaultPolicy, Func<string, string> newRunId)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        ArgumentNullException.ThrowIfNull(defaultPolicy);
        ArgumentNullException.ThrowIfNull(newRunId);
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(body))
        {
            return new Result(null, ["The request body is empty: send a JSON object with at least \"dataset\"."]);
        }
        if (body.Length > MaxBodyChars)
        {
            return new Result(null, [$"The request body is larger than {MaxBodyChars / 1024} KiB."]);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            return new Result(null, [$"The request body is not valid JSON: {ex.Message}"]);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new Result(null, [$"The request body must be a JSON object, not {Describe(root.ValueKind)}."]);
            }
            var fields = Collect(root, Fields, prefix: string.Empty, problems);

            string? dataset = null;
            if (fields.TryGetValue("dataset", out var datasetElement))
            {
                dataset = String(datasetElement, "dataset", problems);
            }
            if (string.IsNullOrWhiteSpace(dataset) && !problems.Any(p => p.StartsWith("dataset", StringComparison.Ordinal)))
            {
                problems.Add("dataset is required (the name of an ingested dataset, e.g. \"demo\").");
            }
            var runId = fields.TryGetValue("runId", out var runIdElement) ? String(runIdElement, "runId", problems) : null;
            if (runId is not null && RunId.AdHocProblem(runId) is { } idProblem)
            {
                // The nightly timer owns the nightly- id space: a run started here under tonight's id would make the timer start nothing.
                problems.Add(idProblem.Replace("run id", "runId", StringComparison.Ordinal) + ".");
            }
            var topK = Int(fields, "topK", defaults.TopK, problems);
            var shardSize = Int(fields, "shardSize", defaults.ShardSize, problems);
            var shardCount = Int(fields, "shardCount", defaults.ShardCount, problems);
            var maxParallel = Int(fields, "maxParallelShards", defaults.MaxParallelShards, problems);

            var policy = defaultPolicy;
            if (fields.TryGetValue("policy", out var policyElement) && policyElement.ValueKind != JsonValueKind.Null)
            {
                if (policyElement.ValueKind != JsonValueKind.Object)
                {
                    problems.Add($"policy must be a JSON object with {string.Join(", ", PolicyFields)}, not {Describe(policyElement.ValueKind)}.");
                }
                else
                {
                    var p = Collect(policyElement, PolicyFields, prefix: "policy.", problems);
                    policy = defaultPolicy with
                    {
                        LookbackDays = Int(p, "lookbackDays", defaultPolicy.LookbackDays, problems, "policy."),
                        MinViews = Int(p, "minViews", defaultPolicy.MinViews, problems, "policy."),
                        MaxConversionRate = Double(p, "maxConversionRate", defaultPolicy.MaxConversionRate, problems, "policy."),
                        MinActiveDays = Int(p, "minActiveDays", defaultPolicy.MinActiveDays, problems, "policy."),
                    };
                }
            }
            if (problems.Count > 0)
            {
                return new Result(null, problems);
            }

            var request = defaults.CreateRequest(runId ?? newRunId(dataset!), dataset!, policy, triggeredBy: "http") with
            {
                TopK = topK,
                ShardSize = shardSize,
                ShardCount = shardCount,
                MaxParallelShards = maxParallel,
            };
            if (request.Validate() is { } invalid)
            {
                problems.Add(invalid);
            }
            return problems.Count == 0 ? new Result(request, problems) : new Result(null, problems);
        }
    }

    /// <summary>The object's properties by their canonical (camelCase) name; unknown and repeated names are problems.
    /// Names match case-insensitively.</summary>
    private static Dictionary<string, JsonElement> Collect(JsonElement obj, string[] known, string prefix, List<string> problems)
    {
        var found = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            var name = known.FirstOrDefault(k => string.Equals(k, property.Name, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                problems.Add($"Unknown field '{prefix}{property.Name}' (known: {string.Join(", ", known.Select(k => prefix + k))}).");
            }
            else if (!found.TryAdd(name, property.Value))
            {
                problems.Add($"Field '{prefix}{name}' appears more than once.");
            }
        }
        return found;
    }

    private static string? String(JsonElement element, string name, List<string> problems)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return element.GetString();
            default:
                problems.Add($"{name} must be a string, not {Describe(element.ValueKind)}.");
                return null;
        }
    }

    private static int Int(Dictionary<string, JsonElement> fields, string name, int fallback, List<string> problems, string prefix = "")
    {
        if (!fields.TryGetValue(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }
        if (element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var value))
        {
            return value;
        }
        problems.Add($"{prefix}{name} must be a whole number, not {Show(element)}.");
        return fallback;
    }

    private static double Double(Dictionary<string, JsonElement> fields, string name, double fallback, List<string> problems, string prefix = "")
    {
        if (!fields.TryGetValue(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }
        if (element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var value) && double.IsFinite(value))
        {
            return value;
        }
        problems.Add($"{prefix}{name} must be a number, not {Show(element)}.");
        return fallback;
    }

    private static string Show(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Number => element.GetRawText(),
        JsonValueKind.String => string.Create(CultureInfo.InvariantCulture, $"the string \"{element.GetString()}\""),
        _ => Describe(element.ValueKind),
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
