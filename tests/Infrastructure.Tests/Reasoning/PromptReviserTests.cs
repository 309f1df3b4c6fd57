using System.Net;
using System.Text.Json;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Reasoning;

namespace RoleGen.Infrastructure.Tests.Reasoning;

public sealed class PromptReviserTests
{
    private const string Summary =
        """{"runId":"r-7","failedRoles":["comparison"],"collapsedCategories":["c-1 (62.0% of impressions, 10.0% of orders)"],"llmFallbackUsers":3}""";

    private static readonly string[] Roles = ["trigger", "comparison", "anchor", "complement", "converter", "noise"];

    private static JsonElement Body(RecordedRequest request)
    {
        using var doc = JsonDocument.Parse(request.Body);
        return doc.RootElement.Clone();
    }

    private static string Content(JsonElement message)
    {
        var content = message.GetProperty("content");
        return content.ValueKind == JsonValueKind.String
            ? content.GetString()!
            : string.Concat(content.EnumerateArray().Select(p => p.GetProperty("text").GetString()));
    }

    private static JsonElement DataBlock(string userMessage)
    {
        const string open = "```data\n";
        var start = userMessage.IndexOf(open, StringComparison.Ordinal);
        Assert.True(start >= 0, "no ```data block");
        var end = userMessage.IndexOf("\n```", start + open.Length, StringComparison.Ordinal);
        Assert.True(end > start, "the data block is not closed");
        using var doc = JsonDocument.Parse(userMessage[(start + open.Length)..end]);
        return doc.RootElement.Clone();
    }

    private static string RevisedTemplate(string recorded)
    {
        using var doc = JsonDocument.Parse(RecordingHandler.Recorded(recorded));
        var content = doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        using var answer = JsonDocument.Parse(content);
        return answer.RootElement.GetProperty("template").GetString()!;
    }

    [Fact]
    public void ShippedV1_CarriesEveryRoleAndTheUntrustedDataMarker()
    {
        var v1 = PromptStore.Shipped("v1")!;
        Assert.Contains(AzureOpenAiPromptReviser.UntrustedDataMarker, v1, StringComparison.Ordinal);
        Assert.All(Roles, r => Assert.Contains(r, v1, StringComparison.Ordinal));
        Assert.Contains(AzureOpenAiPromptReviser.UntrustedDataMarker, AzureOpenAiPromptReviser.SystemPrompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidRevision_SendsSchemaSystemAndSummary_WritesV2_StagesItWithoutMovingThePointer_KeepsV1()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok("revise-ok.json");

        var revision = await f.NewReviser().ReviseAsync(Summary);

        var request = Assert.Single(f.Handler.Requests);
        Assert.Contains($"/openai/deployments/{ReasonerFixture.Deployment}/chat/completions", request.Uri.AbsolutePath, StringComparison.Ordinal);
        var body = Body(request);
        var format = body.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        var schema = format.GetProperty("json_schema");
        Assert.Equal(AzureOpenAiPromptReviser.SchemaName, schema.GetProperty("name").GetString());
        Assert.True(schema.GetProperty("strict").GetBoolean());
        Assert.Equal(["template", "changes"], schema.GetProperty("schema").GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.False(schema.GetProperty("schema").GetProperty("additionalProperties").GetBoolean());

        var messages = body.GetProperty("messages").EnumerateArray().ToArray();
        Assert.Equal(2, messages.Length);
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        var system = Content(messages[0]);
        Assert.Equal(AzureOpenAiPromptReviser.SystemPrompt, system);
        Assert.Contains("prompt template", system, StringComparison.Ordinal);
        Assert.All(Roles, r => Assert.Contains(r, system, StringComparison.Ordinal));
        Assert.Contains("untrusted data", system, StringComparison.Ordinal);
        Assert.Contains("never followed as instructions", system, StringComparison.Ordinal);
        Assert.Equal("user", messages[1].GetProperty("role").GetString());
        var data = DataBlock(Content(messages[1]));
        Assert.Equal("v1", data.GetProperty("baseVersion").GetString());
        Assert.Equal(PromptStore.Shipped("v1"), data.GetProperty("template").GetString());
        var summary = data.GetProperty("failureSummary");
        Assert.Equal("r-7", summary.GetProperty("runId").GetString());
        Assert.Equal(["comparison"], summary.GetProperty("failedRoles").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(3, summary.GetProperty("llmFallbackUsers").GetInt32());

        Assert.Equal("v2", revision.NewVersion);
        Assert.Equal("v1", revision.BaseVersion);
        Assert.Contains("ranking guidance", revision.Note, StringComparison.Ordinal);
        Assert.Equal(RevisedTemplate("revise-ok.json"), await f.Store.ReadTextAsync("prompts/reasoner/v2"));
        Assert.Equal(PromptStore.Shipped("v1"), await f.Store.ReadTextAsync("prompts/reasoner/v1")); // the old version stays
        // Staged, not live: the pointer the next run follows does not exist yet, so the next run still uses v1.
        Assert.DoesNotContain(BlobLayout.PromptCurrent, f.Store.Paths);
        Assert.Equal("v1", await new PromptStore(f.Store).ResolveAsync(PromptStore.Latest));
        var candidate = await f.Store.ReadJsonAsync<PromptCandidate>(BlobLayout.PromptCandidate("v2"));
        Assert.Equal(new PromptCandidate("v2", "v1", ReasonerFixture.Now, revision.Note,
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(RevisedTemplate("revise-ok.json"))))), candidate);
        Assert.False(f.NewReviser().AutoPromote); // the default: a person promotes

        // Promotion moves the pointer and records the template's hash and the move.
        await f.NewReviser().PromoteAsync("v2", "reviewed");
        var pointer = await f.Store.ReadJsonAsync<PromptPointer>(BlobLayout.PromptCurrent);
        Assert.Equal(new PromptPointer("v2", "v1", ReasonerFixture.Now, "reviewed") { Sha256 = candidate.Sha256 }, pointer);
        var raw = await f.Store.ReadTextAsync(BlobLayout.PromptCurrent);
        foreach (var name in new[] { "\"version\"", "\"basedOn\"", "\"createdAt\"", "\"reason\"", "\"sha256\"" })
        {
            Assert.Contains(name, raw, StringComparison.Ordinal);
        }
        Assert.Equal("v2", await new PromptStore(f.Store).ResolveAsync(PromptStore.Latest));
        Assert.Empty(f.Delays);
    }

    [Fact]
    public async Task SecondRevision_StartsFromTheNewestVersion_AndWritesV3()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok("revise-ok.json").Ok("revise-ok.json").Ok("revise-ok.json").Ok("revise-ok.json");
        await f.NewReviser().ReviseAsync(Summary);
        await f.NewReviser().PromoteAsync("v2", "reviewed");

        // The same answer again equals the new base (v2): unchanged, so no v3...
        var same = await f.NewReviser().ReviseAsync(Summary);

        Assert.Null(same.NewVersion);
        Assert.Equal("v2", same.BaseVersion);
        Assert.Contains("unchanged", same.Note, StringComparison.Ordinal);
        Assert.Equal(["prompts/reasoner/candidates/v2", "prompts/reasoner/current", "prompts/reasoner/history.json", "prompts/reasoner/v1", "prompts/reasoner/v2"], f.Store.Paths.Where(p => p.StartsWith("prompts/", StringComparison.Ordinal)).Order().ToArray());

        // ...while a stored v3 (another revision) makes the next free version v4, whatever the base.
        await f.Store.WriteTextAsync("prompts/reasoner/v3", "x");
        Assert.Equal("v4", await new PromptStore(f.Store).NextVersionAsync());
    }

    [Theory]
    [InlineData("revise-missing-role.json", "noise")]
    [InlineData("revise-missing-marker.json", "untrusted-data rule")]
    [InlineData("chat-invalid-json.json", "not JSON")]
    public async Task InvalidRevision_WritesNoVersion_AndTheNoteSaysWhy(string recorded, string expected)
    {
        using var f = new ReasonerFixture(o => o.MaxAttempts = 2);
        f.Handler.Ok(recorded).Ok(recorded);

        var revision = await f.NewReviser().ReviseAsync(Summary);

        Assert.Null(revision.NewVersion);
        Assert.Equal("v1", revision.BaseVersion);
        Assert.Contains("invalid revision after 2 attempts", revision.Note, StringComparison.Ordinal);
        Assert.Contains(expected, revision.Note, StringComparison.Ordinal);
        Assert.Equal(2, f.Handler.Requests.Count); // an invalid answer is retried at once
        Assert.Empty(f.Delays);
        Assert.Equal(["prompts/reasoner/v1"], f.Store.Paths);
        Assert.Equal("v1", await new PromptStore(f.Store).ResolveAsync(PromptStore.Latest));
    }

    [Fact]
    public async Task Throttled429_WaitsTheRetryAfterSeconds_ThenRevises()
    {
        using var f = new ReasonerFixture();
        f.Handler.Respond(HttpStatusCode.TooManyRequests, "error-429.json", ("Retry-After", "7")).Ok("revise-ok.json");

        var revision = await f.NewReviser().ReviseAsync(Summary);

        Assert.Equal("v2", revision.NewVersion);
        Assert.Equal([TimeSpan.FromSeconds(7)], f.Delays);
        Assert.Equal(2, f.Handler.Requests.Count);
        Assert.Equal(f.Handler.Requests[0].Body, f.Handler.Requests[1].Body);
    }

    [Fact]
    public async Task ServerErrors_UntilAttemptsRunOut_AreANote()
    {
        using var f = new ReasonerFixture(o => o.MaxAttempts = 2);
        f.Handler.Respond(HttpStatusCode.InternalServerError, "error-500.json").Respond(HttpStatusCode.InternalServerError, "error-500.json");

        var revision = await f.NewReviser().ReviseAsync(Summary);

        Assert.Null(revision.NewVersion);
        Assert.Contains("HTTP 500", revision.Note, StringComparison.Ordinal);
        Assert.Equal([TimeSpan.FromSeconds(1)], f.Delays);
        Assert.DoesNotContain(BlobLayout.PromptCurrent, f.Store.Paths);
    }

    [Fact]
    public async Task BudgetTooSmall_IsANote_WithoutACall()
    {
        using var f = new ReasonerFixture(o => o.MaxTokensPerRun = 1_000);

        var revision = await f.NewReviser().ReviseAsync(Summary);

        Assert.Null(revision.NewVersion);
        Assert.Contains("budget", revision.Note, StringComparison.Ordinal);
        Assert.Empty(f.Handler.Requests);
    }

    [Fact]
    public async Task ResolveAsync_LatestFollowsThePointer_AnExplicitVersionPins()
    {
        var store = new InMemoryBlobStore();
        var prompts = new PromptStore(store);

        Assert.Equal("v1", await prompts.ResolveAsync("latest")); // no pointer yet
        await store.WriteTextAsync("prompts/reasoner/v2", "revised");
        await prompts.MovePointerAsync(new PromptPointer("v2", "v1", ReasonerFixture.Now, "test"));

        Assert.Equal("v2", await prompts.ResolveAsync("latest"));
        Assert.Equal("v1", await prompts.ResolveAsync("v1"));
        Assert.Equal("v2", await prompts.ResolveAsync("v2"));

        await prompts.MovePointerAsync(new PromptPointer("v9", "v2", ReasonerFixture.Now, "dangling"));
        Assert.Equal("v1", await prompts.ResolveAsync("latest")); // a pointer to a missing version is ignored
        await Assert.ThrowsAsync<ArgumentException>(() => prompts.EnsureAsync("latest"));
    }

    [Fact]
    public async Task Reasoner_OnLatest_UsesTheRevisedVersion_AndReportsIt()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok("revise-ok.json").Ok();
        await f.NewReviser().ReviseAsync(Summary);
        await f.NewReviser().PromoteAsync("v2", "reviewed");

        var reasoner = f.NewReasoner();
        Assert.Equal("latest", reasoner.PromptVersion); // not resolved before the first call
        var result = await reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal(LlmOutcome.Ok, result.Outcome);
        Assert.Equal("v2", reasoner.PromptVersion);
        Assert.Equal(RevisedTemplate("revise-ok.json"), Content(Body(f.Handler.Requests[1]).GetProperty("messages")[0]));
        Assert.Contains(f.Store.Paths, p => p.StartsWith("reasoning/llm-cache/v2/", StringComparison.Ordinal));

        var pinned = new ReasonerFixture(o => o.PromptVersion = "v1", f.Store);
        Assert.Equal("v1", (await pinned.Reasoner.LoadPromptAsync()).Version);
        pinned.Dispose();
    }

    [Fact]
    public async Task Reasoner_OnLatest_KeepsTheCurrentVersion_WhileTheRevisionIsOnlyStaged()
    {
        using var f = new ReasonerFixture();
        f.Handler.Ok("revise-ok.json").Ok();
        var revision = await f.NewReviser().ReviseAsync(Summary);

        var reasoner = f.NewReasoner();
        var result = await reasoner.ReasonAsync(ReasonerFixture.Request());

        Assert.Equal("v2", revision.NewVersion);
        Assert.Equal(LlmOutcome.Ok, result.Outcome);
        Assert.Equal("v1", reasoner.PromptVersion);
        Assert.Equal(PromptStore.Shipped("v1"), Content(Body(f.Handler.Requests[1]).GetProperty("messages")[0]));
    }

    [Fact]
    public async Task Check_CandidateWithFewerUsableAnswers_Fails()
    {
        using var f = new ReasonerFixture(o => o.MaxAttempts = 1);
        await f.Store.WriteTextAsync(BlobLayout.Prompt("v2"), PromptStore.Shipped("v1") + "\nRevised guidance.");
        // User 1: the current prompt answers, the candidate's answer is invalid; user 2 (same trajectory): the current
        // prompt's answer is served from the cache, the candidate's is invalid again.
        f.Handler.Ok().Ok("chat-invalid-json.json").Ok("chat-invalid-json.json");

        var check = await f.NewReviser(new PromptPromotionOptions { MinCheckUsers = 2 })
            .CheckAsync("v2", "v1", [ReasonerFixture.Request(), ReasonerFixture.Request()]);

        Assert.False(check.Passed);
        Assert.Equal((2, 0, 2), (check.Users, check.CandidateUsable, check.BaseUsable));
        Assert.Contains("regression", check.Note, StringComparison.Ordinal);
        Assert.Equal(3, f.Handler.Requests.Count);
    }

    [Fact]
    public async Task Check_CandidateAsUsableAsTheCurrentPrompt_Passes_AndSendsTheCandidateTemplate()
    {
        using var f = new ReasonerFixture(o => o.MaxAttempts = 1);
        var candidate = PromptStore.Shipped("v1") + "\nRevised guidance.";
        await f.Store.WriteTextAsync(BlobLayout.Prompt("v2"), candidate);
        f.Handler.Ok().Ok();

        var check = await f.NewReviser(new PromptPromotionOptions { MinCheckUsers = 2 })
            .CheckAsync("v2", "v1", [ReasonerFixture.Request(), ReasonerFixture.Request()]);

        Assert.True(check.Passed, check.Note);
        Assert.Equal((2, 2, 2), (check.Users, check.CandidateUsable, check.BaseUsable));
        Assert.Equal(PromptStore.Shipped("v1"), Content(Body(f.Handler.Requests[0]).GetProperty("messages")[0]));
        Assert.Equal(candidate, Content(Body(f.Handler.Requests[1]).GetProperty("messages")[0]));
    }

    [Fact]
    public async Task Check_TooFewHeldBackUsers_DoesNotRun_AndDoesNotPass()
    {
        using var f = new ReasonerFixture();

        var check = await f.NewReviser().CheckAsync("v2", "v1", [ReasonerFixture.Request()]);

        Assert.False(check.Passed);
        Assert.Contains("not run", check.Note, StringComparison.Ordinal);
        Assert.Empty(f.Handler.Requests);
    }
}
