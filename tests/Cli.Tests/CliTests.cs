using System.Text.Json;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace RoleGen.Cli.Tests;

public sealed class CliTests
{
    internal const string Unreachable =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;";

    private static Task<(int Code, string Output)> Run(params string[] args) => CliRunner.RunAsync(args);

    [Theory]
    [InlineData("demo", "--users")]
    [InlineData("ingest", "--format")]
    [InlineData("run", "--shard-size")]
    [InlineData("run", "--max-conversion-rate")]
    [InlineData("run", "--llm-tokens")]
    [InlineData("status", "runId")]
    public async Task Help_EveryCommand_DescribesItsOptions(string command, string expected)
    {
        var (code, output) = await Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_Root_ListsCommandsAndExitCodes()
    {
        var (code, output) = await Run("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "demo", "ingest", "run", "status" })
        {
            Assert.Contains(command, output, StringComparison.Ordinal);
        }
        Assert.Contains("Exit codes", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_Root_OneLinePerCommand()
    {
        var (_, output) = await Run("--help");
        var commands = output[(output.IndexOf("Commands:", StringComparison.Ordinal) + "Commands:".Length)..]
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(Commands.Build().Subcommands.Count, commands.Length);
        Assert.All(commands, line => Assert.True(line.Length <= 140, $"too long: {line}"));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("run", "--help")]
    [InlineData("demo", "--help")]
    public async Task Help_NoDefaultStatedTwice(params string[] args)
    {
        var (_, output) = await Run(args);
        foreach (var line in output.Split('\n'))
        {
            Assert.False(line.Contains("(default:", StringComparison.Ordinal) && line.Contains("[default:", StringComparison.Ordinal), line);
        }
    }

    [Fact]
    public async Task Help_Run_StatesTheFormatAndEventsDatasetRules()
    {
        var (_, output) = await Run("run", "--help");
        Assert.Contains("user_id,item_id,category_id,event_type,timestamp", output, StringComparison.Ordinal);
        Assert.Contains("pv|fav|cart|buy", output, StringComparison.Ordinal);
        Assert.Contains("required with it", output, StringComparison.Ordinal);
        Assert.Contains("Without --events, --dataset names an already ingested dataset", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parse_UnknownOption_IsUsageError()
    {
        var (code, _) = await Run("run", "--no-such-option");
        Assert.Equal(ExitCodes.Usage, code);
    }

    [Fact]
    public async Task Run_NightlyRunId_IsRefusedBeforeAnythingStarts()
    {
        var (code, output) = await Run("--storage", Unreachable, "run", "--dataset", "demo", "--run-id", "nightly-2026-12-03");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("reserved", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Azurite")]
    public async Task Status_IsAClientOnly_StartsNoDurableWorker()
    {
        var hub = "rgs" + Guid.NewGuid().ToString("N")[..20];
        var before = CliHost.WorkerStarts;
        try
        {
            var (code, output) = await Run("--task-hub", hub, "--container", hub, "status", "no-such-run");
            Assert.Equal(ExitCodes.NotFound, code);
            Assert.Contains("No run 'no-such-run'", output, StringComparison.Ordinal);
            Assert.Equal(before, CliHost.WorkerStarts);
        }
        finally
        {
            await RoleGen.LocalHost.LocalDurableHost.DeleteTaskHubAsync(new RoleGen.LocalHost.LocalDurableHostOptions { TaskHubName = hub });
            await new Azure.Storage.Blobs.BlobContainerClient("UseDevelopmentStorage=true", hub).DeleteIfExistsAsync();
        }
    }

    [Fact]
    public async Task Run_MissingEventsFile_SaysWhichFile()
    {
        var (code, output) = await Run("run", "--events", "/definitely/not/here.csv", "--format", "taobao");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("/definitely/not/here.csv", output, StringComparison.Ordinal);
        Assert.Contains("does not exist", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_UnknownFormat_ListsTheFormats()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (code, output) = await Run("run", "--events", file, "--format", "parquet");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains("taobao|normalized|otto", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Run_EventsWithoutFormat_IsUsageError()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (code, output) = await Run("run", "--events", file);
            Assert.Equal(ExitCodes.Usage, code);
            Assert.Contains("--format is required", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Run_NeitherEventsNorDataset_IsUsageError()
    {
        var (code, output) = await Run("run");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--dataset", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_InvalidPolicy_IsBadInputBeforeTouchingStorage()
    {
        var (code, output) = await Run("--storage", Unreachable, "run", "--dataset", "x", "--max-conversion-rate", "1.5");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--max-conversion-rate must be between 0 and 1", output, StringComparison.Ordinal);
        Assert.DoesNotContain("MaxConversionRate", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--top-k", "0", "--top-k must be between", "TopK")]
    [InlineData("--shard-size", "0", "--shard-size must be between", "ShardSize")]
    [InlineData("--min-views", "-1", "--min-views must be between", "MinViews")]
    [InlineData("--llm-tokens", "-1", "--llm-tokens must not be negative", "LlmTokensPerRun")]
    public async Task Run_OutOfRangeOption_NamesTheFlag(string flag, string value, string expected, string property)
    {
        var (code, output) = await Run("--storage", Unreachable, "run", "--dataset", "x", flag, value);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.DoesNotContain(property, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a b")]
    public async Task Run_BadRunId_StatesTheRuleWithoutParameterName(string runId)
    {
        var (code, output) = await Run("--storage", Unreachable, "run", "--dataset", "x", "--run-id", runId);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("letters, digits", output, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_BadRunId_StatesTheRuleWithoutParameterName()
    {
        var (code, output) = await Run("--storage", Unreachable, "status", "a/b");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("letters, digits", output, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_EventsIsADirectory_SaysItIsADirectory()
    {
        var dir = Directory.CreateTempSubdirectory("rolegen-cli-").FullName;
        try
        {
            var (code, output) = await Run("--storage", Unreachable, "run", "--events", dir, "--format", "taobao");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains("is a directory", output, StringComparison.Ordinal);
            Assert.DoesNotContain("does not exist", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Theory]
    [InlineData("", "normalized", "is empty")]
    [InlineData("user_id,item_id,category_id,event_type,timestamp\n", "normalized", "has only a header")]
    [InlineData("user,item,category,behavior,ts\n\n", "taobao", "has only a header")]
    public async Task Ingest_NoDataRows_SaysSoWithoutBlamingTheFormat(string content, string format, string expected)
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, content);
            var (code, output) = await Run("--storage", Unreachable, "ingest", "--events", file, "--format", format, "--dataset", "x");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains(expected, output, StringComparison.Ordinal);
            Assert.DoesNotContain("quarantined", output, StringComparison.Ordinal);
            Assert.DoesNotContain(": )", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Ingest_TaobaoFileAsNormalized_FailsOnTheHeaderMismatch()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "1,2268318,2520377,pv,1511544070\n1,2333346,2520771,buy,1511561733\n");
            var (code, output) = await Run("--storage", Unreachable, "ingest", "--events", file, "--format", "normalized", "--dataset", "x");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains("does not match --format normalized", output, StringComparison.Ordinal);
            Assert.Contains("--format taobao", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Run_StorageNotReachable_ExitsWithHintToStartAzurite()
    {
        var (code, output) = await Run("--storage", Unreachable, "run", "--dataset", "anything");
        Assert.Equal(ExitCodes.StorageUnreachable, code);
        Assert.Contains("127.0.0.1:9", output, StringComparison.Ordinal);
        Assert.Contains("scripts/azurite.sh start", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ingest_BadDatasetName_ExplainsTheRule()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (code, output) = await Run("ingest", "--events", file, "--format", "taobao", "--dataset", "Bad Name!");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains("lowercase", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void FormatProgress_Scoring_ShowsShardsAndUsers()
    {
        var text = RunConsole.FormatProgress(new Core.Runs.RunProgress("scoring", 3, 8, 1, 1234, 5000));
        Assert.Equal("scoring: shards 3/8 (1 failed), users 1,234/5,000", text);
    }

    [Fact]
    public void ConsoleProgress_Redirected_PrintsForcedLinesOnly()
    {
        var writer = new StringWriter();
        var progress = new ConsoleProgress(writer, interactive: false);
        progress.Report("first", force: true);
        progress.Report("second"); // within 5 s: suppressed
        progress.Done("done");
        Assert.Equal(["first", "done"], writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}

public sealed class ResultsCommandTests
{
    /// <summary>A tiny finished run in <paramref name="store"/>: users u0..u{n-1} over <paramref name="shards"/> shards (the
    /// cohort's stable hash), each with a trajectory, one reasoning line and two candidates; returns the manifest.</summary>
    private static async Task<RunManifest> WriteRunAsync(IBlobStore store, string runId, int users, int shards)
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
    public async Task CandidatesAndExplain_FromTheLocalCopy_WithoutStorage()
    {
        var root = Directory.CreateTempSubdirectory("rolegen-runs-").FullName;
        var previous = Environment.GetEnvironmentVariable("ROLEGEN_OUTPUT");
        Environment.SetEnvironmentVariable("ROLEGEN_OUTPUT", root);
        try
        {
            await WriteRunAsync(new LocalRunStore(root), "r1", users: 12, shards: 3);

            var (code, output) = await CliRunner.RunAsync("--storage", CliTests.Unreachable, "explain", "r1", "--user", "u5");
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Contains("trigger (0.60) opens c2", output, StringComparison.Ordinal);
            Assert.Contains("do(show i9) cat c9: complement → converts in c2; Δ +0.0123", output, StringComparison.Ordinal);
            Assert.Contains("reasoned", output, StringComparison.Ordinal);

            var csv = Path.Combine(root, "out.csv");
            (code, output) = await CliRunner.RunAsync("--storage", CliTests.Unreachable, "candidates", "r1", "--out", csv);
            Assert.Equal(ExitCodes.Ok, code);
            var lines = await File.ReadAllLinesAsync(csv);
            Assert.Equal("run_id,user_id,shard,arm,rank,item_id,category_id,score,source,role", lines[0]);
            Assert.Equal(1 + 12 * 2, lines.Length);

            (code, output) = await CliRunner.RunAsync("--storage", CliTests.Unreachable, "candidates", "r1", "--user", "nobody");
            Assert.Equal(ExitCodes.NotFound, code);
            Assert.Contains("nobody", output, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ROLEGEN_OUTPUT", previous);
            Directory.Delete(root, recursive: true);
        }
    }

    private static RunSummary SummaryOf(string runId, long published) => new(runId, RunStatus.Succeeded, "d", published, published, published, 3, 0, null,
        BlobLayout.Manifest(runId), BlobLayout.Report(runId), BlobLayout.ShardsPrefix(runId), 1, null);

    [Theory]
    [InlineData(LocalCopyMode.Auto, 12, true)]
    [InlineData(LocalCopyMode.Auto, RunCommand.LocalCopyFullMaxUsers + 1, false)]
    [InlineData(LocalCopyMode.Full, RunCommand.LocalCopyFullMaxUsers + 1, true)]
    [InlineData(LocalCopyMode.Report, 12, false)]
    public async Task SaveLocalCopy_CopiesShardsOnlyWhenAskedOrSmall_AndTheReportAlways(LocalCopyMode mode, long published, bool shards)
    {
        var store = new InMemoryBlobStore();
        await WriteRunAsync(store, "r1", users: 12, shards: 3);
        await store.WriteTextAsync(BlobLayout.Report("r1"), "# report");
        await store.WriteTextAsync(BlobLayout.ReportHtml("r1"), "<html/>");
        var root = Directory.CreateTempSubdirectory("rolegen-runs-").FullName;
        try
        {
            var local = new LocalRunStore(root);
            // a stale complete copy of an earlier run with this id: a report-only copy must not leave its manifest behind
            await local.WriteJsonAsync(BlobLayout.Manifest("r1"), new { stale = true });

            var copy = await RunCommand.SaveLocalCopyAsync(store, SummaryOf("r1", published), mode, local, CancellationToken.None);

            Assert.Equal(shards, copy.ShardsCopied);
            Assert.Equal(shards, local.HasRun("r1"));
            Assert.True(File.Exists(Path.Combine(root, "r1", "report.html")));
            var shardFiles = Directory.EnumerateFiles(Path.Combine(root, "r1"), "*.jsonl", SearchOption.AllDirectories).Count();
            Assert.Equal(shards ? 9 : 0, shardFiles);
            Assert.Contains(shards ? "shards/" : "shards stay in storage", copy.Describe(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task SaveLocalCopy_None_WritesNothing()
    {
        var store = new InMemoryBlobStore();
        await WriteRunAsync(store, "r1", users: 4, shards: 2);
        var root = Path.Combine(Path.GetTempPath(), "rolegen-none-" + Guid.NewGuid().ToString("N"));
        var copy = await RunCommand.SaveLocalCopyAsync(store, SummaryOf("r1", 4), LocalCopyMode.None, new LocalRunStore(root), CancellationToken.None);
        Assert.False(copy.ShardsCopied);
        Assert.False(Directory.Exists(root));
    }
}
