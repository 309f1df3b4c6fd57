using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Moq;
using RoleGen.Core.Cohort;
using RoleGen.Core.Runs;

namespace RoleGen.Functions.Tests;

public sealed class StartRunTests
{
    private readonly ClientMock _client = new();

    private async Task<(int Status, System.Text.Json.JsonElement Body, Microsoft.AspNetCore.Http.HttpRequest Request)> PostAsync(string? body,
        RoleGen.Functions.Http.RunsApi? api = null)
    {
        var request = Web.Request("POST", "/api/runs", body);
        var result = await (api ?? Api.Create()).StartAsync(request, _client.Object);
        var (status, json) = Web.Json(result);
        return (status, json, request);
    }

    [Theory]
    [InlineData("{\"dataset\": \"demo\",")]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("[\"demo\"]")]
    public async Task StartAsync_MalformedBody_Returns400AndSchedulesNothing(string body)
    {
        var (status, json, _) = await PostAsync(body);
        Assert.Equal(400, status);
        Assert.NotEmpty(Web.Problems(json));
        Assert.Empty(_client.Scheduled);
    }

    [Fact]
    public async Task StartAsync_MissingDataset_Returns400SayingDatasetIsRequired()
    {
        var (status, json, _) = await PostAsync("{\"topK\": 10}");
        Assert.Equal(400, status);
        Assert.Contains(Web.Problems(json), p => p.StartsWith("dataset is required", StringComparison.Ordinal));
        Assert.Empty(_client.Scheduled);
    }

    [Theory]
    [InlineData("{\"dataset\": \"demo\", \"topK\": 0}", "TopK must be between 1 and 200")]
    [InlineData("{\"dataset\": \"demo\", \"topK\": 5000}", "TopK must be between 1 and 200")]
    [InlineData("{\"dataset\": \"demo\", \"shardSize\": 1}", "ShardSize must be between 10 and 100000 (got 1)")]
    [InlineData("{\"dataset\": \"demo\", \"shardCount\": 2147483647}", "ShardCount must be between 0 and 4096")]
    [InlineData("{\"dataset\": \"demo\", \"maxParallelShards\": 1000}", "MaxParallelShards must be between 1 and 64")]
    [InlineData("{\"dataset\": \"demo\", \"shardSize\": 1e12}", "shardSize must be a whole number")]
    [InlineData("{\"dataset\": \"demo\", \"topK\": \"ten\"}", "topK must be a whole number, not the string \"ten\"")]
    [InlineData("{\"dataset\": \"demo\", \"topK\": 2.5}", "topK must be a whole number, not 2.5")]
    [InlineData("{\"dataset\": \"demo\", \"runId\": \"has space\"}", "runId 'has space' is not valid")]
    [InlineData("{\"dataset\": \"demo\", \"runId\": \"..\"}", "runId '..' is not valid")]
    [InlineData("{\"dataset\": \"demo\", \"runId\": \"nightly-2026-11-27\"}", "runId 'nightly-2026-11-27' is reserved")]
    [InlineData("{\"dataset\": \"demo\", \"runId\": \"NIGHTLY-anything\"}", "runId 'NIGHTLY-anything' is reserved")]
    [InlineData("{\"dataset\": \"Demo Set\"}", "Dataset name 'Demo Set' is not valid")]
    [InlineData("{\"dataset\": \"demo\", \"policy\": {\"maxConversionRate\": 2}}", "MaxConversionRate")]
    [InlineData("{\"dataset\": \"demo\", \"policy\": 3}", "policy must be a JSON object")]
    [InlineData("{\"dataset\": \"demo\", \"shardsize\": 10, \"shardSize\": 20}", "appears more than once")]
    public async Task StartAsync_InvalidField_Returns400NamingTheProblem(string body, string expected)
    {
        var (status, json, _) = await PostAsync(body);
        Assert.Equal(400, status);
        Assert.Contains(Web.Problems(json), p => p.Contains(expected, StringComparison.Ordinal));
        Assert.Empty(_client.Scheduled);
    }

    [Fact]
    public async Task StartAsync_SeveralProblems_ListsEachOfThem()
    {
        var (status, json, _) = await PostAsync("{\"topk\": \"x\", \"colour\": \"red\", \"policy\": {\"minviews\": -1.5, \"depth\": 1}}");
        Assert.Equal(400, status);
        var problems = Web.Problems(json);
        Assert.Contains(problems, p => p.StartsWith("Unknown field 'colour'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Unknown field 'policy.depth'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("topK must be a whole number", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("policy.minViews must be a whole number", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("dataset is required", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartAsync_GoodBody_SchedulesTheRunAndReturns202WithLinks()
    {
        var policy = new DormancyPolicy { LookbackDays = 30, MinViews = 10, MaxConversionRate = 0.02, MinActiveDays = 0 };
        var api = Api.Create(runs: new Composition.RunsOptions { Dataset = "nightly", TopK = 20, ShardSize = 5000, MaxParallelShards = 8, MaxAttempts = 4 },
            policy: policy);
        var (status, json, request) = await PostAsync(
            """{"dataset": "demo", "runId": "demo-run-1", "topK": 15, "shardSize": 300, "shardCount": 4, "maxParallelShards": 2, "policy": {"lookbackDays": 14, "minViews": 5, "maxConversionRate": 0.1, "minActiveDays": 2}}""",
            api);

        Assert.Equal(202, status);
        var scheduled = Assert.Single(_client.Scheduled);
        Assert.Equal("NightlyRunOrchestrator", scheduled.Name.Name);
        Assert.Equal("demo-run-1", scheduled.Options?.InstanceId);
        var run = Assert.IsType<RunRequest>(scheduled.Input);
        Assert.Equal("demo-run-1", run.RunId);
        Assert.Equal("demo", run.Dataset);
        Assert.Equal(15, run.TopK);
        Assert.Equal(300, run.ShardSize);
        Assert.Equal(4, run.ShardCount);
        Assert.Equal(2, run.MaxParallelShards);
        Assert.Equal(4, run.MaxAttempts);
        Assert.Equal("http", run.TriggeredBy);
        Assert.Equal(new DormancyPolicy { LookbackDays = 14, MinViews = 5, MaxConversionRate = 0.1, MinActiveDays = 2 }, run.Policy);

        const string runUrl = "https://func-rolegen.azurewebsites.net/api/runs/demo-run-1";
        Assert.Equal("demo-run-1", json.GetProperty("id").GetString());
        Assert.Equal(runUrl, json.GetProperty("statusQueryGetUri").GetString());
        Assert.Equal($"{runUrl}/terminate", json.GetProperty("terminatePostUri").GetString());
        Assert.Equal($"{runUrl}/report", json.GetProperty("reportGetUri").GetString());
        Assert.Equal(runUrl, request.HttpContext.Response.Headers.Location.ToString());
    }

    [Fact]
    public async Task StartAsync_OnlyDataset_UsesTheConfiguredDefaultsAndAFreshRunId()
    {
        var policy = new DormancyPolicy { LookbackDays = 21 };
        var api = Api.Create(runs: new Composition.RunsOptions { TopK = 7, ShardSize = 123 }, policy: policy);
        var (status, _, _) = await PostAsync("{\"dataset\": \"demo\"}", api);

        Assert.Equal(202, status);
        var run = Assert.IsType<RunRequest>(Assert.Single(_client.Scheduled).Input);
        Assert.StartsWith("demo-20261127-020003-", run.RunId, StringComparison.Ordinal);
        Assert.Null(run.Validate());
        Assert.Equal(7, run.TopK);
        Assert.Equal(123, run.ShardSize);
        Assert.Equal(policy, run.Policy);
    }

    [Theory]
    [InlineData(OrchestrationRuntimeStatus.Running)]
    [InlineData(OrchestrationRuntimeStatus.Completed)]
    [InlineData(OrchestrationRuntimeStatus.Failed)]
    public async Task StartAsync_RunIdExists_Returns409AndSchedulesNothing(OrchestrationRuntimeStatus existing)
    {
        _client.Add("demo-run-1", existing);
        var (status, json, _) = await PostAsync("{\"dataset\": \"demo\", \"runId\": \"demo-run-1\"}");
        Assert.Equal(409, status);
        Assert.Contains("already exists", json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(_client.Scheduled);
    }

    public static TheoryData<Exception> AlreadyExists() => new()
    {
        new DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException("An Orchestration instance with the ID demo-run-1 already exists."),
        new InvalidOperationException("An Orchestration instance with the ID demo-run-1 already exists."),
    };

    [Theory]
    [MemberData(nameof(AlreadyExists))]
    public async Task StartAsync_StartedConcurrently_Returns409(Exception alreadyExists)
    {
        _client.Mock.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(),
                It.IsAny<CancellationToken>()))
            .ThrowsAsync(alreadyExists);
        var (status, _, _) = await PostAsync("{\"dataset\": \"demo\", \"runId\": \"demo-run-1\"}");
        Assert.Equal(409, status);
    }
}
