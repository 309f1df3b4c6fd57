using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Moq.Protected;
using RoleGen.Core.Runs;

namespace RoleGen.Orchestrations.Tests.Mocked;

/// <summary>A strict-enough <see cref="TaskOrchestrationContext"/> mock: a working replay-safe logger, a fixed clock, and a
/// record of every custom status.</summary>
internal static class OrchestrationContextMock
{
    public static readonly DateTime Now = new(2026, 11, 1, 3, 0, 0, DateTimeKind.Utc);

    public static Mock<TaskOrchestrationContext> Create(string instanceId, List<object?>? statuses = null)
    {
        var context = new Mock<TaskOrchestrationContext>(MockBehavior.Loose) { CallBase = true };
        context.Protected().SetupGet<ILoggerFactory>("LoggerFactory").Returns(NullLoggerFactory.Instance);
        context.SetupGet(c => c.CurrentUtcDateTime).Returns(Now);
        context.SetupGet(c => c.InstanceId).Returns(instanceId);
        context.SetupGet(c => c.IsReplaying).Returns(false);
        context.SetupGet(c => c.Name).Returns(new TaskName("test"));
        if (statuses is not null)
        {
            context.Setup(c => c.SetCustomStatus(It.IsAny<object?>())).Callback<object?>(statuses.Add);
        }
        return context;
    }

    public static TaskFailedException Failure(string taskName, Exception cause) =>
        new(taskName, 1, TaskFailureDetails.FromException(cause));

    public static TaskFailedException Failure(string taskName, string errorType, string message) =>
        new(taskName, 1, new TaskFailureDetails(errorType, message, null, null, null));

    public static IReadOnlyList<RunProgress> Progress(this IEnumerable<object?> statuses) => statuses.OfType<RunProgress>().ToArray();
}
