using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RoleGen.Core.Telemetry;

/// <summary>
/// RoleGen's OpenTelemetry surface: one <see cref="ActivitySource"/> (spans of the activities and their steps) and one
/// <see cref="Meter"/> named <see cref="Name"/>. Only BCL types (System.Diagnostics), so Core stays free of SDKs; the hosts
/// (Functions app, CLI) subscribe with OpenTelemetry and export (Azure Monitor in Azure, console/OTLP locally).
/// Run-level counters are recorded by ACTIVITIES (prepare, recommend shard, finalize), never by orchestrator code, which
/// replays. Instrument names and attributes are what infra/bicep's alerts and workbook query (README "Monitoring and
/// alerts"); attributes never hold a user id.
/// </summary>
public static class RoleGenTelemetry
{
    public const string Name = "RoleGen";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    // attribute names
    public const string TriggerTag = "rolegen.trigger";
    public const string RunStatusTag = "rolegen.run.status";
    public const string ShardStatusTag = "rolegen.shard.status";
    public const string LlmOutcomeTag = "rolegen.llm.outcome";
    public const string TokenKindTag = "rolegen.llm.token_kind";
    public const string ExecutionProviderTag = "rolegen.execution_provider";
    public const string StepTag = "rolegen.step";
    public const string DatasetTag = "rolegen.dataset";

    public static readonly Counter<long> RunsStarted = Meter.CreateCounter<long>("rolegen.runs.started", "{run}", "Runs whose preparation started (rolegen.trigger: timer, http, cli).");
    public static readonly Counter<long> RunsCompleted = Meter.CreateCounter<long>("rolegen.runs.completed", "{run}", "Runs finalized (rolegen.run.status).");
    public static readonly Counter<long> ShardsCompleted = Meter.CreateCounter<long>("rolegen.shards.completed", "{shard}", "Shard attempts finished (rolegen.shard.status).");
    public static readonly Counter<long> ShardsFailed = Meter.CreateCounter<long>("rolegen.shards.failed", "{shard}", "Shards reported failed by finalize (after their retries).");
    public static readonly Counter<long> UsersSelected = Meter.CreateCounter<long>("rolegen.users.selected", "{user}", "Dormant users selected for a run.");
    public static readonly Counter<long> UsersReasoned = Meter.CreateCounter<long>("rolegen.users.reasoned", "{user}", "Users reasoned about, per shard.");
    public static readonly Counter<long> UsersScored = Meter.CreateCounter<long>("rolegen.users.scored", "{user}", "Users scored, per shard.");
    public static readonly Counter<long> UsersPublished = Meter.CreateCounter<long>("rolegen.users.published", "{user}", "Users whose candidates were published, per shard.");
    public static readonly Counter<long> LlmCalls = Meter.CreateCounter<long>("rolegen.llm.calls", "{call}", "LLM reasoner outcomes per user (rolegen.llm.outcome).");
    public static readonly Counter<long> LlmFallbacks = Meter.CreateCounter<long>("rolegen.llm.fallbacks", "{user}", "Users whose LLM result was unusable (embedded result kept).");
    public static readonly Counter<long> LlmThrottled = Meter.CreateCounter<long>("rolegen.llm.throttled", "{response}", "HTTP 429 responses from Azure OpenAI.");
    public static readonly Counter<long> LlmTokens = Meter.CreateCounter<long>("rolegen.llm.tokens", "{token}", "LLM tokens (rolegen.llm.token_kind: prompt, completion).");
    public static readonly Histogram<double> ScoreDuration = Meter.CreateHistogram<double>("rolegen.score.duration", "s", "Seconds scoring one shard (rolegen.execution_provider).");
    public static readonly Histogram<double> ShardDuration = Meter.CreateHistogram<double>("rolegen.shard.duration", "s", "Seconds per shard step (rolegen.step: reason, score, publish).");

    /// <summary>Records a shard's LLM counters (<see cref="Reasoning.IReasoner.LlmCounters"/>: <c>llm.ok</c>, <c>llm.cached</c>,
    /// ..., <c>llm.promptTokens</c>, <c>llm.completionTokens</c>) as calls by outcome and tokens by kind.</summary>
    public static void RecordLlm(IReadOnlyDictionary<string, long>? counters, long fallbacks)
    {
        if (counters is not null)
        {
            foreach (var (key, value) in counters)
            {
                if (value <= 0 || !key.StartsWith("llm.", StringComparison.Ordinal))
                {
                    continue;
                }
                var name = key[4..];
                switch (name)
                {
                    case "promptTokens":
                        LlmTokens.Add(value, new KeyValuePair<string, object?>(TokenKindTag, "prompt"));
                        break;
                    case "completionTokens":
                        LlmTokens.Add(value, new KeyValuePair<string, object?>(TokenKindTag, "completion"));
                        break;
                    case "droppedIds" or "requests" or "throttled": // throttled: counted at the HTTP boundary (rolegen.llm.throttled)
                        break;
                    default:
                        LlmCalls.Add(value, new KeyValuePair<string, object?>(LlmOutcomeTag, name.ToLowerInvariant()));
                        break;
                }
            }
        }
        if (fallbacks > 0)
        {
            LlmFallbacks.Add(fallbacks);
        }
    }
}
