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
    public const int TopKMax = 1000;

    /// <summary>Target users per shard; the shard count is the next power of two that honours it.</summary>
    public const int ShardSize = 5000;
    public const int ShardSizeMin = 1;
    public const int ShardSizeMax = 1_000_000;

    /// <summary>0 = derive the count from <see cref="ShardSize"/>.</summary>
    public const int ShardCount = 0;
    public const int ShardCountMax = 65_536;

    public const int MaxParallelShards = 8;
    public const int MaxParallelShardsMin = 1;
    public const int MaxParallelShardsMax = 1000;

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
