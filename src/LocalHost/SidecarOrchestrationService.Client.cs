using System.Collections.Concurrent;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.Extensions.Logging;

namespace RoleGen.LocalHost;

/// <summary>The client side (create, send, wait, query, purge), with the failure-details repair on reads.</summary>
internal sealed partial class SidecarOrchestrationService
{
    // ---- IOrchestrationServiceClient ----

    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage)
    {
        RepairTags(creationMessage);
        return innerClient.CreateTaskOrchestrationAsync(creationMessage);
    }

    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage, OrchestrationStatus[] dedupeStatuses)
    {
        RepairTags(creationMessage);
        return innerClient.CreateTaskOrchestrationAsync(creationMessage, dedupeStatuses);
    }

    public Task SendTaskOrchestrationMessageAsync(TaskMessage message)
    {
        RepairTags(message);
        return innerClient.SendTaskOrchestrationMessageAsync(message);
    }

    public Task SendTaskOrchestrationMessageBatchAsync(params TaskMessage[] messages)
    {
        RepairTags(messages);
        return innerClient.SendTaskOrchestrationMessageBatchAsync(messages);
    }

    public async Task<OrchestrationState> WaitForOrchestrationAsync(string instanceId, string executionId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (waitPollInterval is not { } interval)
        {
            return RepairFailureDetails(await innerClient.WaitForOrchestrationAsync(instanceId, executionId, timeout, cancellationToken).ConfigureAwait(false))!;
        }

        DateTime deadline = timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        while (true)
        {
            var state = await GetOrchestrationStateAsync(instanceId, executionId).ConfigureAwait(false);
            if (state is not null && IsTerminal(state.OrchestrationStatus))
            {
                return state;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return null!;
            }

            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task ForceTerminateTaskOrchestrationAsync(string instanceId, string reason) => innerClient.ForceTerminateTaskOrchestrationAsync(instanceId, reason);

    public async Task<IList<OrchestrationState>> GetOrchestrationStateAsync(string instanceId, bool allExecutions)
    {
        var states = await innerClient.GetOrchestrationStateAsync(instanceId, allExecutions).ConfigureAwait(false);
        foreach (var state in states ?? [])
        {
            RepairFailureDetails(state);
        }

        return states!;
    }

    public async Task<OrchestrationState> GetOrchestrationStateAsync(string instanceId, string executionId) =>
        RepairFailureDetails(await innerClient.GetOrchestrationStateAsync(instanceId, executionId).ConfigureAwait(false))!;

    public Task<string> GetOrchestrationHistoryAsync(string instanceId, string executionId) => innerClient.GetOrchestrationHistoryAsync(instanceId, executionId);

    public Task PurgeOrchestrationHistoryAsync(DateTime thresholdDateTimeUtc, OrchestrationStateTimeRangeFilterType timeRangeFilterType) =>
        innerClient.PurgeOrchestrationHistoryAsync(thresholdDateTimeUtc, timeRangeFilterType);

    // ---- IOrchestrationServicePurgeClient / IOrchestrationServiceQueryClient ----

    public Task<PurgeResult> PurgeInstanceStateAsync(string instanceId) => PurgeClient.PurgeInstanceStateAsync(instanceId);

    public Task<PurgeResult> PurgeInstanceStateAsync(PurgeInstanceFilter purgeInstanceFilter) => PurgeClient.PurgeInstanceStateAsync(purgeInstanceFilter);

    public async Task<OrchestrationQueryResult> GetOrchestrationWithQueryAsync(OrchestrationQuery query, CancellationToken cancellationToken)
    {
        var client = inner as IOrchestrationServiceQueryClient
            ?? throw new NotSupportedException($"{inner.GetType().Name} does not support instance queries.");
        var result = await client.GetOrchestrationWithQueryAsync(query, cancellationToken).ConfigureAwait(false);
        foreach (var state in result.OrchestrationState)
        {
            RepairFailureDetails(state);
        }

        return result;
    }

    private IOrchestrationServicePurgeClient PurgeClient => inner as IOrchestrationServicePurgeClient
        ?? throw new NotSupportedException($"{inner.GetType().Name} does not support purging instances.");
}
