using Azure.Storage.Queues;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using RoleGen.LocalHost;

namespace RoleGen.LocalHost.Tests.Durable;

/// <summary>The Azure Storage backend on Azurite (127.0.0.1:10000-10002; scripts/azurite.sh start). One task hub per test, deleted afterwards.</summary>
[Trait("Category", "Azurite")]
public sealed class AzuriteDurableHostTests
{
    private static bool IsDurableWorker(object service)
    {
        for (var t = service.GetType(); t is not null; t = t.BaseType)
        {
            if (t.Name.EndsWith("DurableTaskWorker", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    [Fact]
    public async Task ClientOnly_registers_no_worker_and_reads_and_schedules_on_the_hub()
    {
        var options = DurableTestHost.AzuriteOptions();
        var clientOptions = DurableTestHost.AzuriteOptions();
        clientOptions.TaskHubName = options.TaskHubName;
        clientOptions.ClientOnly = true;
        try
        {
            await using var worker = await DurableTestHost.StartAsync(options);
            await using var client = await DurableTestHost.StartAsync(clientOptions);
            Assert.Contains(worker.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>(), IsDurableWorker);
            Assert.DoesNotContain(client.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>(), IsDurableWorker);

            var done = await client.RunAsync<FanOutOrchestrator>(3, timeoutSeconds: 45);

            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await worker.Client.GetInstanceAsync(done.InstanceId))?.RuntimeStatus);
        }
        finally
        {
            await LocalDurableHost.DeleteTaskHubAsync(options);
        }
    }

    [Fact]
    public async Task Sub_orchestrations_retry_and_timer_complete()
    {
        var options = DurableTestHost.AzuriteOptions();
        try
        {
            await using var host = await DurableTestHost.StartAsync(options);
            string key = Guid.NewGuid().ToString("N");

            var result = await host.RunAsync<CombinedOrchestrator>(key, timeoutSeconds: 45);

            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal("subs=90;retry=3;timer=ok", result.ReadOutputAs<string>());
            Assert.Equal(3, host.Services.GetRequiredService<ActivityLog>().Attempts(key));
        }
        finally
        {
            await LocalDurableHost.DeleteTaskHubAsync(options);
        }
    }

    [Fact]
    public async Task Continue_as_new_and_sub_orchestration_fan_out_complete()
    {
        var options = DurableTestHost.AzuriteOptions();
        try
        {
            await using var host = await DurableTestHost.StartAsync(options);

            var continued = await host.RunAsync<ContinueAsNewOrchestrator>(0);
            var fanOut = await host.RunAsync<SubOrchestrationFanOutOrchestrator>(new SubFanOutInput(8, 5));

            Assert.Equal(OrchestrationRuntimeStatus.Completed, continued.RuntimeStatus);
            Assert.Equal(9, continued.ReadOutputAs<int>());
            Assert.Equal(OrchestrationRuntimeStatus.Completed, fanOut.RuntimeStatus);
            Assert.Equal(8 * (1 + 4 + 9 + 16 + 25), fanOut.ReadOutputAs<long>());
        }
        finally
        {
            await LocalDurableHost.DeleteTaskHubAsync(options);
        }
    }

    [Fact]
    public async Task Retry_exhaustion_fails_with_failure_details()
    {
        var options = DurableTestHost.AzuriteOptions();
        try
        {
            await using var host = await DurableTestHost.StartAsync(options);
            string key = Guid.NewGuid().ToString("N");

            var result = await host.RunAsync<RetryOrchestrator>(new RetryInput(key, Failures: 10, MaxAttempts: 2, FirstRetryMs: 1000));

            Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
            Assert.Equal(2, host.Services.GetRequiredService<ActivityLog>().Attempts(key));
            Assert.NotNull(result.FailureDetails);
            Assert.Contains("boom #2", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        }
        finally
        {
            await LocalDurableHost.DeleteTaskHubAsync(options);
        }

        var remaining = new List<string>();
        await foreach (var queue in new QueueServiceClient(options.StorageConnectionString).GetQueuesAsync(prefix: options.TaskHubName.ToLowerInvariant()))
        {
            remaining.Add(queue.Name);
        }

        Assert.Empty(remaining);
    }

    [Fact]
    public async Task A_new_host_on_the_same_task_hub_resumes_timer_and_event()
    {
        var options = DurableTestHost.AzuriteOptions();
        var log = new ActivityLog();
        try
        {
            string id;
            await using (var first = await DurableTestHost.StartAsync(options, log))
            {
                id = await first.Client.ScheduleNewOrchestrationInstanceAsync(nameof(TimerAndEventOrchestrator), new WaitInput("az", 3));
                await first.WaitForCustomStatusAsync(id, "timer");
            }

            // The durable timer fires while no host runs, or in the second one; either way the second host resumes it.
            Assert.Equal(["az:before-timer"], log.Executed);
            await using var second = await DurableTestHost.StartAsync(options, log);
            await second.WaitForCustomStatusAsync(id, "waiting");
            await second.Client.RaiseEventAsync(id, "go", "resumed");
            var result = await second.WaitAsync(id);

            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal("az:resumed", result.ReadOutputAs<string>());
            Assert.Equal(["az:before-timer", "az:after-timer"], log.Executed);
        }
        finally
        {
            await LocalDurableHost.DeleteTaskHubAsync(options);
        }
    }
}
