namespace RoleGen.Cli.Tests;

/// <summary>Runs the rolegen command line in process and captures what it prints (this assembly runs tests one at a time).</summary>
internal static class CliRunner
{
    public static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        var writer = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(writer);
        Console.SetError(writer);
        try
        {
            var parse = Commands.Build().Parse(args);
            if (parse.Errors.Count > 0)
            {
                return (ExitCodes.Usage, string.Join("\n", parse.Errors.Select(e => e.Message)));
            }
            return (await parse.InvokeAsync(), writer.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
