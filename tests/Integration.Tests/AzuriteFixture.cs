using Azure.Storage.Blobs;
using RoleGen.LocalHost;
using RoleGen.Infrastructure.Storage;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace RoleGen.Integration.Tests;

/// <summary>A real Azurite (started by ./test.sh). Each fixture works in its own container and task hub.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("ROLEGEN_TEST_STORAGE") is { Length: > 0 } s ? s : "UseDevelopmentStorage=true";

    public string Container { get; } = $"it-{Guid.NewGuid():N}"[..20];

    public string TaskHub { get; } = $"it{Guid.NewGuid():N}"[..20];

    public string SecondTaskHub { get; } = $"it{Guid.NewGuid():N}"[..20];

    /// <summary>The demo test's own hub: it processes orchestrations right after the Taobao test's host stopped.</summary>
    public string DemoTaskHub { get; } = $"it{Guid.NewGuid():N}"[..20];

    public BlobContainerClient ContainerClient { get; private set; } = null!;

    public AzureBlobStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        try
        {
            await LocalDurableHost.EnsureStorageReachableAsync(ConnectionString);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"Integration tests need Azurite: run ./test.sh (it starts Azurite) or scripts/azurite.sh start. {ex.Message}", ex);
        }
        ContainerClient = new BlobServiceClient(ConnectionString).GetBlobContainerClient(Container);
        Store = new AzureBlobStore(ContainerClient);
        await Store.EnsureContainerAsync();
    }

    public async Task DisposeAsync()
    {
        await ContainerClient.DeleteIfExistsAsync();
        foreach (var hub in new[] { TaskHub, SecondTaskHub, DemoTaskHub })
        {
            try
            {
                await LocalDurableHost.DeleteTaskHubAsync(new LocalDurableHostOptions { StorageConnectionString = ConnectionString, TaskHubName = hub });
            }
            catch (Exception ex) when (ex is InvalidOperationException or Azure.RequestFailedException)
            {
                // best effort: a hub that was never created has nothing to delete
            }
        }
    }
}

public static class TestData
{
    /// <summary>../shared/data (beside the clone), found by walking up from the test binaries; null when absent.</summary>
    public static string? SharedData { get; } = Find();

    private static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    public static string Require(params string[] parts)
    {
        var root = SharedData ?? throw new InvalidOperationException("../shared/data is missing: the integration tests read the real datasets from there.");
        var path = Path.Combine([root, .. parts]);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Dataset file {path} is missing.", path);
    }
}
