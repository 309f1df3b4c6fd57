using System.Globalization;
using RoleGen.Core.Cohort;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Integration.Tests;

/// <summary>The acceptance runs, through the real CLI, the local durable host on Azure Storage (Azurite) and
/// the Azure Blob adapter.</summary>
public sealed class EndToEndRunTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private string[] Common => CommonFor(azurite.TaskHub);

    // One host per process is how rolegen runs. Tests run several CLI invocations in one process: one that must process
    // orchestrations right after another host stopped uses its own task hub, so it never waits on partition leases the
    // stopped host may still hold.
    private string[] CommonFor(string taskHub) => ["--storage", AzuriteFixture.ConnectionString, "--container", azurite.Container, "--task-hub", taskHub];

    [Fact]
    public async Task Run_TaobaoHead_EveryDormantUserGetsExactlyOneCandidateRow()
    {
        var path = TestData.Require("taobao-head", "UserBehavior_head_raw.csv");
        var (code, output) = await Rolegen.RunAsync([.. Common, "run", "--events", path, "--format", "taobao", "--run-id", "it-taobao", "--shard-size", "100"]);
        Assert.True(code == 0, output);

        // Independent oracle: default policy over the whole file (9 days < 30-day window), computed here from the raw CSV.
        var stats = new Dictionary<string, (int Views, int Buys)>();
        foreach (var line in File.ReadLines(path))
        {
            var f = line.Split(',');
            if (f.Length != 5 || !long.TryParse(f[4], CultureInfo.InvariantCulture, out _) || f[3] is not ("pv" or "fav" or "cart" or "buy"))
            {
                continue;
            }
            var s = stats.GetValueOrDefault(f[0]);
            stats[f[0]] = (s.Views + (f[3] == "pv" ? 1 : 0), s.Buys + (f[3] == "buy" ? 1 : 0));
        }
        var expected = stats.Where(kv => kv.Value.Views >= 10 && kv.Value.Buys <= 0.02 * kv.Value.Views).Select(kv => kv.Key).ToHashSet();

        var manifest = await azurite.Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("it-taobao"));
        Assert.Equal(RunStatus.Succeeded, manifest.Status);
        Assert.Equal(expected.Count, manifest.Counts.Dormant);
        Assert.Equal(expected.Count, manifest.Counts.Published);
        Assert.True(manifest.Shards.Count >= 4, $"{manifest.Shards.Count} shards");
        Assert.Equal(1, manifest.Input!.Quarantined); // the file's last line is cut mid-row

        var published = new List<string>();
        foreach (var shard in manifest.Shards)
        {
            await foreach (var row in azurite.Store.ReadJsonLinesAsync<CandidateRow>(BlobLayout.ShardCandidates("it-taobao", shard.Shard)))
            {
                published.Add(row.UserId);
                Assert.Equal(shard.Shard, row.Shard);
                Assert.InRange(row.Items.Count, 1, 20);
                Assert.Equal(row.Items.Count, row.Items.Select(i => i.ItemId).Distinct().Count());
            }
        }
        Assert.Equal(published.Count, published.Distinct().Count());
        Assert.True(expected.SetEquals(published));
        Assert.Contains($"{expected.Count:N0} users published (= dormant users)", output, StringComparison.Ordinal);
        Assert.True(await azurite.Store.ExistsAsync(BlobLayout.Report("it-taobao")));

        // Same run id again without --rerun: reports the finished run, starts nothing new.
        var (again, againOutput) = await Rolegen.RunAsync([.. Common, "run", "--dataset", "userbehavior_head_raw", "--run-id", "it-taobao"]);
        Assert.Equal(0, again);
        Assert.Contains("already finished", againOutput, StringComparison.Ordinal);

        var (statusCode, statusOutput) = await Rolegen.RunAsync([.. Common, "status", "it-taobao"]);
        Assert.Equal(0, statusCode);
        Assert.Contains("Completed", statusOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_SmallWorld_TrainsTheBackboneAndScoresWithItThroughOnnxRuntime()
    {
        // Bounded training (a few epochs), export to ONNX, publish to models/backbone/, then the run resolves it and every
        // shard is scored by ONNX Runtime (the GPU build, on CPU here through the fallback when CUDA is requested).
        var (code, output) = await Rolegen.RunAsync([.. CommonFor(azurite.DemoTaskHub), "demo", "--users", "1500", "--run-id", "it-demo", "--shard-size", "400", "--train-seconds", "8"]);
        Assert.True(code == 0, output);
        Assert.Contains("RoleGen run it-demo — Succeeded", output, StringComparison.Ordinal);
        Assert.Contains("(= dormant users)", output, StringComparison.Ordinal);
        var manifest = await azurite.Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("it-demo"));
        Assert.True(manifest.Counts.Dormant > 500, $"{manifest.Counts.Dormant} dormant");
        Assert.Equal(manifest.Counts.Dormant, manifest.Counts.Published);
        Assert.True(await azurite.Store.ExistsAsync("events/demo/_truth/world.json"));

        var pointer = await azurite.Store.ReadJsonAsync<Core.Scoring.BackbonePointer>(Core.Storage.BlobLayout.BackboneCurrent);
        Assert.Equal("demo", pointer.Dataset);
        Assert.Equal(Core.Scoring.BackboneRegistry.Kind, manifest.Model!.Kind);
        Assert.Equal(pointer.Version, manifest.Model.Version);
        Assert.All(manifest.Shards, s =>
        {
            Assert.Equal($"backbone-onnx@{pointer.Version}", s.Model);
            Assert.StartsWith("onnxruntime CPU", s.Runtime, StringComparison.Ordinal);
        });
        await foreach (var row in azurite.Store.ReadJsonLinesAsync<CandidateRow>(BlobLayout.ShardCandidates("it-demo", manifest.Shards[0].Shard)))
        {
            // Fused lists: the backbone's items, the reasoned paths, or both — never anything else.
            Assert.All(row.Items, i => Assert.Contains(i.Source, new[] { "backbone", "reasoned", "backbone+reasoned" }));
            Assert.InRange(row.Items.Count, 1, 20);
        }
        // The counterfactual world model was the published backbone's conversion-only graph.
        Assert.NotNull(manifest.Reasoning);
        Assert.Contains($"backbone-onnx@{pointer.Version} conversion head, conversion-only graph", manifest.Reasoning.WorldModels.Single(), StringComparison.Ordinal);
        Assert.True(manifest.Reasoning.ItemsBySource.GetValueOrDefault("reasoned") + manifest.Reasoning.ItemsBySource.GetValueOrDefault("backbone+reasoned") > 0);

        // A second demo reuses the published backbone instead of training again; asked for CUDA on this GPU-less machine,
        // the GPU build falls back to CPU and every shard's manifest entry says why.
        Environment.SetEnvironmentVariable("RoleGen__Scoring__ExecutionProvider", "Cuda");
        try
        {
            var (again, againOutput) = await Rolegen.RunAsync([.. CommonFor(azurite.SecondTaskHub), "demo", "--users", "1500", "--run-id", "it-demo-2", "--shard-size", "400", "--train-seconds", "8"]);
            Assert.True(again == 0, againOutput);
            Assert.Contains($"Backbone: reusing {pointer.Version}", againOutput, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("RoleGen__Scoring__ExecutionProvider", null);
        }
        var cudaManifest = await azurite.Store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("it-demo-2"));
        Assert.All(cudaManifest.Shards, s => Assert.StartsWith("onnxruntime CPU (CUDA unavailable:", s.Runtime, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_UnknownRun_ExitsNotFound()
    {
        var (code, output) = await Rolegen.RunAsync([.. Common, "status", "no-such-run"]);
        Assert.Equal(Cli.ExitCodes.NotFound, code);
        Assert.Contains("No run 'no-such-run'", output, StringComparison.Ordinal);
    }
}
