using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

public class RunRequestTests
{
    private static RunRequest Valid() => new() { RunId = "2026-10-31_nightly.1", Dataset = "taobao-head" };

    [Fact]
    public void Validate_DefaultsWithGoodIds_IsValid()
    {
        Assert.Null(Valid().Validate());
        Assert.Equal("abc", RunId.Parse("abc").Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("has space")]
    [InlineData("a/b")]
    [InlineData("ünicode")]
    public void Validate_BadRunId_ReportsRunId(string runId)
    {
        var error = (Valid() with { RunId = runId }).Validate();

        Assert.NotNull(error);
        Assert.Contains("Run id", error, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => RunId.Parse(runId));
    }

    [Theory]
    [InlineData("nightly-2026-11-27")]
    [InlineData("Nightly-x")]
    public void AdHocProblem_NightlyPrefix_IsReservedForTheTimer(string runId)
    {
        Assert.Null(RunId.Problem(runId));
        Assert.Contains("reserved", RunId.AdHocProblem(runId), StringComparison.Ordinal);
        Assert.Null(RunId.AdHocProblem("nightlyish-1"));
        Assert.StartsWith("run-nightly-", RunId.New("nightly-set", DateTimeOffset.UnixEpoch).Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RunIdLength_LimitIs80()
    {
        Assert.Null((Valid() with { RunId = new string('r', 80) }).Validate());
        Assert.NotNull((Valid() with { RunId = new string('r', 81) }).Validate());
    }

    [Theory]
    [InlineData("")]
    [InlineData("Taobao")]
    [InlineData("a.b")]
    [InlineData("a/b")]
    public void Validate_BadDataset_ReportsDataset(string dataset)
    {
        var error = (Valid() with { Dataset = dataset }).Validate();

        Assert.NotNull(error);
        Assert.Contains("Dataset", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "TopK")]
    [InlineData(201, "TopK")]
    public void Validate_TopKOutOfRange_ReportsTopK(int topK, string expected)
    {
        var error = (Valid() with { TopK = topK }).Validate();

        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NumericLimits_EachReported()
    {
        Assert.Contains("ShardSize", (Valid() with { ShardSize = 0 }).Validate(), StringComparison.Ordinal);
        Assert.Contains("ShardCount", (Valid() with { ShardCount = -1 }).Validate(), StringComparison.Ordinal);
        Assert.Contains("MaxParallelShards", (Valid() with { MaxParallelShards = 0 }).Validate(), StringComparison.Ordinal);
        Assert.Contains("MaxParallelShards", (Valid() with { MaxParallelShards = 65 }).Validate(), StringComparison.Ordinal);
        Assert.Contains("ShardSize", (Valid() with { ShardSize = 9 }).Validate(), StringComparison.Ordinal);
        Assert.Contains("ShardSize", (Valid() with { ShardSize = 100_001 }).Validate(), StringComparison.Ordinal);
        Assert.Contains("ShardCount", (Valid() with { ShardCount = 4097 }).Validate(), StringComparison.Ordinal);
        Assert.Contains("MaxAttempts", (Valid() with { MaxAttempts = 0 }).Validate(), StringComparison.Ordinal);
        Assert.Contains("MaxAttempts", (Valid() with { MaxAttempts = 21 }).Validate(), StringComparison.Ordinal);
        Assert.Null((Valid() with { TopK = 200, ShardCount = 4096, ShardSize = 10, MaxAttempts = 20, MaxParallelShards = 64 }).Validate());
    }

    [Theory]
    [InlineData(0.05)]
    [InlineData(61)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Validate_FirstRetrySecondsOutOfRange_IsReported(double seconds)
    {
        var error = (Valid() with { FirstRetrySeconds = seconds }).Validate();

        Assert.NotNull(error);
        Assert.Contains("FirstRetrySeconds", error, StringComparison.Ordinal);
        Assert.Null((Valid() with { FirstRetrySeconds = 0.1 }).Validate());
        Assert.Null((Valid() with { FirstRetrySeconds = 60 }).Validate());
    }

    [Fact]
    public void Validate_InvalidPolicy_IsReported()
    {
        var error = (Valid() with { Policy = new DormancyPolicy { MaxConversionRate = 2 } }).Validate();

        Assert.NotNull(error);
        Assert.Contains("MaxConversionRate", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsAllOfThem()
    {
        var error = (Valid() with { RunId = "bad id", Dataset = "BAD", TopK = 0 }).Validate();

        Assert.NotNull(error);
        Assert.Contains("Run id", error, StringComparison.Ordinal);
        Assert.Contains("Dataset", error, StringComparison.Ordinal);
        Assert.Contains("TopK", error, StringComparison.Ordinal);
    }
}

public class RunReportWriterTests
{
    private static readonly DateTime Start = new(2026, 10, 31, 1, 0, 0, DateTimeKind.Utc);
    private static readonly RunTimings Timings = new(Start, Start.AddMinutes(3), 10, 20, 150, 180);
    private static readonly RunRequest Request = new() { RunId = "run-1", Dataset = "demo" };
    private static readonly ScoringModelRef Model = new(TransitionModel.Kind, "run-1", "runs/run-1/model/baseline-transitions.bin");
    private static readonly CohortSummary Cohort = new("runs/run-1/cohort.json", 1_700_000_000, 1_697_408_000, 5_000, 900, 300,
        new Dictionary<string, long> { ["too-few-views"] = 600 }, 4, 1, 1.5);

    private static ShardOutcome Ok(int shard, int users) =>
        new(shard, ShardStatus.Succeeded, users, users, users, BlobLayout.ShardCandidates("run-1", shard), null, 1, 1.0, 0.5, Start, Start.AddSeconds(2));

    private static ShardOutcome Bad(int shard, int users, string error) =>
        new(shard, ShardStatus.Failed, users, 0, 0, null, error, 3, 0, 0, Start, Start.AddSeconds(30));

    private static RunReportWriter Writer(IBlobStore store) => new(store, NullLogger<RunReportWriter>.Instance);

    [Fact]
    public async Task WriteAsync_AllShardsSucceeded_IsSucceeded()
    {
        var store = new InMemoryBlobStore();

        var summary = await Writer(store).WriteAsync(Request, Cohort, Model, [Ok(1, 100), Ok(0, 200)], Timings, error: null);

        Assert.Equal(RunStatus.Succeeded, summary.Status);
        Assert.Equal(300, summary.Published);
        Assert.Equal(0, summary.FailedShards);
        Assert.Equal(2, summary.Shards);
        Assert.Equal($"{TransitionModel.Kind}@run-1", summary.Model);
        Assert.Equal("runs/run-1/manifest.json", summary.ManifestPath);
        Assert.Equal("runs/run-1/report.md", summary.ReportPath);
        Assert.Equal("runs/run-1/shards/", summary.CandidatesPrefix);
        var manifest = await store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("run-1"));
        Assert.Equal(RunStatus.Succeeded, manifest.Status);
        Assert.Equal([0, 1], manifest.Shards.Select(s => s.Shard));
        Assert.Equal(900, manifest.Counts.UsersInWindow);
        Assert.Equal(300, manifest.Counts.Dormant);
        Assert.Equal(Request, manifest.Request);
    }

    [Fact]
    public async Task WriteAsync_SomeShardsFailed_IsPartiallySucceededAndReportNamesThem()
    {
        var store = new InMemoryBlobStore();

        var summary = await Writer(store).WriteAsync(Request, Cohort, Model,
            [Ok(0, 100), Bad(2, 70, "scoring timed out | after 3 attempts"), Ok(1, 130)], Timings, error: null);

        Assert.Equal(RunStatus.PartiallySucceeded, summary.Status);
        Assert.Equal(1, summary.FailedShards);
        Assert.Equal(230, summary.Published);
        var manifest = await store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("run-1"));
        Assert.Equal(RunStatus.PartiallySucceeded, manifest.Status);
        Assert.Equal(1, manifest.Counts.ShardsFailed);
        Assert.Equal(2, manifest.Counts.ShardsSucceeded);
        Assert.Equal(70, manifest.Counts.UsersInFailedShards);
        var report = await store.ReadTextAsync(BlobLayout.Report("run-1"));
        Assert.Contains("PartiallySucceeded", report, StringComparison.Ordinal);
        Assert.Contains("| 2 | Failed | 70 |", report, StringComparison.Ordinal);
        Assert.Contains("scoring timed out / after 3 attempts", report, StringComparison.Ordinal);
        Assert.Contains("| shards failed | 1 (70 users) |", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_AllShardsFailed_IsFailed()
    {
        var store = new InMemoryBlobStore();

        var summary = await Writer(store).WriteAsync(Request, Cohort, Model, [Bad(0, 10, "boom"), Bad(1, 20, "boom")], Timings, error: null);

        Assert.Equal(RunStatus.Failed, summary.Status);
        Assert.Equal(2, summary.FailedShards);
        using var doc = JsonDocument.Parse(await store.ReadTextAsync(BlobLayout.Manifest("run-1")));
        Assert.Equal("failed", doc.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task WriteAsync_RunError_IsFailedEvenIfShardsSucceeded()
    {
        var store = new InMemoryBlobStore();

        var summary = await Writer(store).WriteAsync(Request, Cohort, null, [Ok(0, 5)], Timings, error: "model build failed");

        Assert.Equal(RunStatus.Failed, summary.Status);
        Assert.Equal("model build failed", summary.Error);
        Assert.Null(summary.Model);
        var report = await store.ReadTextAsync(BlobLayout.Report("run-1"));
        Assert.Contains("**Error:** model build failed", report, StringComparison.Ordinal);
        Assert.Contains("— Failed", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_NoShardsNoError_IsSucceeded()
    {
        var store = new InMemoryBlobStore();

        var summary = await Writer(store).WriteAsync(Request, Cohort with { Dormant = 0, ShardCount = 1, EmptyShards = 1 }, Model, [], Timings, error: null);

        Assert.Equal(RunStatus.Succeeded, summary.Status);
        Assert.Equal(0, summary.Shards);
        var report = await store.ReadTextAsync(BlobLayout.Report("run-1"));
        Assert.DoesNotContain("## Shards", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_IngestedDataset_ManifestCarriesInputSummary()
    {
        var store = new InMemoryBlobStore();
        await TestSupport.IngestEventsAsync(store, "demo", [TestSupport.Ev("u", "i", Events.EventType.View, 100)]);

        await Writer(store).WriteAsync(Request, Cohort, Model, [Ok(0, 1)], Timings, error: null);

        var manifest = await store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("run-1"));
        Assert.NotNull(manifest.Input);
        Assert.Equal(1, manifest.Input.Events);
        var report = await store.ReadTextAsync(BlobLayout.Report("run-1"));
        Assert.Contains("1 events, 0 rows quarantined", report, StringComparison.Ordinal);
        Assert.Contains("| dormant users | 300 ", report, StringComparison.Ordinal);
        Assert.Contains("too-few-views: 600", report, StringComparison.Ordinal);
        Assert.Contains("memory://rolegen/runs/run-1/shards/", report, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderMarkdown_AnyCulture_UsesInvariantNumbers()
    {
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            var manifest = new RunManifest("run-1", RunStatus.Succeeded, null, Request, null, Cohort, Model,
                new RunCounts(900, 300, 1234, 1234, 1, 1, 0, 0), Timings, [Ok(0, 1234)], DateTimeOffset.UnixEpoch);

            var report = RunReportWriter.RenderMarkdown(manifest, new InMemoryBlobStore());

            Assert.Contains("1,234 of 300", report, StringComparison.Ordinal);
            Assert.Contains("180.0 s", report, StringComparison.Ordinal);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }
}

public class PermanentFailureExceptionTests
{
    [Fact]
    public void Constructor_WithInner_KeepsMessageAndInner()
    {
        var inner = new InvalidOperationException("x");

        var ex = new PermanentFailureException("nope", inner);

        Assert.Equal("nope", ex.Message);
        Assert.Same(inner, ex.InnerException);
    }
}
