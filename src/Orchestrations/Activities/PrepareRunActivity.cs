using Microsoft.DurableTask;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Core.Telemetry;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>The run's one pass over its events (<see cref="RunInputsBuilder"/>): the dormant cohort and every shard's
/// <c>users.jsonl</c>, the transition model when the ranker uses it, and the reasoner's statistics — each event read once.
/// Outputs have deterministic names (overwritten on retry).</summary>
public sealed class PrepareRunActivity(RunInputsBuilder builder) : TaskActivity<PrepareRunInput, PrepareRunResult>
{
    public override async Task<PrepareRunResult> RunAsync(TaskActivityContext context, PrepareRunInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var span = RoleGenTelemetry.Source.StartActivity(nameof(PrepareRunActivity));
        span?.SetTag("rolegen.run_id", input.RunId);
        span?.SetTag(RoleGenTelemetry.DatasetTag, input.Dataset);
        RoleGenTelemetry.RunsStarted.Add(1, new KeyValuePair<string, object?>(RoleGenTelemetry.TriggerTag, input.TriggeredBy));
        var built = await builder.BuildAsync(new RunInputsRequest(input.RunId, input.Dataset, input.Policy, input.ShardSize, input.ShardCount,
            input.BuildTransition, input.BuildStatistics)).ConfigureAwait(false);
        var cohort = built.Cohort;
        var summary = new CohortSummary(BlobLayout.Cohort(input.RunId), cohort.AsOfUnixSeconds, cohort.WindowStartUnixSeconds,
            cohort.EventsInWindow, cohort.UsersInWindow, cohort.Dormant, cohort.NotDormantReasons, cohort.ShardCount, cohort.EmptyShards, built.Seconds);
        RoleGenTelemetry.UsersSelected.Add(cohort.Dormant, new KeyValuePair<string, object?>(RoleGenTelemetry.DatasetTag, input.Dataset));
        span?.SetTag("rolegen.users.dormant", cohort.Dormant);
        var users = new int[cohort.ShardCount];
        foreach (var shard in cohort.Shards)
        {
            users[shard.Shard] = shard.Users;
        }
        var transition = built.Transition is { } t ? new ScoringModelRef(TransitionModel.Kind, input.RunId, t.Path) : null;
        var stats = built.Statistics is { } s
            ? new BuildReasoningStatsResult(built.StatisticsPath!, s.Users, s.Events, s.Items.Count, s.Categories.Count, s.BaseRate, 0)
            : null;
        return new PrepareRunResult(summary, users, transition, stats, built.StatisticsError,
            new RunPreparation(built.EventsRead, built.EventsUsed, built.Users, built.BytesRead, built.StreamSeconds, built.UsersSeconds, built.WriteSeconds, built.Seconds));
    }
}
