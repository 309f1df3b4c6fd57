using DurableTask.Core;
using DurableTask.Core.History;
using Google.Protobuf.Collections;
using Microsoft.DurableTask.Testing.Sidecar.Dispatcher;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using RoleGen.LocalHost;

namespace RoleGen.LocalHost.Tests.Durable;

public sealed class SidecarOrchestrationServiceTests
{
    private readonly Mock<IOrchestrationService> inner = new();
    private readonly Mock<IOrchestrationServiceClient> innerClient;

    public SidecarOrchestrationServiceTests() => innerClient = inner.As<IOrchestrationServiceClient>();

    private SidecarOrchestrationService Create(int activities = 2, bool repairFailureDetails = true) =>
        new(inner.Object, activities, 4, waitPollInterval: null, repairFailureDetails, NullLogger.Instance);

    [Fact]
    public void Reports_limits_that_never_throttle_the_sidecar()
    {
        using var service = Create();

        Assert.Equal(SidecarOrchestrationService.ReportedConcurrencyLimit, service.MaxConcurrentTaskActivityWorkItems);
        Assert.Equal(SidecarOrchestrationService.ReportedConcurrencyLimit, service.MaxConcurrentTaskOrchestrationWorkItems);
    }

    [Fact]
    public async Task Activity_locks_are_limited_and_freed_on_completion()
    {
        inner.Setup(s => s.LockNextTaskActivityWorkItem(It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(() => new TaskActivityWorkItem { Id = Guid.NewGuid().ToString(), LockedUntilUtc = DateTime.MaxValue });
        using var service = Create(activities: 2);

        var first = await service.LockNextTaskActivityWorkItem(Timeout.InfiniteTimeSpan, CancellationToken.None);
        await service.LockNextTaskActivityWorkItem(Timeout.InfiniteTimeSpan, CancellationToken.None);
        var third = service.LockNextTaskActivityWorkItem(Timeout.InfiniteTimeSpan, CancellationToken.None);
        await Task.Delay(100);
        Assert.False(third.IsCompleted);

        await service.CompleteTaskActivityWorkItemAsync(first, new TaskMessage());
        await third.WaitAsync(TimeSpan.FromSeconds(5));

        // Completing twice (complete, then abandon after a failure) frees one slot only.
        await service.AbandonTaskActivityWorkItemAsync(first);
        var fourth = service.LockNextTaskActivityWorkItem(Timeout.InfiniteTimeSpan, CancellationToken.None);
        await Task.Delay(100);
        Assert.False(fourth.IsCompleted);
    }

    [Fact]
    public async Task Expiring_activity_locks_are_renewed_until_completion()
    {
        var workItem = new TaskActivityWorkItem { Id = "a", LockedUntilUtc = DateTime.UtcNow.AddSeconds(2) };
        int renewals = 0;
        inner.Setup(s => s.LockNextTaskActivityWorkItem(It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>())).ReturnsAsync(workItem);
        inner.Setup(s => s.RenewTaskActivityWorkItemLockAsync(workItem)).ReturnsAsync(() =>
        {
            Interlocked.Increment(ref renewals);
            workItem.LockedUntilUtc = DateTime.UtcNow.AddSeconds(2);
            return workItem;
        });
        using var service = Create();

        await service.LockNextTaskActivityWorkItem(Timeout.InfiniteTimeSpan, CancellationToken.None);
        await Task.Delay(2500);
        await service.CompleteTaskActivityWorkItemAsync(workItem, new TaskMessage());
        int atCompletion = Volatile.Read(ref renewals);
        await Task.Delay(1500);

        Assert.InRange(atCompletion, 1, 3);
        Assert.Equal(atCompletion, Volatile.Read(ref renewals));
    }

    [Fact]
    public async Task Sidecar_specific_events_and_protobuf_tags_are_replaced_before_persisting()
    {
        var parent = new OrchestrationInstance { InstanceId = "parent", ExecutionId = "e1" };
        var state = new OrchestrationRuntimeState();
        state.AddEvent(new ExecutionStartedEvent(-1, "in") { OrchestrationInstance = parent, Name = "Parent", Tags = new Dictionary<string, string>() });
        var sidecarEvent = new GrpcSubOrchestrationInstanceCreatedEvent(0) { Name = "Child", InstanceId = "child", Input = "x" };
        state.AddEvent(sidecarEvent);
        var tags = new MapField<string, string> { ["k"] = "v" };
        var childStart = new TaskMessage
        {
            Event = new ExecutionStartedEvent(-1, "x") { Name = "Child", Tags = tags },
            OrchestrationInstance = new OrchestrationInstance { InstanceId = "child" },
        };
        OrchestrationRuntimeState? persisted = null;
        IList<TaskMessage>? sent = null;
        inner.Setup(s => s.CompleteTaskOrchestrationWorkItemAsync(
                It.IsAny<TaskOrchestrationWorkItem>(), It.IsAny<OrchestrationRuntimeState>(), It.IsAny<IList<TaskMessage>>(),
                It.IsAny<IList<TaskMessage>>(), It.IsAny<IList<TaskMessage>>(), It.IsAny<TaskMessage>(), It.IsAny<OrchestrationState>()))
            .Callback((TaskOrchestrationWorkItem _, OrchestrationRuntimeState s, IList<TaskMessage> _, IList<TaskMessage> o, IList<TaskMessage> _, TaskMessage _, OrchestrationState _) =>
            {
                persisted = s;
                sent = o;
            })
            .Returns(Task.CompletedTask);
        using var service = Create();

        await service.CompleteTaskOrchestrationWorkItemAsync(
            new TaskOrchestrationWorkItem { InstanceId = "parent", OrchestrationRuntimeState = state }, state, [], [childStart], [], null!, new OrchestrationState());

        var created = Assert.Single(persisted!.NewEvents.OfType<SubOrchestrationInstanceCreatedEvent>());
        Assert.Equal(typeof(SubOrchestrationInstanceCreatedEvent), created.GetType());
        Assert.Equal(("Child", "child", "x", 0), (created.Name, created.InstanceId, created.Input, created.EventId));
        Assert.DoesNotContain(persisted.Events, e => e is GrpcSubOrchestrationInstanceCreatedEvent);
        var startedTags = ((ExecutionStartedEvent)Assert.Single(sent!).Event).Tags;
        Assert.Equal(typeof(Dictionary<string, string>), startedTags.GetType());
        Assert.Equal("v", startedTags["k"]);
    }

    [Fact]
    public async Task Failure_details_are_kept_on_completion_and_parsed_back_from_the_output()
    {
        var instance = new OrchestrationInstance { InstanceId = "i", ExecutionId = "e" };
        var state = new OrchestrationRuntimeState();
        state.AddEvent(new ExecutionStartedEvent(-1, null) { OrchestrationInstance = instance, Name = "O" });
        state.AddEvent(new ExecutionCompletedEvent(1, null, OrchestrationStatus.Failed));
        var failure = new FailureDetails("System.InvalidOperationException", "boom: really", null, null, false);
        inner.Setup(s => s.CompleteTaskOrchestrationWorkItemAsync(
                It.IsAny<TaskOrchestrationWorkItem>(), It.IsAny<OrchestrationRuntimeState>(), It.IsAny<IList<TaskMessage>>(),
                It.IsAny<IList<TaskMessage>>(), It.IsAny<IList<TaskMessage>>(), It.IsAny<TaskMessage>(), It.IsAny<OrchestrationState>()))
            .Returns(Task.CompletedTask);
        innerClient.Setup(c => c.GetOrchestrationStateAsync("i", null!)).ReturnsAsync(new OrchestrationState
        {
            OrchestrationStatus = OrchestrationStatus.Failed,
            Output = "System.InvalidOperationException: boom: really",
        });
        using var service = Create();

        await service.CompleteTaskOrchestrationWorkItemAsync(
            new TaskOrchestrationWorkItem { InstanceId = "i", OrchestrationRuntimeState = state }, state, [], [], [], null!,
            new OrchestrationState { FailureDetails = failure });
        var read = await service.GetOrchestrationStateAsync("i", (string)null!);

        Assert.Same(failure, state.ExecutionCompletedEvent!.FailureDetails);
        Assert.Same(state.ExecutionCompletedEvent, state.NewEvents.OfType<ExecutionCompletedEvent>().Single());
        Assert.Equal("System.InvalidOperationException", read.FailureDetails.ErrorType);
        Assert.Equal("boom: really", read.FailureDetails.ErrorMessage);
    }

    [Fact]
    public async Task Stop_is_shared_and_happens_once()
    {
        inner.Setup(s => s.StartAsync()).Returns(Task.CompletedTask);
        inner.Setup(s => s.StopAsync(false)).Returns(Task.Delay(50));
        using var service = Create();
        await service.StartAsync();

        await Task.WhenAll(service.StopAsync(), service.StopAsync(false));

        inner.Verify(s => s.StopAsync(false), Times.Once);
    }

    [Fact]
    public async Task Stop_before_start_does_not_stop_the_backend()
    {
        // AzureStorageOrchestrationService.StopAsync throws NullReferenceException when it never started; the sidecar
        // calls stop from a fire-and-forget callback, so that exception used to crash the process.
        inner.Setup(s => s.StopAsync(false)).ThrowsAsync(new NullReferenceException());
        using var service = Create();

        await service.StopAsync();

        inner.Verify(s => s.StopAsync(It.IsAny<bool>()), Times.Never);
    }

    [Fact]
    public async Task Stop_failure_is_logged_not_thrown()
    {
        inner.Setup(s => s.StartAsync()).Returns(Task.CompletedTask);
        inner.Setup(s => s.StopAsync(false)).ThrowsAsync(new NullReferenceException());
        using var service = Create();
        await service.StartAsync();

        await service.StopAsync();

        inner.Verify(s => s.StopAsync(false), Times.Once);
    }
}
