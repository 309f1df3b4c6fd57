namespace RoleGen.Cli;

/// <summary>Exit codes of <c>rolegen</c> (also listed in <c>rolegen --help</c> and the README).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Usage = 2;
    public const int StorageUnreachable = 3;
    public const int BadInput = 4;
    public const int NotFound = 5;
    public const int PartialRun = 10;
    public const int FailedRun = 11;
    public const int Cancelled = 130;

    public const string Help = "Exit codes: 0 ok; 2 usage error; 3 storage (Azurite) not reachable; 4 bad input (missing file, bad format, invalid option); " +
                               "5 run not found; 10 run finished with failed shards; 11 run failed; 130 cancelled.";
}

/// <summary>An error the user can fix; the message says how. Maps to an exit code.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
