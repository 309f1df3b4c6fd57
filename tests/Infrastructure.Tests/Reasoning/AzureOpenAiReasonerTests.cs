using System.Net;
using System.Text.Json;
using RoleGen.Core.Reasoning;
using RoleGen.Infrastructure.Reasoning;
using RoleGen.Core.Storage;

namespace RoleGen.Infrastructure.Tests.Reasoning;

public sealed class AzureOpenAiReasonerTests
{
    private static JsonElement Body(RecordedRequest request)
    {
        using var doc = JsonDocument.Parse(request.Body);
        return doc.RootElement.Clone();
    }

    /// <summary>A message's text whether the SDK sent content as a string or as text parts.</summary>
    private static string Content(JsonElement message)
    {
        var content = message.GetProperty("content");
        return content.ValueKind == JsonValueKind.String
            ? content.GetString()!
            : string.Concat(content.EnumerateArray().Select(p => p.GetProperty("text").GetString()));
    }

    private static (int Start, int End, string Json) DataBlock(string userMessage)
    {
        const string open = "```data\n";
        var start = userMessage.IndexOf(open, StringComparison.Ordinal);
        Assert.True(start >= 0, "no ```data block");
        var end = userMessage.IndexOf("\n```", start + open.Length, StringComparison.Ordinal);
        Assert.True(end > start, "the data block is not closed");
        return (start, end, userMessage[(start + open.Length)..end]);
    }

    private static int Count(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    [Fact]
    public async Task HappyPath_SendsDeploymentSchemaAndQuotedData_AndMapsTheAnswer()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok();

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        var request = Assert.Single(f.Handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("oai-rolegen-test.openai.azure.com", request.Uri.Host);
        Assert.Contains($"/openai/deployments/{ReasonerFixture.Deployment}/chat/completions", request.Uri.AbsolutePath, StringComparison.Ordinal);
        Assert.Contains("api-version=", request.Uri.Query, StringComparison.Ordinal);
        Assert.Equal(ReasonerFixture.ApiKey, request.Headers["api-key"]);

        var body = Body(request);
        var format = body.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        var schema = format.GetProperty("json_schema");
        Assert.Equal("rolegen_reasoning", schema.GetProperty("name").GetString());
        Assert.True(schema.GetProperty("strict").GetBoolean());
        var root = schema.GetProperty("schema");
        Assert.False(root.GetProperty("additionalProperties").GetBoolean());
        Assert.Equal(["roles", "paths", "rationale"], root.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var roleItem = root.GetProperty("properties").GetProperty("roles").GetProperty("items");
        Assert.Equal(["position", "role", "confidence", "reason"], roleItem.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(["noise", "trigger", "comparison", "anchor", "complement", "converter"],
            roleItem.GetProperty("properties").GetProperty("role").GetProperty("enum").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var pathItem = root.GetProperty("properties").GetProperty("paths").GetProperty("items");
        Assert.Equal(["item", "targetCategory", "rationale"], pathItem.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.False(pathItem.GetProperty("additionalProperties").GetBoolean());
        Assert.Equal(800, body.GetProperty("max_tokens").GetInt32()); // Azure.AI.OpenAI 2.1.0 sends MaxOutputTokenCount as max_tokens
        Assert.Equal(0, body.GetProperty("temperature").GetDouble());
        Assert.Equal(ReasonerFixture.Deployment, body.GetProperty("model").GetString());

        var messages = body.GetProperty("messages").EnumerateArray().ToArray();
        Assert.Equal(2, messages.Length);
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal(PromptStore.Shipped("v1"), Content(messages[0]));
        Assert.Equal("user", messages[1].GetProperty("role").GetString());
        var user = Content(messages[1]);
        var (start, end, json) = DataBlock(user);
        using (var data = JsonDocument.Parse(json))
        {
            var steps = data.RootElement.GetProperty("steps").EnumerateArray().ToArray();
            Assert.Equal(["i-100", "i-200", "i-100", "i-300"], steps.Select(s => s.GetProperty("item").GetString()!).ToArray());
            Assert.Equal([0, 1, 2, 3], steps.Select(s => s.GetProperty("position").GetInt32()).ToArray());
            Assert.Equal("cart", steps[3].GetProperty("action").GetString());
            Assert.Equal(89_300, steps[0].GetProperty("secondsBeforeLast").GetInt64());
            Assert.Equal(["i-900", "i-901", "i-902"],
                data.RootElement.GetProperty("candidatePaths").EnumerateArray().Select(c => c.GetProperty("item").GetString()!).ToArray());
            Assert.Equal("anchor", data.RootElement.GetProperty("embeddedRoles")[2].GetProperty("role").GetString());
            var text = data.RootElement.GetProperty("itemText");
            Assert.Equal(ReasonerFixture.HostileTitle, text.GetProperty("i-900").GetString()); // the data survives intact...
            Assert.False(text.TryGetProperty("i-999", out _)); // ...and only for items of this request
        }
        // ...but only as an escaped JSON string inside the fenced data block: it cannot close the fence or stand as prose.
        var injectionAt = user.IndexOf(ReasonerFixture.Injection, StringComparison.Ordinal);
        Assert.Equal(1, Count(user, ReasonerFixture.Injection));
        Assert.InRange(injectionAt, start, end);
        Assert.Equal('"', user[injectionAt - 1]);
        Assert.Equal(2, Count(user, "```")); // the opening and the closing fence only: the title's ``` is escaped
        Assert.DoesNotContain("\"X\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain(ReasonerFixture.Injection, Content(messages[0]), StringComparison.Ordinal);

        Assert.Equal(LlmOutcome.Ok, result.Outcome);
        Assert.True(result.Usable);
        Assert.Null(result.Error);
        Assert.Equal(0, result.DroppedIds);
        Assert.Equal(812, result.PromptTokens);
        Assert.Equal(164, result.CompletionTokens);
        Assert.Equal("Kitchen shopper comparing kettles; a mug complement converts best.", result.Rationale);
        Assert.Equal(
            [
                new StepRole(0, "i-100", "c-1", FunctionalRole.Trigger, 0.74, "first kettle view opened the kitchen intent"),
                new StepRole(1, "i-200", "c-1", FunctionalRole.Comparison, 0.66, "second kettle weighed in the same session"),
                new StepRole(2, "i-100", "c-1", FunctionalRole.Anchor, 0.81, "returned to the first kettle"),
                new StepRole(3, "i-300", "c-2", FunctionalRole.Converter, 0.95, "carted the mug"),
            ],
            result.Roles!);
        Assert.Equal(
            [
                new ConversionPath("i-901", "c-2", FunctionalRole.Complement, "c-2", 0.08, 0.27, 0.4, "mugs are bought with kettles"),
                new ConversionPath("i-900", "c-9", FunctionalRole.Trigger, "c-9", 0.12, 0.31, 0.5, "opens the tea intent"),
            ],
            result.Paths!);

        var stats = f.Reasoner.Stats.Snapshot();
        Assert.Equal(new LlmReasonerStatsSnapshot(Calls: 1, Ok: 1, Cached: 0, Invalid: 0, Failed: 0, BudgetExhausted: 0, DroppedIds: 0,
            DroppedRoles: 0, PromptTokens: 812, CompletionTokens: 164, Retries: 0), stats);
        Assert.Equal(976, f.Reasoner.Budget.Used);
        Assert.Equal("v1", f.Reasoner.PromptVersion);
        Assert.Empty(f.Delays);
    }

    [Fact]
    public async Task InventedIds_AreDropped_BadPositionsDropped_MissingPositionsGetTheEmbeddedRole()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok("chat-invented-id.json");

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Ok, result.Outcome);
        Assert.Equal(2, result.DroppedIds); // i-666 and the "X" the catalogue text asked for
        var path = Assert.Single(result.Paths!);
        Assert.Equal(new ConversionPath("i-900", "c-9", FunctionalRole.Trigger, "c-9", 0.12, 0.31, 0.5, "opens the tea intent"), path);
        Assert.Equal(
            [
                new StepRole(0, "i-100", "c-1", FunctionalRole.Trigger, 0.7, "opened the intent"),
                new StepRole(1, "i-200", "c-1", FunctionalRole.Comparison, 0.6, "alternative"), // the first answer for a position wins
                new StepRole(2, "i-100", "c-1", FunctionalRole.Anchor, 1.0, "revisit"), // confidence clamped to [0, 1]
                new StepRole(3, "i-300", "c-2", FunctionalRole.Converter, 0.8, "cart"), // not answered: the embedded role
            ],
            result.Roles!);
        var stats = f.Reasoner.Stats.Snapshot();
        Assert.Equal(2, stats.DroppedIds);
        Assert.Equal(2, stats.DroppedRoles); // the duplicate position 1 and position 99
    }

    [Fact]
    public async Task InvalidJsonTwice_ThenValid_IsOkWithTwoRetries()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok("chat-invalid-json.json").Ok("chat-unknown-role.json").Ok();

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Ok, result.Outcome);
        Assert.Equal(3, f.Handler.Requests.Count);
        Assert.Equal(812 * 3, result.PromptTokens); // every attempt is billed
        Assert.Equal(800 + 170 + 164, result.CompletionTokens);
        var stats = f.Reasoner.Stats.Snapshot();
        Assert.Equal(2, stats.Retries);
        Assert.Equal(3, stats.Calls);
        Assert.Equal(1, stats.Ok);
        Assert.Equal(0, stats.Invalid);
        Assert.Empty(f.Delays); // a bad answer is retried at once: no backoff
    }

    [Fact]
    public async Task InvalidThreeTimes_IsInvalid_NotCached()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok("chat-invalid-json.json").Ok("chat-unknown-role.json").Ok("chat-invalid-json.json");

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Invalid, result.Outcome);
        Assert.False(result.Usable);
        Assert.Null(result.Roles);
        Assert.Null(result.Paths);
        Assert.Contains("not JSON", result.Error, StringComparison.Ordinal);
        Assert.Contains("length", result.Error, StringComparison.Ordinal); // the truncation is named
        Assert.Equal(3, f.Handler.Requests.Count);
        var stats = f.Reasoner.Stats.Snapshot();
        Assert.Equal(1, stats.Invalid);
        Assert.Equal(2, stats.Retries);
        Assert.DoesNotContain(f.Store.Paths, p => p.StartsWith(BlobLayout.LlmCachePrefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnknownRole_IsASchemaMismatch()
    {
        using var f = new ReasonerFixture(o => o.MaxAttempts = 1);
        f.Handler.Ok("chat-unknown-role.json");

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Invalid, result.Outcome);
        Assert.Contains("villain", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Throttled429_WaitsTheRetryAfterSeconds_ThenSucceeds()
    {
        using var f = new ReasonerFixture();
        f.Handler.Respond(HttpStatusCode.TooManyRequests, "error-429.json", ("Retry-After", "7")).Ok();

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Ok, result.Outcome);
        Assert.Equal([TimeSpan.FromSeconds(7)], f.Delays);
        Assert.Equal(2, f.Handler.Requests.Count);
        Assert.Equal(f.Handler.Requests[0].Body, f.Handler.Requests[1].Body); // the same request is replayed
        Assert.Equal(1, f.Reasoner.Stats.Retries);
        Assert.Equal(976, f.Reasoner.Budget.Used); // the throttled call costs nothing
    }

    [Fact]
    public async Task Throttled429_HonoursRetryAfterMsAndHttpDate()
    {
        using var f = new ReasonerFixture();
        f.Handler
            .Respond(HttpStatusCode.TooManyRequests, "error-429.json", ("retry-after-ms", "1500"), ("Retry-After", "2"))
            .Respond(HttpStatusCode.ServiceUnavailable, "error-500.json", ("Retry-After", ReasonerFixture.Now.AddSeconds(12).ToString("r")))
            .Ok();

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Ok, result.Outcome);
        Assert.Equal([TimeSpan.FromMilliseconds(1500), TimeSpan.FromSeconds(12)], f.Delays);
    }

    [Fact]
    public async Task RetryAfterBeyondTheCap_FailsAtOnce()
    {
        using var f = new ReasonerFixture(o => o.MaxRetryDelaySeconds = 10);
        f.Handler.Respond(HttpStatusCode.TooManyRequests, "error-429.json", ("Retry-After", "60"));

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Failed, result.Outcome);
        Assert.Contains("Retry-After 60", result.Error, StringComparison.Ordinal);
        Assert.Single(f.Handler.Requests);
        Assert.Empty(f.Delays);
    }

    [Fact]
    public async Task ServerErrors_UntilAttemptsRunOut_FailWithExponentialBackoff()
    {
        using var f = new ReasonerFixture(o =>
        {
            o.MaxAttempts = 4;
            o.FirstRetryDelay = 1;
            o.MaxRetryDelaySeconds = 3;
        });
        f.Handler.Respond(HttpStatusCode.InternalServerError, "error-500.json")
            .Respond(HttpStatusCode.BadGateway, "error-500.json")
            .Respond(HttpStatusCode.InternalServerError, "error-500.json")
            .Respond(HttpStatusCode.InternalServerError, "error-500.json");

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Failed, result.Outcome);
        Assert.Contains("HTTP 500", result.Error, StringComparison.Ordinal);
        Assert.Equal(4, f.Handler.Requests.Count);
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)], f.Delays); // 1, 2, 4 capped at 3
        var stats = f.Reasoner.Stats.Snapshot();
        Assert.Equal(1, stats.Failed);
        Assert.Equal(3, stats.Retries);
        Assert.Equal(0, f.Reasoner.Budget.Used);
    }

    [Fact]
    public async Task BadRequest_FailsWithoutRetry()
    {
        using var f = new ReasonerFixture();
        f.Handler.Respond(HttpStatusCode.BadRequest, "error-400.json");

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Failed, result.Outcome);
        Assert.Contains("HTTP 400", result.Error, StringComparison.Ordinal);
        Assert.Single(f.Handler.Requests);
        Assert.Empty(f.Delays);
    }

    [Fact]
    public async Task TransportTimeout_IsRetried_ThenFails()
    {
        using var f = new ReasonerFixture();
        f.Handler.ThrowTimeout().ThrowTimeout().ThrowTimeout();

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Failed, result.Outcome);
        Assert.Equal(3, f.Handler.Requests.Count);
        Assert.Equal(2, f.Delays.Count);
        Assert.Equal(2, f.Reasoner.Stats.Retries);
        Assert.Equal(1, f.Reasoner.Stats.Failed);
    }

    [Fact]
    public async Task HangingServer_HitsTheAttemptTimeout_IsRetried_ThenSucceeds()
    {
        using var f = new ReasonerFixture(o => o.TimeoutSeconds = 1);
        f.Handler.Hang().Ok();

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Ok, result.Outcome);
        Assert.Equal(2, f.Handler.Requests.Count);
        Assert.Equal([TimeSpan.FromSeconds(1)], f.Delays);
    }

    [Fact]
    public async Task CallerCancellation_Propagates()
    {
        using var f = new ReasonerFixture();
        f.Handler.Hang();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => f.Reasoner.ReasonAsync(ReasonerFixture.Request(), cts.Token));
        Assert.Empty(f.Delays);
    }

    [Fact]
    public async Task SecondIdenticalRequest_IsServedFromTheBlobCache_WithoutCallOrTokens()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok();

        var first = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());
        var second = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());
        var nextRun = f.NewReasoner();
        var third = await nextRun.ReasonAsync(ReasonerFixture.Request());

        Assert.Single(f.Handler.Requests);
        Assert.Equal(LlmOutcome.Ok, first.Outcome);
        Assert.Equal(LlmOutcome.Cached, second.Outcome);
        Assert.Equal(LlmOutcome.Cached, third.Outcome);
        Assert.True(second.Usable);
        Assert.Equal(first.Roles, second.Roles);
        Assert.Equal(first.Paths, second.Paths);
        Assert.Equal(first.Rationale, second.Rationale);
        Assert.Equal(0, second.PromptTokens + second.CompletionTokens);
        Assert.Equal(1, f.Reasoner.Stats.Cached);
        Assert.Equal(976, f.Reasoner.Budget.Used);
        Assert.Equal(0, nextRun.Budget.Used);
        var entry = Assert.Single(f.Store.Paths, p => p.StartsWith(BlobLayout.LlmCachePrefix, StringComparison.Ordinal));
        Assert.Matches("^reasoning/llm-cache/v1/([0-9a-f]{2})/\\1[0-9a-f]{62}\\.json$", entry);
    }

    [Fact]
    public async Task ADifferentTrajectory_MissesTheCache()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok().Ok();

        await f.Reasoner.ReasonAsync(ReasonerFixture.Request());
        var other = await f.Reasoner.ReasonAsync(ReasonerFixture.Request(lastItem: "i-301"));

        Assert.Equal(LlmOutcome.Ok, other.Outcome);
        Assert.Equal(2, f.Handler.Requests.Count);
        Assert.Equal(2, f.Store.Paths.Count(p => p.StartsWith(BlobLayout.LlmCachePrefix, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task PerUserBudget_TooSmallForThePrompt_IsBudgetExhaustedWithoutACall()
    {
        using var f = new ReasonerFixture(o => o.MaxTokensPerUser = 1_000);

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.BudgetExhausted, result.Outcome);
        Assert.Contains("MaxTokensPerUser", result.Error, StringComparison.Ordinal);
        Assert.Empty(f.Handler.Requests);
        Assert.Equal(1, f.Reasoner.Stats.BudgetExhausted);
    }

    [Fact]
    public async Task RunBudget_ExhaustedByReportedUsage_StopsTheNextCall()
    {
        // Room for one worst-case reservation plus 500 tokens: the first call fits, and once its reported usage (976
        // tokens) is settled the next user's worst case no longer does.
        var message = ReasonerMessage.Create(ReasonerFixture.Request(), 30);
        var worstCase = ReasonerMessage.EstimateTokens(PromptStore.Shipped("v1")!, message.Text) + 800;
        using var f = new ReasonerFixture(o => o.MaxTokensPerRun = worstCase + 500);
        f.Handler.Ok();

        var first = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());
        var second = await f.Reasoner.ReasonAsync(ReasonerFixture.Request(lastItem: "i-301"));

        Assert.Equal(LlmOutcome.Ok, first.Outcome);
        Assert.Equal(976, f.Reasoner.Budget.Used);
        Assert.Equal(LlmOutcome.BudgetExhausted, second.Outcome);
        Assert.Contains("run budget", second.Error, StringComparison.Ordinal);
        Assert.Single(f.Handler.Requests);
        Assert.Equal(1, f.Reasoner.Stats.BudgetExhausted);
    }

    [Fact]
    public async Task OnlyTheMostRecentStepsAreSent_WithTheirTrajectoryPositions()
    {
        using var f = new ReasonerFixture(o => o.MaxSteps = 2);
        f.Handler.Ok(); // answers positions 0-3: 0 and 1 are out of the range sent

        var result = await f.Reasoner.ReasonAsync(ReasonerFixture.Request());

        using var data = JsonDocument.Parse(DataBlock(Content(Body(f.Handler.Requests[0]).GetProperty("messages")[1])).Json);
        Assert.Equal([2, 3], data.RootElement.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("position").GetInt32()).ToArray());
        Assert.Equal([2, 3], result.Roles!.Select(r => r.Position).ToArray());
        Assert.Equal(2, f.Reasoner.Stats.DroppedRoles);
    }
}
