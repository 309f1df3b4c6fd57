using RoleGen.Core.Reasoning;
using Microsoft.DurableTask.Client;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using Xunit.Abstractions;

namespace RoleGen.Orchestrations.Tests.Durable;

/// <summary>Whole runs of <c>NightlyRunOrchestrator</c> in the in-process durable host (in-memory backend), against a
/// 1,500-user demo world.</summary>
[Collection(RoleGenDurableCollection.Name)]
public sealed class NightlyRunDurableTests(RoleGenDurableFixture fixture, ITestOutputHelper output)
{
    private IBlobStore Store => fixture.Store.Inner;

    [Fact]
    public async Task A_published_tuning_sets_the_runs_fusion_weights_and_is_recorded_in_the_manifest()
    {
        var tuning = new RankerTuning(RoleGenDurableFixture.Dataset, 0, new FusionWeights { Backbone = 0.5, Uplift = 0, Role = 2, Version = "validated-test" },
            "a test validation window", 0.1, 0.2, DateTimeOffset.UnixEpoch);
        await Store.WriteJsonAsync(BlobLayout.Tuning(RoleGenDurableFixture.Dataset), tuning);
        try
        {
            var meta = await fixture.RunAsync(RoleGenDurableFixture.Request("it-tuned"));

            Assert.Equal(OrchestrationRuntimeStatus.Completed, meta.RuntimeStatus);
            var manifest = await Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("it-tuned"));
            Assert.Equal("validated-test", manifest.Request.Reasoner.Fusion.Version);
            Assert.Equal("validated-test", manifest.Reasoning!.FusionVersion);
            Assert.Equal(0, manifest.Ranker!.Tuning!.BackboneWeight);
            Assert.Contains("a test validation window", manifest.Ranker.Note, StringComparison.Ordinal);
            Assert.Contains("ranker choice", await Store.ReadTextAsync(BlobLayout.Report("it-tuned")), StringComparison.Ordinal);
        }
        finally
        {
            await Store.DeleteAsync(BlobLayout.Tuning(RoleGenDurableFixture.Dataset));
        }
    }

    [Fact]
    public async Task A_run_publishes_exactly_one_candidate_row_per_dormant_user()
    {
        var request = RoleGenDurableFixture.Request("it-ok");

        var meta = await fixture.RunAsync(request);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, meta.RuntimeStatus);
        var summary = meta.ReadOutputAs<RunSummary>();
        Assert.NotNull(summary);
        output.WriteLine($"{summary.Dormant} dormant of {summary.UsersInWindow} users, {summary.Shards} shards, {summary.Seconds:F2} s");
        Assert.Equal(RunStatus.Succeeded, summary.Status);
        Assert.Null(summary.Error);
        Assert.True(summary.Dormant > 0, "the demo world has no dormant users");
        Assert.True(summary.Shards >= 4, $"only {summary.Shards} shards");
        Assert.Equal(0, summary.FailedShards);
        Assert.Equal(summary.Dormant, summary.Published);
        Assert.Equal($"{TransitionModel.Kind}@it-ok", summary.Model);
        var manifest = await Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest(request.RunId));
        Assert.NotNull(manifest.Cohort);

        // Users of every shard vs. candidate rows of every shard.
        var users = new Dictionary<string, (int Shard, UserTrajectory User)>(StringComparer.Ordinal);
        await foreach (var (shard, user) in ReadShardFilesAsync<UserTrajectory>(request.RunId, "users.jsonl"))
        {
            Assert.True(users.TryAdd(user.UserId, (shard, user)), $"user {user.UserId} is in two shards");
            Assert.Equal(shard, ShardPlan.ShardOf(user.UserId, manifest.Cohort.ShardCount));
        }
        Assert.Equal(summary.Dormant, users.Count);

        var rows = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var (shard, row) in ReadShardFilesAsync<CandidateRow>(request.RunId, "candidates.jsonl"))
        {
            Assert.True(rows.Add(row.UserId), $"user {row.UserId} has two candidate rows");
            Assert.True(users.TryGetValue(row.UserId, out var owner), $"candidate row for unknown user {row.UserId}");
            Assert.Equal(owner.Shard, shard);
            Assert.Equal(shard, row.Shard);
            Assert.Equal(request.RunId, row.RunId);
            Assert.InRange(row.Items.Count, 1, request.TopK);
            Assert.Equal(Enumerable.Range(1, row.Items.Count), row.Items.Select(i => i.Rank));
            Assert.Equal(row.Items.Count, row.Items.Select(i => i.ItemId).Distinct(StringComparer.Ordinal).Count());
            Assert.Empty(row.Items.Select(i => i.ItemId).Intersect(owner.User.Purchased, StringComparer.Ordinal));
            Assert.True(row.Items.Zip(row.Items.Skip(1)).All(p => p.First.Score >= p.Second.Score), $"{row.UserId}: items not ranked by score");
        }
        Assert.Equal(users.Count, rows.Count);
        Assert.True(users.Values.Any(u => u.User.Purchased.Count > 0), "no dormant user bought anything: the exclusion check is vacuous");

        // Reasoning: one line per user in users.jsonl order, and fused candidates that carry source and role.
        var reasoned = 0;
        await foreach (var (shard, line) in ReadShardFilesAsync<UserReasoning>(request.RunId, "reasoning.jsonl"))
        {
            Assert.True(users.TryGetValue(line.UserId, out var owner), $"reasoning for unknown user {line.UserId}");
            Assert.Equal(owner.Shard, shard);
            Assert.Equal(owner.User.Steps.Count, line.Roles.Count);
            Assert.Equal(ReasonerKinds.Embedded, line.Reasoner);
            Assert.InRange(line.Paths.Count, 0, request.Reasoner.PathsPerUser);
            Assert.Empty(line.Paths.Select(p => p.Item).Intersect(owner.User.Purchased, StringComparer.Ordinal));
            reasoned++;
        }
        Assert.Equal(users.Count, reasoned);
        var items = new List<Candidate>();
        await foreach (var (_, row) in ReadShardFilesAsync<CandidateRow>(request.RunId, "candidates.jsonl"))
        {
            items.AddRange(row.Items);
        }
        Assert.Contains(items, i => i.Source.Contains("reasoned", StringComparison.Ordinal));
        Assert.Contains(items, i => i.Source == "transition");
        Assert.Contains(items, i => i.Role is not null);

        // Manifest, report, progress.
        Assert.Equal(RunStatus.Succeeded, manifest.Status);
        Assert.Equal(summary.Shards, manifest.Shards.Count);
        Assert.Equal(manifest.Shards.OrderBy(s => s.Shard).Select(s => s.Shard), manifest.Shards.Select(s => s.Shard));
        Assert.All(manifest.Shards, s =>
        {
            Assert.Equal(ShardStatus.Succeeded, s.Status);
            Assert.Equal(BlobLayout.ShardCandidates(request.RunId, s.Shard), s.CandidatesPath);
            Assert.Equal(s.Users, s.Published);
            Assert.Null(s.Error);
        });
        Assert.Equal(summary.Dormant, manifest.Counts.Published);
        Assert.Equal(request.TopK, manifest.Request.TopK);
        Assert.NotNull(manifest.Reasoning);
        Assert.True(manifest.Reasoning.Enabled);
        Assert.Equal(summary.Dormant, manifest.Reasoning.Users);
        Assert.Equal(items.Count, manifest.Reasoning.ItemsBySource.Values.Sum());
        Assert.Contains("statistics", manifest.Reasoning.WorldModels.Single(), StringComparison.Ordinal);
        Assert.True(await Store.ExistsAsync(BlobLayout.GraphStatistics(request.RunId)));
        Assert.True(await Store.ExistsAsync(BlobLayout.Report(request.RunId)));

        var progress = meta.ReadCustomStatusAs<RunProgress>();
        Assert.NotNull(progress);
        Assert.Equal("done", progress.Phase);
        Assert.Equal(summary.Shards, progress.ShardsDone);
        Assert.Equal(summary.Shards, progress.ShardsTotal);
        Assert.Equal(0, progress.ShardsFailed);
        Assert.Equal(summary.Dormant, progress.UsersScored);
        Assert.Equal(summary.Dormant, progress.UsersTotal);
    }

    [Fact]
    public async Task A_shard_that_keeps_failing_is_retried_then_reported_while_the_others_publish()
    {
        var request = RoleGenDurableFixture.Request("it-fail");
        var failing = BlobLayout.ShardUsers(request.RunId, 0);
        fixture.Store.FailReads(failing, () => new IOException("injected: users blob unreadable"));

        var meta = await fixture.RunAsync(request);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, meta.RuntimeStatus);
        var summary = meta.ReadOutputAs<RunSummary>();
        Assert.NotNull(summary);
        Assert.Equal(RunStatus.PartiallySucceeded, summary.Status);
        Assert.Equal(1, summary.FailedShards);
        Assert.Equal(request.MaxAttempts, fixture.Store.Reads(failing));

        var manifest = await Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest(request.RunId));
        Assert.Equal(RunStatus.PartiallySucceeded, manifest.Status);
        var failed = Assert.Single(manifest.Shards, s => s.Status == ShardStatus.Failed);
        output.WriteLine($"failed shard error: {failed.Error}");
        Assert.Equal(0, failed.Shard);
        // The shard's one activity reads users.jsonl first: nothing of the shard is published (no empty candidates file).
        Assert.Contains("injected: users blob unreadable", failed.Error, StringComparison.Ordinal);
        Assert.Equal(request.MaxAttempts, failed.Attempts);
        Assert.Equal(0, failed.Published);
        Assert.Null(failed.CandidatesPath);
        Assert.False(await Store.ExistsAsync(BlobLayout.ShardCandidates(request.RunId, 0)));
        Assert.Equal(failed.Users, manifest.Counts.UsersInFailedShards);

        var others = manifest.Shards.Where(s => s.Shard != 0).ToArray();
        Assert.True(others.Length >= 3);
        foreach (var shard in others)
        {
            Assert.Equal(ShardStatus.Succeeded, shard.Status);
            Assert.True(await Store.ExistsAsync(BlobLayout.ShardCandidates(request.RunId, shard.Shard)), $"shard {shard.Shard} not published");
        }
        Assert.Equal(summary.Dormant - failed.Users, summary.Published);

        var progress = meta.ReadCustomStatusAs<RunProgress>();
        Assert.Equal("done", progress?.Phase);
        Assert.Equal(1, progress?.ShardsFailed);
    }

    [Fact]
    public async Task A_permanent_failure_is_attempted_once()
    {
        var request = RoleGenDurableFixture.Request("it-perm") with { FirstRetrySeconds = 5 };
        var failing = BlobLayout.ShardUsers(request.RunId, 0);
        fixture.Store.FailReads(failing, () => new PermanentFailureException("injected: users blob is corrupt"));

        var meta = await fixture.RunAsync(request);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, meta.RuntimeStatus);
        var summary = meta.ReadOutputAs<RunSummary>();
        Assert.Equal(RunStatus.PartiallySucceeded, summary?.Status);
        Assert.Equal(1, fixture.Store.Reads(failing));
        var manifest = await Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest(request.RunId));
        var failed = Assert.Single(manifest.Shards, s => s.Status == ShardStatus.Failed);
        output.WriteLine($"failed shard error: {failed.Error}");
        Assert.Equal(0, failed.Shard);
        Assert.Contains("injected: users blob is corrupt", failed.Error, StringComparison.Ordinal);
        Assert.Equal(1, failed.Attempts);
    }

    [Fact]
    public async Task Rerunning_a_purged_run_id_reproduces_identical_candidates()
    {
        var request = RoleGenDurableFixture.Request("it-idem");
        var first = await fixture.RunAsync(request);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, first.RuntimeStatus);
        Assert.Equal(RunStatus.Succeeded, first.ReadOutputAs<RunSummary>()?.Status);
        var before = await SnapshotAsync(request.RunId, "candidates.jsonl", "users.jsonl");
        Assert.True(before.Count >= 8);
        // Remove the published output so the second run must produce it again.
        foreach (var path in before.Keys.Where(p => !p.EndsWith("users.jsonl", StringComparison.Ordinal)))
        {
            Assert.True(await Store.DeleteAsync(path));
        }

        var purged = await fixture.Client.PurgeInstanceAsync(request.RunId, new PurgeInstanceOptions { Recursive = true });
        Assert.True(purged.PurgedInstanceCount >= 1);
        Assert.Null(await fixture.Client.GetInstanceAsync(request.RunId));
        var second = await fixture.RunAsync(request);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, second.RuntimeStatus);
        Assert.Equal(RunStatus.Succeeded, second.ReadOutputAs<RunSummary>()?.Status);
        var after = await SnapshotAsync(request.RunId, "candidates.jsonl", "users.jsonl");
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[path]), $"{path} differs between the two runs");
        }
    }

    [Fact(Skip = "LIMITATION (third party): the in-process sidecar of Microsoft.DurableTask.InProcessTestHost 0.2.3-preview.1 ignores " +
                 "PurgeInstanceOptions.Recursive, so purging a run leaves its '{runId}:shard:{n:D5}' sub-orchestration instances. " +
                 "The in-memory backend then lets a re-run recreate them; src/Cli/RunCommand.cs relies on the recursive purge.")]
    public async Task A_recursive_purge_removes_the_shard_instances()
    {
        var request = RoleGenDurableFixture.Request("it-purge");
        var meta = await fixture.RunAsync(request);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, meta.RuntimeStatus);
        var shardInstance = Orchestrators.NightlyRunOrchestrator.ShardInstanceId(request.RunId, 0);
        Assert.NotNull(await fixture.Client.GetInstanceAsync(shardInstance));

        await fixture.Client.PurgeInstanceAsync(request.RunId, new PurgeInstanceOptions { Recursive = true });

        Assert.Null(await fixture.Client.GetInstanceAsync(request.RunId));
        Assert.Null(await fixture.Client.GetInstanceAsync(shardInstance));
    }

    private async IAsyncEnumerable<(int Shard, T Row)> ReadShardFilesAsync<T>(string runId, string fileName)
    {
        var prefix = $"runs/{runId}/shards/";
        var paths = new List<string>();
        await foreach (var entry in Store.ListAsync(prefix))
        {
            if (entry.Path.EndsWith("/" + fileName, StringComparison.Ordinal))
            {
                paths.Add(entry.Path);
            }
        }
        Assert.NotEmpty(paths);
        foreach (var path in paths)
        {
            var shard = int.Parse(path.AsSpan(prefix.Length, 5), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(BlobLayout.ShardFolder(runId, shard) + fileName, path);
            await foreach (var row in Store.ReadJsonLinesAsync<T>(path))
            {
                yield return (shard, row);
            }
        }
    }

    private async Task<Dictionary<string, byte[]>> SnapshotAsync(string runId, params string[] fileNames)
    {
        var snapshot = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await foreach (var entry in Store.ListAsync($"runs/{runId}/shards/"))
        {
            if (fileNames.Any(f => entry.Path.EndsWith("/" + f, StringComparison.Ordinal)))
            {
                await using var stream = await Store.OpenReadAsync(entry.Path);
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy);
                snapshot[entry.Path] = copy.ToArray();
            }
        }
        return snapshot;
    }
}
