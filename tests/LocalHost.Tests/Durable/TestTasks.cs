using System.Collections.Concurrent;
using Microsoft.DurableTask;

namespace RoleGen.LocalHost.Tests.Durable;

// Small orchestrators/activities exercising what RoleGen's orchestrations rely on: fan-out, sub-orchestrations,
// retry policies, durable timers, external events and custom status.

/// <summary>Singleton shared by activities (constructor injection): counts attempts per key, records executions.</summary>
public sealed class ActivityLog
{
    private readonly ConcurrentDictionary<string, int> attempts = new();

    public int NextAttempt(string key) => attempts.AddOrUpdate(key, 1, (_, n) => n + 1);

    public int Attempts(string key) => attempts.GetValueOrDefault(key);

    public ConcurrentQueue<string> Executed { get; } = new();
}

public sealed class SquareActivity : TaskActivity<int, int>
{
    public override Task<int> RunAsync(TaskActivityContext context, int input) => Task.FromResult(input * input);
}

/// <summary>Fails (InvalidOperationException "boom #n") until it has failed <see cref="FlakyInput.Failures"/> times.</summary>
public sealed class FlakyActivity(ActivityLog log) : TaskActivity<FlakyInput, int>
{
    public override Task<int> RunAsync(TaskActivityContext context, FlakyInput input)
    {
        int attempt = log.NextAttempt(input.Key);
        return attempt <= input.Failures
            ? throw new InvalidOperationException($"boom #{attempt}")
            : Task.FromResult(attempt);
    }
}

public sealed record FlakyInput(string Key, int Failures);

public sealed class RecordActivity(ActivityLog log) : TaskActivity<string, string>
{
    public override Task<string> RunAsync(TaskActivityContext context, string input)
    {
        log.Executed.Enqueue(input);
        return Task.FromResult(input);
    }
}

/// <summary>Sum of squares 1..n computed by n parallel activities; sets custom status "done:n".</summary>
public sealed class FanOutOrchestrator : TaskOrchestrator<int, long>
{
    public override async Task<long> RunAsync(TaskOrchestrationContext context, int input)
    {
        var tasks = Enumerable.Range(1, input).Select(i => context.CallActivityAsync<int>(nameof(SquareActivity), i)).ToList();
        int[] squares = await Task.WhenAll(tasks);
        context.SetCustomStatus($"done:{input}");
        return squares.Sum(s => (long)s);
    }
}

public sealed record SubFanOutInput(int Children, int ActivitiesPerChild);

/// <summary>Children sub-orchestrations of <see cref="FanOutOrchestrator"/> in parallel; sums their results.</summary>
public sealed class SubOrchestrationFanOutOrchestrator : TaskOrchestrator<SubFanOutInput, long>
{
    public override async Task<long> RunAsync(TaskOrchestrationContext context, SubFanOutInput input)
    {
        var children = Enumerable.Range(0, input.Children)
            .Select(_ => context.CallSubOrchestratorAsync<long>(nameof(FanOutOrchestrator), input.ActivitiesPerChild))
            .ToList();
        long[] results = await Task.WhenAll(children);
        return results.Sum();
    }
}

public sealed record RetryInput(string Key, int Failures, int MaxAttempts, int FirstRetryMs);

/// <summary>Calls <see cref="FlakyActivity"/> under a retry policy; returns the attempt that succeeded.</summary>
public sealed class RetryOrchestrator : TaskOrchestrator<RetryInput, int>
{
    public override Task<int> RunAsync(TaskOrchestrationContext context, RetryInput input)
    {
        var policy = new RetryPolicy(input.MaxAttempts, TimeSpan.FromMilliseconds(input.FirstRetryMs));
        return context.CallActivityAsync<int>(
            nameof(FlakyActivity), new FlakyInput(input.Key, input.Failures), TaskOptions.FromRetryPolicy(policy));
    }
}

/// <summary>Sub-orchestrations + retry + durable timer in one run: "subs=..;retry=..;timer=ok".</summary>
public sealed class CombinedOrchestrator : TaskOrchestrator<string, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, string key)
    {
        long subs = await context.CallSubOrchestratorAsync<long>(nameof(SubOrchestrationFanOutOrchestrator), new SubFanOutInput(3, 4));
        int retry = await context.CallSubOrchestratorAsync<int>(nameof(RetryOrchestrator), new RetryInput(key, 2, 4, 1000));
        DateTime before = context.CurrentUtcDateTime;
        await context.CreateTimer(TimeSpan.FromSeconds(2), CancellationToken.None);
        TimeSpan waited = context.CurrentUtcDateTime - before;
        // Tolerance: replayed timestamps come back from table storage with millisecond precision.
        string timer = waited >= TimeSpan.FromMilliseconds(1990) ? "ok" : $"early:{waited.TotalMilliseconds:0}ms";
        return $"subs={subs};retry={retry};timer={timer}";
    }
}

public sealed record WaitInput(string Key, int TimerSeconds);

/// <summary>
/// activity → status "timer" → durable timer → activity → status "waiting" → external event "go" → returns
/// "{key}:{event payload}".
/// </summary>
public sealed class TimerAndEventOrchestrator : TaskOrchestrator<WaitInput, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, WaitInput input)
    {
        await context.CallActivityAsync<string>(nameof(RecordActivity), $"{input.Key}:before-timer");
        context.SetCustomStatus("timer");
        await context.CreateTimer(TimeSpan.FromSeconds(input.TimerSeconds), CancellationToken.None);
        await context.CallActivityAsync<string>(nameof(RecordActivity), $"{input.Key}:after-timer");
        context.SetCustomStatus("waiting");
        string payload = await context.WaitForExternalEvent<string>("go");
        return $"{input.Key}:{payload}";
    }
}

/// <summary>Continues as new until the input reaches 3, calling an activity each generation; returns the last input.</summary>
public sealed class ContinueAsNewOrchestrator : TaskOrchestrator<int, int>
{
    public override async Task<int> RunAsync(TaskOrchestrationContext context, int input)
    {
        int squared = await context.CallActivityAsync<int>(nameof(SquareActivity), input);
        if (input < 3)
        {
            context.ContinueAsNew(input + 1);
            return -1;
        }

        return squared;
    }
}
