using Microsoft.DurableTask;
using Moq;
using RoleGen.Core.Ingest;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Orchestrations.Tests.Mocked;

public sealed class ShardBatchOrchestratorTests
{
    private static readonly ScoringModelRef Model = new("transition", "r", "runs/r/model/transition.bin");

    private static ShardBatchWork Work(int width = 2, int maxAttempts = 3, params int[] shards) =>
        new("r", 4, shards.Length == 0 ? [3, 5, 9] : shards, (shards.Length == 0 ? [3, 5, 9] : shards).Select(s => 100 + s).ToArray(), Model, 10, maxAttempts, 0.5, width)
        {
            RunStartedAt = OrchestrationContextMock.Now,
        };

    private sealed class Harness
    {
        public Mock<TaskOrchestrationContext> Context { get; } = OrchestrationContextMock.Create("r:batch:00004");

        public List<RecommendShardInput> Calls { get; } = [];

        public List<TimeSpan> Timers { get; } = [];

        public Func<RecommendShardInput, Task<RecommendShardResult>> Shard { get; set; } = input => Task.FromResult(Ok(input));

        public Harness()
        {
            Context.Setup(c => c.CallActivityAsync<RecommendShardResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(RecommendShardActivity), name.Name);
                    Assert.Null(options?.Retry); // retries are the orchestrator's own, one attempt at a time
                    var call = (RecommendShardInput)input!;
                    Calls.Add(call);
                    return Shard(call);
                });
            Context.Setup(c => c.CreateTimer(It.IsAny<DateTime>(), It.IsAny<CancellationToken>()))
                .Returns<DateTime, CancellationToken>((at, _) =>
                {
                    Timers.Add(at - OrchestrationContextMock.Now);
                    return Task.CompletedTask;
                });
        }
    }

    private static RecommendShardResult Ok(RecommendShardInput input) =>
        new(input.Shard, input.Users, input.Users, BlobLayout.ShardCandidates("r", input.Shard), BlobLayout.ShardReport("r", input.Shard),
            OrchestrationContextMock.Now.AddSeconds(1), 0.25, input.Attempt);

    [Fact]
    public async Task Run_budget_is_shared_by_users_unspent_tokens_go_to_later_shards_and_retries_keep_their_share()
    {
        // Shards 3, 5, 9 with 103, 105, 109 users; a pool of 3,170 tokens; one shard at a time.
        var h = new Harness();
        var spentByShard = new Dictionary<int, long> { [3] = 100, [5] = 600, [9] = 0 };
        var failedOnce = false;
        h.Shard = input =>
        {
            if (input.Shard == 5 && !failedOnce)
            {
                failedOnce = true;
                return Task.FromException<RecommendShardResult>(OrchestrationContextMock.Failure(nameof(RecommendShardActivity), new IOException("blob timeout")));
            }
            return Task.FromResult(Ok(input) with { LlmTokensSpent = spentByShard[input.Shard] });
        };

        await new ShardBatchOrchestrator().RunAsync(h.Context.Object, Work(width: 1) with { LlmTokens = 3_170 });

        var shares = h.Calls.Select(c => (c.Shard, c.Attempt, c.LlmTokens)).ToArray();
        // 3: 3170·103/317 = 1030 (spends 100: 930 back). 5: (3170 − 1030 + 930)·105/214 = 1506, twice (the retry keeps it).
        // 9: what is left, 3070 − 1506 + (1506 − 600) = 2470.
        Assert.Equal([(3, 1, (long?)1030), (5, 1, 1506), (5, 2, 1506), (9, 1, 2470)], shares);
    }

    [Fact]
    public async Task Without_a_run_budget_shards_get_none()
    {
        var h = new Harness();

        await new ShardBatchOrchestrator().RunAsync(h.Context.Object, Work());

        Assert.All(h.Calls, c => Assert.Null(c.LlmTokens));
    }

    [Fact]
    public async Task Every_shard_is_recommended_once_with_its_inputs_and_the_batch_counts_them()
    {
        var h = new Harness();

        var result = await new ShardBatchOrchestrator().RunAsync(h.Context.Object, Work());

        Assert.Equal([3, 5, 9], h.Calls.Select(c => c.Shard).Order());
        Assert.All(h.Calls, c =>
        {
            Assert.Equal(BlobLayout.ShardUsers("r", c.Shard), c.UsersPath);
            Assert.Equal(100 + c.Shard, c.Users);
            Assert.Equal(1, c.Attempt);
            Assert.Equal(Model, c.Model);
            Assert.Equal(OrchestrationContextMock.Now, c.RunStartedAt);
        });
        Assert.Equal(4, result.Batch);
        Assert.Equal(3, result.Succeeded);
        Assert.Equal(317, result.Published);
        Assert.Empty(result.Failures);
        Assert.Equal(0.75, result.ActivitySeconds, 9);
        Assert.Equal(0, result.Interruptions);
    }

    [Fact]
    public async Task A_transient_failure_is_retried_with_a_doubling_delay_and_the_attempt_number()
    {
        var h = new Harness();
        h.Shard = input => input.Shard == 5 && input.Attempt < 3
            ? Task.FromException<RecommendShardResult>(OrchestrationContextMock.Failure(nameof(RecommendShardActivity), new IOException("blob timeout")))
            : Task.FromResult(Ok(input));

        var result = await new ShardBatchOrchestrator().RunAsync(h.Context.Object, Work());

        Assert.Equal([1, 2, 3], h.Calls.Where(c => c.Shard == 5).Select(c => c.Attempt));
        Assert.Equal([TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1)], h.Timers);
        Assert.Equal(3, result.Succeeded);
        Assert.Empty(result.Failures);
    }

    [Fact]
    public async Task A_shard_that_keeps_failing_is_reported_after_its_attempts_and_the_others_succeed()
    {
        var h = new Harness();
        h.Shard = input => input.Shard == 9
            ? Task.FromException<RecommendShardResult>(OrchestrationContextMock.Failure(nameof(RecommendShardActivity), new IOException("always")))
            : Task.FromResult(Ok(input));

        var result = await new ShardBatchOrchestrator().RunAsync(h.Context.Object, Work(maxAttempts: 2));

        var failure = Assert.Single(result.Failures);
        Assert.Equal(9, failure.Shard);
        Assert.Equal(109, failure.Users);
        Assert.Equal(2, failure.Attempts);
        Assert.Equal("IOException: always", failure.Error);
        Assert.Equal(2, result.Succeeded);
    }

    [Fact]
    public async Task A_permanent_failure_is_attempted_once()
    {
        var h = new Harness();
        h.Shard = input => Task.FromException<RecommendShardResult>(
            OrchestrationContextMock.Failure(nameof(RecommendShardActivity), new PermanentFailureException("users.jsonl:2 is not JSON")));

        var result = await new ShardBatchOrchestrator().RunAsync(h.Context.Object, Work(maxAttempts: 5, shards: [7]));

        Assert.Single(h.Calls);
        Assert.Empty(h.Timers);
        Assert.Equal(1, Assert.Single(result.Failures).Attempts);
    }

    [Fact]
    public async Task Never_more_shards_in_flight_than_the_width_and_a_late_start_counts_as_an_interruption()
    {
        var h = new Harness();
        var pending = new List<(RecommendShardInput Input, TaskCompletionSource<RecommendShardResult> Result)>();
        h.Shard = input =>
        {
            var tcs = new TaskCompletionSource<RecommendShardResult>();
            pending.Add((input, tcs));
            return tcs.Task;
        };
        var run = new ShardBatchOrchestrator().RunAsync(h.Context.Object, Work(width: 2, shards: [0, 1, 2, 3, 4]));

        for (var i = 0; i < 5; i++)
        {
            Assert.True(pending.Count - i <= 2, $"{pending.Count - i} in flight");
            var (input, tcs) = pending[i];
            // Shard 2 started 95 s after it was scheduled: the host was down.
            tcs.SetResult(Ok(input) with { StartedAt = OrchestrationContextMock.Now.AddSeconds(input.Shard == 2 ? 95 : 1) });
        }
        var result = await run.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(5, result.Succeeded);
        Assert.Equal(1, result.Interruptions);
        Assert.Equal(95, result.InterruptionSeconds);
    }
}
