using RoleGen.Core.Reasoning;
using Microsoft.DurableTask;
using Moq;
using RoleGen.Core.Cohort;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;
using RoleGen.Orchestrations.Orchestrators;
using RoleGen.Core.Storage;

namespace RoleGen.Orchestrations.Tests.Mocked;

public sealed class NightlyRunOrchestratorTests
{
    private const string RunId = "nightly-2026-11-01";
    private static readonly ScoringModelRef Model = new("transition", RunId, $"runs/{RunId}/model/transition.bin");

    private static RunRequest Request(int maxParallel = 8) => new()
    {
        RunId = RunId,
        Dataset = "demo",
        ShardSize = 100,
        TopK = 10,
        MaxParallelShards = maxParallel,
        MaxAttempts = 3,
        FirstRetrySeconds = 0.5,
    };

    private static SelectDormantUsersResult Cohort(params int[] shards)
    {
        var inputs = shards.Select(s => new ShardInput(s, BlobLayout.ShardUsers(RunId, s), 100 + s)).ToArray();
        var dormant = inputs.Sum(s => (long)s.Users);
        var summary = new CohortSummary(BlobLayout.Cohort(RunId), 1_700_000_000, 1_697_408_000, 50_000, 3_000, dormant,
            new Dictionary<string, long> { ["too-few-views"] = 1_000 }, shards.Length == 0 ? 1 : shards.Max() + 1, 0, 0.5);
        return new SelectDormantUsersResult(summary, inputs);
    }

    private static ShardOutcome Succeeded(ShardWork work) => new(work.Shard.Shard, ShardStatus.Succeeded, work.Shard.Users, work.Shard.Users,
        work.Shard.Users, BlobLayout.ShardCandidates(work.RunId, work.Shard.Shard), null, 1, 0.1, 0.1, OrchestrationContextMock.Now,
        OrchestrationContextMock.Now);

    /// <summary>A run context whose activities and sub-orchestrations are scripted by the test.</summary>
    [Fact]
    public async Task Shards_carry_the_runs_reasoning_statistics_and_options()
    {
        var h = new Harness { Select = _ => Task.FromResult(Cohort([0, 1])) };
        h.Shard = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request()).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(2, h.SubOrchestrations.Count);
        Assert.All(h.SubOrchestrations, s =>
        {
            Assert.NotNull(s.Work.Reasoning);
            Assert.Equal($"runs/{RunId}/reasoning/graph-stats.json", s.Work.Reasoning!.StatsPath);
            Assert.Equal(Request().Reasoner, s.Work.Reasoning.Options);
        });
        Assert.NotNull(h.Finalized!.ReasoningStats);
        Assert.Null(h.Finalized.ReasoningNote);
    }

    [Fact]
    public async Task Failing_statistics_degrade_the_run_to_model_only_scoring_with_a_note()
    {
        var h = new Harness
        {
            Select = _ => Task.FromResult(Cohort([0, 1])),
            Stats = _ => Task.FromException<BuildReasoningStatsResult>(OrchestrationContextMock.Failure(nameof(BuildReasoningStatsActivity), new IOException("stats blob down"))),
        };
        h.Shard = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request()).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.All(h.SubOrchestrations, s => Assert.Null(s.Work.Reasoning));
        Assert.Null(h.Finalized!.Error);
        Assert.Contains("stats blob down", h.Finalized.ReasoningNote, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_with_the_reasoner_off_never_builds_statistics()
    {
        var h = new Harness
        {
            Select = _ => Task.FromResult(Cohort([0])),
            Stats = _ => throw new InvalidOperationException("must not be called"),
        };
        h.Shard = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request() with { Reasoner = new ReasonerOptions { Enabled = false } })
            .WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Null(Assert.Single(h.SubOrchestrations).Work.Reasoning);
        Assert.Equal("disabled in the run request", h.Finalized!.ReasoningNote);
    }

    private sealed class Harness
    {
        public Mock<TaskOrchestrationContext> Context { get; }

        public List<object?> Statuses { get; } = [];

        public List<(string InstanceId, ShardWork Work, TaskCompletionSource<ShardOutcome> Result)> SubOrchestrations { get; } = [];

        public List<TaskOptions?> ActivityOptions { get; } = [];

        public FinalizeRunInput? Finalized { get; private set; }

        public int Outstanding { get; private set; }

        public int MaxOutstanding { get; private set; }

        public Func<SelectDormantUsersInput, Task<SelectDormantUsersResult>> Select { get; set; } =
            _ => throw new InvalidOperationException("select not scripted");

        public Func<BuildBaselineModelInput, Task<BuildBaselineModelResult>> Build { get; set; } =
            _ => Task.FromResult(new BuildBaselineModelResult(Model, 500, 40_000, 0.3));

        public Func<ResolveScoringModelInput, Task<ResolveScoringModelResult>> Resolve { get; set; } =
            _ => Task.FromResult(new ResolveScoringModelResult(null, "no trained backbone"));

        public Func<BuildReasoningStatsInput, Task<BuildReasoningStatsResult>> Stats { get; set; } =
            input => Task.FromResult(new BuildReasoningStatsResult($"runs/{input.RunId}/reasoning/graph-stats.json", 3_000, 40_000, 500, 20, 0.01, 0.2));

        /// <summary>Called when a shard is scheduled; null leaves its task pending for the test to complete.</summary>
        public Func<ShardWork, Task<ShardOutcome>?> Shard { get; set; } = _ => null;

        public Harness()
        {
            Context = OrchestrationContextMock.Create(RunId, Statuses);
            Context.Setup(c => c.CallActivityAsync<SelectDormantUsersResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(SelectDormantUsersActivity), name.Name);
                    ActivityOptions.Add(options);
                    return Select((SelectDormantUsersInput)input!);
                });
            Context.Setup(c => c.CallActivityAsync<ResolveScoringModelResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(ResolveScoringModelActivity), name.Name);
                    ActivityOptions.Add(options);
                    return Resolve((ResolveScoringModelInput)input!);
                });
            Context.Setup(c => c.CallActivityAsync<BuildBaselineModelResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(BuildBaselineModelActivity), name.Name);
                    ActivityOptions.Add(options);
                    return Build((BuildBaselineModelInput)input!);
                });
            Context.Setup(c => c.CallActivityAsync<BuildReasoningStatsResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(BuildReasoningStatsActivity), name.Name);
                    ActivityOptions.Add(options);
                    return Stats((BuildReasoningStatsInput)input!);
                });
            Context.Setup(c => c.CallActivityAsync<RunSummary>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(FinalizeRunActivity), name.Name);
                    Assert.Null(Finalized);
                    ActivityOptions.Add(options);
                    Finalized = (FinalizeRunInput)input!;
                    var failed = Finalized.Shards.Count(s => s.Status == ShardStatus.Failed);
                    var status = Finalized.Error is not null ? RunStatus.Failed : failed > 0 ? RunStatus.PartiallySucceeded : RunStatus.Succeeded;
                    return Task.FromResult(new RunSummary(RunId, status, "demo", 3_000, Finalized.Cohort?.Dormant ?? 0,
                        Finalized.Shards.Sum(s => (long)s.Published), Finalized.Shards.Count, failed, null, BlobLayout.Manifest(RunId),
                        BlobLayout.Report(RunId), $"runs/{RunId}/shards/", 1, Finalized.Error));
                });
            Context.Setup(c => c.CallSubOrchestratorAsync<ShardOutcome>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(ShardOrchestrator), name.Name);
                    var sub = Assert.IsType<SubOrchestrationOptions>(options);
                    var work = (ShardWork)input!;
                    Outstanding++;
                    MaxOutstanding = Math.Max(MaxOutstanding, Outstanding);
                    // Continuations run inline when the test completes the task: the orchestrator resumes synchronously.
                    var pending = new TaskCompletionSource<ShardOutcome>();
                    SubOrchestrations.Add((sub.InstanceId!, work, pending));
                    if (Shard(work) is { } scripted)
                    {
                        Outstanding--;
                        return scripted;
                    }
                    return pending.Task;
                });
        }

        /// <summary>Completes the pending shard at <paramref name="index"/> (in schedule order) with success or a failure.</summary>
        public void Complete(int index, Exception? failure = null)
        {
            var (_, work, result) = SubOrchestrations[index];
            Outstanding--;
            if (failure is null)
            {
                result.SetResult(Succeeded(work));
            }
            else
            {
                result.SetException(failure);
            }
        }

        public void VerifyNoShards() => Context.Verify(
            c => c.CallSubOrchestratorAsync<ShardOutcome>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()), Times.Never);

        public void VerifyNoModelBuild() => Context.Verify(
            c => c.CallActivityAsync<BuildBaselineModelResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()), Times.Never);
    }

    [Fact]
    public async Task An_invalid_request_is_finalized_with_the_error_without_selecting()
    {
        var h = new Harness();
        var request = Request() with { RunId = "bad id!", TopK = 0 };

        var summary = await new NightlyRunOrchestrator().RunAsync(h.Context.Object, request);

        h.Context.Verify(c => c.CallActivityAsync<SelectDormantUsersResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()),
            Times.Never);
        h.VerifyNoModelBuild();
        h.VerifyNoShards();
        Assert.NotNull(h.Finalized);
        Assert.Same(request, h.Finalized.Request);
        Assert.Contains("bad id!", h.Finalized.Error, StringComparison.Ordinal);
        Assert.Contains("TopK", h.Finalized.Error, StringComparison.Ordinal);
        Assert.Null(h.Finalized.Cohort);
        Assert.Null(h.Finalized.Model);
        Assert.Empty(h.Finalized.Shards);
        Assert.Equal(RunStatus.Failed, summary.Status);
        Assert.Equal("done", h.Statuses.Progress()[^1].Phase);
    }

    [Theory]
    [InlineData(0, 2.0)]
    [InlineData(-1, 2.0)]
    public async Task An_invalid_attempt_count_is_finalized_with_the_error(int maxAttempts, double firstRetrySeconds)
    {
        var h = new Harness();
        var request = Request() with { MaxAttempts = maxAttempts, FirstRetrySeconds = firstRetrySeconds };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, request);

        Assert.NotNull(h.Finalized);
        Assert.Contains("MaxAttempts", h.Finalized.Error, StringComparison.Ordinal);
        Assert.Equal("done", h.Statuses.Progress()[^1].Phase);
    }

    [Theory]
    [InlineData(120.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public async Task A_first_retry_interval_the_request_accepts_never_crashes_the_run(double firstRetrySeconds)
    {
        var h = new Harness { Select = _ => Task.FromResult(Cohort()) };
        var request = Request() with { FirstRetrySeconds = firstRetrySeconds };

        // Either the request is rejected by Validate (finalized with an error) or the interval is capped; never a crash
        // that leaves the run without a manifest.
        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, request);

        Assert.NotNull(h.Finalized);
        Assert.Equal("done", h.Statuses.Progress()[^1].Phase);
    }

    [Fact]
    public async Task A_failing_selection_is_finalized_with_the_error_and_no_shards()
    {
        var h = new Harness
        {
            Select = _ => Task.FromException<SelectDormantUsersResult>(
                OrchestrationContextMock.Failure(nameof(SelectDormantUsersActivity), new IOException("events unreadable"))),
        };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        h.VerifyNoModelBuild();
        h.VerifyNoShards();
        Assert.NotNull(h.Finalized);
        Assert.Equal("Selecting the dormant cohort failed: IOException: events unreadable", h.Finalized.Error);
        Assert.Null(h.Finalized.Cohort);
        Assert.Empty(h.Finalized.Shards);
        var progress = h.Statuses.Progress();
        Assert.Equal(["selecting", "finalizing", "done"], progress.Select(p => p.Phase));
    }

    [Fact]
    public async Task Selection_gets_the_request_options_and_a_retry_policy()
    {
        SelectDormantUsersInput? selectInput = null;
        BuildBaselineModelInput? buildInput = null;
        var h = new Harness
        {
            Select = i =>
            {
                selectInput = i;
                return Task.FromResult(Cohort(0));
            },
            Build = i =>
            {
                buildInput = i;
                return Task.FromResult(new BuildBaselineModelResult(Model, 500, 40_000, 0.3));
            },
            Shard = w => Task.FromResult(Succeeded(w)),
        };
        var request = Request() with { ShardCount = 16, Policy = new DormancyPolicy { MinViews = 7 } };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, request);

        Assert.Equal(new SelectDormantUsersInput(RunId, "demo", request.Policy, 100, 16), selectInput);
        Assert.Equal(new BuildBaselineModelInput(RunId, "demo", 1_700_000_000), buildInput);
        Assert.Equal(5, h.ActivityOptions.Count); // select, resolve model, build baseline, reasoning statistics, finalize
        Assert.All(h.ActivityOptions, o => Assert.Equal(3, o?.Retry?.Policy?.MaxNumberOfAttempts));
        var work = Assert.Single(h.SubOrchestrations).Work;
        Assert.Equal(new ShardWork(RunId, Cohort(0).Shards[0], Model, 10, 3, 0.5) { Reasoning = new ReasoningWork($"runs/{RunId}/reasoning/graph-stats.json", request.Reasoner), Experiment = request.Experiment }, work);
    }

    [Fact]
    public async Task An_empty_cohort_builds_no_model_and_schedules_no_shards()
    {
        var h = new Harness { Select = _ => Task.FromResult(Cohort()) };

        var summary = await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        h.VerifyNoModelBuild();
        h.VerifyNoShards();
        Assert.NotNull(h.Finalized);
        Assert.Null(h.Finalized.Error);
        Assert.NotNull(h.Finalized.Cohort);
        Assert.Equal(0, h.Finalized.Cohort.Dormant);
        Assert.Null(h.Finalized.Model);
        Assert.Empty(h.Finalized.Shards);
        Assert.Equal(RunStatus.Succeeded, summary.Status);
        Assert.Equal("done", h.Statuses.Progress()[^1].Phase);
    }

    [Fact]
    public async Task A_failing_model_build_is_finalized_with_the_error_and_no_shards()
    {
        var h = new Harness
        {
            Select = _ => Task.FromResult(Cohort(0, 1)),
            Build = _ => Task.FromException<BuildBaselineModelResult>(
                OrchestrationContextMock.Failure(nameof(BuildBaselineModelActivity), new OutOfMemoryException("too many pairs"))),
        };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        h.VerifyNoShards();
        Assert.NotNull(h.Finalized);
        Assert.Equal("Preparing the scoring model failed: OutOfMemoryException: too many pairs", h.Finalized.Error);
        Assert.NotNull(h.Finalized.Cohort);
        Assert.Null(h.Finalized.Model);
        Assert.Empty(h.Finalized.Shards);
    }

    [Fact]
    public async Task Shards_fan_out_with_bounded_width_and_stable_instance_ids()
    {
        int[] shards = [0, 2, 3, 5, 6, 7, 9];
        var h = new Harness { Select = _ => Task.FromResult(Cohort(shards)) };

        var run = new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request(maxParallel: 2));

        // Complete the shards in schedule order; each completion lets the orchestrator schedule the next one inline.
        for (var i = 0; i < shards.Length; i++)
        {
            Assert.False(run.IsCompleted);
            Assert.True(h.SubOrchestrations.Count > i, $"shard #{i} was not scheduled");
            Assert.True(h.Outstanding <= 2, $"{h.Outstanding} shards in flight");
            h.Complete(i);
        }
        var summary = await run.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(shards.Length, h.SubOrchestrations.Count);
        Assert.Equal(shards.Select(s => $"{RunId}:shard:{s:D5}"), h.SubOrchestrations.Select(s => s.InstanceId));
        Assert.Equal(shards.Select(s => NightlyRunOrchestrator.ShardInstanceId(RunId, s)), h.SubOrchestrations.Select(s => s.InstanceId));
        Assert.Equal(shards, h.SubOrchestrations.Select(s => s.Work.Shard.Shard));
        Assert.Equal(2, h.MaxOutstanding);
        Assert.NotNull(h.Finalized);
        Assert.Null(h.Finalized.Error);
        Assert.Equal(Model, h.Finalized.Model);
        Assert.Equal(shards, h.Finalized.Shards.Select(s => s.Shard));
        Assert.All(h.Finalized.Shards, s => Assert.Equal(ShardStatus.Succeeded, s.Status));
        Assert.Equal(RunStatus.Succeeded, summary.Status);
        Assert.Equal(h.Finalized.Cohort!.Dormant, summary.Published);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public async Task Never_more_shards_in_flight_than_allowed(int maxParallel)
    {
        var shards = Enumerable.Range(0, 6).ToArray();
        var h = new Harness { Select = _ => Task.FromResult(Cohort(shards)) };

        var run = new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request(maxParallel));
        for (var i = 0; i < shards.Length; i++)
        {
            h.Complete(i);
        }
        await run.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(Math.Min(maxParallel, shards.Length), h.MaxOutstanding);
        Assert.Equal(shards.Length, h.Finalized!.Shards.Count);
    }

    [Fact]
    public async Task A_throwing_shard_orchestration_becomes_a_failed_outcome_and_the_run_still_finalizes()
    {
        int[] shards = [0, 1, 2, 3];
        var h = new Harness { Select = _ => Task.FromResult(Cohort(shards)) };

        var run = new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request(maxParallel: 2));
        // Out of order: the second shard fails before the first completes (the outcome must name the right shard).
        h.Complete(1, OrchestrationContextMock.Failure(nameof(ShardOrchestrator), "System.InvalidOperationException", "orchestrator crashed"));
        h.Complete(0);
        h.Complete(2);
        h.Complete(3);
        var summary = await run.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.NotNull(h.Finalized);
        Assert.Null(h.Finalized.Error);
        Assert.Equal(4, h.Finalized.Shards.Count);
        var failed = Assert.Single(h.Finalized.Shards, s => s.Status == ShardStatus.Failed);
        Assert.Equal(1, failed.Shard);
        Assert.Equal(101, failed.Users);
        Assert.Equal(0, failed.Published);
        Assert.Null(failed.CandidatesPath);
        Assert.Equal("InvalidOperationException: orchestrator crashed", failed.Error);
        Assert.Equal(1, failed.Attempts);
        Assert.Equal(RunStatus.PartiallySucceeded, summary.Status);
        var last = h.Statuses.Progress()[^1];
        Assert.Equal("done", last.Phase);
        Assert.Equal(1, last.ShardsFailed);
    }

    [Fact]
    public async Task Custom_status_reports_increasing_progress_ending_at_the_total()
    {
        int[] shards = [0, 1, 2, 3, 4];
        var h = new Harness { Select = _ => Task.FromResult(Cohort(shards)) };

        var run = new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request(maxParallel: 2));
        for (var i = 0; i < shards.Length; i++)
        {
            h.Complete(i, i == 2 ? OrchestrationContextMock.Failure(nameof(ShardOrchestrator), new InvalidOperationException("x")) : null);
        }
        await run.WaitAsync(TimeSpan.FromSeconds(5));

        var progress = h.Statuses.Progress();
        Assert.Equal(h.Statuses.Count, progress.Count); // every status is a RunProgress
        Assert.Equal("selecting", progress[0].Phase);
        Assert.Equal("building-model", progress[1].Phase);
        Assert.Equal("reasoning-statistics", progress[2].Phase);
        var scoring = progress.Where(p => p.Phase == "scoring").ToArray();
        Assert.Equal(Enumerable.Range(0, shards.Length + 1), scoring.Select(p => p.ShardsDone));
        Assert.All(scoring, p => Assert.Equal(shards.Length, p.ShardsTotal));
        Assert.All(scoring, p => Assert.Equal(Cohort(shards).Cohort.Dormant, p.UsersTotal));
        Assert.Equal([0, 0, 0, 1, 1, 1], scoring.Select(p => p.ShardsFailed));
        Assert.True(scoring.Zip(scoring.Skip(1)).All(pair => pair.Second.UsersScored >= pair.First.UsersScored));
        Assert.Equal(["finalizing", "done"], progress.Skip(3 + scoring.Length).Select(p => p.Phase));
        var done = progress[^1];
        Assert.Equal(shards.Length, done.ShardsDone);
        Assert.Equal(shards.Length, done.ShardsTotal);
        Assert.Equal(1, done.ShardsFailed);
        Assert.Equal(Cohort(shards).Cohort.Dormant - 102, done.UsersScored);
    }

    [Fact]
    public async Task A_published_backbone_scores_the_run_and_no_baseline_is_built()
    {
        var backbone = new ScoringModelRef("backbone-onnx", "v7", "models/backbone/v7/");
        var h = new Harness
        {
            Select = _ => Task.FromResult(Cohort(0, 1)),
            Resolve = _ => Task.FromResult(new ResolveScoringModelResult(backbone, "scoring with backbone v7")),
            Build = _ => throw new InvalidOperationException("the baseline must not be built when a backbone is published"),
            Shard = work => Task.FromResult(new ShardOutcome(work.Shard.Shard, ShardStatus.Succeeded, work.Shard.Users, work.Shard.Users,
                work.Shard.Users, "c", null, 1, 0.1, 0.1, DateTime.UnixEpoch, DateTime.UnixEpoch)),
        };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        Assert.NotNull(h.Finalized);
        Assert.Null(h.Finalized.Error);
        Assert.Equal(backbone, h.Finalized.Model);
        Assert.All(h.SubOrchestrations, s => Assert.Equal(backbone, s.Work.Model));
    }

    private static RankerTuning Tuning(double backboneWeight) => new("demo", backboneWeight,
        new FusionWeights { Backbone = 0.5, Uplift = 0, Role = 2, Version = "validated-b0.5-u0-r2" }, "validation window", 0.05, 0.12, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task A_validated_blend_builds_the_baseline_and_scores_with_the_blend_and_the_validated_weights()
    {
        var backbone = new ScoringModelRef("backbone-onnx", "v7", "models/backbone/v7/");
        var h = new Harness
        {
            Select = _ => Task.FromResult(Cohort(0, 1)),
            Resolve = _ => Task.FromResult(new ResolveScoringModelResult(backbone, "scoring with backbone v7") { Tuning = Tuning(0.5), TuningReason = "validated" }),
        };
        h.Shard = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        var model = h.Finalized!.Model!;
        Assert.Equal(BlendedRecommender.Kind, model.Kind);
        Assert.Equal(0.5, model.Weight);
        Assert.Equal([backbone, Model], model.Components!);
        Assert.All(h.SubOrchestrations, s => Assert.Equal("validated-b0.5-u0-r2", s.Work.Reasoning!.Options.Fusion.Version));
        Assert.Equal("validated-b0.5-u0-r2", h.Finalized.Request.Reasoner.Fusion.Version);
        Assert.NotNull(h.Finalized.Tuning);
        Assert.Contains("validated on validation window", h.Finalized.RankerNote, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tuning_that_chose_the_transition_model_ignores_the_published_backbone_and_request_weights_win()
    {
        var backbone = new ScoringModelRef("backbone-onnx", "v7", "models/backbone/v7/");
        var h = new Harness
        {
            Select = _ => Task.FromResult(Cohort(0)),
            Resolve = _ => Task.FromResult(new ResolveScoringModelResult(backbone, "scoring with backbone v7") { Tuning = Tuning(0), TuningReason = "validated" }),
        };
        h.Shard = work => Task.FromResult(Succeeded(work));
        var request = Request() with { Reasoner = new ReasonerOptions { Fusion = new FusionWeights { Version = "operator-set" } } };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, request);

        Assert.Equal(Model, h.Finalized!.Model);
        Assert.Equal("operator-set", Assert.Single(h.SubOrchestrations).Work.Reasoning!.Options.Fusion.Version);
    }

    [Fact]
    public async Task A_tuning_asking_for_the_backbone_without_a_published_backbone_falls_back_to_the_transition_model_with_a_note()
    {
        var h = new Harness
        {
            Select = _ => Task.FromResult(Cohort(0)),
            Resolve = _ => Task.FromResult(new ResolveScoringModelResult(null, "no trained backbone") { Tuning = Tuning(1), TuningReason = "validated" }),
        };
        h.Shard = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        Assert.Equal(Model, h.Finalized!.Model);
        Assert.Contains("no backbone is published", h.Finalized.RankerNote, StringComparison.Ordinal);
    }
}
