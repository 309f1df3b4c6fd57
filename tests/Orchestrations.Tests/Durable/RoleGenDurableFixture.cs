using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RoleGen.Core.Demo;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Composition;
using RoleGen.LocalHost;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Orchestrations.Tests.Durable;

/// <summary>One started host for the durable tests: the in-memory durable backend with RoleGen's tasks, the domain services,
/// an in-memory blob store behind a fault injector, and a small demo world already written to it.</summary>
public sealed class RoleGenDurableFixture : IAsyncLifetime
{
    public const string Dataset = "demo";
    public const int Users = 1_500;

    private IHost? host;

    internal FaultInjectingBlobStore Store { get; } = new(new InMemoryBlobStore());

    public DurableTaskClient Client => host!.Services.GetRequiredService<DurableTaskClient>();

    public async Task InitializeAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddRoleGenCore();
        builder.Services.AddSingleton<IBlobStore>(Store);
        builder.Services.AddLocalDurableHost(new LocalDurableHostOptions
        {
            Backend = DurableBackend.InMemory,
            MaxConcurrentActivities = 8,
            MaxConcurrentOrchestrations = 32,
        }, registry => registry.AddRoleGenTasks());
        host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StartAsync(timeout.Token);
        await host.Services.GetRequiredService<DemoWorldWriter>().WriteAsync(new DemoWorldOptions { Users = Users }, Dataset,
            cancellationToken: timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await host.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
            }
            host.Dispose();
        }
    }

    public static RunRequest Request(string runId) => new()
    {
        RunId = runId,
        Dataset = Dataset,
        ShardSize = 60,
        TopK = 10,
        MaxParallelShards = 4,
        MaxAttempts = 3,
        FirstRetrySeconds = 0.1,
        TriggeredBy = "test",
    };

    /// <summary>Schedules a run under its run id (as the CLI does) and waits for it to finish.</summary>
    public async Task<OrchestrationMetadata> RunAsync(RunRequest request, int timeoutSeconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        await Client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(NightlyRunOrchestrator)), request,
            new StartOrchestrationOptions { InstanceId = request.RunId }, timeout.Token);
        return await Client.WaitForInstanceCompletionAsync(request.RunId, getInputsAndOutputs: true, timeout.Token);
    }
}

[CollectionDefinition(Name)]
public sealed class RoleGenDurableCollection : ICollectionFixture<RoleGenDurableFixture>
{
    public const string Name = "RoleGen durable host";
}
