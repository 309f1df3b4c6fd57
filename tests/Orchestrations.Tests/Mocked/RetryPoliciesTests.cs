using Microsoft.DurableTask;
using RoleGen.Core.Ingest;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Orchestrations.Tests.Mocked;

public sealed class RetryPoliciesTests
{
    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(3, 2)]
    [InlineData(20, 10)]
    public void Transient_carries_attempts_and_exponential_backoff(int attempts, double firstSeconds)
    {
        var options = RetryPolicies.Transient(attempts, firstSeconds);

        var policy = Assert.IsType<RetryPolicy>(options.Retry?.Policy);
        Assert.Equal(attempts, policy.MaxNumberOfAttempts);
        Assert.Equal(TimeSpan.FromSeconds(firstSeconds), policy.FirstRetryInterval);
        Assert.Equal(2, policy.BackoffCoefficient);
        Assert.Equal(TimeSpan.FromSeconds(60), policy.MaxRetryInterval);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(0.01)]
    [InlineData(-5)]
    public void Transient_never_retries_faster_than_100_ms(double firstSeconds)
    {
        var policy = RetryPolicies.Transient(3, firstSeconds).Retry!.Policy!;

        Assert.Equal(TimeSpan.FromSeconds(0.1), policy.FirstRetryInterval);
    }

    [Fact]
    public void Transient_does_not_retry_permanent_failures()
    {
        var policy = RetryPolicies.Transient(3, 1).Retry!.Policy!;

        Assert.False(policy.Retries(new PermanentFailureException("bad option")));
        // As it arrives from another process: the type name only (IsCausedBy cannot always resolve it).
        Assert.False(policy.Retries(typeof(PermanentFailureException).FullName!, "bad option"));
        Assert.False(policy.Retries("PermanentFailureException", "bad option"));
    }

    [Fact]
    public void Transient_retries_other_failures()
    {
        var policy = RetryPolicies.Transient(3, 1).Retry!.Policy!;

        Assert.True(policy.Retries(new IOException("blip")));
        Assert.True(policy.Retries(new TimeoutException("slow")));
        Assert.True(policy.Retries("Some.Remote.ServerBusyException", "busy"));
    }

    [Fact]
    public void IsPermanent_handles_null_details()
    {
        Assert.False(RetryPolicies.IsPermanent(null));
        Assert.True(RetryPolicies.IsPermanent(TaskFailureDetails.FromException(new PermanentFailureException("x"))));
    }

    [Fact]
    public void Describe_uses_the_short_error_type_and_message()
    {
        var ex = new TaskFailedException("A", 7, new TaskFailureDetails("System.IO.IOException", "disk full", null, null, null));

        Assert.Equal("IOException: disk full", RetryPolicies.Describe(ex));
    }

    [Fact]
    public void Describe_falls_back_to_the_message_without_details()
    {
        var ex = new TaskFailedException("A", 7, new IOException("disk full"));

        var described = RetryPolicies.Describe(ex);

        Assert.False(string.IsNullOrWhiteSpace(described));
    }
}
