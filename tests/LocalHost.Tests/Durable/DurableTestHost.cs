using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RoleGen.LocalHost;

namespace RoleGen.LocalHost.Tests.Durable;

/// <summary>A started generic host with the local durable host and all test tasks.</summary>
internal sealed class DurableTestHost : IAsyncDisposable
{
    private readonly IHost host;

    private DurableTestHost(IHost host) => this.host = host;

    public DurableTaskClient Client => host.Services.GetRequiredService<DurableTaskClient>();

    public IServiceProvider Services => host.Services;

    public static LocalDurableHostOptions InMemoryOptions() => new()
    {
        Backend = DurableBackend.InMemory,
        MaxConcurrentActivities = 64,
        MaxConcurrentOrchestrations = 64,
    };

    /// <summary>Options for a fresh task hub on Azurite (letters+digits, unique per test).</summary>
    public static LocalDurableHostOptions AzuriteOptions() => new()
    {
        Backend = DurableBackend.AzureStorage,
        TaskHubName = "rgt" + Guid.NewGuid().ToString("N")[..20],
        MaxConcurrentActivities = 32,
        MaxConcurrentOrchestrations = 32,
    };

    public static async Task<DurableTestHost> StartAsync(LocalDurableHostOptions options, ActivityLog? log = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(log ?? new ActivityLog());
        builder.Services.AddLocalDurableHost(options, r => r
            .AddActivity<SquareActivity>()
            .AddActivity<FlakyActivity>()
            .AddActivity<RecordActivity>()
            .AddOrchestrator<FanOutOrchestrator>()
            .AddOrchestrator<SubOrchestrationFanOutOrchestrator>()
            .AddOrchestrator<RetryOrchestrator>()
            .AddOrchestrator<CombinedOrchestrator>()
            .AddOrchestrator<TimerAndEventOrchestrator>()
            .AddOrchestrator<ContinueAsNewOrchestrator>());
        var host = builder.Build();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StartAsync(timeout.Token);
            return new DurableTestHost(host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Schedules <typeparamref name="TOrchestrator"/> and waits (at most <paramref name="timeoutSeconds"/>) for it to finish.</summary>
    public async Task<OrchestrationMetadata> RunAsync<TOrchestrator>(object? input, int timeoutSeconds = 30)
    {
        string id = await Client.ScheduleNewOrchestrationInstanceAsync(typeof(TOrchestrator).Name, input);
        return await WaitAsync(id, timeoutSeconds);
    }

    public async Task<OrchestrationMetadata> WaitAsync(string instanceId, int timeoutSeconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        return await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, timeout.Token);
    }

    /// <summary>Polls until the instance's custom status is <paramref name="status"/>.</summary>
    public async Task WaitForCustomStatusAsync(string instanceId, string status, int timeoutSeconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        while (true)
        {
            var metadata = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, timeout.Token);
            if (metadata?.SerializedCustomStatus is not null && metadata.ReadCustomStatusAs<string>() == status)
            {
                return;
            }

            Assert.False(metadata?.IsCompleted ?? false, $"{instanceId} finished ({metadata?.RuntimeStatus}) before reaching status '{status}'.");
            await Task.Delay(100, timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(timeout.Token);
        host.Dispose();
    }
}
