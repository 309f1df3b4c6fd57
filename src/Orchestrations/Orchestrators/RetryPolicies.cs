using Microsoft.DurableTask;
using RoleGen.Core.Ingest;

namespace RoleGen.Orchestrations.Orchestrators;

public static class RetryPolicies
{
    /// <summary>Exponential back-off (first, ×2, capped at 60 s); failures caused by <see cref="PermanentFailureException"/>
    /// are not retried — retrying cannot fix a missing input or an invalid option.</summary>
    public static TaskOptions Transient(int maxAttempts, double firstRetrySeconds) => TaskOptions.FromRetryPolicy(
        new RetryPolicy(Math.Clamp(maxAttempts, 1, 20),
            TimeSpan.FromSeconds(double.IsFinite(firstRetrySeconds) ? Math.Clamp(firstRetrySeconds, 0.1, 60) : 1),
            backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(60))
        {
            HandleFailure = failure => !IsPermanent(failure),
        });

    public static bool IsPermanent(TaskFailureDetails? failure) =>
        failure is not null && (failure.IsCausedBy<PermanentFailureException>() ||
                                failure.ErrorType.EndsWith(nameof(PermanentFailureException), StringComparison.Ordinal));

    public static string Describe(TaskFailedException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var details = ex.FailureDetails;
        // Behind the local sidecar FailureDetails can be null on retry exhaustion; the message is still in the exception.
        return details is null ? ex.Message : $"{ShortType(details.ErrorType)}: {details.ErrorMessage}";
    }

    private static string ShortType(string type) => type[(type.LastIndexOf('.') + 1)..];
}
