namespace RoleGen.LocalHost;

/// <summary>
/// The Azure Storage backend's timeouts that decide how fast a run resumes after its process was killed (see
/// <c>LocalDurableHost.CreateSettings</c>): a restarted process waits at most for the longest of the visibility
/// timeouts of the messages the dead process had dequeued, and for its partition leases to expire and be acquired.
/// </summary>
internal static class RecoveryTimeouts
{
    /// <summary>Activity (work-item queue) messages; renewed every half timeout while the activity runs.</summary>
    public static TimeSpan WorkItemVisibility { get; } = TimeSpan.FromSeconds(20);

    /// <summary>Control-queue (orchestration) messages; not renewed, held only while an orchestration step runs.</summary>
    public static TimeSpan ControlVisibility { get; } = TimeSpan.FromSeconds(30);

    /// <summary>Partition lease duration (blob leases: 15–60 s).</summary>
    public static TimeSpan LeaseInterval { get; } = TimeSpan.FromSeconds(20);

    /// <summary>How often held leases are renewed: several renewals per lease interval, so a slow storage call
    /// does not cost the partition.</summary>
    public static TimeSpan LeaseRenewInterval { get; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a worker looks for partitions to take (expired leases of a dead process).</summary>
    public static TimeSpan LeaseAcquireInterval { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest a restarted process waits before it can run work the dead one held.</summary>
    public static TimeSpan WorstCaseWait
    {
        get
        {
            var lease = LeaseInterval + LeaseAcquireInterval;
            var message = WorkItemVisibility > ControlVisibility ? WorkItemVisibility : ControlVisibility;
            return lease > message ? lease : message;
        }
    }
}
