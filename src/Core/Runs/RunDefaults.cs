namespace RoleGen.Core.Runs;

/// <summary>
/// The defaults and the allowed ranges of a run's options, defined once: <see cref="RunRequest"/> starts from them and
/// validates against them, the Functions app's <c>RunsOptions</c> binds and validates the same numbers, and the CLI's
/// options default to them. The limits are what one host can carry: a request outside them is refused (400 / exit 4),
/// never half-run.
/// </summary>
public static class RunDefaults
{
    public const int TopK = 20;
    public const int TopKMin = 1;

    /// <summary>Candidates per user: a shard writes ShardSizeMax × TopKMax lines at most.</summary>
    public const int TopKMax = 200;

    /// <summary>Target users per shard; the shard count is the next power of two that honours it.</summary>
    public const int ShardSize = 5000;

    /// <summary>Smaller shards are all overhead (each is a sub-orchestration step, three blobs and a shard.json).</summary>
    public const int ShardSizeMin = 10;

    /// <summary>A shard's users, reasoning and candidates are held by one activity: 100k users fit one worker's memory.</summary>
    public const int ShardSizeMax = 100_000;

    /// <summary>0 = derive the count from <see cref="ShardSize"/>.</summary>
    public const int ShardCount = 0;

    /// <summary>Shards per run, pinned or derived (a derived count is capped here: shards then grow past the target size).
    /// 4,096 shards = 41 batch sub-orchestrations of ≤ 100; the prepare result carries one count per shard.</summary>
    public const int ShardCountMax = 4096;

    public const int MaxParallelShards = 8;
    public const int MaxParallelShardsMin = 1;

    /// <summary>Shard sub-orchestrations in flight across the run's batches (each runs one CPU-heavy activity).</summary>
    public const int MaxParallelShardsMax = 64;

    public const int MaxAttempts = 3;
    public const int MaxAttemptsMin = 1;
    public const int MaxAttemptsMax = 20;

    public const double FirstRetrySeconds = 2;
    public const double FirstRetrySecondsMin = 0.1;
    public const double FirstRetrySecondsMax = 60;

    /// <summary>M: role-diverse interventions evaluated per user (and K, the conversion paths kept, in the CLI).</summary>
    public const int Interventions = 3;
    public const int InterventionsMax = 32;

    public const double TreatmentShare = 0.5;

    public const double AttributionDays = 7;
    public const double AttributionDaysMin = 0.01;
    public const double AttributionDaysMax = 90;

    /// <summary>Range checks shared by <see cref="RunRequest.Validate"/> and the CLI (the message names the option as the
    /// caller spells it: a flag, a JSON field or a setting).</summary>
    public static string? OutOfRange(string name, long value, long min, long max) =>
        value < min || value > max ? $"{name} must be between {min} and {max} (got {value})." : null;

    public static string? OutOfRange(string name, double value, double min, double max) =>
        !double.IsFinite(value) || value < min || value > max
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name} must be between {min} and {max} (got {value}).")
            : null;
}
