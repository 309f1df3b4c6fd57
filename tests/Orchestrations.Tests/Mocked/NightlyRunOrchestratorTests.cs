using Microsoft.DurableTask;
using Moq;
using RoleGen.Core.Cohort;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;
using RoleGen.Orchestrations.Orchestrators;

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

    /// <summary>The pass's result for non-empty <paramref name="shards"/> (shard s has 100 + s users).</summary>
    private static PrepareRunResult Prepared(params int[] shards) => Prepared(true, true, shards);

    private static PrepareRunResult Prepared(bool transition, bool statistics, params int[] shards)
    {
        var count = shards.Length == 0 ? 1 : shards.Max() + 1;
        var users = new int[count];
        foreach (var s in shards)
        {
            users[s] = 100 + s;
        }
        var dormant = users.Sum(u => (long)u);
        var summary = new CohortSummary(BlobLayout.Cohort(RunId), 1_700_000_000, 1_697_408_000, 50_000, 3_000, dormant,
            new Dictionary<string, long> { ["too-few-views"] = 1_000 }, count, count - shards.Length, 0.5);
        return new PrepareRunResult(summary, users, transition && dormant > 0 ? Model : null,
            statistics && dormant > 0 ? new BuildReasoningStatsResult($"runs/{RunId}/reasoning/graph-stats.json", 3_000, 40_000, 500, 20, 0.01, 0) : null,
            null, new RunPreparation(50_000, 50_000, 3_000, 1_000_000, 1, 1, 1, 3));
    }

    private static ShardBatchResult Succeeded(ShardBatchWork work) => new(work.Batch, work.Shards.Count, work.Users.Sum(u => (long)u), [], 0.2 * work.Shards.Count);

    [Fact]
    public async Task Batches_carry_the_runs_reasoning_statistics_and_options()
    {
        var h = new Harness { Prepare = _ => Task.FromResult(Prepared(0, 1)) };
        h.Batch = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request()).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.All(h.SubOrchestrations, batch =>
        {
            Assert.NotNull(batch.Work.Reasoning);
            Assert.Equal($"runs/{RunId}/reasoning/graph-stats.json", batch.Work.Reasoning!.StatsPath);
            Assert.Equal(Request().Reasoner, batch.Work.Reasoning.Options);
            Assert.Equal(OrchestrationContextMock.Now, batch.Work.RunStartedAt);
        });
        Assert.Equal([0, 1], h.SubOrchestrations.SelectMany(b => b.Work.Shards));
        Assert.Equal([100, 101], h.SubOrchestrations.SelectMany(b => b.Work.Users));
        Assert.NotNull(h.Finalized!.ReasoningStats);
        Assert.Null(h.Finalized.ReasoningNote);
        Assert.Equal([100, 101], h.Finalized.ShardUsers);
        Assert.NotNull(h.Finalized.Preparation);
    }

    [Fact]
    public async Task The_runs_llm_budget_is_split_across_batches_by_users_and_never_exceeds_the_budget()
    {
        var shards = Enumerable.Range(0, 40).Where(s => s % 3 != 1).ToArray(); // 27 shards, 2 per batch: 14 batches
        var h = new Harness { Prepare = _ => Task.FromResult(Prepared(shards)), Batch = work => Task.FromResult(Succeeded(work)) };
        var request = Request() with { Reasoner = new ReasonerOptions { LlmTokensPerRun = 1_000_003 } };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, request).WaitAsync(TimeSpan.FromSeconds(5));

        var all = shards.Sum(s => 100L + s);
        Assert.All(h.SubOrchestrations, b => Assert.Equal((long)Math.Floor(1_000_003.0 * b.Work.Users.Sum(u => (long)u) / all), b.Work.LlmTokens));
        var total = h.SubOrchestrations.Sum(b => b.Work.LlmTokens!.Value);
        Assert.InRange(total, 1_000_003 - h.SubOrchestrations.Count, 1_000_003); // flooring loses less than a token per batch
    }

    [Fact]
    public async Task Without_a_run_llm_budget_batches_carry_none()
    {
        var h = new Harness { Prepare = _ => Task.FromResult(Prepared(0, 1)), Batch = work => Task.FromResult(Succeeded(work)) };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request()).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.All(h.SubOrchestrations, b => Assert.Null(b.Work.LlmTokens));
    }

    [Fact]
    public async Task Failing_statistics_degrade_the_run_to_model_only_scoring_with_a_note()
    {
        var h = new Harness { Prepare = _ => Task.FromResult(Prepared(true, false, 0, 1) with { StatisticsNote = "behaviour-graph statistics failed: IOException: stats blob down" }) };
        h.Batch = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request()).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.All(h.SubOrchestrations, s => Assert.Null(s.Work.Reasoning));
        Assert.Null(h.Finalized!.Error);
        Assert.Contains("stats blob down", h.Finalized.ReasoningNote, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_with_the_reasoner_off_never_builds_statistics()
    {
        PrepareRunInput? asked = null;
        var h = new Harness
        {
            Prepare = i =>
            {
                asked = i;
                return Task.FromResult(Prepared(true, false, 0));
            },
        };
        h.Batch = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request() with { Reasoner = new ReasonerOptions { Enabled = false } })
            .WaitAsync(TimeSpan.FromSeconds(5));

        Assert.False(asked!.BuildStatistics);
        Assert.Null(Assert.Single(h.SubOrchestrations).Work.Reasoning);
        Assert.Equal("disabled in the run request", h.Finalized!.ReasoningNote);
    }

    private sealed class Harness
    {
        public Mock<TaskOrchestrationContext> Context { get; }

        public List<object?> Statuses { get; } = [];

        public List<(string InstanceId, ShardBatchWork Work, TaskCompletionSource<ShardBatchResult> Result)> SubOrchestrations { get; } = [];

        public List<TaskOptions?> ActivityOptions { get; } = [];

        public FinalizeRunInput? Finalized { get; private set; }

        public int Outstanding { get; private set; }

        public int MaxOutstanding { get; private set; }

        public Func<PrepareRunInput, Task<PrepareRunResult>> Prepare { get; set; } = _ => throw new InvalidOperationException("prepare not scripted");

        public Func<ResolveScoringModelInput, Task<ResolveScoringModelResult>> Resolve { get; set; } =
            _ => Task.FromResult(new ResolveScoringModelResult(null, "no trained backbone"));

        /// <summary>Called when a batch is scheduled; null leaves its task pending for the test to complete.</summary>
        public Func<ShardBatchWork, Task<ShardBatchResult>?> Batch { get; set; } = _ => null;

        public Harness()
        {
            Context = OrchestrationContextMock.Create(RunId, Statuses);
            Context.Setup(c => c.CallActivityAsync<PrepareRunResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(PrepareRunActivity), name.Name);
                    ActivityOptions.Add(options);
                    return Prepare((PrepareRunInput)input!);
                });
            Context.Setup(c => c.CallActivityAsync<ResolveScoringModelResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(ResolveScoringModelActivity), name.Name);
                    ActivityOptions.Add(options);
                    return Resolve((ResolveScoringModelInput)input!);
                });
            Context.Setup(c => c.CallActivityAsync<RunSummary>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(FinalizeRunActivity), name.Name);
                    Assert.Null(Finalized);
                    ActivityOptions.Add(options);
                    Finalized = (FinalizeRunInput)input!;
                    var failed = Finalized.Batches.Sum(b => b.Failures.Count);
                    var status = Finalized.Error is not null ? RunStatus.Failed : failed > 0 ? RunStatus.PartiallySucceeded : RunStatus.Succeeded;
                    return Task.FromResult(new RunSummary(RunId, status, "demo", 3_000, Finalized.Cohort?.Dormant ?? 0,
                        Finalized.Batches.Sum(b => b.Published), Finalized.Batches.Sum(b => b.Succeeded + b.Failures.Count), failed, null, BlobLayout.Manifest(RunId),
                        BlobLayout.Report(RunId), $"runs/{RunId}/shards/", 1, Finalized.Error));
                });
            Context.Setup(c => c.CallSubOrchestratorAsync<ShardBatchResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
                .Returns<TaskName, object?, TaskOptions?>((name, input, options) =>
                {
                    Assert.Equal(nameof(ShardBatchOrchestrator), name.Name);
                    var sub = Assert.IsType<SubOrchestrationOptions>(options);
                    var work = (ShardBatchWork)input!;
                    Outstanding++;
                    MaxOutstanding = Math.Max(MaxOutstanding, Outstanding);
                    // Continuations run inline when the test completes the task: the orchestrator resumes synchronously.
                    var pending = new TaskCompletionSource<ShardBatchResult>();
                    SubOrchestrations.Add((sub.InstanceId!, work, pending));
                    if (Batch(work) is { } scripted)
                    {
                        Outstanding--;
                        return scripted;
                    }
                    return pending.Task;
                });
        }

        /// <summary>Completes the pending batch at <paramref name="index"/> (in schedule order) with success, a result or an exception.</summary>
        public void Complete(int index, Exception? failure = null, Func<ShardBatchWork, ShardBatchResult>? result = null)
        {
            var (_, work, pending) = SubOrchestrations[index];
            Outstanding--;
            if (failure is not null)
            {
                pending.SetException(failure);
            }
            else
            {
                pending.SetResult(result?.Invoke(work) ?? Succeeded(work));
            }
        }

        public void VerifyNoShards() => Context.Verify(
            c => c.CallSubOrchestratorAsync<ShardBatchResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()), Times.Never);

        public void VerifyNoPrepare() => Context.Verify(
            c => c.CallActivityAsync<PrepareRunResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()), Times.Never);
    }

    [Fact]
    public async Task An_invalid_request_is_finalized_with_the_error_without_selecting()
    {
        var h = new Harness();
        var request = Request() with { RunId = "bad id!", TopK = 0 };

        var summary = await new NightlyRunOrchestrator().RunAsync(h.Context.Object, request);

        h.VerifyNoPrepare();
        h.VerifyNoShards();
        Assert.NotNull(h.Finalized);
        Assert.Same(request, h.Finalized.Request);
        Assert.Contains("bad id!", h.Finalized.Error, StringComparison.Ordinal);
        Assert.Contains("TopK", h.Finalized.Error, StringComparison.Ordinal);
        Assert.Null(h.Finalized.Cohort);
        Assert.Null(h.Finalized.Model);
        Assert.Empty(h.Finalized.Batches);
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
        var h = new Harness { Prepare = _ => Task.FromResult(Prepared()) };
        var request = Request() with { FirstRetrySeconds = firstRetrySeconds };

        // Either the request is rejected by Validate (finalized with an error) or the interval is capped; never a crash
        // that leaves the run without a manifest.
        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, request);

        Assert.NotNull(h.Finalized);
        Assert.Equal("done", h.Statuses.Progress()[^1].Phase);
    }

    [Fact]
    public async Task A_failing_pass_is_finalized_with_the_error_and_no_shards()
    {
        var h = new Harness
        {
            Prepare = _ => Task.FromException<PrepareRunResult>(
                OrchestrationContextMock.Failure(nameof(PrepareRunActivity), new IOException("events unreadable"))),
        };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        h.VerifyNoShards();
        Assert.NotNull(h.Finalized);
        Assert.Equal("Preparing the run (one pass over the events: cohort, shards, models) failed: IOException: events unreadable", h.Finalized.Error);
        Assert.Null(h.Finalized.Cohort);
        Assert.Empty(h.Finalized.Batches);
        var progress = h.Statuses.Progress();
        Assert.Equal(["resolving-model", "preparing", "finalizing", "done"], progress.Select(p => p.Phase));
    }

    [Fact]
    public async Task The_pass_gets_the_request_options_and_every_activity_a_retry_policy()
    {
        PrepareRunInput? prepareInput = null;
        var h = new Harness
        {
            Prepare = i =>
            {
                prepareInput = i;
                return Task.FromResult(Prepared(0));
            },
            Batch = w => Task.FromResult(Succeeded(w)),
        };
        var request = Request() with { ShardCount = 16, Policy = new DormancyPolicy { MinViews = 7 } };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, request);

        // No backbone: the pass builds the transition model; the reasoner is on: and the statistics.
        Assert.Equal(new PrepareRunInput(RunId, "demo", request.Policy, 100, 16, BuildTransition: true, BuildStatistics: true), prepareInput);
        Assert.Equal(3, h.ActivityOptions.Count); // resolve model, prepare, finalize
        Assert.All(h.ActivityOptions, o => Assert.Equal(3, o?.Retry?.Policy?.MaxNumberOfAttempts));
        var work = Assert.Single(h.SubOrchestrations).Work;
        Assert.Equal(Model, work.Model);
        Assert.Equal((10, 3, 0.5), (work.TopK, work.MaxAttempts, work.FirstRetrySeconds));
        Assert.Equal(new ReasoningWork($"runs/{RunId}/reasoning/graph-stats.json", request.Reasoner), work.Reasoning);
        Assert.Equal(request.Experiment, work.Experiment);
    }

    [Fact]
    public async Task An_empty_cohort_schedules_no_shards_and_scores_with_no_model()
    {
        var h = new Harness { Prepare = _ => Task.FromResult(Prepared()) };

        var summary = await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        h.VerifyNoShards();
        Assert.NotNull(h.Finalized);
        Assert.Null(h.Finalized.Error);
        Assert.NotNull(h.Finalized.Cohort);
        Assert.Equal(0, h.Finalized.Cohort.Dormant);
        Assert.Null(h.Finalized.Model);
        Assert.Empty(h.Finalized.Batches);
        Assert.Equal(RunStatus.Succeeded, summary.Status);
        Assert.Equal("done", h.Statuses.Progress()[^1].Phase);
    }

    [Fact]
    public async Task A_failing_model_resolution_is_finalized_with_the_error_and_no_pass()
    {
        var h = new Harness
        {
            Resolve = _ => Task.FromException<ResolveScoringModelResult>(
                OrchestrationContextMock.Failure(nameof(ResolveScoringModelActivity), new IOException("registry unreadable"))),
        };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        h.VerifyNoPrepare();
        h.VerifyNoShards();
        Assert.Equal("Resolving the scoring model failed: IOException: registry unreadable", h.Finalized!.Error);
        Assert.Null(h.Finalized.Model);
    }

    [Fact]
    public async Task Shards_fan_out_in_batches_with_stable_instance_ids_and_at_most_two_batches_in_flight()
    {
        var shards = Enumerable.Range(0, 40).Where(s => s % 3 != 1).ToArray(); // 27 non-empty of 40
        var h = new Harness { Prepare = _ => Task.FromResult(Prepared(shards)) };

        var run = new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request(maxParallel: 6));

        var size = NightlyRunOrchestrator.BatchSize(shards.Length);
        var batches = (shards.Length + size - 1) / size;
        for (var i = 0; i < batches; i++)
        {
            Assert.False(run.IsCompleted);
            Assert.True(h.SubOrchestrations.Count > i, $"batch #{i} was not scheduled");
            Assert.True(h.Outstanding <= NightlyRunOrchestrator.BatchesInFlight, $"{h.Outstanding} batches in flight");
            h.Complete(i);
        }
        var summary = await run.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(2, size);
        Assert.Equal(Enumerable.Range(0, batches).Select(b => $"{RunId}:batch:{b:D5}"), h.SubOrchestrations.Select(s => s.InstanceId));
        Assert.Equal(shards, h.SubOrchestrations.SelectMany(s => s.Work.Shards));
        Assert.All(h.SubOrchestrations, s => Assert.Equal(3, s.Work.Width)); // 6 in parallel over 2 batches in flight
        Assert.Equal(NightlyRunOrchestrator.BatchesInFlight, h.MaxOutstanding);
        Assert.Null(h.Finalized!.Error);
        Assert.Equal(Model, h.Finalized.Model);
        Assert.Equal(batches, h.Finalized.Batches.Count);
        Assert.Equal(RunStatus.Succeeded, summary.Status);
        Assert.Equal(h.Finalized.Cohort!.Dormant, summary.Published);
    }

    [Fact]
    public async Task A_batch_reports_its_failed_shards_and_a_crashed_batch_fails_all_of_its_shards()
    {
        int[] shards = [0, 1, 2, 3];
        var h = new Harness { Prepare = _ => Task.FromResult(Prepared(shards)) };

        var run = new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request(maxParallel: 2));
        // BatchSize(4) = 1: four batches. The second crashes before the first completes; the third reports a failed shard.
        h.Complete(1, OrchestrationContextMock.Failure(nameof(ShardBatchOrchestrator), "System.InvalidOperationException", "orchestrator crashed"));
        h.Complete(0);
        h.Complete(2, result: w => new ShardBatchResult(w.Batch, 0, 0, [new ShardFailure(w.Shards[0], w.Users[0], "ArgumentException: bad", 3)], 0.1));
        h.Complete(3);
        var summary = await run.WaitAsync(TimeSpan.FromSeconds(5));

        var failures = h.Finalized!.Batches.SelectMany(b => b.Failures).OrderBy(f => f.Shard).ToArray();
        Assert.Equal([1, 2], failures.Select(f => f.Shard));
        Assert.Equal("InvalidOperationException: orchestrator crashed", failures[0].Error);
        Assert.Equal(101, failures[0].Users);
        Assert.Equal(3, failures[1].Attempts);
        Assert.Equal(RunStatus.PartiallySucceeded, summary.Status);
        var last = h.Statuses.Progress()[^1];
        Assert.Equal("done", last.Phase);
        Assert.Equal(2, last.ShardsFailed);
    }

    [Fact]
    public async Task Custom_status_reports_increasing_progress_ending_at_the_total()
    {
        int[] shards = [0, 1, 2, 3, 4];
        var h = new Harness { Prepare = _ => Task.FromResult(Prepared(shards)) };

        var run = new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request(maxParallel: 2));
        for (var i = 0; i < shards.Length; i++)
        {
            h.Complete(i, i == 2 ? OrchestrationContextMock.Failure(nameof(ShardBatchOrchestrator), new InvalidOperationException("x")) : null);
        }
        await run.WaitAsync(TimeSpan.FromSeconds(5));

        var progress = h.Statuses.Progress();
        Assert.Equal(h.Statuses.Count, progress.Count); // every status is a RunProgress
        Assert.Equal(["resolving-model", "preparing"], progress.Take(2).Select(p => p.Phase));
        var scoring = progress.Where(p => p.Phase == "scoring").ToArray();
        Assert.Equal(Enumerable.Range(0, shards.Length + 1), scoring.Select(p => p.ShardsDone));
        Assert.All(scoring, p => Assert.Equal(shards.Length, p.ShardsTotal));
        Assert.All(scoring, p => Assert.Equal(Prepared(shards).Cohort.Dormant, p.UsersTotal));
        Assert.Equal([0, 0, 0, 1, 1, 1], scoring.Select(p => p.ShardsFailed));
        Assert.True(scoring.Zip(scoring.Skip(1)).All(pair => pair.Second.UsersScored >= pair.First.UsersScored));
        Assert.Equal(["finalizing", "done"], progress.Skip(2 + scoring.Length).Select(p => p.Phase));
        var done = progress[^1];
        Assert.Equal(shards.Length, done.ShardsDone);
        Assert.Equal(shards.Length, done.ShardsTotal);
        Assert.Equal(1, done.ShardsFailed);
    }

    [Fact]
    public async Task A_published_backbone_scores_the_run_and_the_pass_builds_no_transition_model()
    {
        var backbone = new ScoringModelRef("backbone-onnx", "v7", "models/backbone/v7/");
        PrepareRunInput? asked = null;
        var h = new Harness
        {
            Resolve = _ => Task.FromResult(new ResolveScoringModelResult(backbone, "scoring with backbone v7")),
            Prepare = i =>
            {
                asked = i;
                return Task.FromResult(Prepared(false, true, 0, 1));
            },
            Batch = w => Task.FromResult(Succeeded(w)),
        };

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        Assert.False(asked!.BuildTransition);
        Assert.Null(h.Finalized!.Error);
        Assert.Equal(backbone, h.Finalized.Model);
        Assert.All(h.SubOrchestrations, s => Assert.Equal(backbone, s.Work.Model));
    }

    private static RankerTuning Tuning(double backboneWeight) => new("demo", backboneWeight,
        new FusionWeights { Backbone = 0.5, Uplift = 0, Role = 2, Version = "validated-b0.5-u0-r2" }, "validation window", 0.05, 0.12, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task A_validated_blend_builds_the_transition_model_and_scores_with_the_blend_and_the_validated_weights()
    {
        var backbone = new ScoringModelRef("backbone-onnx", "v7", "models/backbone/v7/");
        PrepareRunInput? asked = null;
        var h = new Harness
        {
            Resolve = _ => Task.FromResult(new ResolveScoringModelResult(backbone, "scoring with backbone v7") { Tuning = Tuning(0.5), TuningReason = "validated" }),
            Prepare = i =>
            {
                asked = i;
                return Task.FromResult(Prepared(0, 1));
            },
        };
        h.Batch = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        Assert.True(asked!.BuildTransition);
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
            Resolve = _ => Task.FromResult(new ResolveScoringModelResult(backbone, "scoring with backbone v7") { Tuning = Tuning(0), TuningReason = "validated" }),
            Prepare = _ => Task.FromResult(Prepared(0)),
        };
        h.Batch = work => Task.FromResult(Succeeded(work));
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
            Resolve = _ => Task.FromResult(new ResolveScoringModelResult(null, "no trained backbone") { Tuning = Tuning(1), TuningReason = "validated" }),
            Prepare = _ => Task.FromResult(Prepared(0)),
        };
        h.Batch = work => Task.FromResult(Succeeded(work));

        await new NightlyRunOrchestrator().RunAsync(h.Context.Object, Request());

        Assert.Equal(Model, h.Finalized!.Model);
        Assert.Contains("no backbone is published", h.Finalized.RankerNote, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(16, 1)]
    [InlineData(17, 2)]
    [InlineData(256, 16)]
    [InlineData(1600, 100)]
    [InlineData(65_536, 100)]
    public void Batches_hold_about_a_sixteenth_of_the_shards_and_at_most_100(int shards, int size) =>
        Assert.Equal(size, NightlyRunOrchestrator.BatchSize(shards));
}
