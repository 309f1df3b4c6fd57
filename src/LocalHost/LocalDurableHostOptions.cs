namespace RoleGen.LocalHost;

/// <summary>Which DurableTask.Core orchestration service sits behind the embedded sidecar.</summary>
public enum DurableBackend
{
    /// <summary>Process-local, nothing persisted: fast tests and throw-away runs.</summary>
    InMemory,

    /// <summary>Azure Storage queues/tables/blobs (Azurite locally): a restarted process resumes its orchestrations.</summary>
    AzureStorage,
}

/// <summary>Settings of <see cref="LocalDurableHost"/>.</summary>
public sealed class LocalDurableHostOptions
{
    /// <summary>Backend behind the sidecar. Default <see cref="DurableBackend.AzureStorage"/>.</summary>
    public DurableBackend Backend { get; set; } = DurableBackend.AzureStorage;

    /// <summary>Azure Storage connection string (AzureStorage backend only). Default: Azurite on 127.0.0.1:10000-10002.</summary>
    public string StorageConnectionString { get; set; } = "UseDevelopmentStorage=true";

    /// <summary>Task hub name (AzureStorage backend only): 3-45 letters/digits, starting with a letter.</summary>
    public string TaskHubName { get; set; } = "rolegen";

    /// <summary>Activities executed at the same time by this process's worker.</summary>
    public int MaxConcurrentActivities { get; set; } = 4;

    /// <summary>Orchestration episodes executed at the same time by this process's worker.</summary>
    public int MaxConcurrentOrchestrations { get; set; } = 16;

    /// <summary>Longest back-off of an idle Azure Storage queue poll (the library default, 30 s, makes idle runs sluggish).</summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Register the durable client only, no worker: the process reads and schedules instances but never takes a
    /// work item, a partition lease or a queue message (read-only commands such as <c>rolegen status</c>).</summary>
    public bool ClientOnly { get; set; }

    internal LocalDurableHostOptions Clone() => (LocalDurableHostOptions)MemberwiseClone();

    internal void Validate()
    {
        if (MaxConcurrentActivities < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentActivities), MaxConcurrentActivities, "Must be at least 1.");
        }

        if (MaxConcurrentOrchestrations < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentOrchestrations), MaxConcurrentOrchestrations, "Must be at least 1.");
        }

        if (MaxQueuePollingInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuePollingInterval), MaxQueuePollingInterval, "Must be positive.");
        }

        if (Backend == DurableBackend.AzureStorage)
        {
            if (string.IsNullOrWhiteSpace(StorageConnectionString))
            {
                throw new ArgumentException("StorageConnectionString is required for the AzureStorage backend.", nameof(StorageConnectionString));
            }

            if (!IsValidTaskHubName(TaskHubName))
            {
                throw new ArgumentException(
                    $"Task hub name '{TaskHubName}' is invalid: use 3-45 letters or digits, starting with a letter.", nameof(TaskHubName));
            }
        }
    }

    internal static bool IsValidTaskHubName(string? name) =>
        name is { Length: >= 3 and <= 45 } && char.IsAsciiLetter(name[0]) && name.All(char.IsAsciiLetterOrDigit);
}
