namespace RoleGen.Integration.Tests;

/// <summary>Runs the rolegen CLI in process and captures what it prints (tests in this assembly run one at a time).</summary>
public static class Rolegen
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        await Gate.WaitAsync();
        var outWriter = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(outWriter);
        Console.SetError(outWriter);
        try
        {
            var code = await Cli.Commands.Build().Parse(args).InvokeAsync();
            return (code, outWriter.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
            Gate.Release();
        }
    }
}
