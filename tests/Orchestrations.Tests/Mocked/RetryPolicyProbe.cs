using Microsoft.DurableTask;
using CoreFailureDetails = DurableTask.Core.FailureDetails;
using CoreTaskFailedException = DurableTask.Core.Exceptions.TaskFailedException;

namespace RoleGen.Orchestrations.Tests.Mocked;

/// <summary>Asks a <see cref="RetryPolicy"/> whether it would retry a failure, the way the worker does: its
/// <see cref="RetryPolicy.Handle"/> receives DurableTask.Core's TaskFailedException carrying the failure details.</summary>
internal static class RetryPolicyProbe
{
    public static bool Retries(this RetryPolicy policy, Exception cause) =>
        policy.Handle(new CoreTaskFailedException("activity failed") { FailureDetails = new CoreFailureDetails(cause) });

    public static bool Retries(this RetryPolicy policy, string errorType, string message) =>
        policy.Handle(new CoreTaskFailedException("activity failed")
        {
            FailureDetails = new CoreFailureDetails(errorType, message, null, null, false),
        });
}
