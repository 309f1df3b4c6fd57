using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Orchestrators;

/// <summary>
/// One run: select the dormant cohort → resolve the backbone or build the baseline model → behaviour-graph statistics for
/// the reasoner → fan out <see cref="ShardOrchestrator"/>s (reason → score with fusion → publish) with bounded width →
/// finalize (manifest + report). Progress is the custom status (<see cref="RunProgress"/>). A failing shard is
/// reported, not fatal; a failing cohort selection or model build ends the run as Failed, with a manifest saying why.
/// </summary>
public sealed class NightlyRunOrchestrator : TaskOrchestrator<RunRequest, RunSummary>
{
    public static string ShardInstanceId(string runId, int shard) => RunId.ShardInstance(runId, shard);

    public override async Task<RunSummary> RunAsync(TaskOrchestrationContext context, RunRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger<NightlyRunOrchestrator>();
        var started = context.CurrentUtcDateTime;
        var outcomes = new List<ShardOutcome>();
        double selectSeconds = 0, modelSeconds = 0, shardsSeconds = 0, modelActivitySeconds = 0;
        SelectDormantUsersResult? cohort = null;
        ScoringModelRef? model = null;
        RankerTuning? tuning = null;
        string? rankerNote = null;
        // Validate before anything uses the options: a bad request must still end in a manifest that says why.
        string? error = input.Validate();
        var retry = error is null ? RetryPolicies.Transient(input.MaxAttempts, input.FirstRetrySeconds) : RetryPolicies.Transient(3, 1);

        if (error is null)
        {
            context.SetCustomStatus(new RunProgress("selecting", 0, 0, 0, 0, 0));
            try
            {
                cohort = await context.CallActivityAsync<SelectDormantUsersResult>(nameof(SelectDormantUsersActivity),
                    new SelectDormantUsersInput(input.RunId, input.Dataset, input.Policy, input.ShardSize, input.ShardCount), retry);
                selectSeconds = (context.CurrentUtcDateTime - started).TotalSeconds;
                log.LogInformation("Run {RunId}: {Dormant} dormant users in {Shards} non-empty shards", input.RunId, cohort.Cohort.Dormant, cohort.Shards.Count);
            }
            catch (TaskFailedException ex)
            {
                error = $"Selecting the dormant cohort failed: {RetryPolicies.Describe(ex)}";
            }
        }

        if (error is null && cohort!.Shards.Count > 0)
        {
            var modelStarted = context.CurrentUtcDateTime;
            context.SetCustomStatus(new RunProgress("building-model", 0, cohort.Shards.Count, 0, 0, cohort.Cohort.Dormant));
            try
            {
                // The trained backbone (models/backbone/current) when one is published; otherwise the baseline, built now.
                var resolved = await context.CallActivityAsync<ResolveScoringModelResult>(nameof(ResolveScoringModelActivity),
                    new ResolveScoringModelInput(input.RunId) { Dataset = input.Dataset }, retry);
                log.LogInformation("Run {RunId}: {Reason}; {Tuning}", input.RunId, resolved.Reason, resolved.TuningReason);
                tuning = resolved.Tuning;
                // The validated ranker: the backbone alone (weight 1), the transition model alone (0) or their rank blend.
                // Without a tuning: the backbone when one is published, else the transition model.
                var weight = tuning?.BackboneWeight ?? (resolved.Backbone is null ? 0 : 1);
                if (weight > 0 && resolved.Backbone is null)
                {
                    rankerNote = $"the tuning asks for {tuning!.Describe()} but no backbone is published for the dataset: the transition model scores";
                    weight = 0;
                }
                if (weight >= 1)
                {
                    model = resolved.Backbone;
                }
                else
                {
                    var built = await context.CallActivityAsync<BuildBaselineModelResult>(nameof(BuildBaselineModelActivity),
                        new BuildBaselineModelInput(input.RunId, input.Dataset, cohort.Cohort.AsOfUnixSeconds), retry);
                    model = weight > 0 ? ScoringModelRef.Blend(resolved.Backbone!, built.Model, weight) : built.Model;
                    modelActivitySeconds = built.Seconds;
                }
                rankerNote ??= tuning is null ? resolved.TuningReason : $"{tuning.Describe()}, validated on {tuning.ValidatedOn}";
                modelSeconds = (context.CurrentUtcDateTime - modelStarted).TotalSeconds;
            }
            catch (TaskFailedException ex)
            {
                error = $"Preparing the scoring model failed: {RetryPolicies.Describe(ex)}";
            }
        }

        // Reasoning statistics, once per run. A failure here degrades the run to model-only scoring (said in the manifest)
        // rather than failing it: the candidates are still produced.
        BuildReasoningStatsResult? reasoningStats = null;
        string? reasoningNote = input.Reasoner is { Enabled: false } ? "disabled in the run request" : null;
        if (error is null && model is not null && input.Reasoner.Enabled)
        {
            context.SetCustomStatus(new RunProgress("reasoning-statistics", 0, cohort!.Shards.Count, 0, 0, cohort.Cohort.Dormant));
            try
            {
                reasoningStats = await context.CallActivityAsync<BuildReasoningStatsResult>(nameof(BuildReasoningStatsActivity),
                    new BuildReasoningStatsInput(input.RunId, input.Dataset, cohort.Cohort.AsOfUnixSeconds), retry);
            }
            catch (TaskFailedException ex)
            {
                reasoningNote = $"behaviour-graph statistics failed, scored without reasoning: {RetryPolicies.Describe(ex)}";
                log.LogWarning("Run {RunId}: {Note}", input.RunId, reasoningNote);
            }
        }
        // The validated fusion weights apply unless the request (or the night chain's reflected priors) set others.
        var reasonerOptions = tuning is not null && input.Reasoner.Fusion.Version == new Core.Reasoning.FusionWeights().Version
            ? input.Reasoner with { Fusion = tuning.Fusion }
            : input.Reasoner;
        var reasoningWork = reasoningStats is null ? null : new ReasoningWork(reasoningStats.Path, reasonerOptions);

        if (error is null && model is not null)
        {
            var shardsStarted = context.CurrentUtcDateTime;
            var total = cohort!.Shards.Count;
            long usersScored = 0;
            var failed = 0;
            var queue = new Queue<Core.Cohort.ShardInput>(cohort.Shards);
            var inFlight = new Dictionary<Task<ShardOutcome>, Core.Cohort.ShardInput>();
            context.SetCustomStatus(new RunProgress("scoring", 0, total, 0, 0, cohort.Cohort.Dormant));
            while (queue.Count > 0 || inFlight.Count > 0)
            {
                while (inFlight.Count < input.MaxParallelShards && queue.Count > 0)
                {
                    var shard = queue.Dequeue();
                    var task = context.CallSubOrchestratorAsync<ShardOutcome>(nameof(ShardOrchestrator),
                        new ShardWork(input.RunId, shard, model, input.TopK, input.MaxAttempts, input.FirstRetrySeconds) { Reasoning = reasoningWork, Experiment = input.Experiment },
                        new SubOrchestrationOptions { InstanceId = ShardInstanceId(input.RunId, shard.Shard) });
                    inFlight.Add(task, shard);
                }
                var done = await Task.WhenAny(inFlight.Keys);
                var doneShard = inFlight[done];
                inFlight.Remove(done);
                ShardOutcome outcome;
                try
                {
                    outcome = await done;
                }
                catch (TaskFailedException ex)
                {
                    // The shard orchestrator itself failed (it normally reports failures as an outcome).
                    outcome = new ShardOutcome(doneShard.Shard, ShardStatus.Failed, doneShard.Users, 0, 0, null,
                        RetryPolicies.Describe(ex), 1, 0, 0, context.CurrentUtcDateTime, context.CurrentUtcDateTime);
                }
                outcomes.Add(outcome);
                usersScored += outcome.Published;
                failed += outcome.Status == ShardStatus.Failed ? 1 : 0;
                context.SetCustomStatus(new RunProgress("scoring", outcomes.Count, total, failed, usersScored, cohort.Cohort.Dormant));
            }
            shardsSeconds = (context.CurrentUtcDateTime - shardsStarted).TotalSeconds;
        }

        if (error is not null)
        {
            log.LogError("Run {RunId} failed: {Error}", input.RunId, error);
        }
        context.SetCustomStatus(new RunProgress("finalizing", outcomes.Count, cohort?.Shards.Count ?? 0,
            outcomes.Count(o => o.Status == ShardStatus.Failed), outcomes.Sum(o => (long)o.Published), cohort?.Cohort.Dormant ?? 0));
        var summary = await context.CallActivityAsync<RunSummary>(nameof(FinalizeRunActivity),
            new FinalizeRunInput(ReferenceEquals(reasonerOptions, input.Reasoner) ? input : input with { Reasoner = reasonerOptions }, cohort?.Cohort, model, outcomes, started, context.CurrentUtcDateTime, selectSeconds, modelSeconds, shardsSeconds, error)
            {
                ModelActivitySeconds = modelActivitySeconds,
                ReasoningStats = reasoningStats,
                ReasoningNote = reasoningNote,
                Tuning = tuning,
                RankerNote = rankerNote,
            },
            retry);
        context.SetCustomStatus(new RunProgress("done", outcomes.Count, cohort?.Shards.Count ?? 0,
            summary.FailedShards, summary.Published, summary.Dormant));
        return summary;
    }
}
