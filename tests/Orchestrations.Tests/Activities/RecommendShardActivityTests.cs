using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Pipeline;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Tests.Activities;

/// <summary>Statistics, users and fakes shared by the reasoning activity tests.</summary>
internal static class ReasoningShardWorld
{
    public const string StatsPath = "runs/r/reasoning/graph-stats.json";
    public const long T0 = 1_700_000_000;
    public static readonly ScoringModelRef Model = new("fake", "1", "models/fake/");
    public static readonly string UsersPath = BlobLayout.ShardUsers("r", 0);

    /// <summary>p0 = 0.1, α = 20: t1 (cT) uplift (60+2)/120/0.1 ≈ 5.17 and t2 (cU) (40+2)/120/0.1 = 3.5 are the only
    /// triggers; no transitions, so no complements.</summary>
    public static BehaviorGraphStatistics Stats() => new(
        asOf: T0 + 100 * 86_400, horizonDays: 7, sessionGapSeconds: 1_800, priorStrength: 20,
        users: 1_000, events: 10_000, usersWithPurchase: 300, baselineExposed: 1_000, baselineConverted: 100,
        items:
        [
            new ItemStatistics("t1", "cT", 200, 100, 60, 60, 5, 0),
            new ItemStatistics("t2", "cU", 200, 100, 40, 40, 5, 0),
        ],
        categories: [],
        transitions: []);

    private static UserTrajectory User(string id, params (string Item, string Category, EventType Type)[] steps) =>
        new(id, steps.Length, 0, 0, 1, [.. steps.Select((s, i) => new TrajectoryStep(s.Item, s.Category, s.Type, T0 + 60 * i))], []);

    /// <summary>u1 viewed a (cA): triggers t1, t2. u2 carted a: Converter a + t1, t2. u3 viewed t1 (dominant cT): only t2.</summary>
    public static UserTrajectory[] Users() =>
    [
        User("u1", ("a", "cA", EventType.View)),
        User("u2", ("a", "cA", EventType.Cart)),
        User("u3", ("t1", "cT", EventType.View)),
    ];

    public static async Task<InMemoryBlobStore> StoreAsync(bool withStats = true)
    {
        var store = new InMemoryBlobStore();
        if (withStats)
        {
            await store.WriteJsonAsync(StatsPath, Stats());
        }
        await store.WriteJsonLinesAsync(UsersPath, Users());
        return store;
    }

    /// <summary>Base 0.2 for everyone, 0.3 with any shown item (Δ 0.1).</summary>
    public static ICounterfactualModel World() => new FlatWorld();

    private sealed class FlatWorld : ICounterfactualModel
    {
        public string Name => "flat world";

        public CounterfactualEstimates Evaluate(IReadOnlyList<UserTrajectory> users, IReadOnlyList<IReadOnlyList<Intervention>> interventions) =>
            new([.. users.Select(_ => 0.2)], [.. interventions.Select(x => x.Select(_ => 0.3).ToArray())]);
    }
}

/// <summary>The shard activity end to end: reasoning (embedded, LLM-refined with fallback), scoring, fusion, arms, and the
/// files it writes (reasoning.jsonl, candidates.jsonl, shard.json).</summary>
public sealed class RecommendShardActivityTests
{
    private static readonly RecommendShardInput Input = new("r", 0, ReasoningShardWorld.UsersPath, 3, ReasoningShardWorld.Model, 3, 1)
    {
        Reasoning = new ReasoningWork(ReasoningShardWorld.StatsPath, new ReasonerOptions()),
        RunStartedAt = new DateTime(2026, 12, 1, 2, 0, 0, DateTimeKind.Utc),
    };

    /// <summary>Every user gets the model list b0, b1, b2 (cX), whatever the list size asked.</summary>
    private static (RecommendShardActivity Activity, Mock<IRecommender> Recommender, Mock<ICounterfactualModelProvider> Worlds) Activity(IBlobStore store, params ILlmReasoner[] llms)
    {
        var recommender = new Mock<IRecommender>();
        recommender.SetupGet(r => r.Model).Returns(ReasoningShardWorld.Model);
        recommender.SetupGet(r => r.Runtime).Returns("fake-runtime");
        recommender.Setup(r => r.Recommend(It.IsAny<IReadOnlyList<UserTrajectory>>(), It.IsAny<int>()))
            .Returns<IReadOnlyList<UserTrajectory>, int>((users, _) => users.Select(u => new UserRecommendations(u.UserId,
                [new RecommendedItem("b0", "cX", 0.9, "backbone"), new RecommendedItem("b1", "cX", 0.8, "backbone"), new RecommendedItem("b2", "cX", 0.7, "backbone")]))
                .ToArray());
        var provider = new Mock<IRecommenderProvider>();
        provider.Setup(p => p.GetAsync(ReasoningShardWorld.Model, It.IsAny<CancellationToken>())).ReturnsAsync(recommender.Object);
        var worlds = new Mock<ICounterfactualModelProvider>();
        worlds.Setup(w => w.GetAsync(It.IsAny<ScoringModelRef>(), It.IsAny<BehaviorGraphStatistics>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(ReasoningShardWorld.World());
        var activity = new RecommendShardActivity(store, new ShardRecommenderFactory(provider.Object, worlds.Object, new ReasoningStatisticsCache(store), llms),
            NullLogger<RecommendShardActivity>.Instance);
        return (activity, recommender, worlds);
    }

    private static async Task<List<T>> LinesAsync<T>(IBlobStore store, string path)
    {
        var lines = new List<T>();
        await foreach (var line in store.ReadJsonLinesAsync<T>(path))
        {
            lines.Add(line);
        }
        return lines;
    }

    private static Task<ShardOutcome> OutcomeAsync(IBlobStore store) => store.ReadJsonAsync<ShardOutcome>(BlobLayout.ShardReport("r", 0));

    [Fact]
    public async Task RunAsync_WithoutLlm_WritesOneEmbeddedLinePerUserInUsersOrder()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        var (activity, _, worlds) = Activity(store);

        var result = await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input);

        Assert.Equal(0, result.Shard);
        var lines = await LinesAsync<UserReasoning>(store, BlobLayout.ShardReasoning("r", 0));
        Assert.Equal(["u1", "u2", "u3"], lines.Select(l => l.UserId));
        Assert.All(lines, l => Assert.Equal(ReasonerKinds.Embedded, l.Reasoner));
        Assert.All(lines, l => Assert.Null(l.PromptVersion));
        Assert.All(lines, l => Assert.Null(l.FallbackReason));
        Assert.Equal([["t1", "t2"], ["a", "t1", "t2"], ["t2"]], lines.Select(l => l.Paths.Select(p => p.Item).ToArray()));
        Assert.All(lines.SelectMany(l => l.Paths), p => Assert.Equal(0.1, p.Delta));

        var r = (await OutcomeAsync(store)).Reasoning!;
        Assert.Equal(3, r.Users);
        Assert.Equal(new Dictionary<string, long> { ["embedded"] = 3 }, r.Reasoners);
        Assert.Equal(6, r.Paths);
        Assert.Equal(new Dictionary<string, long> { ["trigger"] = 5, ["converter"] = 1 }, r.PathsByRole);
        Assert.Equal(0.1, r.MeanDelta);
        Assert.Equal("flat world", r.WorldModel);
        Assert.Null(r.PromptVersion);
        Assert.Equal("default", r.FusionVersion);
        Assert.Null(r.Llm);
        worlds.Verify(w => w.GetAsync(ReasoningShardWorld.Model, It.Is<BehaviorGraphStatistics>(s => s.Users == 1_000 && s.Items.Count == 2),
            It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task RunAsync_WithLlm_UsesItsUsableAnswers_FallsBackOtherwise_AndCountsOutcomes()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        var llm = new ScriptedLlm("prompt-v7", request => request.User.UserId switch
        {
            // Usable: the LLM keeps the embedded roles, reverses the candidates and says why.
            "u1" => new LlmReasoningResult(LlmOutcome.Ok, request.EmbeddedRoles, [.. request.CandidatePaths.Reverse()], "llm rationale", 1, 120, 30, null),
            "u2" => new LlmReasoningResult(LlmOutcome.Invalid, null, null, null, 0, 100, 40, "schema mismatch"),
            _ => new LlmReasoningResult(LlmOutcome.BudgetExhausted, null, null, null, 0, 0, 0, "run budget spent"),
        });
        var (activity, _, _) = Activity(store, llm);

        await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input);

        var lines = await LinesAsync<UserReasoning>(store, BlobLayout.ShardReasoning("r", 0));
        Assert.Equal(["u1", "u2", "u3"], lines.Select(l => l.UserId));
        Assert.Equal([ReasonerKinds.Llm, ReasonerKinds.EmbeddedFallback, ReasonerKinds.EmbeddedFallback], lines.Select(l => l.Reasoner));
        Assert.All(lines, l => Assert.Equal("prompt-v7", l.PromptVersion));
        Assert.Equal([null, "Invalid: schema mismatch", "BudgetExhausted: run budget spent"], lines.Select(l => l.FallbackReason));
        Assert.Equal("llm rationale", lines[0].Rationale);
        Assert.Equal(["t2", "t1"], lines[0].Paths.Select(p => p.Item));
        Assert.Equal(["a", "t1", "t2"], lines[1].Paths.Select(p => p.Item)); // the embedded result, kept
        // The LLM was asked about each user with the embedded reasoner's candidates.
        Assert.Equal(["u1", "u2", "u3"], llm.Requests.Select(q => q.User.UserId));
        Assert.Equal([2, 3, 1], llm.Requests.Select(q => q.CandidatePaths.Count));
        Assert.Equal([1, 1, 1], llm.Requests.Select(q => q.EmbeddedRoles.Count));

        var r = (await OutcomeAsync(store)).Reasoning!;
        Assert.Equal(new Dictionary<string, long> { ["llm"] = 1, ["embedded-fallback"] = 2 }, r.Reasoners);
        Assert.Equal("prompt-v7", r.PromptVersion);
        Assert.Equal(new Dictionary<string, long>
        {
            ["llm.ok"] = 1,
            ["llm.invalid"] = 1,
            ["llm.budgetexhausted"] = 1,
            ["llm.droppedIds"] = 1,
            ["llm.promptTokens"] = 220,
            ["llm.completionTokens"] = 70,
            ["llm.requests"] = 0, // the scripted LLM reports no HTTP requests
            ["llm.throttled"] = 0,
        }, r.Llm);
    }

    [Fact]
    public async Task RunAsync_LlmReturnsMorePathsThanPathsPerUser_KeepsTheFirstK()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        var llm = new ScriptedLlm("p1", request => new LlmReasoningResult(LlmOutcome.Cached, request.EmbeddedRoles,
            [.. request.CandidatePaths, .. request.CandidatePaths], "  ", 0, 0, 0, null));
        var input = Input with { Reasoning = Input.Reasoning! with { Options = new ReasonerOptions { MaxInterventions = 2, PathsPerUser = 2 } } };
        var (activity, _, _) = Activity(store, llm);

        await activity.RunAsync(Mock.Of<TaskActivityContext>(), input);

        var lines = await LinesAsync<UserReasoning>(store, BlobLayout.ShardReasoning("r", 0));
        Assert.All(lines, l => Assert.Equal(ReasonerKinds.Llm, l.Reasoner));
        Assert.Equal([2, 2, 2], lines.Select(l => l.Paths.Count));
        Assert.Equal(["t2", "t2"], lines[2].Paths.Select(p => p.Item));
        // A blank LLM rationale keeps the embedded summary.
        Assert.Equal(["best path: show t1 (trigger) → cT, Δ +0.1000", "1 converter; best path: show a (converter) → cA, Δ +0.1000",
            "1 trigger; best path: show t2 (trigger) → cU, Δ +0.1000"], lines.Select(l => l.Rationale));
        var r = (await OutcomeAsync(store)).Reasoning!;
        Assert.Equal(3, r.Llm!["llm.cached"]);
        Assert.False(r.Llm.ContainsKey("llm.ok"));
    }

    [Fact]
    public async Task RunAsync_FusesTheReasonedPathsIntoTheModelList_WithSourceRoleAndOneRowPerUser()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        var (activity, recommender, _) = Activity(store);

        var result = await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input);

        var rows = await LinesAsync<CandidateRow>(store, result.CandidatesPath);
        Assert.Equal(["u1", "u2", "u3"], rows.Select(r => r.UserId));
        Assert.All(rows, r => Assert.Equal([1, 2, 3], r.Items.Select(i => i.Rank)));
        // u2 carted a: Converter prior 1 + uplift 0.25 · 0.1/0.2 = 1.125 beats b0 (1/log2(2) = 1) and b1 (0.63); the triggers
        // (0.3 + 0.125 = 0.425) stay below b2 (0.5) and are cut at top-3.
        Assert.Equal(["a", "b0", "b1"], rows[1].Items.Select(i => i.ItemId));
        Assert.Equal(["reasoned", "backbone", "backbone"], rows[1].Items.Select(i => i.Source));
        Assert.Equal(FunctionalRole.Converter, rows[1].Items[0].Role);
        Assert.Equal(["b0", "b1", "b2"], rows[0].Items.Select(i => i.ItemId));
        Assert.Equal(3, result.Published);
        var outcome = await OutcomeAsync(store);
        Assert.Equal(ShardStatus.Succeeded, outcome.Status);
        Assert.Equal(3, outcome.Published);
        Assert.Equal("fake-runtime", outcome.Runtime); // recorded per shard in the manifest
        Assert.Equal(1, outcome.Attempts);
        Assert.Equal(1, outcome.Executions);
        Assert.Equal(1, outcome.ItemsBySource!["reasoned"]);
        // The model is asked for top-K + PathsPerUser items, so reasoned items can enter without emptying the tail.
        recommender.Verify(r => r.Recommend(It.IsAny<IReadOnlyList<UserTrajectory>>(), 3 + new ReasonerOptions().PathsPerUser), Times.Once);
    }

    [Fact]
    public async Task RunAsync_Telemetry_SpansPerStepAndShardMetrics_InMemoryExporter()
    {
        var spans = new List<System.Diagnostics.Activity>();
        var metrics = new List<OpenTelemetry.Metrics.Metric>();
        using (var tracer = OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddSource(RoleGen.Core.Telemetry.RoleGenTelemetry.Name).AddInMemoryExporter(spans).Build())
        using (var meter = OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddMeter(RoleGen.Core.Telemetry.RoleGenTelemetry.Name).AddInMemoryExporter(metrics).Build())
        {
            var store = await ReasoningShardWorld.StoreAsync();
            var (activity, _, _) = Activity(store);
            await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input with { RunId = "telemetry-run" });
            // a shard's LLM counters (as LlmRefiningReasoner reports them) become calls by outcome, tokens by kind, fallbacks
            RoleGen.Core.Telemetry.RoleGenTelemetry.RecordLlm(new Dictionary<string, long> { ["llm.ok"] = 2, ["llm.promptTokens"] = 100, ["llm.completionTokens"] = 7 }, fallbacks: 1);
            meter.ForceFlush();
            tracer.ForceFlush();
        }

        var root = Assert.Single(spans, a => a.OperationName == nameof(RecommendShardActivity) && (string?)a.GetTagItem("rolegen.run_id") == "telemetry-run");
        var children = spans.Where(a => a.ParentSpanId == root.SpanId).Select(a => a.OperationName).ToHashSet();
        Assert.Superset(new HashSet<string> { "reason", "score", "publish" }, children);
        Assert.Equal("fake-runtime", spans.First(a => a.ParentSpanId == root.SpanId && a.OperationName == "score").GetTagItem("rolegen.execution_provider"));

        static IEnumerable<OpenTelemetry.Metrics.MetricPoint> Points(OpenTelemetry.Metrics.Metric m)
        {
            foreach (ref readonly var p in m.GetMetricPoints())
            {
                yield return p;
            }
        }
        static Dictionary<string, object?> Tags(OpenTelemetry.Metrics.MetricPoint p)
        {
            var tags = new Dictionary<string, object?>();
            foreach (var t in p.Tags)
            {
                tags[t.Key] = t.Value;
            }
            return tags;
        }
        long Sum(string name) => metrics.Where(m => m.Name == name).SelectMany(Points).Sum(p => p.GetSumLong());
        Assert.True(Sum("rolegen.users.published") >= 3);
        Assert.True(Sum("rolegen.users.scored") >= 3);
        Assert.True(Sum("rolegen.users.reasoned") >= 3);
        Assert.Contains(metrics.Where(m => m.Name == "rolegen.shards.completed").SelectMany(Points), p => (string?)Tags(p)["rolegen.shard.status"] == "succeeded");
        Assert.Contains(metrics.Where(m => m.Name == "rolegen.llm.calls").SelectMany(Points), p => (string?)Tags(p)["rolegen.llm.outcome"] == "ok" && p.GetSumLong() >= 2);
        Assert.Contains(metrics.Where(m => m.Name == "rolegen.llm.tokens").SelectMany(Points), p => (string?)Tags(p)["rolegen.llm.token_kind"] == "prompt" && p.GetSumLong() >= 100);
        Assert.True(Sum("rolegen.llm.fallbacks") >= 1);
        // this class's fake runtime: exactly this shard's one score measurement (the exporter sees the cumulative point at
        // ForceFlush and again when the provider is disposed)
        var score = metrics.Where(m => m.Name == "rolegen.score.duration").SelectMany(Points).First(p => (string?)Tags(p)["rolegen.execution_provider"] == "fake-runtime");
        Assert.Equal(1, score.GetHistogramCount());
        Assert.Equal(["publish", "reason", "score"], metrics.Where(m => m.Name == "rolegen.shard.duration").SelectMany(Points).Select(p => (string)Tags(p)["rolegen.step"]!).Distinct().Order());
    }

    [Fact]
    public async Task RunAsync_WithoutReasoning_KeepsTheModelList_AsksForTopK_AndWritesNoReasoning()
    {
        var store = await ReasoningShardWorld.StoreAsync(withStats: false);
        var (activity, recommender, _) = Activity(store);

        await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input with { Reasoning = null });

        var outcome = await OutcomeAsync(store);
        Assert.Equal(new Dictionary<string, long> { ["backbone"] = 9 }, outcome.ItemsBySource);
        Assert.Equal(new Dictionary<string, long> { ["none"] = 9 }, outcome.ItemsByRole);
        Assert.Null(outcome.Reasoning);
        Assert.False(await store.ExistsAsync(BlobLayout.ShardReasoning("r", 0)));
        recommender.Verify(r => r.Recommend(It.IsAny<IReadOnlyList<UserTrajectory>>(), 3), Times.Once);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(0.5)]
    public async Task RunAsync_Experiment_GivesControlTheModelListAndTreatmentTheFusedOne_AndRecordsTheArm(double share)
    {
        var store = await ReasoningShardWorld.StoreAsync();
        var (activity, _, _) = Activity(store);
        var experiment = new RoleGen.Core.Experiments.ExperimentOptions { Name = "ab-test", TreatmentShare = share };

        await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input with { Experiment = experiment });

        var rows = await LinesAsync<CandidateRow>(store, BlobLayout.ShardCandidates("r", 0));
        foreach (var row in rows)
        {
            var arm = RoleGen.Core.Experiments.ArmAssignment.Of("ab-test", row.UserId, share);
            Assert.Equal(arm, row.Arm);
            if (arm == RoleGen.Core.Experiments.Arm.Control)
            {
                Assert.Equal(["b0", "b1", "b2"], row.Items.Select(i => i.ItemId));
                Assert.All(row.Items, i => Assert.Equal("backbone", i.Source));
            }
        }
        var treatment = rows.Count(r => r.Arm == RoleGen.Core.Experiments.Arm.Treatment);
        Assert.Equal(share switch { 0.0 => 0, 1.0 => 3, _ => treatment }, treatment);
        var outcome = await OutcomeAsync(store);
        Assert.Equal(rows.Count - treatment, outcome.UsersByArm!.GetValueOrDefault("control"));
        Assert.Equal(treatment, outcome.UsersByArm!.GetValueOrDefault("treatment"));
    }

    [Fact]
    public async Task RunAsync_StatisticsMissing_FailsPermanently()
    {
        var store = await ReasoningShardWorld.StoreAsync(withStats: false);
        var (activity, _, worlds) = Activity(store);

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() => activity.RunAsync(Mock.Of<TaskActivityContext>(), Input));

        Assert.Contains("reasoning statistics are missing at runs/r/reasoning/graph-stats.json", ex.Message, StringComparison.Ordinal);
        Assert.False(await store.ExistsAsync(BlobLayout.ShardReasoning("r", 0)));
        worlds.Verify(w => w.GetAsync(It.IsAny<ScoringModelRef>(), It.IsAny<BehaviorGraphStatistics>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task RunAsync_WorldModelMissing_FailsPermanently()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        var (_, recommender, _) = Activity(store);
        var provider = new Mock<IRecommenderProvider>();
        provider.Setup(p => p.GetAsync(ReasoningShardWorld.Model, It.IsAny<CancellationToken>())).ReturnsAsync(recommender.Object);
        var worlds = new Mock<ICounterfactualModelProvider>();
        worlds.Setup(w => w.GetAsync(It.IsAny<ScoringModelRef>(), It.IsAny<BehaviorGraphStatistics>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new BlobNotFoundException("models/fake/model.onnx"));
        var activity = new RecommendShardActivity(store, new ShardRecommenderFactory(provider.Object, worlds.Object, new ReasoningStatisticsCache(store), []),
            NullLogger<RecommendShardActivity>.Instance);

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() => activity.RunAsync(Mock.Of<TaskActivityContext>(), Input));

        Assert.Contains("missing at models/fake/model.onnx", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_CorruptUsersLine_FailsPermanentlyNamingTheLine()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        await store.WriteTextAsync(ReasoningShardWorld.UsersPath,
            "{\"userId\":\"u1\",\"views\":1,\"carts\":0,\"purchases\":0,\"activeDays\":1,\"steps\":[],\"purchased\":[]}\n{oops\n");
        var (activity, _, _) = Activity(store);

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() => activity.RunAsync(Mock.Of<TaskActivityContext>(), Input));

        Assert.Contains("users.jsonl:2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_AUserTwiceInTheShard_FailsPermanentlyInsteadOfPublishingTwoRows()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        await store.WriteJsonLinesAsync(ReasoningShardWorld.UsersPath, [.. ReasoningShardWorld.Users(), ReasoningShardWorld.Users()[0]]);
        var (activity, _, _) = Activity(store);

        var ex = await Assert.ThrowsAsync<PermanentFailureException>(() => activity.RunAsync(Mock.Of<TaskActivityContext>(), Input));

        Assert.Contains("holds user 'u1' twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_CountsEveryStartOfTheRun_AndARerunStartsAgainAtOne()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        var (activity, _, _) = Activity(store);

        Assert.Equal(1, (await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input)).Executions);
        Assert.Equal(2, (await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input with { Attempt = 2 })).Executions);
        Assert.Equal(2, (await OutcomeAsync(store)).Attempts);
        Assert.Equal(1, (await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input with { RunStartedAt = Input.RunStartedAt.AddDays(1) })).Executions);
    }

    [Fact]
    public async Task RunAsync_ManyUsers_PublishesOneRowPerUserAcrossBatches()
    {
        var store = new InMemoryBlobStore();
        await store.WriteJsonLinesAsync(BlobLayout.ShardUsers("r", 1), Enumerable.Range(0, 700).Select(i => new UserTrajectory($"u{i}", 10, 0, 0, 1, [], [])));
        var (activity, _, _) = Activity(store);

        var result = await activity.RunAsync(Mock.Of<TaskActivityContext>(),
            new RecommendShardInput("r", 1, BlobLayout.ShardUsers("r", 1), 700, ReasoningShardWorld.Model, 10, 1));

        Assert.Equal(700, result.Users);
        Assert.Equal(700, result.Published);
        Assert.Equal(700, (await LinesAsync<CandidateRow>(store, result.CandidatesPath)).Select(r => r.UserId).Distinct().Count());
    }

    /// <summary>An LLM that charges 100 tokens per user while its budget lasts (then answers BudgetExhausted), like the
    /// Azure OpenAI reasoner's token budget.</summary>
    private sealed class MeteredLlm : ILlmReasoner
    {
        public long Budget { get; private set; } = 1_000_000;

        public string PromptVersion => "v1";

        public int MaxParallelCalls => 1;

        public long TokensSpent { get; private set; }

        public void LimitTokens(long maxTokens) => Budget = Math.Min(Budget, maxTokens);

        public Task<LlmReasoningResult> ReasonAsync(LlmReasoningRequest request, CancellationToken cancellationToken = default)
        {
            if (TokensSpent + 100 > Budget)
            {
                return Task.FromResult(new LlmReasoningResult(LlmOutcome.BudgetExhausted, null, null, null, 0, 0, 0, "budget"));
            }
            TokensSpent += 100;
            return Task.FromResult(new LlmReasoningResult(LlmOutcome.Ok, request.EmbeddedRoles, request.CandidatePaths, "llm", 0, 80, 20, null));
        }
    }

    [Fact]
    public async Task RunAsync_RunBudget_ARetriedShardSpendsOnlyWhatItsFailedAttemptLeft()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        var input = Input with { LlmTokens = 250 };
        // Attempt 1 reasons (2 users fit in 250 tokens: 200 spent), then scoring fails: the activity throws.
        var first = new MeteredLlm();
        var (failing, recommender, _) = Activity(store, first);
        recommender.Setup(r => r.Recommend(It.IsAny<IReadOnlyList<UserTrajectory>>(), It.IsAny<int>())).Throws(new TimeoutException("scorer down"));
        await Assert.ThrowsAsync<TimeoutException>(() => failing.RunAsync(Mock.Of<TaskActivityContext>(), input));
        Assert.Equal(250, first.Budget);
        Assert.Equal(200, first.TokensSpent);

        // Attempt 2 (a fresh reasoner, as DI gives each activity) gets only the 50 left: no user fits.
        var second = new MeteredLlm();
        var (activity, _, _) = Activity(store, second);
        var result = await activity.RunAsync(Mock.Of<TaskActivityContext>(), input with { Attempt = 2 });

        Assert.Equal(50, second.Budget);
        Assert.Equal(0, second.TokensSpent);
        Assert.Equal(200, result.LlmTokensSpent); // over both attempts: within the share of 250 (before: 200 + 200)
        var outcome = await OutcomeAsync(store);
        Assert.Equal(250, outcome.LlmTokenShare);
        Assert.Equal(200, outcome.LlmTokensSpent);
        Assert.Equal(3, outcome.Reasoning!.Llm!["llm.budgetexhausted"]);
    }

    [Fact]
    public async Task RunAsync_RunBudget_ARerunOfTheSameIdStartsAFreshLedger()
    {
        var store = await ReasoningShardWorld.StoreAsync();
        await store.WriteTextAsync(BlobLayout.ShardLlmLedger("r", 0), $"{new DateTime(2026, 11, 30, 2, 0, 0, DateTimeKind.Utc).Ticks} 250");
        var llm = new MeteredLlm();
        var (activity, _, _) = Activity(store, llm);

        var result = await activity.RunAsync(Mock.Of<TaskActivityContext>(), Input with { LlmTokens = 250 });

        Assert.Equal(250, llm.Budget); // the ledger was another run's (another start time)
        Assert.Equal(200, result.LlmTokensSpent);
        Assert.Equal($"{Input.RunStartedAt.Ticks} 200", await store.ReadTextAsync(BlobLayout.ShardLlmLedger("r", 0)));
    }

    private sealed class ScriptedLlm(string promptVersion, Func<LlmReasoningRequest, LlmReasoningResult> answer) : ILlmReasoner
    {
        public List<LlmReasoningRequest> Requests { get; } = [];

        public string PromptVersion => promptVersion;

        /// <summary>One at a time: the scripted answers are recorded in call order.</summary>
        public int MaxParallelCalls => 1;

        public long TokensSpent { get; private set; }

        /// <summary>The budget the activity gave this instance (null: none).</summary>
        public long? Limit { get; private set; }

        public void LimitTokens(long maxTokens) => Limit = Math.Min(Limit ?? long.MaxValue, maxTokens);

        public Task<LlmReasoningResult> ReasonAsync(LlmReasoningRequest request, CancellationToken cancellationToken = default)
        {
            Requests.Add(request);
            var result = answer(request);
            TokensSpent += result.PromptTokens + result.CompletionTokens;
            return Task.FromResult(result);
        }
    }
}
