using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace RoleGen.LocalHost.Tests.Durable;

public sealed class InMemoryDurableHostTests : IAsyncLifetime
{
    private DurableTestHost host = null!;

    public async Task InitializeAsync() => host = await DurableTestHost.StartAsync(DurableTestHost.InMemoryOptions());

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task FanOut_of_200_activities_completes_with_the_sum()
    {
        var result = await host.RunAsync<FanOutOrchestrator>(200);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(Enumerable.Range(1, 200).Sum(i => (long)i * i), result.ReadOutputAs<long>());
    }

    [Fact]
    public async Task SubOrchestration_fan_out_completes()
    {
        var result = await host.RunAsync<SubOrchestrationFanOutOrchestrator>(new SubFanOutInput(10, 5));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(10 * (1 + 4 + 9 + 16 + 25), result.ReadOutputAs<long>());
    }

    [Fact]
    public async Task Retry_policy_retries_a_failing_activity_until_it_succeeds()
    {
        string key = Guid.NewGuid().ToString("N");
        var result = await host.RunAsync<RetryOrchestrator>(new RetryInput(key, Failures: 2, MaxAttempts: 4, FirstRetryMs: 50));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(3, result.ReadOutputAs<int>());
        Assert.Equal(3, host.Services.GetRequiredService<ActivityLog>().Attempts(key));
    }

    [Fact]
    public async Task Retry_exhaustion_fails_the_orchestration_with_the_activity_error()
    {
        string key = Guid.NewGuid().ToString("N");
        var result = await host.RunAsync<RetryOrchestrator>(new RetryInput(key, Failures: 10, MaxAttempts: 3, FirstRetryMs: 50));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(3, host.Services.GetRequiredService<ActivityLog>().Attempts(key));
        Assert.NotNull(result.FailureDetails);
        Assert.Contains("boom #3", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Custom_status_and_external_event_are_visible_to_the_client()
    {
        string id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(TimerAndEventOrchestrator), new WaitInput("mem", 1));

        await host.WaitForCustomStatusAsync(id, "waiting");
        await host.Client.RaiseEventAsync(id, "go", "payload");
        var result = await host.WaitAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("mem:payload", result.ReadOutputAs<string>());
        Assert.Equal(["mem:before-timer", "mem:after-timer"], host.Services.GetRequiredService<ActivityLog>().Executed);
    }

    [Fact]
    public async Task Continue_as_new_completes_with_the_last_generation()
    {
        var result = await host.RunAsync<ContinueAsNewOrchestrator>(0);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(9, result.ReadOutputAs<int>());
    }

    [Fact]
    public async Task Combined_sub_orchestrations_retry_and_timer()
    {
        var result = await host.RunAsync<CombinedOrchestrator>(Guid.NewGuid().ToString("N"));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("subs=90;retry=3;timer=ok", result.ReadOutputAs<string>());
    }
}
