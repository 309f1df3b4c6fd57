using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Cli;

/// <summary>What every command handler shares: settings from the global flags, the run-id rule, and the error guard that turns
/// exceptions into exit codes with a message.</summary>
public static class CliCommon
{
    internal static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static CliSettings Settings(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var storage = parse.GetValue(Commands.Storage);
        if (string.IsNullOrWhiteSpace(storage))
        {
            storage = Environment.GetEnvironmentVariable("ROLEGEN_STORAGE");
        }
        return new CliSettings(
            string.IsNullOrWhiteSpace(storage) ? CliSettings.DefaultConnectionString : storage,
            parse.GetValue(Commands.Container) ?? "rolegen",
            parse.GetValue(Commands.TaskHub) ?? "rolegen",
            parse.GetValue(Commands.InMemory),
            parse.GetValue(Commands.Verbose));
    }

    /// <summary>The CLI applies the same run-id rule as the HTTP API (<see cref="RunId"/>); read-only commands may name a
    /// <c>nightly-</c> id (to inspect a night).</summary>
    internal static string ParseRunId(string? text) =>
        RunId.TryParse(text, out var id) ? id.Value : throw new CliException(ExitCodes.BadInput, RunId.Problem(text) is { } p ? char.ToUpperInvariant(p[0]) + p[1..] + "." : "Invalid run id.");

    /// <summary>The id of an ad-hoc run started by the CLI: like the HTTP API, it refuses the nightly timer's id space
    /// (<see cref="RunId.NightlyPrefix"/>), so a local run on a shared task hub cannot pre-empt a night.</summary>
    internal static string ParseAdHocRunId(string? text) =>
        RunId.AdHocProblem(text) is { } p ? throw new CliException(ExitCodes.BadInput, char.ToUpperInvariant(p[0]) + p[1..] + ".") : text!;

    /// <summary>Request and policy validation names properties (<c>TopK</c>, <c>The field MinViews</c>); the CLI user typed flags.</summary>
    internal static string InFlagTerms(string message)
    {
        var text = message.Replace("The field ", string.Empty, StringComparison.Ordinal);
        foreach (var (property, flag) in PropertyFlags)
        {
            text = System.Text.RegularExpressions.Regex.Replace(text, $@"(?<![\w.-]){System.Text.RegularExpressions.Regex.Escape(property)}\b", flag);
        }
        return text;
    }

    private static readonly (string Property, string Flag)[] PropertyFlags =
    [
        ("Reasoner.MaxInterventions", "--interventions"),
        ("Reasoner.PathsPerUser", "--interventions"),
        ("Reasoner.LlmTokensPerRun", "--llm-tokens"),
        ("Experiment.TreatmentShare", "--treatment-share"),
        ("ShardSize", "--shard-size"),
        ("ShardCount", "--shard-count"),
        ("TopK", "--top-k"),
        ("MaxParallelShards", "--max-parallel-shards"),
        ("LookbackDays", "--lookback-days"),
        ("MinViews", "--min-views"),
        ("MaxConversionRate", "--max-conversion-rate"),
        ("MinActiveDays", "--min-active-days"),
    ];

    internal static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine($"rolegen: {ex.Message}");
            return ex.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("rolegen: cancelled. A durable run keeps its state: run the same command with the same --run-id to resume it.");
            return ExitCodes.Cancelled;
        }
        catch (PermanentFailureException ex)
        {
            Console.Error.WriteLine($"rolegen: {ex.Message}");
            return ExitCodes.BadInput;
        }
    }
}
