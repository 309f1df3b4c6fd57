using System.Collections.Concurrent;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.Extensions.Logging;

namespace RoleGen.LocalHost;

/// <summary>Work items: concurrency slots, activity lock renewal, early timers (see the class summary).</summary>
internal sealed partial class SidecarOrchestrationService
{
    // ---- IOrchestrationService: orchestration work items ----

    public async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        await WaitForSlotAsync(orchestrationSlots, cancellationToken).ConfigureAwait(false);
        TaskOrchestrationWorkItem? workItem = null;
        try
        {
            workItem = await inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (workItem is null || !heldOrchestrations.TryAdd(workItem, 0))
            {
                orchestrationSlots.Release();
            }
        }

        if (workItem is not null && EarlyTimerDelay(workItem) is { } early)
        {
            // Azure Storage queue visibility has whole-second granularity, so timer messages arrive up to 1 s early
            // (and the sidecar does not check). Hold the work item until the timer is due.
            await Task.Delay(early, cancellationToken).ConfigureAwait(false);
        }

        return workItem!;
    }

    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) => inner.RenewTaskOrchestrationWorkItemLockAsync(workItem);

    public Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem,
        OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState)
    {
        Repair(newOrchestrationRuntimeState, orchestrationState);
        if (!ReferenceEquals(workItem.OrchestrationRuntimeState, newOrchestrationRuntimeState))
        {
            Repair(workItem.OrchestrationRuntimeState, orchestrationState);
        }

        RepairTags(outboundMessages);
        RepairTags(orchestratorMessages);
        RepairTags(timerMessages);
        if (continuedAsNewMessage?.Event is ExecutionStartedEvent continued)
        {
            RepairTags(continued);
        }

        return inner.CompleteTaskOrchestrationWorkItemAsync(
            workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);
    }

    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.AbandonTaskOrchestrationWorkItemAsync(workItem);

    public async Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem)
    {
        try
        {
            await inner.ReleaseTaskOrchestrationWorkItemAsync(workItem).ConfigureAwait(false);
        }
        finally
        {
            if (heldOrchestrations.TryRemove(workItem, out _))
            {
                orchestrationSlots.Release();
            }
        }
    }

    // ---- IOrchestrationService: activity work items ----

    public async Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        await WaitForSlotAsync(activitySlots, cancellationToken).ConfigureAwait(false);
        TaskActivityWorkItem? workItem = null;
        bool held = false;
        try
        {
            workItem = await inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken).ConfigureAwait(false);
            if (workItem is not null)
            {
                var activityLock = new ActivityLock();
                held = heldActivities.TryAdd(workItem, activityLock);
                if (held)
                {
                    activityLock.Renewal = RenewActivityLockAsync(workItem, activityLock.Stop.Token);
                }
            }
        }
        finally
        {
            if (!held)
            {
                activitySlots.Release();
            }
        }

        return workItem!;
    }

    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem) => inner.RenewTaskActivityWorkItemLockAsync(workItem);

    public async Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage)
    {
        var activityLock = await StopRenewalAsync(workItem).ConfigureAwait(false);
        try
        {
            await inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage).ConfigureAwait(false);
        }
        finally
        {
            ReleaseActivity(workItem, activityLock);
        }
    }

    public async Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem)
    {
        var activityLock = await StopRenewalAsync(workItem).ConfigureAwait(false);
        try
        {
            await inner.AbandonTaskActivityWorkItemAsync(workItem).ConfigureAwait(false);
        }
        finally
        {
            ReleaseActivity(workItem, activityLock);
        }
    }

    private async Task WaitForSlotAsync(SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping.Token);
        try
        {
            await slots.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The backend stopped: park the sidecar's fetch loop until it is cancelled too, instead of letting it spin.
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }

        if (Volatile.Read(ref stopped) != 0)
        {
            slots.Release();
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RenewActivityLockAsync(TaskActivityWorkItem workItem, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                TimeSpan left = workItem.LockedUntilUtc - DateTime.UtcNow;
                if (workItem.LockedUntilUtc == default || left > TimeSpan.FromDays(1))
                {
                    return; // the backend does not expire locks (in-memory)
                }

                TimeSpan delay = left / 2;
                await Task.Delay(delay < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : delay, stop).ConfigureAwait(false);
                try
                {
                    await inner.RenewTaskActivityWorkItemLockAsync(workItem).ConfigureAwait(false);
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    logger.LogWarning(e, "Could not renew the lock of activity work item {WorkItemId}; retrying.", workItem.Id);
                    await Task.Delay(TimeSpan.FromSeconds(5), stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task<ActivityLock?> StopRenewalAsync(TaskActivityWorkItem workItem)
    {
        if (!heldActivities.TryGetValue(workItem, out var activityLock))
        {
            return null;
        }

        await activityLock.Stop.CancelAsync().ConfigureAwait(false);
        if (activityLock.Renewal is { } renewal)
        {
            await renewal.ConfigureAwait(false);
        }

        return activityLock;
    }

    private void ReleaseActivity(TaskActivityWorkItem workItem, ActivityLock? activityLock)
    {
        if (activityLock is not null && heldActivities.TryRemove(new KeyValuePair<TaskActivityWorkItem, ActivityLock>(workItem, activityLock)))
        {
            activityLock.Stop.Dispose();
            activitySlots.Release();
        }
    }

    private sealed class ActivityLock
    {
        public CancellationTokenSource Stop { get; } = new();

        public Task? Renewal { get; set; }
    }
}
