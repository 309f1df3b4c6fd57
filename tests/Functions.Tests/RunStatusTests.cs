using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Functions.Tests;

public sealed class RunStatusTests
{
    private readonly ClientMock _client = new();

    private async Task<(int Status, System.Text.Json.JsonElement Body)> GetAsync(string id)
        => Web.Json(await Api.Create().StatusAsync(Web.Request("GET", $"/api/runs/{id}"), _client.Object, id));

    [Fact]
    public async Task StatusAsync_UnknownRun_Returns404()
    {
        var (status, json) = await GetAsync("nope");
        Assert.Equal(404, status);
        Assert.Equal("No run 'nope'.", json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task StatusAsync_InvalidId_Returns400()
    {
        var (status, _) = await GetAsync("a:shard:00001");
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task StatusAsync_Running_ReturnsStatusAndProgress()
    {
        _client.Add("run-1", OrchestrationRuntimeStatus.Running, customStatus: new RunProgress("scoring", 3, 8, 1, 1500, 4000));
        var (status, json) = await GetAsync("run-1");

        Assert.Equal(200, status);
        Assert.Equal("Running", json.GetProperty("runtimeStatus").GetString());
        Assert.Equal("run-1", json.GetProperty("id").GetString());
        Assert.Equal("2026-11-27T02:00:00+00:00", json.GetProperty("createdAt").GetString());
        Assert.Equal("2026-11-27T02:05:00+00:00", json.GetProperty("lastUpdatedAt").GetString());
        var progress = json.GetProperty("progress");
        Assert.Equal("scoring", progress.GetProperty("phase").GetString());
        Assert.Equal(3, progress.GetProperty("shardsDone").GetInt32());
        Assert.Equal(8, progress.GetProperty("shardsTotal").GetInt32());
        Assert.Equal(1, progress.GetProperty("shardsFailed").GetInt32());
        Assert.Equal(1500, progress.GetProperty("usersScored").GetInt64());
        Assert.False(json.TryGetProperty("output", out _));
        Assert.Equal("https://func-rolegen.azurewebsites.net/api/runs/run-1/report", json.GetProperty("reportGetUri").GetString());
    }

    [Fact]
    public async Task StatusAsync_Completed_ReturnsTheSummary()
    {
        var summary = new RunSummary("run-1", RunStatus.PartiallySucceeded, "demo", 10_000, 4_000, 3_500, 8, 1, "transition", BlobLayout.Manifest("run-1"),
            BlobLayout.Report("run-1"), "runs/run-1/shards/", 42.5, null);
        _client.Add("run-1", OrchestrationRuntimeStatus.Completed, customStatus: new RunProgress("done", 8, 8, 1, 3500, 4000), output: summary);
        var (status, json) = await GetAsync("run-1");

        Assert.Equal(200, status);
        Assert.Equal("Completed", json.GetProperty("runtimeStatus").GetString());
        var output = json.GetProperty("output");
        Assert.Equal("partiallySucceeded", output.GetProperty("status").GetString());
        Assert.Equal(3_500, output.GetProperty("published").GetInt64());
        Assert.Equal(1, output.GetProperty("failedShards").GetInt32());
        Assert.Equal("done", json.GetProperty("progress").GetProperty("phase").GetString());
    }

    [Fact]
    public async Task StatusAsync_Failed_ReturnsTheFailureDetails()
    {
        _client.Add("run-1", OrchestrationRuntimeStatus.Failed,
            failure: new TaskFailureDetails("System.InvalidOperationException", "boom", "at ...", null, null));
        var (status, json) = await GetAsync("run-1");

        Assert.Equal(200, status);
        Assert.Equal("Failed", json.GetProperty("runtimeStatus").GetString());
        Assert.Equal("System.InvalidOperationException", json.GetProperty("failure").GetProperty("errorType").GetString());
        Assert.Equal("boom", json.GetProperty("failure").GetProperty("errorMessage").GetString());
        Assert.False(json.GetProperty("failure").TryGetProperty("stackTrace", out _));
    }

    [Fact]
    public async Task StatusAsync_FailureWithStorageDetails_EchoesNoUrlAccountOrKey()
    {
        const string message = "Activity failed: Azure.RequestFailedException: Status: 404 (The specified blob does not exist.) " +
            "RequestUri: https://rolegenprod42.blob.core.windows.net/rolegen/runs/r1/shards/00003/users.jsonl?sv=2024&sig=abc%2Fdef " +
            "(connection DefaultEndpointsProtocol=https;AccountName=rolegenprod42;AccountKey=c2VjcmV0a2V5;EndpointSuffix=core.windows.net) " +
            "also rolegenprod42.queue.core.windows.net and http://127.0.0.1:10000/devstoreaccount1/rolegen";
        _client.Add("run-1", OrchestrationRuntimeStatus.Failed,
            failure: new TaskFailureDetails("Azure.RequestFailedException", message, "at ...", null, null));

        var (status, json) = await GetAsync("run-1");

        Assert.Equal(200, status);
        var text = json.GetProperty("failure").GetProperty("errorMessage").GetString()!;
        foreach (var leak in new[] { "rolegenprod42", "blob.core.windows.net", "https://", "http://", "c2VjcmV0a2V5", "sig=abc", "devstoreaccount1", "127.0.0.1" })
        {
            Assert.DoesNotContain(leak, text, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Contains("The specified blob does not exist.", text, StringComparison.Ordinal);
        Assert.Contains(FailureText.Url, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusAsync_UnreadableCustomStatus_StillReturnsTheStatus()
    {
        _client.Add("run-1", OrchestrationRuntimeStatus.Running, customStatus: new[] { 1, 2, 3 });
        var (status, json) = await GetAsync("run-1");
        Assert.Equal(200, status);
        Assert.False(json.TryGetProperty("progress", out _));
    }
}

public sealed class TerminateRunTests
{
    private readonly ClientMock _client = new();

    private async Task<(int Status, System.Text.Json.JsonElement Body)> PostAsync(string id, string? query = null)
        => Web.Json(await Api.Create().TerminateAsync(Web.Request("POST", $"/api/runs/{id}/terminate", query: query), _client.Object, id));

    [Fact]
    public async Task TerminateAsync_UnknownRun_Returns404()
    {
        var (status, _) = await PostAsync("nope");
        Assert.Equal(404, status);
        Assert.Empty(_client.Terminated);
    }

    [Theory]
    [InlineData(OrchestrationRuntimeStatus.Completed)]
    [InlineData(OrchestrationRuntimeStatus.Failed)]
    [InlineData(OrchestrationRuntimeStatus.Terminated)]
    public async Task TerminateAsync_NotRunning_Returns409(OrchestrationRuntimeStatus current)
    {
        _client.Add("run-1", current);
        var (status, json) = await PostAsync("run-1");
        Assert.Equal(409, status);
        Assert.Contains(current.ToString(), json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(_client.Terminated);
    }

    [Theory]
    [InlineData(OrchestrationRuntimeStatus.Running)]
    [InlineData(OrchestrationRuntimeStatus.Pending)]
    [InlineData(OrchestrationRuntimeStatus.Suspended)]
    public async Task TerminateAsync_Running_TerminatesAndReturns202(OrchestrationRuntimeStatus current)
    {
        _client.Add("run-1", current);
        var (status, json) = await PostAsync("run-1", "?reason=wrong%20dataset");
        Assert.Equal(202, status);
        var (id, options) = Assert.Single(_client.Terminated);
        Assert.Equal("run-1", id);
        Assert.Equal("wrong dataset", options?.Output);
        Assert.True(options?.Recursive);
        Assert.Equal("https://func-rolegen.azurewebsites.net/api/runs/run-1", json.GetProperty("statusQueryGetUri").GetString());
    }
}

public sealed class RunReportTests
{
    private readonly InMemoryBlobStore _store = new();

    private async Task<Microsoft.AspNetCore.Mvc.IActionResult> GetAsync(string id, string? query = null)
        => await Api.Create(_store).ReportAsync(Web.Request("GET", $"/api/runs/{id}/report", query: query), id);

    [Fact]
    public async Task ReportAsync_NoManifest_Returns404()
    {
        var (status, json) = Web.Json(await GetAsync("run-1"));
        Assert.Equal(404, status);
        Assert.Contains("manifest.json", json.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportAsync_Manifest_ReturnsItAsJson()
    {
        await _store.WriteTextAsync(BlobLayout.Manifest("run-1"), "{\"runId\":\"run-1\",\"status\":\"succeeded\"}");
        var content = Assert.IsType<Microsoft.AspNetCore.Mvc.ContentResult>(await GetAsync("run-1"));
        Assert.Equal(200, content.StatusCode);
        Assert.StartsWith("application/json", content.ContentType, StringComparison.Ordinal);
        Assert.Equal("{\"runId\":\"run-1\",\"status\":\"succeeded\"}", content.Content);
    }

    [Fact]
    public async Task ReportAsync_FormatMd_ReturnsTheMarkdownReport()
    {
        await _store.WriteTextAsync(BlobLayout.Manifest("run-1"), "{}");
        await _store.WriteTextAsync(BlobLayout.Report("run-1"), "# Run run-1\n");
        var content = Assert.IsType<Microsoft.AspNetCore.Mvc.ContentResult>(await GetAsync("run-1", "?format=md"));
        Assert.Equal(200, content.StatusCode);
        Assert.StartsWith("text/markdown", content.ContentType, StringComparison.Ordinal);
        Assert.Equal("# Run run-1\n", content.Content);
    }

    [Fact]
    public async Task ReportAsync_FormatHtml_ReturnsTheHtmlReport()
    {
        await _store.WriteTextAsync(BlobLayout.ReportHtml("run-1"), "<!DOCTYPE html><title>run-1</title>");
        var content = Assert.IsType<Microsoft.AspNetCore.Mvc.ContentResult>(await GetAsync("run-1", "?format=html"));
        Assert.Equal(200, content.StatusCode);
        Assert.StartsWith("text/html", content.ContentType, StringComparison.Ordinal);
        Assert.Contains("<title>run-1</title>", content.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportAsync_FormatMdWithoutReport_Returns404()
    {
        await _store.WriteTextAsync(BlobLayout.Manifest("run-1"), "{}");
        var (status, _) = Web.Json(await GetAsync("run-1", "?format=md"));
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task ReportAsync_UnknownFormat_Returns400()
    {
        var (status, _) = Web.Json(await GetAsync("run-1", "?format=xml"));
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task ReportAsync_DotDotId_Returns400WithoutReadingStorage()
    {
        await _store.WriteTextAsync("runs/manifest.json", "{}");
        var (status, _) = Web.Json(await GetAsync(".."));
        Assert.Equal(400, status);
    }
}
