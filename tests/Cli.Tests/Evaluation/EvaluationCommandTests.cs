namespace RoleGen.Cli.Tests.Evaluation;

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
        var (code, output) = await Run("eval", "--dataset", "beauty", "--data", "/nonexistent/Beauty.txt");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("does not exist", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eval_UnknownDataset_IsBadInput()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (code, output) = await Run("eval", "--dataset", "movielens", "--data", file, "--skip-backbone");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains("beauty or taobao", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ParseList_ReadsCommaSeparatedPositiveIntegers()
    {
        Assert.Equal([20000, 100000], EvaluationCommands.ParseList("20000, 100000", "--items"));
        Assert.Throws<CliException>(() => EvaluationCommands.ParseList("1,x", "--batches"));
        Assert.Throws<CliException>(() => EvaluationCommands.ParseList("", "--batches"));
    }
}
