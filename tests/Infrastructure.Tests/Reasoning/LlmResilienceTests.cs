using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RoleGen.Core.Cohort;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Reasoning;

namespace RoleGen.Infrastructure.Tests.Reasoning;

/// <summary>
/// The LLM reasoner under 429 storms that last minutes, on a fake clock (FakeTimeProvider drives the backoff delays, the
/// token-bucket refills and the Polly circuit breaker), through the refining decorator that a shard uses: every user gets
/// a result, the counts agree exactly with what the fake endpoint saw, and the test takes well under a second of real time.
/// </summary>
public sealed class LlmResilienceTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 2, 0, 0, TimeSpan.Zero);

    private sealed class Shard : IDisposable
    {
        private readonly HttpClient _http;

        public Shard(Action<LlmReasonerOptions> configure, TimeSpan storm, int retryAfterSeconds)
        {
            Clock = new FakeTimeProvider(Start);
            Options = new LlmReasonerOptions { Endpoint = new Uri("https://oai-rolegen-test.openai.azure.com/"), Deployment = "storm", ApiKey = "k" };
            configure(Options);
            Handler = new StormHandler(Clock, Start + storm, retryAfterSeconds);
            _http = new HttpClient(Handler);
            Gate = new LlmDeploymentGate(Options, Clock);
            Store = new InMemoryBlobStore();
        }

        public FakeTimeProvider Clock { get; }

        public LlmReasonerOptions Options { get; }

        public StormHandler Handler { get; }

        public LlmDeploymentGate Gate { get; }

        public InMemoryBlobStore Store { get; }

        /// <summary>A reasoner (a shard attempt) on the shared gate; the default delay waits on the fake clock.</summary>
        public AzureOpenAiReasoner Reasoner() => new(AzureOpenAiReasoner.CreateChatClient(Options, httpClient: _http), Store, Options,
            NullLogger<AzureOpenAiReasoner>.Instance, Clock, gate: Gate);

        /// <summary>Runs <paramref name="work"/> while advancing the fake clock a second at a time (real time: ~1 ms per
        /// fake second); fails when it is not done within <paramref name="timeout"/> of fake time (the shard's timeout).</summary>
        public async Task<T> RunAsync<T>(Func<Task<T>> work, TimeSpan timeout)
        {
            var task = Task.Run(work);
            var deadline = Clock.GetUtcNow() + timeout;
            while (!task.IsCompleted)
            {
                Assert.True(Clock.GetUtcNow() < deadline,
                    $"not done within {timeout} of fake time ({Handler.Requests} requests, {Gate.AvailableRequests} request and {Gate.AvailableTokens} token permits)");
                await Task.WhenAny(task, Task.Delay(2));
                if (!task.IsCompleted)
                {
                    Clock.Advance(TimeSpan.FromSeconds(1));
                }
            }
            return await task;
        }

        public void Dispose()
        {
            Gate.Dispose();
            _http.Dispose();
        }
    }

    /// <summary>The embedded reasoner's stand-in: the fixture's roles and candidate paths for every user.</summary>
    private sealed class FixedInner : IReasoner
    {
        public string WorldModel => "fixed";

        public string? PromptVersion => null;

        public TimeSpan RolesAndProposalTime => TimeSpan.Zero;

        public TimeSpan WorldModelTime => TimeSpan.Zero;

        public IReadOnlyDictionary<string, long>? LlmCounters => null;

        public Task<IReadOnlyList<UserReasoning>> ReasonAsync(IReadOnlyList<UserTrajectory> users, CancellationToken cancellationToken = default)
        {
            var template = ReasonerFixture.Request();
            return Task.FromResult<IReadOnlyList<UserReasoning>>([.. users.Select(u =>
                new UserReasoning(u.UserId, ReasonerKinds.Embedded, 0.1, template.EmbeddedRoles, template.CandidatePaths, "embedded"))]);
        }
    }

    /// <summary><paramref name="count"/> users with distinct trajectories (distinct cache keys: no answer is served from cache).</summary>
    private static UserTrajectory[] Users(int count, int from = 0) =>
        [.. Enumerable.Range(from, count).Select(n => ReasonerFixture.Request(lastItem: $"i-{300 + n}").User with { UserId = $"u-{n}" })];

    [Fact]
    public async Task StormOfMinutes_OpensTheBreaker_RestOfTheShardFallsBack_CountsExact()
    {
        const int users = 40, parallel = 4, throughput = 10;
        using var s = new Shard(o =>
        {
            o.MaxParallelCalls = parallel;
            o.MaxAttempts = 3;
            o.BreakerMinimumThroughput = throughput;
            o.BreakerFailureRatio = 0.5;
            o.BreakerSamplingSeconds = 30;
            o.BreakerBreakSeconds = 60;
        }, storm: TimeSpan.FromMinutes(5), retryAfterSeconds: 10);
        var llm = s.Reasoner();
        var shard = new LlmRefiningReasoner(new FixedInner(), llm, pathsPerUser: 2);
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var results = await s.RunAsync(() => shard.ReasonAsync(Users(users)), timeout: TimeSpan.FromMinutes(2));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"real time {watch.Elapsed}");
        // Every user has a result, in input order, each an embedded fallback (nothing got through the storm).
        Assert.Equal(Enumerable.Range(0, users).Select(n => $"u-{n}"), results.Select(r => r.UserId));
        Assert.All(results, r => Assert.Equal(ReasonerKinds.EmbeddedFallback, r.Reasoner));
        var counters = shard.LlmCounters!;
        // The breaker opened after `throughput` failed calls; the calls already past it when it opened (at most parallel − 1)
        // still went out. Without it the shard would have sent users × attempts = 120.
        Assert.InRange(s.Handler.Requests, throughput, throughput + parallel - 1);
        Assert.Equal(s.Handler.Requests, s.Handler.Throttled429);
        Assert.Equal(s.Handler.Requests, counters["llm.requests"]);
        Assert.Equal(s.Handler.Throttled429, counters["llm.throttled"]);
        Assert.Equal(s.Handler.Requests, llm.Stats.Calls);
        Assert.Equal(s.Handler.Throttled429, llm.Stats.Throttled);
        Assert.Equal(users, counters.GetValueOrDefault("llm.circuitopen") + counters.GetValueOrDefault("llm.failed"));
        Assert.Equal(users, shard.FallbackReasons.Values.Sum());
        Assert.True(shard.FallbackReasons["circuitopen"] >= users - parallel, string.Join(", ", shard.FallbackReasons));
        Assert.Equal(0, llm.TokensSpent); // throttled calls are not billed
        Assert.True(s.Gate.IsOpen);
    }

    [Fact]
    public async Task StormEndingAfterTwoMinutes_RetriesHonourRetryAfter_EveryUserServed_CountsExact()
    {
        const int users = 12;
        using var s = new Shard(o =>
        {
            o.MaxParallelCalls = users; // all in flight at once (the buckets are tested below)
            o.TokensPerMinute = 10_000_000;
            o.MaxAttempts = 10;
            o.MaxRetryDelaySeconds = 60;
            o.BreakerMinimumThroughput = 10_000; // the breaker stays closed: this test is about retries
        }, storm: TimeSpan.FromMinutes(2), retryAfterSeconds: 20);
        var llm = s.Reasoner();
        var shard = new LlmRefiningReasoner(new FixedInner(), llm, pathsPerUser: 2);

        var results = await s.RunAsync(() => shard.ReasonAsync(Users(users)), timeout: TimeSpan.FromMinutes(10));

        var counters = shard.LlmCounters!;
        Assert.All(results, r => Assert.Equal(ReasonerKinds.Llm, r.Reasoner));
        Assert.Equal(users, counters["llm.ok"]);
        // Each user is throttled at t ≈ 0, 20, ..., 100 s (Retry-After 20 s) and served at ≈ 120 s: 6 × 429, then the answer.
        Assert.Equal(users * 6, s.Handler.Throttled429);
        Assert.Equal(users * 7, s.Handler.Requests);
        Assert.Equal(s.Handler.Requests, counters["llm.requests"]);
        Assert.Equal(s.Handler.Throttled429, counters["llm.throttled"]);
        // Exactly 6 throttled attempts per user is Retry-After honoured: the 1-2-4-8 s backoff would have made more.
        Assert.Equal(users, s.Handler.Arrivals.Count(t => t >= s.Handler.StormEnds));
        Assert.Equal(users * 976, llm.TokensSpent);
        Assert.Empty(shard.FallbackReasons);
    }

    [Fact]
    public async Task RequestBucket_HoldsCallsToTheDeploymentsRpm_AcrossShards()
    {
        // 60 RPM: a bucket of 10 calls, one more per second. Two shards (two reasoners on the one gate) of 20 users each.
        using var s = new Shard(o =>
        {
            o.RequestsPerMinute = 60;
            o.TokensPerMinute = 10_000_000;
            o.MaxParallelCalls = 8;
        }, storm: TimeSpan.Zero, retryAfterSeconds: 0);
        var a = new LlmRefiningReasoner(new FixedInner(), s.Reasoner(), 2);
        var b = new LlmRefiningReasoner(new FixedInner(), s.Reasoner(), 2);

        var results = await s.RunAsync(async () =>
        {
            var both = await Task.WhenAll(a.ReasonAsync(Users(20)), b.ReasonAsync(Users(20, from: 20)));
            return both.SelectMany(r => r).ToArray();
        }, TimeSpan.FromMinutes(2));

        Assert.Equal(40, results.Count(r => r.Reasoner == ReasonerKinds.Llm));
        var seconds = s.Handler.Arrivals.Select(t => (int)(t - Start).TotalSeconds).ToArray();
        Assert.Equal(40, seconds.Length);
        for (var t = 0; t <= seconds.Max(); t++)
        {
            Assert.True(seconds.Count(x => x <= t) <= 10 + t, $"{seconds.Count(x => x <= t)} calls by {t} s");
        }
        Assert.True(seconds.Max() >= 30, "40 calls at 10 + 1/s need 30 s");
    }

    [Fact]
    public async Task TokenBucket_HoldsCallsToTheDeploymentsTpm()
    {
        // Worst case per call ~1.6k tokens (prompt estimate + 800 output); 12k TPM: a bucket of 4k (at least MaxTokensPerUser),
        // 200 more per second. 6 calls cannot all start at once.
        using var s = new Shard(o =>
        {
            o.TokensPerMinute = 12_000;
            o.MaxParallelCalls = 6;
        }, storm: TimeSpan.Zero, retryAfterSeconds: 0);
        var llm = s.Reasoner();
        var shard = new LlmRefiningReasoner(new FixedInner(), llm, 2);

        var results = await s.RunAsync(() => shard.ReasonAsync(Users(6)), TimeSpan.FromMinutes(5));

        Assert.All(results, r => Assert.Equal(ReasonerKinds.Llm, r.Reasoner));
        var seconds = s.Handler.Arrivals.Select(t => (t - Start).TotalSeconds).Order().ToArray();
        Assert.True(seconds.Count(x => x == 0) <= 2, string.Join(", ", seconds)); // 4k tokens cover two worst cases
        Assert.True(seconds[^1] >= 20, string.Join(", ", seconds)); // the rest wait for ~8k tokens at 200/s
    }

    [Fact]
    public async Task BackoffWithoutRetryAfter_IsJitteredWithinBounds()
    {
        using var f = new ReasonerFixture(o =>
        {
            o.RetryJitter = 0.5;
            o.MaxAttempts = 4;
            o.FirstRetryDelay = 2;
            o.MaxRetryDelaySeconds = 30;
        });
        for (var i = 0; i < 4; i++)
        {
            f.Handler.Respond(System.Net.HttpStatusCode.InternalServerError, "error-500.json");
        }

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Failed, result.Outcome);
        Assert.Equal(3, f.Delays.Count);
        double[] nominal = [2, 4, 8];
        for (var i = 0; i < 3; i++)
        {
            Assert.InRange(f.Delays[i].TotalSeconds, nominal[i] * 0.5, nominal[i]);
        }
        Assert.Contains(true, f.Delays.Select((d, i) => d.TotalSeconds < nominal[i])); // jittered (all three at nominal: p ≈ 0)
    }

    /// <summary>An LLM whose answers take longer the earlier the user (the last user finishes first); tracks its concurrency.</summary>
    private sealed class SlowLlm(int parallel) : ILlmReasoner
    {
        private int _inFlight;
        private int _max;

        public int MaxSeen => Volatile.Read(ref _max);

        public string PromptVersion => "v1";

        public int MaxParallelCalls => parallel;

        public long TokensSpent => 0;

        public void LimitTokens(long maxTokens)
        {
        }

        public async Task<LlmReasoningResult> ReasonAsync(LlmReasoningRequest request, CancellationToken cancellationToken = default)
        {
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while ((seen = Volatile.Read(ref _max)) < now && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }
            var n = int.Parse(request.User.UserId[2..], System.Globalization.CultureInfo.InvariantCulture);
            await Task.Delay(TimeSpan.FromMilliseconds(5 * (16 - n)), cancellationToken);
            Interlocked.Decrement(ref _inFlight);
            return new LlmReasoningResult(LlmOutcome.Ok, request.EmbeddedRoles, request.CandidatePaths, $"r-{request.User.UserId}", 0, 10, 1, null) { Requests = 1 };
        }
    }

    [Fact]
    public async Task ParallelCalls_AreBounded_AndTheOutputKeepsInputOrder()
    {
        var llm = new SlowLlm(parallel: 4);
        var shard = new LlmRefiningReasoner(new FixedInner(), llm, 2);

        var results = await shard.ReasonAsync(Users(16));

        Assert.InRange(llm.MaxSeen, 2, 4); // sequential before: 1
        Assert.Equal(Enumerable.Range(0, 16).Select(n => $"r-u-{n}"), results.Select(r => r.Rationale));
        Assert.Equal(16, shard.LlmCounters!["llm.ok"]);
        Assert.Equal(16, shard.LlmCounters["llm.requests"]);
        Assert.Equal(160, shard.LlmCounters["llm.promptTokens"]);
    }

    [Fact]
    public void Factory_SharesOneGatePerDeployment()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new LlmReasonerOptions
        {
            Endpoint = new Uri("https://oai-rolegen-test.openai.azure.com/"),
            Deployment = "d",
            ApiKey = "k",
        });
        var factory = new AzureOpenAiReasonerFactory(new InMemoryBlobStore(), options);

        Assert.Same(factory.Create().Gate, factory.Create().Gate);
    }
}

public sealed class LlmTokenLimitTests
{
    [Fact]
    public async Task LimitTokens_LowersTheInstancesBudget_NeverRaisesIt_AndZeroSendsNothing()
    {
        using var f = new ReasonerFixture(o => o.MaxTokensPerRun = 100_000);

        f.Reasoner.LimitTokens(5_000);
        f.Reasoner.LimitTokens(50_000); // a limit never raises the budget
        Assert.Equal(5_000, f.Reasoner.Budget.MaxTokens);

        var retry = f.NewReasoner();
        retry.LimitTokens(0); // what a retried shard gets when its earlier attempts spent its whole share
        var result = await retry.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.BudgetExhausted, result.Outcome);
        Assert.Empty(f.Handler.Requests);
        Assert.Equal(0, retry.TokensSpent);
    }
}
