using Microsoft.DurableTask;
using RoleGen.Core.Cohort;
using RoleGen.Core.Runs;
using RoleGen.Orchestrations.Models;
using RoleGen.Core.Storage;

namespace RoleGen.Orchestrations.Activities;

/// <summary>Events → dormant cohort → <c>runs/{runId}/shards/{n}/users.jsonl</c>. Returns shard refs and counts.</summary>
public sealed class SelectDormantUsersActivity(DormantCohortSelector selector) : TaskActivity<SelectDormantUsersInput, SelectDormantUsersResult>
{
    public override async Task<SelectDormantUsersResult> RunAsync(TaskActivityContext context, SelectDormantUsersInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var cohort = await selector.SelectAsync(input.RunId, input.Dataset, input.Policy, input.ShardSize, input.ShardCount).ConfigureAwait(false);
        var summary = new CohortSummary(BlobLayout.Cohort(input.RunId), cohort.AsOfUnixSeconds, cohort.WindowStartUnixSeconds,
            cohort.EventsInWindow, cohort.UsersInWindow, cohort.Dormant, cohort.NotDormantReasons, cohort.ShardCount, cohort.EmptyShards, cohort.Seconds);
        return new SelectDormantUsersResult(summary, cohort.Shards);
    }
}
