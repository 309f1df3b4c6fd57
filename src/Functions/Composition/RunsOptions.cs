using System.ComponentModel.DataAnnotations;
using RoleGen.Core.Cohort;
using RoleGen.Core.Runs;

namespace RoleGen.Functions.Composition;

/// <summary>Defaults of runs started by the Functions app: everything a nightly (timer) run uses, and what an HTTP
/// request does not override. The dormancy policy defaults come from <see cref="DormancyPolicy.SectionName"/>.</summary>
public sealed class RunsOptions
{
    public const string SectionName = "RoleGen:Runs";

    /// <summary>Dataset the nightly run reads (ingested under <c>events/{dataset}/</c>). Empty: the nightly timer skips.</summary>
    [RegularExpression("^[a-z0-9_-]{1,63}$", ErrorMessage = "RoleGen:Runs:Dataset must be 1-63 lowercase letters, digits, '-' or '_'.")]
    public string? Dataset { get; set; }

    [Range(RunDefaults.TopKMin, RunDefaults.TopKMax)]
    public int TopK { get; set; } = RunDefaults.TopK;

    [Range(RunDefaults.ShardSizeMin, RunDefaults.ShardSizeMax)]
    public int ShardSize { get; set; } = RunDefaults.ShardSize;

    /// <summary>0 = derive the shard count from <see cref="ShardSize"/>.</summary>
    [Range(0, RunDefaults.ShardCountMax)]
    public int ShardCount { get; set; } = RunDefaults.ShardCount;

    [Range(RunDefaults.MaxParallelShardsMin, RunDefaults.MaxParallelShardsMax)]
    public int MaxParallelShards { get; set; } = RunDefaults.MaxParallelShards;

    [Range(RunDefaults.MaxAttemptsMin, RunDefaults.MaxAttemptsMax)]
    public int MaxAttempts { get; set; } = RunDefaults.MaxAttempts;

    [Range(RunDefaults.FirstRetrySecondsMin, RunDefaults.FirstRetrySecondsMax)]
    public double FirstRetrySeconds { get; set; } = RunDefaults.FirstRetrySeconds;

    /// <summary>The A/B experiment every run belongs to (arm hash, <c>feedback/{Experiment}/</c>, priors pointer).</summary>
    [RegularExpression("^(?=.*[A-Za-z0-9])[A-Za-z0-9_.-]{1,63}$", ErrorMessage = "RoleGen:Runs:Experiment must be 1-63 letters, digits, '-', '_' or '.', with at least one letter or digit.")]
    public string Experiment { get; set; } = Core.Experiments.ExperimentOptions.DefaultName;

    /// <summary>Share of users in the treatment arm (RoleGen); the rest get the model alone.</summary>
    [Range(0.0, 1.0)]
    public double TreatmentShare { get; set; } = RunDefaults.TreatmentShare;

    /// <summary>Days after publication in which outcomes count for a run.</summary>
    [Range(RunDefaults.AttributionDaysMin, RunDefaults.AttributionDaysMax)]
    public double AttributionDays { get; set; } = RunDefaults.AttributionDays;

    /// <summary>The run's LLM token budget across its shards and their retries (<c>ReasonerOptions.LlmTokensPerRun</c>);
    /// null: none (each shard attempt has <c>RoleGen:Reasoner:Llm:MaxTokensPerRun</c>).</summary>
    [Range(typeof(long), "0", "9223372036854775807")]
    public long? LlmTokensPerRun { get; set; }

    public RunRequest CreateRequest(string runId, string dataset, DormancyPolicy policy, string triggeredBy) => new()
    {
        RunId = runId,
        Dataset = dataset,
        Policy = policy,
        TopK = TopK,
        ShardSize = ShardSize,
        ShardCount = ShardCount,
        MaxParallelShards = MaxParallelShards,
        MaxAttempts = MaxAttempts,
        FirstRetrySeconds = FirstRetrySeconds,
        TriggeredBy = triggeredBy,
        Experiment = new Core.Experiments.ExperimentOptions { Name = Experiment, TreatmentShare = TreatmentShare, AttributionDays = AttributionDays },
        Reasoner = new Core.Reasoning.ReasonerOptions { LlmTokensPerRun = LlmTokensPerRun },
    };
}

/// <summary>The nightly schedule. The timer trigger reads the same setting through the <c>%RoleGen:Schedule:Nightly%</c>
/// binding expression, which the Functions host resolves at start: the setting must exist.</summary>
public sealed class ScheduleOptions
{
    public const string SectionName = "RoleGen:Schedule";

    public const string NightlyExpression = "%RoleGen:Schedule:Nightly%";

    public const string DefaultNightly = "0 0 2 * * *";

    /// <summary>NCRONTAB with seconds (six fields), UTC. Default 02:00 every day.</summary>
    [Required(ErrorMessage = "Set RoleGen__Schedule__Nightly (NCRONTAB with seconds, e.g. '0 0 2 * * *'): the nightly timer's %RoleGen:Schedule:Nightly% binding needs it.")]
    [RegularExpression(@"^\s*\S+(\s+\S+){5}\s*$", ErrorMessage = "RoleGen:Schedule:Nightly must be an NCRONTAB expression with six fields (seconds first), e.g. '0 0 2 * * *'.")]
    public string? Nightly { get; set; }
}
