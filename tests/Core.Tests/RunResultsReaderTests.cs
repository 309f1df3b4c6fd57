using System.Text.Json;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

public sealed class RunResultsReaderTests
{
    /// <summary>A tiny finished run in <paramref name="store"/>: users u0..u{n-1} over <paramref name="shards"/> shards (the
    /// cohort's stable hash), each with a trajectory, one reasoning line and two candidates; returns the manifest.</summary>
    internal static async Task<RunManifest> WriteRunAsync(IBlobStore store, string runId, int users, int shards)
    {
        var byShard = Enumerable.Range(0, users).Select(i => $"u{i}").GroupBy(u => ShardPlan.ShardOf(u, shards)).ToDictionary(g => g.Key, g => g.ToList());
        for (var s = 0; s < shards; s++)
        {
            var ids = byShard.GetValueOrDefault(s) ?? [];
            await store.WriteJsonLinesAsync(BlobLayout.ShardUsers(runId, s), ids.Select(u => new UserTrajectory(u, 2, 0, 0, 1,
                [new TrajectoryStep("i1", "c1", EventType.View, 1_700_000_000), new TrajectoryStep("i2", "c2", EventType.Cart, 1_700_000_060)], [])));
            await store.WriteJsonLinesAsync(BlobLayout.ShardReasoning(runId, s), ids.Select(u => new UserReasoning(u, ReasonerKinds.Embedded, 0.05,
                [new StepRole(0, "i1", "c1", FunctionalRole.Trigger, 0.6, "opens c2"), new StepRole(1, "i2", "c2", FunctionalRole.Converter, 0.8, "cart")],
                [new ConversionPath("i9", "c9", FunctionalRole.Complement, "c2", 0.0123, 0.0623, 0.3, "c9 is bought with c2")], "because")));
            await store.WriteJsonLinesAsync(BlobLayout.ShardCandidates(runId, s), ids.Select((u, i) => new CandidateRow(runId, u, s,
                [new Candidate(1, "i9", "c9", 0.9, "reasoned") { Role = FunctionalRole.Complement }, new Candidate(2, "i3", "c2", 0.5, "transition")])
            { Arm = i % 2 == 0 ? Arm.Treatment : Arm.Control }));
        }
        var shardJson = string.Join(",", Enumerable.Range(0, shards).Select(s => $$"""{"shard":{{s}},"status":"succeeded","users":{{byShard.GetValueOrDefault(s)?.Count ?? 0}}}"""));
        var manifest = JsonSerializer.Deserialize<RunManifest>($$"""{"runId":"{{runId}}","status":"succeeded","cohort":{"shardCount":{{shards}}},"shards":[{{shardJson}}]}""", RoleGenJson.Options)!;
        await store.WriteJsonAsync(BlobLayout.Manifest(runId), manifest);
        return manifest;
    }

    [Fact]
    public async Task ExplainAsync_UserInSomeShard_JoinsTrajectoryRolesPathsAndList()
    {
        var store = new InMemoryBlobStore();
        var manifest = await WriteRunAsync(store, "r1", users: 40, shards: 4);
        var reader = new RunResultsReader(store);

        var e = await reader.ExplainAsync(manifest, "u7");

        Assert.NotNull(e);
        Assert.Equal(ShardPlan.ShardOf("u7", 4), e.Shard);
        Assert.Equal([FunctionalRole.Trigger, FunctionalRole.Converter], e.Steps.Select(s => s.Role!.Role));
        Assert.Equal(0.0123, Assert.Single(e.Reasoning!.Paths).Delta);
        Assert.Equal(["reasoned", "transition"], e.Items.Select(i => i.Source));
        Assert.Null(await reader.ExplainAsync(manifest, "nobody"));
    }

    [Fact]
    public async Task CandidatesAsync_EveryShard_EveryUserOnce()
    {
        var store = new InMemoryBlobStore();
        var manifest = await WriteRunAsync(store, "r1", users: 40, shards: 4);
        var users = new List<string>();
        await foreach (var row in new RunResultsReader(store).CandidatesAsync(manifest))
        {
            users.Add(row.UserId);
        }
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"u{i}").Order(), users.Order());
    }

    [Fact]
    public async Task SampleAsync_TreatmentFirst_WithTrajectoryAndReasoning()
    {
        var store = new InMemoryBlobStore();
        await WriteRunAsync(store, "r1", users: 10, shards: 1);
        var sample = await new RunResultsReader(store).SampleAsync("r1", 0, 3);
        Assert.Equal(3, sample.Count);
        Assert.All(sample, e => Assert.Equal(Arm.Treatment, e.Arm));
        Assert.All(sample, e => Assert.NotNull(e.Trajectory));
        Assert.All(sample, e => Assert.NotNull(e.Reasoning));
    }
}
