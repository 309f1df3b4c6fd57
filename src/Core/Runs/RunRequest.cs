using RoleGen.Core.Cohort;
using RoleGen.Core.Scoring;

namespace RoleGen.Core.Runs;

/// <summary>What a nightly run is asked to do. Crosses the durable boundary: small, ids and options only.</summary>
public sealed record RunRequest
{
    public required string RunId { get; init; }

    public required string Dataset { get; init; }

    public DormancyPolicy Policy { get; init; } = new();

    /// <summary>Target users per shard (the shard count is the next power of two that honours it).</summary>
    public int ShardSize { get; init; } = RunDefaults.ShardSize;

    /// <summary>Pin the shard count (0 = derive from <see cref="ShardSize"/>). Pinned counts keep shards stable across nights.</summary>
    public int ShardCount { get; init; } = RunDefaults.ShardCount;

    public int TopK { get; init; } = RunDefaults.TopK;

    /// <summary>The Conversion Trajectory Reasoner and fusion (on by default; <c>Enabled = false</c> scores with the model alone).</summary>
    public Reasoning.ReasonerOptions Reasoner { get; init; } = new();

    /// <summary>The A/B experiment the run belongs to: control users get the model alone, treatment users RoleGen.
    /// Null: no experiment (every user gets RoleGen).</summary>
    public Experiments.ExperimentOptions? Experiment { get; init; } = new();

    /// <summary>Shard sub-orchestrations in flight at once.</summary>
    public int MaxParallelShards { get; init; } = RunDefaults.MaxParallelShards;

    /// <summary>Attempts per activity (first try + retries) before a shard is reported failed.</summary>
    public int MaxAttempts { get; init; } = RunDefaults.MaxAttempts;

    public double FirstRetrySeconds { get; init; } = RunDefaults.FirstRetrySeconds;

    public string TriggeredBy { get; init; } = "cli";

    /// <summary>Every problem of the request in one message (null: valid). Field names are the request's own (as the HTTP
    /// API spells them after camel-casing); the ranges are <see cref="RunDefaults"/>'s.</summary>
    public string? Validate()
    {
        var errors = new List<string>();
        if (Runs.RunId.Problem(RunId) is { } id)
        {
            errors.Add(char.ToUpperInvariant(id[0]) + id[1..] + ".");
        }
        try
        {
            Ingest.EventStore.ValidateDataset(Dataset);
        }
        catch (ArgumentException ex)
        {
            errors.Add(ex.Message);
        }
        if (Policy is null)
        {
            errors.Add("Policy is missing.");
        }
        else if (Policy.Validate() is { } p)
        {
            errors.Add(p);
        }
        Add(errors, RunDefaults.OutOfRange(nameof(ShardSize), ShardSize, RunDefaults.ShardSizeMin, RunDefaults.ShardSizeMax));
        Add(errors, RunDefaults.OutOfRange(nameof(ShardCount), ShardCount, 0, RunDefaults.ShardCountMax));
        Add(errors, RunDefaults.OutOfRange(nameof(TopK), TopK, RunDefaults.TopKMin, RunDefaults.TopKMax));
        if (Reasoner is null)
        {
            errors.Add("Reasoner options are missing.");
        }
        else if (Reasoner.Validate() is { } r)
        {
            errors.Add(r);
        }
        if (Experiment?.Validate() is { } x)
        {
            errors.Add(x);
        }
        Add(errors, RunDefaults.OutOfRange(nameof(MaxParallelShards), MaxParallelShards, RunDefaults.MaxParallelShardsMin, RunDefaults.MaxParallelShardsMax));
        Add(errors, RunDefaults.OutOfRange(nameof(MaxAttempts), MaxAttempts, RunDefaults.MaxAttemptsMin, RunDefaults.MaxAttemptsMax));
        if (RunDefaults.OutOfRange(nameof(FirstRetrySeconds), FirstRetrySeconds, RunDefaults.FirstRetrySecondsMin, RunDefaults.FirstRetrySecondsMax) is { } retry)
        {
            errors.Add(retry[..^1] + " (retries back off from it up to 60 s).");
        }
        return errors.Count == 0 ? null : string.Join(" ", errors);

        static void Add(List<string> errors, string? error)
        {
            if (error is not null)
            {
                errors.Add(error);
            }
        }
    }
}
