using Polly;
using Polly.CircuitBreaker;

namespace RoleGen.Infrastructure.Reasoning;

/// <summary>
/// What every reasoner of the process shares for one Azure OpenAI deployment (<see cref="AzureOpenAiReasonerFactory"/>
/// keeps one per deployment): two token buckets sized from the deployment's quota — requests
/// (<see cref="LlmReasonerOptions.RequestsPerMinute"/>) and tokens (<see cref="LlmReasonerOptions.TokensPerMinute"/>, each
/// call takes its worst case, as the service counts it) — refilled continuously on a <see cref="TimeProvider"/>,
/// and a Polly circuit breaker over the calls' outcomes (429, 5xx and timeouts are failures).
/// </summary>
/// <remarks>The buckets are <see cref="ClockTokenBucket"/>s, not System.Threading.RateLimiting's TokenBucketRateLimiter:
/// that one refills by Stopwatch time even when replenished by hand, so no fake clock can drive it.</remarks>
/// <remarks>The buckets hold at most 10 seconds of quota (at least one call), so a burst after an idle minute cannot
/// spend the whole minute at once. A fake <see cref="TimeProvider"/> drives the refills and the breaker in tests.</remarks>
public sealed class LlmDeploymentGate : IDisposable
{
    private readonly ClockTokenBucket _requests;
    private readonly ClockTokenBucket _tokens;
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly ResiliencePipeline<ChatAttempt> _breaker;

    public LlmDeploymentGate(LlmReasonerOptions options, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        clock ??= TimeProvider.System;
        RequestLimit = Math.Max(1, options.RequestsPerMinute / 6);
        TokenLimit = Math.Max(options.MaxTokensPerUser, options.TokensPerMinute / 6);
        _requests = new ClockTokenBucket(RequestLimit, options.RequestsPerMinute / 60.0, clock);
        _tokens = new ClockTokenBucket(TokenLimit, options.TokensPerMinute / 60.0, clock);
        _breaker = new ResiliencePipelineBuilder<ChatAttempt> { TimeProvider = clock }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ChatAttempt>
            {
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(options.BreakerSamplingSeconds),
                BreakDuration = TimeSpan.FromSeconds(options.BreakerBreakSeconds),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result?.Kind is ChatAttemptKind.Transient or ChatAttemptKind.TimedOut),
                StateProvider = _state,
            })
            .Build();
    }

    /// <summary>Capacity of the request bucket (calls that may start at once after an idle period).</summary>
    public int RequestLimit { get; }

    /// <summary>Capacity of the token bucket.</summary>
    public int TokenLimit { get; }

    /// <summary>True while the breaker refuses calls (open or isolated; half-open lets a trial call through).</summary>
    public bool IsOpen => _state.CircuitState is CircuitState.Open or CircuitState.Isolated;

    /// <summary>Request permits available now (tests and diagnostics).</summary>
    public long AvailableRequests => (long)_requests.Available;

    /// <summary>Token permits available now (tests and diagnostics).</summary>
    public long AvailableTokens => (long)_tokens.Available;

    /// <summary>Waits (first come, first served) for one request permit and <paramref name="tokens"/> token permits.
    /// False when <paramref name="tokens"/> exceeds the bucket (it could never be served); throws when cancelled.</summary>
    public async ValueTask<bool> AcquireAsync(int tokens, CancellationToken cancellationToken)
    {
        if (tokens > TokenLimit)
        {
            return false;
        }
        await _requests.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        await _tokens.AcquireAsync(Math.Max(1, tokens), cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Runs one attempt through the breaker; throws <see cref="BrokenCircuitException"/> without running it when open.</summary>
    internal ValueTask<ChatAttempt> ExecuteAsync(Func<CancellationToken, ValueTask<ChatAttempt>> attempt, CancellationToken cancellationToken) =>
        _breaker.ExecuteAsync(attempt, cancellationToken);

    public void Dispose()
    {
        _requests.Dispose();
        _tokens.Dispose();
    }
}

/// <summary>
/// A token bucket on a <see cref="TimeProvider"/>: holds at most <c>capacity</c> permits, refilled continuously at
/// <c>perSecond</c>. Waiters are served one at a time in arrival order (a large request is not overtaken by small ones).
/// </summary>
internal sealed class ClockTokenBucket(long capacity, double perSecond, TimeProvider clock) : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly Lock _lock = new();
    private double _available = capacity;
    private long _last = clock.GetTimestamp();

    public double Available
    {
        get
        {
            lock (_lock)
            {
                Refill();
                return _available;
            }
        }
    }

    public async ValueTask AcquireAsync(long permits, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permits, capacity);
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                TimeSpan wait;
                lock (_lock)
                {
                    Refill();
                    if (_available >= permits)
                    {
                        _available -= permits;
                        return;
                    }
                    wait = TimeSpan.FromSeconds((permits - _available) / perSecond);
                }
                await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, clock, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    public void Dispose() => _turn.Dispose();

    private void Refill()
    {
        var now = clock.GetTimestamp();
        _available = Math.Min(capacity, _available + clock.GetElapsedTime(_last, now).TotalSeconds * perSecond);
        _last = now;
    }
}
