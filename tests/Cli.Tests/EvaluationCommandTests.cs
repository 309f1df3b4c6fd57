using RoleGen.Evaluation;

namespace RoleGen.Cli.Tests;

public sealed class EvaluationCommandTests
{
    private static Task<(int Code, string Output)> Run(params string[] args) => CliRunner.RunAsync(args);

    [Theory]
    [InlineData(new[] { "eval", "--help" }, "--dataset")]
    [InlineData(new[] { "eval", "--help" }, "--model-dir")]
    [InlineData(new[] { "eval", "--help" }, "--budget-seconds")]
    [InlineData(new[] { "bench", "--help" }, "score")]
    [InlineData(new[] { "bench", "--help" }, "train")]
    [InlineData(new[] { "bench", "score", "--help" }, "--batches")]
    [InlineData(new[] { "bench", "train", "--help" }, "--epochs")]
    public async Task Help_DescribesOptions(string[] args, string expected)
    {
        var (code, output) = await Run(args);
        Assert.Equal(0, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eval_MissingFile_IsBadInput()
    {
        var (code, output) = await Run("eval", "--format", "sasrec", "--data", "/nonexistent/Beauty.txt");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("does not exist", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eval_UnknownFormat_IsBadInput()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (code, output) = await Run("eval", "--format", "movielens", "--data", file, "--skip-backbone");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains("Unknown --format 'movielens': use taobao|normalized|otto|sasrec|demo", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(new[] { "eval", "--help" }, "--cohort")]
    [InlineData(new[] { "eval", "--help" }, "--no-upload")]
    [InlineData(new[] { "eval", "--help" }, "--blob-prefix")]
    [InlineData(new[] { "eval", "--help" }, "demo")]
    public async Task Help_DescribesReportOptions(string[] args, string expected) => await Help_DescribesOptions(args, expected);

    [Fact]
    public async Task Eval_UnknownCohort_IsBadInput()
    {
        var (code, output) = await Run("eval", "--format", "taobao", "--data", "/nonexistent.csv", "--cohort", "sleepy");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--cohort must be all or dormant", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eval_DormantCohortOnAPurchaseOnlyLog_SaysItIsNotMeasurable()
    {
        var dir = Directory.CreateTempSubdirectory("rolegen-eval-loo-");
        try
        {
            var file = Path.Combine(dir.FullName, "Beauty.txt");
            await File.WriteAllTextAsync(file, string.Concat(Enumerable.Range(0, 30).Select(u => $"u{u} a{u % 5} b{u % 7} c{u % 3} d{u % 4}\n")));
            var (code, output) = await Run("eval", "--format", "sasrec", "--data", file, "--cohort", "dormant", "--skip-backbone", "--no-upload",
                "--resamples", "20", "--out", Path.Combine(dir.FullName, "e.json"));
            Assert.True(code == ExitCodes.Ok, output);
            Assert.Contains("leave-one-out", output, StringComparison.Ordinal);
            Assert.Contains("dormant cohort: not measurable on this log", output, StringComparison.Ordinal);
            Assert.DoesNotContain("| dormant |", output, StringComparison.Ordinal); // no 0-user rows
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Eval_PublicDatasetWithoutData_IsBadInput()
    {
        var (code, output) = await Run("eval", "--format", "taobao", "--no-upload");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--data is required with --format taobao", output, StringComparison.Ordinal);
    }

    /// <summary>A tiny Taobao log: 12 dormant-looking users view items of two categories before the split and buy one after.</summary>
    private static string TaobaoCsv()
    {
        var sb = new System.Text.StringBuilder();
        const long split = 1_512_057_600;
        for (var u = 0; u < 12; u++)
        {
            for (var i = 0; i < 12; i++)
            {
                sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"{100 + u},{10 + (u + i) % 8},{1 + i % 2},pv,{split - 86_400 * (i % 4) - 100 - i}\n");
            }
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"{100 + u},{10 + (u + 1) % 8},{1 + (u + 1) % 2},buy,{split + 10}\n");
        }
        return sb.ToString();
    }

    [Fact]
    public async Task Eval_Taobao_WritesJsonMarkdownHtml_AndUnreachableStoreIsOnlyAWarning()
    {
        var dir = Directory.CreateTempSubdirectory("rolegen-eval-");
        try
        {
            var csv = Path.Combine(dir.FullName, "ub.csv");
            await File.WriteAllTextAsync(csv, TaobaoCsv());
            var json = Path.Combine(dir.FullName, "out", "eval.json");
            var (code, output) = await Run("--storage", CliTests.Unreachable, "eval", "--format", "taobao", "--data", csv, "--split-time", "1512057600", "--skip-backbone",
                "--cohort", "dormant", "--resamples", "50", "--dataset", "taobao", "--out", json);
            Assert.True(code == ExitCodes.Ok, output);
            Assert.Contains("cohort = dormant", output, StringComparison.Ordinal);
            Assert.Contains("| transition | dormant |", output, StringComparison.Ordinal);
            Assert.DoesNotContain("| transition | all |", output, StringComparison.Ordinal);
            Assert.Contains("warning: the report was not uploaded", output, StringComparison.Ordinal);
            Assert.Contains("scripts/azurite.sh start", output, StringComparison.Ordinal);
            var md = await File.ReadAllTextAsync(Path.ChangeExtension(json, ".md"));
            Assert.Contains("| transition | all |", md, StringComparison.Ordinal); // files keep every cohort
            Assert.Contains("| transition | popularity | dormant | Recall@1 |", md, StringComparison.Ordinal);
            var html = await File.ReadAllTextAsync(Path.ChangeExtension(json, ".html"));
            Assert.Contains("<svg ", html, StringComparison.Ordinal);
            Assert.Contains("taobao / dormant: Recall@K per model", html, StringComparison.Ordinal);
            var report = await File.ReadAllTextAsync(json);
            Assert.Contains("\"recallCi\"", report, StringComparison.Ordinal);
            Assert.Contains("\"ildAt10\"", report, StringComparison.Ordinal);
            Assert.Contains("\"comparisons\"", report, StringComparison.Ordinal);
            Assert.Contains("\"cohort\": \"all\"", report, StringComparison.Ordinal);
            Assert.DoesNotContain("perUser", report, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Eval_Demo_ReportsTriggerRecoveryWithoutData()
    {
        var dir = Directory.CreateTempSubdirectory("rolegen-eval-demo-");
        try
        {
            var json = Path.Combine(dir.FullName, "demo.json");
            var (code, output) = await Run("eval", "--format", "demo", "--users", "1500", "--seed", "7", "--skip-backbone", "--resamples", "20", "--no-upload", "--out", json);
            Assert.True(code == ExitCodes.Ok, output);
            Assert.Contains("| smoothed uplift (reasoner) | 10 |", output, StringComparison.Ordinal);
            Assert.Contains("| popularity (exposed users) |", output, StringComparison.Ordinal);
            Assert.Contains("precision (labelled Trigger", output, StringComparison.Ordinal);
            Assert.DoesNotContain("warning", output, StringComparison.Ordinal);
            Assert.Contains("<svg ", await File.ReadAllTextAsync(Path.ChangeExtension(json, ".html")), StringComparison.Ordinal);
            Assert.Contains("chance", await File.ReadAllTextAsync(Path.ChangeExtension(json, ".md")), StringComparison.Ordinal);
            Assert.Contains("\"truePositives\"", await File.ReadAllTextAsync(json), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void ReportFiles_SitNextToTheJson()
    {
        Assert.Equal(("/r/eval.md", "/r/eval.html"), EvaluationCommands.ReportFiles("/r/eval.json"));
        Assert.Equal(("/r/eval.out.md", "/r/eval.out.html"), EvaluationCommands.ReportFiles("/r/eval.out"));
    }

    [Fact]
    public void ParseList_ReadsCommaSeparatedPositiveIntegers()
    {
        Assert.Equal([20000, 100000], EvaluationCommands.ParseList("20000, 100000", "--items"));
        Assert.Throws<CliException>(() => EvaluationCommands.ParseList("1,x", "--batches"));
        Assert.Throws<CliException>(() => EvaluationCommands.ParseList("", "--batches"));
    }
}
