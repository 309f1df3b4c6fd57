using System.Text.Json;
using RoleGen.Core.Experiments;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

public sealed class RunHtmlReportTests
{
    private static RunManifest Manifest(string shardsJson) => JsonSerializer.Deserialize<RunManifest>($$$"""
        {"runId":"r1","status":"partiallySucceeded","request":{"runId":"r1","dataset":"demo"},
         "counts":{"published":12,"dormant":20,"shards":2,"shardsFailed":1,"usersInFailedShards":8},
         "timings":{"startedAt":"2026-12-01T02:00:00Z","finishedAt":"2026-12-01T02:01:00Z","selectSeconds":10,"modelSeconds":2,"shardsSeconds":40,"totalSeconds":60},
         "experiment":{"name":"ab","treatmentShare":0.5,"attributionDays":7,"usersByArm":{"control":5,"treatment":7}},
         "cohort":{"shardCount":2},
         "shards":[{{{shardsJson}}}]}
        """, RoleGenJson.Options)!;

    [Fact]
    public async Task Render_FinishedRun_HasChartsShardsArmsCategoriesAndExplanations()
    {
        var store = new InMemoryBlobStore();
        await RunResultsReaderTests.WriteRunAsync(store, "r1", users: 6, shards: 1);
        var sample = await new RunResultsReader(store).SampleAsync("r1", 0, 2);
        var m = Manifest("""
            {"shard":0,"status":"succeeded","users":12,"published":12,"startedAt":"2026-12-01T02:00:12Z","finishedAt":"2026-12-01T02:00:30Z",
             "categoriesBeforeFusion":{"c1":30,"c2":10},"categoriesAfterFusion":{"c1":20,"c2":12,"c9":8}},
            {"shard":1,"status":"failed","users":8,"error":"boom <b>","startedAt":"2026-12-01T02:00:12Z","finishedAt":"2026-12-01T02:00:50Z"}
            """);

        var html = RunHtmlReport.Render(m, sample);

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Wall time per phase", html, StringComparison.Ordinal);
        Assert.Contains("Shards over the run", html, StringComparison.Ordinal);
        Assert.Contains("<td>Failed</td>", html, StringComparison.Ordinal);
        Assert.Contains("boom &lt;b&gt;", html, StringComparison.Ordinal); // encoded
        Assert.Contains("<td>treatment</td><td class=\"n\">7</td>", html, StringComparison.Ordinal);
        Assert.Contains("Top categories before and after fusion", html, StringComparison.Ordinal);
        Assert.Contains("<td>c9</td><td class=\"n\">0</td><td class=\"n\">0.0%</td><td class=\"n\">8</td><td class=\"n\">20.0%</td>", html, StringComparison.Ordinal);
        Assert.Contains("User u0 (treatment)", html, StringComparison.Ordinal);
        Assert.Contains("<td>trigger</td>", html, StringComparison.Ordinal);
        Assert.Contains("+0.0123", html, StringComparison.Ordinal);
        Assert.Contains("<td>reasoned</td><td>complement</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_Run_WritesReportHtmlNextToReportMd()
    {
        var store = new InMemoryBlobStore();
        await RunResultsReaderTests.WriteRunAsync(store, "r1", users: 6, shards: 1);
        var writer = new RunReportWriter(store, Microsoft.Extensions.Logging.Abstractions.NullLogger<RunReportWriter>.Instance);
        var request = new RunRequest { RunId = "r1", Dataset = "demo", Policy = new Cohort.DormancyPolicy() };
        var shard = new ShardOutcome(0, ShardStatus.Succeeded, 6, 6, 6, BlobLayout.ShardCandidates("r1", 0), null, 1, 0.1, 0.1, DateTime.UtcNow, DateTime.UtcNow);
        await writer.WriteAsync(request, null, null, [shard], new RunTimings(DateTime.UtcNow, DateTime.UtcNow, 1, 1, 1, 3), null);

        var html = await store.ReadTextAsync(BlobLayout.ReportHtml("r1"));
        Assert.True(await store.ExistsAsync(BlobLayout.Report("r1")));
        Assert.Contains("User u0", html, StringComparison.Ordinal);
    }
}
