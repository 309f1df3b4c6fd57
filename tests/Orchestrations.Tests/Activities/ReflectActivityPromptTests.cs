using System.Globalization;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using RoleGen.Core.Demo;
using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Tests.Activities;

/// <summary>The reflection steps (plan, refine, publish after the feedback steps) and the prompt reviser: asked once when reflection found failures, never otherwise, its
/// result recorded in reflection.json and the result, reused by a repeated reflection, and never failing the reflection.</summary>
public sealed class ReflectActivityPromptTests
{
    private const string RunId = "r-prompt";
    private const string Experiment = "t-prompt";
    private static readonly DateTimeOffset WrittenAt = new(2025, 3, 1, 2, 0, 0, TimeSpan.Zero);

    /// <summary>A finished run of one treatment user shown i1 (c1). With <paramref name="ordered"/> false the impression has no
    /// order, so c1 holds every impression and no order: a collapsed category. With an order nothing needs fixing.</summary>
    private static async Task<InMemoryBlobStore> RunAsync(bool ordered)
    {
        var store = new InMemoryBlobStore();
        var candidatesPath = BlobLayout.ShardCandidates(RunId, 0);
        var t = WrittenAt.UtcDateTime;
        var manifest = new RunManifest(RunId, RunStatus.Succeeded, null,
            new RunRequest { RunId = RunId, Dataset = "demo", Experiment = new ExperimentOptions { Name = Experiment } },
            null, new CohortSummary(BlobLayout.Cohort(RunId), 0, 0, 1, 1, 1, new Dictionary<string, long>(), 1, 0, 0), null, new RunCounts(1, 1, 1, 1, 1, 1, 0, 0), new RunTimings(t, t, 0, 0, 0, 0),
            [new ShardOutcome(0, ShardStatus.Succeeded, 1, 1, 1, candidatesPath, null, 1, 0, 0, t, t)], WrittenAt);
        await store.WriteJsonAsync(BlobLayout.Manifest(RunId), manifest);
        await store.WriteJsonLinesAsync(candidatesPath,
            new[] { new CandidateRow(RunId, "u1", 0, [new Candidate(1, "i1", "c1", 1.0, "backbone")]) { Arm = Arm.Treatment } });
        var ts = WrittenAt.ToUnixTimeSeconds() + 60;
        var events = new List<OutcomeEvent> { new("u1", "i1", OutcomeType.Impression, ts, RunId) };
        if (ordered)
        {
            events.Add(new OutcomeEvent("u1", "i1", OutcomeType.Click, ts + 1, RunId));
            events.Add(new OutcomeEvent("u1", "i1", OutcomeType.Order, ts + 2, RunId));
        }
        var csv = new StringWriter(CultureInfo.InvariantCulture);
        OutcomeCsv.Write(csv, events);
        await store.WriteTextAsync($"{BlobLayout.FeedbackPrefix(Experiment)}{RunId}.csv", csv.ToString());
        return store;
    }

    /// <summary>The feedback then the reflection of the run, step by step as their orchestrators call them (one shard).</summary>
    private static async Task<ReflectionResult> ReflectAsync(IBlobStore store, params IPromptReviser[] revisers)
    {
        var context = Mock.Of<TaskActivityContext>();
        var plan = await new PartitionOutcomesActivity(store, NullLogger<PartitionOutcomesActivity>.Instance).RunAsync(context, new FeedbackRequest(RunId));
        Assert.Null(plan.Skipped);
        var sums = await new FeedbackShardActivity(store).RunAsync(context, new FeedbackShardInput(RunId, 0, true, true, plan.WindowStart, plan.WindowEnd));
        await new WriteFeedbackActivity(store, NullLogger<WriteFeedbackActivity>.Instance).RunAsync(context, new WriteFeedbackInput(plan, sums));
        var reflection = await new PlanReflectionActivity(store).RunAsync(context, new ReflectionRequest(RunId));
        Assert.Null(reflection.Skipped);
        var refined = 0L;
        foreach (var shard in reflection.Shards)
        {
            refined += await new RefineShardActivity(store).RunAsync(context,
                new RefineShardInput(RunId, shard, reflection.Summary!.Version, reflection.WindowStart, reflection.WindowEnd, reflection.Previous!, reflection.Summary.Weights));
        }
        return await new PublishReflectionActivity(store, revisers, NullLogger<PublishReflectionActivity>.Instance)
            .RunAsync(context, new PublishReflectionInput(reflection.Summary! with { RefinedUsers = refined }));
    }

    private static Task<ReflectionSummary> StoredAsync(IBlobStore store) =>
        store.ReadJsonAsync<ReflectionSummary>(BlobLayout.PriorsReflection(PriorsRegistry.VersionFor(RunId)));

    private sealed class FakeReviser(Func<string, PromptRevision> answer, bool autoPromote = false, bool checkPasses = false) : IPromptReviser
    {
        public List<string> Summaries { get; } = [];

        public List<(string Candidate, string Base, int Users)> Checks { get; } = [];

        public List<string> Promoted { get; } = [];

        public bool AutoPromote => autoPromote;

        public Task<PromptRevision> ReviseAsync(string failureSummary, CancellationToken ct = default)
        {
            Summaries.Add(failureSummary);
            return Task.FromResult(answer(failureSummary));
        }

        public Task<PromptCheck> CheckAsync(string candidate, string baseVersion, IReadOnlyList<LlmReasoningRequest> heldBack, CancellationToken ct = default)
        {
            Checks.Add((candidate, baseVersion, heldBack.Count));
            return Task.FromResult(new PromptCheck(checkPasses, heldBack.Count, checkPasses ? 5 : 3, 4, checkPasses ? "check passed" : "check failed: regression"));
        }

        public Task PromoteAsync(string version, string reason, CancellationToken ct = default)
        {
            Promoted.Add(version);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Failures_AskTheReviserOnce_AndRecordItsVersion_ARepeatReusesIt()
    {
        var store = await RunAsync(ordered: false);
        var reviser = new FakeReviser(_ => new PromptRevision("v2", "v1", "sharper complement guidance"));

        var result = await ReflectAsync(store, reviser);

        Assert.Equal(PriorsRegistry.VersionFor(RunId), result.Version);
        Assert.NotEmpty(result.CollapsedCategories);
        Assert.Equal("v2", result.PromptVersion);
        Assert.Equal("v2 revised from v1, staged as a candidate: sharper complement guidance; not promoted (RoleGen:Reflection:AutoPromote is off): "
            + "run `rolegen prompts promote v2` after review", result.PromptNote);
        Assert.Empty(reviser.Checks);
        Assert.Empty(reviser.Promoted); // staged only: the next run keeps the current prompt
        var priors = await store.ReadJsonAsync<PriorsPointer>(BlobLayout.PriorsCurrent(Experiment));
        var fusionBytes = await store.ReadTextAsync(BlobLayout.PriorsFusion(result.Version!));
        Assert.Equal(RoleGen.Core.Scoring.BackboneRegistry.Sha256Hex(System.Text.Encoding.UTF8.GetBytes(fusionBytes)), priors.FusionSha256);
        var summary = Assert.Single(reviser.Summaries);
        using (var doc = JsonDocument.Parse(summary))
        {
            Assert.Equal(RunId, doc.RootElement.GetProperty("runId").GetString());
            Assert.StartsWith("c1 ", doc.RootElement.GetProperty("collapsedCategories")[0].GetString(), StringComparison.Ordinal);
            Assert.Equal("backbone", doc.RootElement.GetProperty("roleOutcomes")[0].GetProperty("role").GetString());
            Assert.Equal(0, doc.RootElement.GetProperty("llmFallbackUsers").GetInt64());
        }
        var stored = await StoredAsync(store);
        Assert.Equal("v2", stored.PromptVersion);
        Assert.Equal(result.PromptNote, stored.PromptNote);
        var before = await store.ReadTextAsync(BlobLayout.PriorsReflection(result.Version!));

        // The same run reflected again (an activity retry or a re-run): the earlier version is reused, nothing is asked.
        var again = await ReflectAsync(store, reviser);

        Assert.Single(reviser.Summaries);
        Assert.Equal("v2", again.PromptVersion);
        Assert.Equal(result.PromptNote, again.PromptNote);
        Assert.Equal(before, await store.ReadTextAsync(BlobLayout.PriorsReflection(result.Version!)));
    }

    [Fact]
    public async Task NothingToFix_DoesNotAskTheReviser()
    {
        var store = await RunAsync(ordered: true);
        var reviser = new FakeReviser(_ => throw new InvalidOperationException("must not be called"));

        var result = await ReflectAsync(store, reviser);

        Assert.Equal(PriorsRegistry.VersionFor(RunId), result.Version);
        Assert.Empty(result.FailedRoles);
        Assert.Empty(result.CollapsedCategories);
        Assert.Equal(0, result.LlmFallbackUsers);
        Assert.Empty(reviser.Summaries);
        Assert.Null(result.PromptVersion);
        Assert.Null((await StoredAsync(store)).PromptVersion);
    }

    [Fact]
    public async Task NoReviserRegistered_LeavesThePromptVersionNull()
    {
        var store = await RunAsync(ordered: false);

        var result = await ReflectAsync(store);

        Assert.NotEmpty(result.CollapsedCategories);
        Assert.Null(result.PromptVersion);
        Assert.Null(result.PromptNote);
        var stored = await StoredAsync(store);
        Assert.Null(stored.PromptVersion);
        Assert.Null(stored.PromptNote);
    }

    [Fact]
    public async Task ADeclinedRevision_IsANote_AndIsAskedAgainNextTime()
    {
        var store = await RunAsync(ordered: false);
        var reviser = new FakeReviser(_ => new PromptRevision(null, "v1", "invalid revision after 3 attempts: template lacks role name(s) noise"));

        var result = await ReflectAsync(store, reviser);
        await ReflectAsync(store, reviser);

        Assert.Null(result.PromptVersion);
        Assert.Equal("prompt not revised (still v1): invalid revision after 3 attempts: template lacks role name(s) noise", result.PromptNote);
        Assert.Equal(2, reviser.Summaries.Count); // no version to reuse
    }

    [Fact]
    public async Task AThrowingReviser_NeverFailsTheReflection()
    {
        var store = await RunAsync(ordered: false);
        var reviser = new FakeReviser(_ => throw new IOException("blob unavailable"));

        var result = await ReflectAsync(store, reviser);

        Assert.Equal(PriorsRegistry.VersionFor(RunId), result.Version);
        Assert.Null(result.PromptVersion);
        Assert.Contains("blob unavailable", result.PromptNote, StringComparison.Ordinal);
        Assert.True(await store.ExistsAsync(BlobLayout.PriorsCurrent(Experiment)));
    }

    [Fact]
    public async Task AutoPromote_CheckPassed_PromotesTheCandidate()
    {
        var store = await RunAsync(ordered: false);
        var reviser = new FakeReviser(_ => new PromptRevision("v2", "v1", "sharper"), autoPromote: true, checkPasses: true);

        var result = await ReflectAsync(store, reviser);

        Assert.Equal([("v2", "v1", 0)], reviser.Checks);
        Assert.Equal(["v2"], reviser.Promoted);
        Assert.EndsWith("; promoted: check passed", result.PromptNote, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AutoPromote_CheckFailed_LeavesTheCandidateStaged()
    {
        var store = await RunAsync(ordered: false);
        var reviser = new FakeReviser(_ => new PromptRevision("v2", "v1", "sharper"), autoPromote: true, checkPasses: false);

        var result = await ReflectAsync(store, reviser);

        Assert.Single(reviser.Checks);
        Assert.Empty(reviser.Promoted);
        Assert.Equal("v2", result.PromptVersion);
        Assert.EndsWith("; not promoted: check failed: regression", result.PromptNote, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeldBack_IsTheStableSliceOfTheRunsUsers_WithTheirStoredReasoning()
    {
        var store = await RunAsync(ordered: false);
        var manifest = await store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest(RunId));
        var users = Enumerable.Range(0, 200).Select(i => new RoleGen.Core.Cohort.UserTrajectory($"u{i}", 3, 0, 0, 1,
            [new RoleGen.Core.Cohort.TrajectoryStep("i1", "c1", RoleGen.Core.Events.EventType.View, 1_000)], [])).ToArray();
        await store.WriteJsonLinesAsync(BlobLayout.ShardUsers(RunId, 0), users);
        await store.WriteJsonLinesAsync(BlobLayout.ShardReasoning(RunId, 0), users.Select(u => new UserReasoning(u.UserId, ReasonerKinds.Embedded, 0.1,
            [new StepRole(0, "i1", "c1", FunctionalRole.Trigger, 0.5, "x")],
            [new ConversionPath("i9", "c9", FunctionalRole.Complement, "c9", 0.1, 0.2, 0.3, "embedded")], "r")));
        var activity = new PublishReflectionActivity(store, [], NullLogger<PublishReflectionActivity>.Instance);

        var heldBack = await activity.HeldBackAsync(manifest);

        var expected = users.Where(u => RoleGen.Core.Cohort.StableHash.Bucket(u.UserId, PublishReflectionActivity.HeldBackBuckets, PublishReflectionActivity.HeldBackSalt)
            == PublishReflectionActivity.HeldBackBucket).Select(u => u.UserId).ToArray();
        Assert.InRange(expected.Length, 5, 40); // about a tenth
        Assert.Equal(expected, heldBack.Select(r => r.User.UserId).ToArray());
        Assert.All(heldBack, r => Assert.Equal("i9", Assert.Single(r.CandidatePaths).Item));
    }
}
