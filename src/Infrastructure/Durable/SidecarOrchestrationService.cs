using System.Collections.Concurrent;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.Extensions.Logging;

namespace RoleGen.Infrastructure.Durable;

/// <summary>
/// Decorates the DurableTask.Core backend that the in-process gRPC sidecar (<c>TaskHubGrpcServer</c>) drives, fixing
/// what goes wrong between the two:
/// <list type="bullet">
/// <item>Concurrency. The sidecar's dispatcher sleeps 500 ms whenever the backend's <c>MaxConcurrent*WorkItems</c> are
/// in flight (in-memory reports ProcessorCount → ~4 activities/s). Here the properties report "unlimited" and the
/// limits are enforced exactly by semaphores around the lock/complete calls instead.</item>
/// <item>Sub-orchestrations. The sidecar records them as <c>GrpcSubOrchestrationInstanceCreatedEvent</c> (no
/// [DataContract]: Azure Storage writes an empty history row and the parent never resumes) and copies Tags as a
/// Google.Protobuf <c>MapField</c> (the queue serializer cannot resolve its <c>$type</c>). Both are replaced by the plain
/// types before anything is persisted.</item>
/// <item>Failure details. The sidecar drops them from <see cref="ExecutionCompletedEvent"/>; Azure Storage only keeps
/// the output, so they are put back on the event (stored as "ErrorType: message") and parsed back when read.</item>
/// <item>Activity locks. The sidecar never renews them: an activity running longer than the queue visibility timeout
/// would be delivered twice. Locks of in-flight activities are renewed here (at half their remaining time).</item>
/// <item>Timers. Azure Storage delivers timer messages up to 1 s early (whole-second queue visibility); the work
/// item is held until the timer is due.</item>
/// <item>Waiting. Azure Storage polls the status of an awaited instance every 2 s; here every <c>waitPollInterval</c>.</item>
/// <item>Shutdown. Work items still held when the host stops are abandoned, so a new process picks them up at once
/// instead of after the queue visibility timeout.</item>
/// </list>
/// </summary>
internal sealed class SidecarOrchestrationService :
    IOrchestrationService, IOrchestrationServiceClient, IOrchestrationServicePurgeClient, IOrchestrationServiceQueryClient, IDisposable
{
    /// <summary>What the sidecar's dispatchers see as the limit: high enough never to trigger their 500 ms sleep.</summary>
    internal const int ReportedConcurrencyLimit = 1_000_000;

    private readonly IOrchestrationService inner;
    private readonly IOrchestrationServiceClient innerClient;
    private readonly SemaphoreSlim activitySlots;
    private readonly SemaphoreSlim orchestrationSlots;
    private readonly TimeSpan? waitPollInterval;
    private readonly bool repairFailureDetails;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<TaskActivityWorkItem, ActivityLock> heldActivities = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<TaskOrchestrationWorkItem, byte> heldOrchestrations = new(ReferenceEqualityComparer.Instance);
    private readonly CancellationTokenSource stopping = new();
    private int stopped;
    private Task? stopTask;
    private Task? startTask;

    /// <param name="inner">The backend; must also implement <see cref="IOrchestrationServiceClient"/>.</param>
    /// <param name="maxConcurrentActivities">Activity work items handed out at once.</param>
    /// <param name="maxConcurrentOrchestrations">Orchestration work items handed out at once.</param>
    /// <param name="waitPollInterval">When set, <see cref="WaitForOrchestrationAsync"/> polls the status at this interval instead of calling the backend's own wait.</param>
    /// <param name="repairFailureDetails">Store failure details in the output and parse them back (for backends that keep no failure details).</param>
    /// <param name="logger">For renewal/abandon problems.</param>
    public SidecarOrchestrationService(
        IOrchestrationService inner,
        int maxConcurrentActivities,
        int maxConcurrentOrchestrations,
        TimeSpan? waitPollInterval,
        bool repairFailureDetails,
        ILogger logger)
    {
        this.inner = inner;
        innerClient = inner as IOrchestrationServiceClient
            ?? throw new ArgumentException("The orchestration service must also implement IOrchestrationServiceClient.", nameof(inner));
        activitySlots = new SemaphoreSlim(maxConcurrentActivities, maxConcurrentActivities);
        orchestrationSlots = new SemaphoreSlim(maxConcurrentOrchestrations, maxConcurrentOrchestrations);
        this.waitPollInterval = waitPollInterval;
        this.repairFailureDetails = repairFailureDetails;
        this.logger = logger;
    }

    // ---- IOrchestrationService: properties ----

    public int TaskOrchestrationDispatcherCount => inner.TaskOrchestrationDispatcherCount;

    public int MaxConcurrentTaskOrchestrationWorkItems => ReportedConcurrencyLimit;

    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => inner.EventBehaviourForContinueAsNew;

    public int TaskActivityDispatcherCount => inner.TaskActivityDispatcherCount;

    public int MaxConcurrentTaskActivityWorkItems => ReportedConcurrencyLimit;

    // ---- IOrchestrationService: lifecycle ----

    public Task StartAsync()
    {
        lock (stopping)
        {
            return startTask ??= inner.StartAsync();
        }
    }

    public Task StopAsync() => StopAsync(isForced: false);

    /// <summary>
    /// Stops fetching, abandons the work items still out and stops the backend, once: the sidecar stops it from a
    /// background callback, the host awaits it; every caller gets the same task. Call it after the worker is gone.
    /// </summary>
    public Task StopAsync(bool isForced)
    {
        lock (stopping)
        {
            if (stopTask is null)
            {
                Volatile.Write(ref stopped, 1);
                stopTask = StopCoreAsync(isForced);
            }

            return stopTask;
        }
    }

    private async Task StopCoreAsync(bool isForced)
    {
        // The sidecar calls this from a fire-and-forget callback when the host stops: an exception here would crash the
        // process, so failures are logged, never thrown. A backend that never started is not stopped (AzureStorage's
        // StopAsync throws NullReferenceException then — seen when a host is disposed right after start).
        try
        {
            await stopping.CancelAsync().ConfigureAwait(false);
            await AbandonInFlightAsync().ConfigureAwait(false);
            Task? started;
            lock (stopping)
            {
                started = startTask;
            }
            if (started is null)
            {
                return;
            }
            try
            {
                await started.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogWarning(e, "The durable backend had failed to start; nothing to stop.");
                return;
            }
            await inner.StopAsync(isForced).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning(e, "Stopping the durable backend failed; its leases expire on their own.");
        }
    }

    public Task CreateAsync() => inner.CreateAsync();

    public Task CreateAsync(bool recreateInstanceStore) => inner.CreateAsync(recreateInstanceStore);

    public Task CreateIfNotExistsAsync() => inner.CreateIfNotExistsAsync();

    public Task DeleteAsync() => inner.DeleteAsync();

    public Task DeleteAsync(bool deleteInstanceStore) => inner.DeleteAsync(deleteInstanceStore);

    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) =>
        inner.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);

    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => inner.GetDelayInSecondsAfterOnProcessException(exception);

    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => inner.GetDelayInSecondsAfterOnFetchException(exception);

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

    // ---- shutdown ----

    /// <summary>
    /// Hands back every work item that is still out (the worker is gone, so they would never complete): the backend
    /// makes their messages visible again for the next process.
    /// </summary>
    private async Task AbandonInFlightAsync()
    {
        foreach (var workItem in heldActivities.Keys)
        {
            await TryAsync(() => AbandonTaskActivityWorkItemAsync(workItem), "abandon activity", workItem.Id).ConfigureAwait(false);
        }

        foreach (var workItem in heldOrchestrations.Keys)
        {
            await TryAsync(() => inner.AbandonTaskOrchestrationWorkItemAsync(workItem), "abandon orchestration", workItem.InstanceId).ConfigureAwait(false);
            await TryAsync(() => ReleaseTaskOrchestrationWorkItemAsync(workItem), "release orchestration", workItem.InstanceId).ConfigureAwait(false);
        }
    }

    /// <summary>Cancels fetches and lock renewals and disposes the backend. (The cancellation sources are left undisposed: late calls from the sidecar may still read their tokens.)</summary>
    public void Dispose()
    {
        stopping.Cancel();
        foreach (var activityLock in heldActivities.Values)
        {
            try
            {
                activityLock.Stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // released concurrently
            }
        }

        (inner as IDisposable)?.Dispose();
    }

    // ---- helpers ----

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

    private async Task TryAsync(Func<Task> action, string what, string id)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not {Action} work item {WorkItemId} during shutdown.", what, id);
        }
    }

    private static TimeSpan? EarlyTimerDelay(TaskOrchestrationWorkItem workItem)
    {
        DateTime latest = DateTime.MinValue;
        foreach (var message in workItem.NewMessages ?? [])
        {
            if (message.Event is TimerFiredEvent timer && timer.FireAt.ToUniversalTime() > latest)
            {
                latest = timer.FireAt.ToUniversalTime();
            }
        }

        TimeSpan early = latest - DateTime.UtcNow;
        return early > TimeSpan.Zero && early <= TimeSpan.FromSeconds(5) ? early : null;
    }

    private static bool IsTerminal(OrchestrationStatus status) =>
        status is OrchestrationStatus.Completed or OrchestrationStatus.Failed or OrchestrationStatus.Terminated or OrchestrationStatus.Canceled;

    /// <summary>Swaps sidecar-specific event subclasses for the plain, serializable types.</summary>
    private void Repair(OrchestrationRuntimeState? runtimeState, OrchestrationState? orchestrationState)
    {
        if (runtimeState is null)
        {
            return;
        }

        foreach (var historyEvent in runtimeState.NewEvents.ToList())
        {
            switch (historyEvent)
            {
                case SubOrchestrationInstanceCreatedEvent created when created.GetType() != typeof(SubOrchestrationInstanceCreatedEvent):
                    Replace(runtimeState, created, new SubOrchestrationInstanceCreatedEvent(created.EventId)
                    {
                        Name = created.Name,
                        Version = created.Version,
                        InstanceId = created.InstanceId,
                        Input = created.Input,
                        ClientSpanId = created.ClientSpanId,
                        Tags = created.Tags is null ? null : new Dictionary<string, string>(created.Tags),
                        Timestamp = created.Timestamp,
                        IsPlayed = created.IsPlayed,
                    });
                    break;

                case ExecutionStartedEvent started:
                    RepairTags(started);
                    break;

                case ExecutionCompletedEvent { FailureDetails: null } completed
                    when repairFailureDetails && orchestrationState?.FailureDetails is { } failure:
                    var withFailure = new ExecutionCompletedEvent(completed.EventId, completed.Result, completed.OrchestrationStatus, failure)
                    {
                        Timestamp = completed.Timestamp,
                        IsPlayed = completed.IsPlayed,
                    };
                    Replace(runtimeState, completed, withFailure);
                    if (ReferenceEquals(runtimeState.ExecutionCompletedEvent, completed))
                    {
                        runtimeState.ExecutionCompletedEvent = withFailure;
                    }

                    break;
            }
        }
    }

    private static void Replace(OrchestrationRuntimeState runtimeState, HistoryEvent old, HistoryEvent replacement)
    {
        ReplaceIn(runtimeState.Events, old, replacement);
        ReplaceIn(runtimeState.NewEvents, old, replacement);
        ReplaceIn(runtimeState.PastEvents, old, replacement);
    }

    private static void ReplaceIn(IList<HistoryEvent> events, HistoryEvent old, HistoryEvent replacement)
    {
        for (int i = 0; i < events.Count; i++)
        {
            if (ReferenceEquals(events[i], old))
            {
                events[i] = replacement;
            }
        }
    }

    private static void RepairTags(IEnumerable<TaskMessage>? messages)
    {
        foreach (var message in messages ?? [])
        {
            RepairTags(message);
        }
    }

    private static void RepairTags(TaskMessage? message)
    {
        if (message?.Event is ExecutionStartedEvent started)
        {
            RepairTags(started);
        }
    }

    /// <summary>Replaces a Google.Protobuf MapField (or any other dictionary type) by a plain Dictionary.</summary>
    private static void RepairTags(ExecutionStartedEvent started)
    {
        if (started.Tags is { } tags && tags.GetType() != typeof(Dictionary<string, string>))
        {
            started.Tags = new Dictionary<string, string>(tags);
        }
    }

    /// <summary>Azure Storage keeps a failed instance's failure details only as "ErrorType: message" in its output.</summary>
    private OrchestrationState? RepairFailureDetails(OrchestrationState? state)
    {
        if (repairFailureDetails && state is { OrchestrationStatus: OrchestrationStatus.Failed, FailureDetails: null, Output: { Length: > 0 } output })
        {
            int colon = output.IndexOf(": ", StringComparison.Ordinal);
            bool typed = colon > 0 && !output.AsSpan(0, colon).ContainsAny(" \r\n\"{[");
            state.FailureDetails = typed
                ? new FailureDetails(output[..colon], output[(colon + 2)..], null, null, false)
                : new FailureDetails("OrchestrationFailed", output, null, null, false);
        }

        return state;
    }

    private sealed class ActivityLock
    {
        public CancellationTokenSource Stop { get; } = new();

        public Task? Renewal { get; set; }
    }
}
