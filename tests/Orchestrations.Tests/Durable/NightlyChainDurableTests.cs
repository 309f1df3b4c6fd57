using System.Globalization;
using System.Text;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using RoleGen.Core.Demo;
using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;
using RoleGen.Orchestrations.Orchestrators;
using Xunit.Abstractions;

namespace RoleGen.Orchestrations.Tests.Durable;

/// <summary>The closed loop on the in-memory durable host: first-night skips, feedback → reflection → a next run that uses
/// the reflected priors, and a reflection that rewrites identical output when repeated.</summary>
[Collection(RoleGenDurableCollection.Name)]
public sealed class NightlyChainDurableTests(RoleGenDurableFixture fixture, ITestOutputHelper output)
{
    private async Task<ChainSummary> NightAsync(string runId, string experiment, bool reflect = true)
    {
        var request = RoleGenDurableFixture.Request(runId) with { Experiment = new ExperimentOptions { Name = experiment } };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var id = NightlyChainOrchestrator.InstanceId(runId);
        await fixture.Client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(NightlyChainOrchestrator)), new ChainRequest(request) { Reflect = reflect },
            new StartOrchestrationOptions { InstanceId = id }, timeout.Token);
        var meta = await fixture.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, meta.RuntimeStatus);
        return meta.ReadOutputAs<ChainSummary>()!;
    }

    private async Task SimulateAsync(string runId, string experiment)
    {
        var truth = await fixture.Store.ReadJsonAsync<DemoWorldTruth>(BlobLayout.DemoTruth(RoleGenDurableFixture.Dataset));
        var simulator = new OutcomeSimulator(truth, new OutcomeSimulatorOptions { RunIdKnownShare = 1 });
        await simulator.WriteRunFeedbackAsync(fixture.Store, runId, 1, experiment);
    }

    [Fact]
    public async Task First_night_skips_feedback_and_reflection_and_runs_with_its_own_weights()
    {
        var night = await NightAsync("chain-first-n1", "t-first");

        Assert.Null(night.PreviousRunId);
        Assert.Contains("first night", night.PreviousReason, StringComparison.Ordinal);
        Assert.Null(night.Feedback);
        Assert.Null(night.Reflection);
        Assert.Equal("default", night.FusionVersion);
        Assert.Contains("no reflected priors", night.PriorsReason, StringComparison.Ordinal);
        Assert.NotNull(night.Run);
        Assert.Equal(night.Run.Dormant, night.Run.Published);
        var latest = await fixture.Store.ReadJsonAsync<LatestRun>(BlobLayout.LatestRun("t-first"));
        Assert.Equal("chain-first-n1", latest.RunId);
        var manifest = await fixture.Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("chain-first-n1"));
        Assert.Equal(night.Run.Published, manifest.Experiment!.UsersByArm.Values.Sum());
        Assert.True(manifest.Experiment.UsersByArm["treatment"] > 0 && manifest.Experiment.UsersByArm["control"] > 0);
    }

    [Fact]
    public async Task Without_outcomes_the_second_night_skips_feedback_with_the_reason()
    {
        await NightAsync("chain-none-n1", "t-none");
        var night = await NightAsync("chain-none-n2", "t-none");

        Assert.Equal("chain-none-n1", night.PreviousRunId);
        Assert.Null(night.Feedback!.Path);
        Assert.Contains("no outcome events", night.Feedback.Skipped, StringComparison.Ordinal);
        Assert.Null(night.Reflection!.Version);
        Assert.Contains("no feedback", night.Reflection.Skipped, StringComparison.Ordinal);
        Assert.Equal("default", night.FusionVersion);
    }

    [Fact]
    public async Task Feedback_and_reflection_of_the_previous_night_feed_the_next_run_and_repeat_identically()
    {
        await NightAsync("chain-loop-n1", "t-loop");
        await SimulateAsync("chain-loop-n1", "t-loop");
        var night = await NightAsync("chain-loop-n2", "t-loop");

        Assert.Equal("chain-loop-n1", night.PreviousRunId);
        Assert.Equal(BlobLayout.RunFeedback("chain-loop-n1"), night.Feedback!.Path);
        Assert.True(night.Feedback.OutcomesAttributed > 0);
        Assert.Equal(2, night.Feedback.Arms.Count);
        output.WriteLine(string.Join("; ", night.Feedback.Lifts.Select(l => $"{l.Metric} {l.RelativeLift:+0.0%} p={l.PValue:0.000}")));
        var version = PriorsRegistry.VersionFor("chain-loop-n1");
        Assert.Equal(version, night.Reflection!.Version);
        Assert.Equal(version, night.FusionVersion);
        var n2 = await fixture.Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("chain-loop-n2"));
        Assert.Equal(version, n2.Request.Reasoner.Fusion.Version);
        Assert.Equal(version, n2.Reasoning!.FusionVersion);

        // The feedback summed over the run's shards is the feedback of the whole run computed in memory.
        var n1 = await fixture.Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("chain-loop-n1"));
        Assert.True(n1.Shards.Count(s => s.CandidatesPath is not null) > 1);
        var candidates = new List<CandidateRow>();
        foreach (var shard in n1.Shards.Where(s => s.CandidatesPath is not null))
        {
            await foreach (var row in fixture.Store.ReadJsonLinesAsync<CandidateRow>(shard.CandidatesPath!))
            {
                candidates.Add(row);
            }
        }
        var outcomes = await OutcomeStore.ReadAllAsync(fixture.Store, "t-loop");
        var start = n1.WrittenAt.ToUnixTimeSeconds();
        var whole = FeedbackCalculator.Compute("chain-loop-n1", "t-loop", start, FeedbackCalculator.WindowEnd(start, n1.Request.Experiment!.AttributionDays), candidates, outcomes.Events);
        var stored = await fixture.Store.ReadJsonAsync<StoredFeedback>(BlobLayout.RunFeedback("chain-loop-n1"));
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(whole, RoleGenJson.Options), System.Text.Json.JsonSerializer.Serialize(stored.Report, RoleGenJson.Options));
        Assert.Equal(outcomes.Rows, stored.Rows);

        // Refined lists per shard of the reflected run, as many as the reflection counted.
        var refinedFiles = new List<string>();
        await foreach (var entry in fixture.Store.ListAsync(BlobLayout.PriorsCandidatesPrefix(version)))
        {
            refinedFiles.Add(entry.Path);
        }
        var refinedRows = 0L;
        foreach (var file in refinedFiles)
        {
            await foreach (var _ in fixture.Store.ReadJsonLinesAsync<CandidateRow>(file))
            {
                refinedRows++;
            }
        }
        Assert.Equal(night.Reflection.RefinedUsers, refinedRows);

        // The refined lists are the whole run's reflection computed in memory (same weights, same rows in the same order).
        var attributed = FeedbackCalculator.Attribute("chain-loop-n1", whole.WindowStart, whole.WindowEnd, candidates, outcomes.Events).Users.SelectMany(u => u.Events).ToArray();
        var (wholeSummary, wholeRefined) = ReflectionEngine.Reflect("chain-loop-n1", n1.Request.Reasoner.Fusion, candidates, attributed, []);
        var fusion = await fixture.Store.ReadJsonAsync<FusionWeights>(BlobLayout.PriorsFusion(version));
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(wholeSummary.Weights, RoleGenJson.Options), System.Text.Json.JsonSerializer.Serialize(fusion, RoleGenJson.Options));
        var stitched = new List<CandidateRow>();
        foreach (var file in refinedFiles.Order(StringComparer.Ordinal))
        {
            await foreach (var row in fixture.Store.ReadJsonLinesAsync<CandidateRow>(file))
            {
                stitched.Add(row);
            }
        }
        Assert.True(stitched.Count > 0);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(wholeRefined, RoleGenJson.Options), System.Text.Json.JsonSerializer.Serialize(stitched, RoleGenJson.Options));

        // Idempotent: reflecting the same run again rewrites byte-identical priors and pointer.
        string[] paths = [BlobLayout.PriorsFusion(version), BlobLayout.PriorsReflection(version), BlobLayout.PriorsCurrent("t-loop"), .. refinedFiles];
        var before = new List<string>();
        foreach (var p in paths)
        {
            before.Add(await fixture.Store.ReadTextAsync(p));
        }
        var candidateReads = n1.Shards.Where(s => s.CandidatesPath is not null).Sum(s => fixture.Store.Reads(s.CandidatesPath!));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await fixture.Client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(ReflectionOrchestrator)), new ReflectionRequest("chain-loop-n1"),
            new StartOrchestrationOptions { InstanceId = "chain-loop-n1:reflect-again" }, timeout.Token);
        var again = await fixture.Client.WaitForInstanceCompletionAsync("chain-loop-n1:reflect-again", getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(version, again.ReadOutputAs<ReflectionResult>()!.Version);
        // The reflection reads the refinable rows the feedback step kept, never the run's candidates (the feedback read them once).
        Assert.Equal(candidateReads, n1.Shards.Where(s => s.CandidatesPath is not null).Sum(s => fixture.Store.Reads(s.CandidatesPath!)));
        for (var i = 0; i < paths.Length; i++)
        {
            Assert.Equal(before[i], await fixture.Store.ReadTextAsync(paths[i]));
        }

        // Working files as the version before compression wrote them (plain JSON lines, no .gz): read back, same output,
        // and still no candidate read.
        var moved = 0;
        foreach (var shard in n1.Shards)
        {
            moved += await UncompressAsync(BlobLayout.FeedbackRefinable("chain-loop-n1", shard.Shard)) ? 1 : 0;
        }
        Assert.True(moved > 0);
        await fixture.Client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(ReflectionOrchestrator)), new ReflectionRequest("chain-loop-n1"),
            new StartOrchestrationOptions { InstanceId = "chain-loop-n1:reflect-uncompressed" }, timeout.Token);
        var uncompressed = await fixture.Client.WaitForInstanceCompletionAsync("chain-loop-n1:reflect-uncompressed", getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(night.Reflection.RefinedUsers, uncompressed.ReadOutputAs<ReflectionResult>()!.RefinedUsers);
        Assert.Equal(candidateReads, n1.Shards.Where(s => s.CandidatesPath is not null).Sum(s => fixture.Store.Reads(s.CandidatesPath!)));
        for (var i = 0; i < paths.Length; i++)
        {
            Assert.Equal(before[i], await fixture.Store.ReadTextAsync(paths[i]));
        }

        // Feedback written before the refinable rows existed (and its outcomes split uncompressed): the reflection
        // attributes the candidates again, same output.
        foreach (var shard in n1.Shards)
        {
            await fixture.Store.DeleteAsync(BlobLayout.Uncompressed(BlobLayout.FeedbackRefinable("chain-loop-n1", shard.Shard)));
            await UncompressAsync(BlobLayout.FeedbackOutcomes("chain-loop-n1", shard.Shard));
        }
        await fixture.Client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(ReflectionOrchestrator)), new ReflectionRequest("chain-loop-n1"),
            new StartOrchestrationOptions { InstanceId = "chain-loop-n1:reflect-old-feedback" }, timeout.Token);
        var old = await fixture.Client.WaitForInstanceCompletionAsync("chain-loop-n1:reflect-old-feedback", getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(night.Reflection.RefinedUsers, old.ReadOutputAs<ReflectionResult>()!.RefinedUsers);
        Assert.True(n1.Shards.Where(s => s.CandidatesPath is not null).Sum(s => fixture.Store.Reads(s.CandidatesPath!)) > candidateReads);
        for (var i = 0; i < paths.Length; i++)
        {
            Assert.Equal(before[i], await fixture.Store.ReadTextAsync(paths[i]));
        }
    }

    /// <summary>Rewrites a compressed working file as the version before compression wrote it (its path without .gz);
    /// false when there is none.</summary>
    private async Task<bool> UncompressAsync(string path)
    {
        if (!await fixture.Store.ExistsAsync(path))
        {
            return false;
        }
        string text;
        await using (var stream = await fixture.Store.OpenContentReadAsync(path))
        using (var reader = new StreamReader(stream))
        {
            text = await reader.ReadToEndAsync();
        }
        await fixture.Store.WriteTextAsync(BlobLayout.Uncompressed(path), text);
        await fixture.Store.DeleteAsync(path);
        return true;
    }

    [Fact]
    public async Task With_reflection_off_feedback_is_collected_and_the_priors_stay()
    {
        await NightAsync("chain-ablate-n1", "t-ablate");
        await SimulateAsync("chain-ablate-n1", "t-ablate");
        var night = await NightAsync("chain-ablate-n2", "t-ablate", reflect: false);

        Assert.NotNull(night.Feedback!.Path);
        Assert.Null(night.Reflection!.Version);
        Assert.Contains("ablation", night.Reflection.Skipped, StringComparison.Ordinal);
        Assert.Equal("default", night.FusionVersion);
        Assert.False(await fixture.Store.ExistsAsync(BlobLayout.PriorsCurrent("t-ablate")));
    }
}
