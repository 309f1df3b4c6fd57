using System.Collections.Concurrent;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.Extensions.Logging;

namespace RoleGen.LocalHost;

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
internal sealed partial class SidecarOrchestrationService :
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
}
