using Microsoft.DurableTask;
using Moq;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;
using RoleGen.Orchestrations.Orchestrators;
using RoleGen.Core.Storage;

namespace RoleGen.Orchestrations.Tests.Mocked;

public sealed class ShardOrchestratorTests
{
    private static readonly ScoringModelRef Model = new("transition", "run-7", "runs/run-7/model/transition.bin");

    private static ShardWork Work(int maxAttempts = 4, double firstRetrySeconds = 0.5) =>
        new("run-7", new ShardInput(3, BlobLayout.ShardUsers("run-7", 3), 250), Model, 15, maxAttempts, firstRetrySeconds);

    private sealed class Calls
    {
        public List<(TaskName Name, object? Input, TaskOptions? Options)> All { get; } = [];
    }

    private static (Mock<TaskOrchestrationContext> Context, Calls Calls) Setup(
        Func<ScoreShardInput, Task<ScoreShardResult>> score, Func<PublishShardInput, Task<PublishShardResult>> publish)
    {
        var context = OrchestrationContextMock.Create("run-7:shard:00003");
        var calls = new Calls();
        context.Setup(c => c.CallActivityAsync<ScoreShardResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
            {
                calls.All.Add((name, input, options));
                return score((ScoreShardInput)input!);
            });
        context.Setup(c => c.CallActivityAsync<PublishShardResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
            {
                calls.All.Add((name, input, options));
                return publish((PublishShardInput)input!);
            });
        return (context, calls);
    }

    private static Task<ScoreShardResult> Scored(ScoreShardInput i) =>
        Task.FromResult(new ScoreShardResult(i.Shard, i.Users, 248, 12, BlobLayout.ShardScores(i.RunId, i.Shard), 1.25));

    private static Task<PublishShardResult> Published(PublishShardInput i) =>
        Task.FromResult(new PublishShardResult(i.Shard, 248, BlobLayout.ShardCandidates(i.RunId, i.Shard), 0.5));

    [Fact]
    public async Task Scores_then_publishes_with_the_shard_inputs_and_reports_success()
    {
        var (context, calls) = Setup(Scored, Published);

        var outcome = await new ShardOrchestrator().RunAsync(context.Object, Work());

        Assert.Equal(2, calls.All.Count);
        Assert.Equal(nameof(ScoreShardActivity), calls.All[0].Name.Name);
        Assert.Equal(new ScoreShardInput("run-7", 3, "runs/run-7/shards/00003/users.jsonl", 250, Model, 15), calls.All[0].Input);
        Assert.Equal(nameof(PublishShardActivity), calls.All[1].Name.Name);
        Assert.Equal(new PublishShardInput("run-7", 3, "runs/run-7/shards/00003/users.jsonl", "runs/run-7/shards/00003/scores.jsonl", 250),
            calls.All[1].Input);

        Assert.Equal(3, outcome.Shard);
        Assert.Equal(ShardStatus.Succeeded, outcome.Status);
        Assert.Equal(250, outcome.Users);
        Assert.Equal(248, outcome.Scored);
        Assert.Equal(248, outcome.Published);
        Assert.Equal("runs/run-7/shards/00003/candidates.jsonl", outcome.CandidatesPath);
        Assert.Null(outcome.Error);
        Assert.Equal(1, outcome.Attempts);
        Assert.Equal(1.25, outcome.ScoreSeconds);
        Assert.Equal(0.5, outcome.PublishSeconds);
        Assert.Equal(OrchestrationContextMock.Now, outcome.StartedAt);
        Assert.Equal(OrchestrationContextMock.Now, outcome.FinishedAt);
    }

    [Fact]
    public async Task Passes_a_retry_policy_with_the_requested_attempts_to_both_activities()
    {
        var (context, calls) = Setup(Scored, Published);

        await new ShardOrchestrator().RunAsync(context.Object, Work(maxAttempts: 4, firstRetrySeconds: 0.5));

        Assert.Equal(2, calls.All.Count);
        foreach (var (_, _, options) in calls.All)
        {
            Assert.NotNull(options);
            var policy = Assert.IsType<RetryPolicy>(options.Retry?.Policy);
            Assert.Equal(4, policy.MaxNumberOfAttempts);
            Assert.Equal(TimeSpan.FromSeconds(0.5), policy.FirstRetryInterval);
            Assert.False(policy.Retries(new PermanentFailureException("missing input")));
            Assert.True(policy.Retries(new IOException("network blip")));
        }
    }

    [Fact]
    public async Task A_failing_score_reports_a_failed_outcome_and_never_publishes()
    {
        var (context, calls) = Setup(
            _ => Task.FromException<ScoreShardResult>(OrchestrationContextMock.Failure(nameof(ScoreShardActivity), new IOException("disk on fire"))),
            Published);

        var outcome = await new ShardOrchestrator().RunAsync(context.Object, Work(maxAttempts: 4));

        Assert.Single(calls.All);
        context.Verify(c => c.CallActivityAsync<PublishShardResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()), Times.Never);
        Assert.Equal(ShardStatus.Failed, outcome.Status);
        Assert.Equal(3, outcome.Shard);
        Assert.Equal(250, outcome.Users);
        Assert.Equal(0, outcome.Scored);
        Assert.Equal(0, outcome.Published);
        Assert.Null(outcome.CandidatesPath);
        Assert.Equal("score: IOException: disk on fire", outcome.Error);
        Assert.Equal(4, outcome.Attempts);
    }

    [Fact]
    public async Task A_permanent_score_failure_counts_one_attempt()
    {
        var (context, _) = Setup(
            _ => Task.FromException<ScoreShardResult>(OrchestrationContextMock.Failure(nameof(ScoreShardActivity),
                new PermanentFailureException("Model 'transition' version run-7 is missing."))),
            Published);

        var outcome = await new ShardOrchestrator().RunAsync(context.Object, Work(maxAttempts: 4));

        Assert.Equal(ShardStatus.Failed, outcome.Status);
        Assert.Equal("score: PermanentFailureException: Model 'transition' version run-7 is missing.", outcome.Error);
        Assert.Equal(1, outcome.Attempts);
    }

    [Fact]
    public async Task A_failing_publish_reports_a_failed_outcome_with_the_score_counts()
    {
        var (context, calls) = Setup(Scored,
            _ => Task.FromException<PublishShardResult>(OrchestrationContextMock.Failure(nameof(PublishShardActivity), "System.TimeoutException", "slow store")));

        var outcome = await new ShardOrchestrator().RunAsync(context.Object, Work(maxAttempts: 2));

        Assert.Equal(2, calls.All.Count);
        Assert.Equal(ShardStatus.Failed, outcome.Status);
        Assert.StartsWith("publish:", outcome.Error, StringComparison.Ordinal);
        Assert.Equal("publish: TimeoutException: slow store", outcome.Error);
        Assert.Equal(248, outcome.Scored);
        Assert.Equal(0, outcome.Published);
        Assert.Null(outcome.CandidatesPath);
        Assert.Equal(1.25, outcome.ScoreSeconds);
        Assert.Equal(2, outcome.Attempts);
    }

    [Fact]
    public async Task A_failure_without_details_uses_the_exception_message()
    {
        var (context, _) = Setup(
            _ => Task.FromException<ScoreShardResult>(new TaskFailedException(nameof(ScoreShardActivity), 1, new IOException("gone"))),
            Published);

        var outcome = await new ShardOrchestrator().RunAsync(context.Object, Work());

        Assert.Equal(ShardStatus.Failed, outcome.Status);
        Assert.StartsWith("score: ", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("gone", outcome.Error, StringComparison.Ordinal);
    }
}
