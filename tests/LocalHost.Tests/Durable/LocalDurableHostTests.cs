using System.Diagnostics;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RoleGen.LocalHost;

namespace RoleGen.LocalHost.Tests.Durable;

public sealed class LocalDurableHostTests
{
    private const string UnreachableStorage =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;" +
        "TableEndpoint=http://127.0.0.1:1/devstoreaccount1;";

    [Fact]
    public async Task Start_fails_fast_with_a_hint_when_storage_is_unreachable()
    {
        var options = new LocalDurableHostOptions { StorageConnectionString = UnreachableStorage, TaskHubName = "unreachable" };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLocalDurableHost(options, r => r.AddActivity<SquareActivity>());
        using var host = builder.Build();
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Contains("127.0.0.1:1", error.Message, StringComparison.Ordinal);
        Assert.Contains("not reachable", error.Message, StringComparison.Ordinal);
        Assert.Contains("scripts/azurite.sh start", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Azure_storage_settings_let_a_restarted_process_take_over_a_killed_ones_work_within_45_seconds()
    {
        // The backend's defaults (5-minute visibility timeouts) made a run resumed after kill -9 wait 5 minutes for the
        // messages the dead process had dequeued. The kill test (Integration.Tests KillResumeTests) measures it end to end.
        var settings = LocalDurableHost.CreateSettings(new LocalDurableHostOptions { TaskHubName = "settings" }, loggerFactory: null);

        Assert.Equal(RecoveryTimeouts.WorkItemVisibility, settings.WorkItemQueueVisibilityTimeout);
        Assert.Equal(RecoveryTimeouts.ControlVisibility, settings.ControlQueueVisibilityTimeout);
        Assert.Equal(RecoveryTimeouts.LeaseInterval, settings.LeaseInterval);
        Assert.Equal(RecoveryTimeouts.LeaseRenewInterval, settings.LeaseRenewInterval);
        Assert.Equal(RecoveryTimeouts.LeaseAcquireInterval, settings.LeaseAcquireInterval);
        var longest = new[]
        {
            settings.WorkItemQueueVisibilityTimeout, settings.ControlQueueVisibilityTimeout, settings.LeaseInterval + settings.LeaseAcquireInterval,
        }.Max();
        Assert.True(longest <= TimeSpan.FromSeconds(45), $"a restarted process may wait {longest}");
        Assert.Equal(longest, RecoveryTimeouts.WorstCaseWait);

        // Safe while running: leases are renewed at least three times per lease, blob leases last 15-60 s, and an
        // activity's message is renewed (every half timeout) at least every 10 s.
        Assert.True(settings.LeaseRenewInterval * 3 <= settings.LeaseInterval, $"{settings.LeaseRenewInterval} vs {settings.LeaseInterval}");
        Assert.InRange(settings.LeaseInterval, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(60));
        Assert.True(settings.WorkItemQueueVisibilityTimeout >= TimeSpan.FromSeconds(10), $"{settings.WorkItemQueueVisibilityTimeout}");
    }

    [Fact]
    public async Task Delete_task_hub_checks_reachability_too()
    {
        var options = new LocalDurableHostOptions { StorageConnectionString = UnreachableStorage, TaskHubName = "unreachable" };

        await Assert.ThrowsAsync<InvalidOperationException>(() => LocalDurableHost.DeleteTaskHubAsync(options));
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("1hub")]
    [InlineData("has-dash")]
    [InlineData("a123456789012345678901234567890123456789012345")]
    public void Invalid_task_hub_names_are_rejected(string name)
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentException>(() =>
            services.AddLocalDurableHost(new LocalDurableHostOptions { TaskHubName = name }, r => r.AddActivity<SquareActivity>()));
    }

    [Fact]
    public void Concurrency_limits_must_be_positive()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddLocalDurableHost(
            new LocalDurableHostOptions { Backend = DurableBackend.InMemory, MaxConcurrentActivities = 0 }, r => r.AddActivity<SquareActivity>()));
    }

    [Fact]
    public async Task Registers_host_worker_and_client_once()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var options = DurableTestHost.InMemoryOptions();
        services.AddLocalDurableHost(options, r => r.AddActivity<SquareActivity>());

        Assert.Throws<InvalidOperationException>(() => services.AddLocalDurableHost(options, r => r.AddActivity<SquareActivity>()));
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        Assert.IsType<LocalDurableHost>(hosted[0]); // the sidecar starts before the worker
        Assert.Equal(2, hosted.Count);
        Assert.NotNull(provider.GetService<DurableTaskClient>());
        Assert.Equal(0, provider.GetRequiredService<LocalDurableHost>().Port);
    }

    [Fact]
    public async Task In_memory_host_reports_its_port_once_started()
    {
        await using var host = await DurableTestHost.StartAsync(DurableTestHost.InMemoryOptions());

        var local = host.Services.GetRequiredService<LocalDurableHost>();
        Assert.Equal(DurableBackend.InMemory, local.Backend);
        Assert.InRange(local.Port, 1, 65535);
    }
}
