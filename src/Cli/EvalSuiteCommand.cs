using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Evaluation;

namespace RoleGen.Cli;

/// <summary><c>rolegen eval-suite</c>: RoleGen against the strongest baseline on several logs and training seeds, pooled
/// with a CI over users and seeds.</summary>
public static class EvalSuiteCommand
{
    public static readonly Option<string[]> Logs = new("--log")
    {
        Description = "A log to evaluate: name=format:path (format taobao|normalized|otto|sasrec), e.g. taobao=taobao:../shared/data/taobao-head/UserBehavior_head_raw.csv. Repeat for more logs.",
        AllowMultipleArgumentsPerToken = true,
    };
    public static readonly Option<string> DemoSeeds = new("--demo-seeds") { Description = "Comma-separated seeds of demo worlds to add as logs (held out from tuning: use seeds other than 42 and 7)." };
    public static readonly Option<int> DemoUsers = new("--demo-users") { Description = "Users per demo world.", DefaultValueFactory = _ => 5_000 };
    public static readonly Option<string> Seeds = new("--seeds") { Description = "Comma-separated backbone training seeds (every figure is their mean).", DefaultValueFactory = _ => "1,2,3,4,5" };
    public static readonly Option<bool> SkipBackbone = new("--skip-backbone") { Description = "No backbone: RoleGen fuses over the transition model (deterministic: one run per log)." };
    public static readonly Option<int> Epochs = new("--epochs") { Description = "Backbone: maximum epochs.", DefaultValueFactory = _ => 200 };
    public static readonly Option<double> Budget = new("--budget-seconds") { Description = "Backbone: training time budget per model (0 = none)." };
    public static readonly Option<int> Threads = new("--threads") { Description = "torch / ONNX Runtime intra-op threads (0 = all cores)." };
    public static readonly Option<int> Resamples = new("--resamples") { Description = "Bootstrap resamples.", DefaultValueFactory = _ => 1000 };
    public static readonly Option<FileInfo> Out = new("--out") { Description = "Suite report JSON (the markdown is written next to it; each finished log × seed run is kept in {out}-runs/ as it ends).", DefaultValueFactory = _ => new FileInfo("eval-suite.json") };
    public static readonly Option<bool> Resume = new("--resume") { Description = "Read the runs already in {out}-runs/ (same sources and settings, checked) instead of running them again: continue a suite that was stopped, or add logs and seeds to one." };

    public static Command Build()
    {
        var command = new Command("eval-suite", "RoleGen vs the strongest baseline over several logs and training seeds, with paired bootstrap CIs.")
        {
            Logs, DemoSeeds, DemoUsers, Seeds, SkipBackbone, Epochs, Budget, Threads, Resamples, Out, Resume,
        };
        command.SetAction(RunAsync);
        return command;
    }

    private static Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var policy = new DormancyPolicy();
        var logs = new List<SuiteLog>();
        foreach (var spec in parse.GetValue(Logs) ?? [])
        {
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            var colon = eq < 0 ? -1 : spec.IndexOf(':', eq + 1);
            if (eq < 1 || colon < 0 || !EventFormats.TryParse(spec[(eq + 1)..colon], out var format))
            {
                throw new CliException(ExitCodes.BadInput, $"--log '{spec}': use name=format:path with format {EventFormats.Names}.");
            }
            var name = spec[..eq];
            var path = Path.GetFullPath(spec[(colon + 1)..]);
            var read = EvalLog.ReadFile(path, format, name);
            if (read.Events.Count == 0)
            {
                throw new CliException(ExitCodes.BadInput, $"--log {name}: no valid events in {path} as {format}.");
            }
            logs.Add(new SuiteLog(name, path, () =>
            {
                var data = format == EventFormat.Sasrec ? LeaveOneOutEvalSplit.Create(read.Events, policy, name) : TemporalSplit.Create(read.Events, null, policy, name);
                if (read.QuarantineNote is { } q)
                {
                    data.Notes.Insert(0, q);
                }
                return data;
            }));
        }
        foreach (var seed in EvaluationCommands.ParseList(parse.GetValue(DemoSeeds) ?? "", "--demo-seeds", allowEmpty: true))
        {
            var users = parse.GetValue(DemoUsers);
            logs.Add(new SuiteLog($"demo-s{seed}", $"demo-world(users={users}, seed={seed})",
                () => TemporalSplit.Create(EvalLog.Demo(users, seed).Log.Events, null, policy, $"demo-s{seed}"), Generated: true));
        }
        if (logs.Count == 0)
        {
            throw new CliException(ExitCodes.Usage, "Give at least one --log name=format:path or --demo-seeds.");
        }
        var seeds = EvaluationCommands.ParseList(parse.GetValue(Seeds), "--seeds").Select(s => (long)s).ToArray();
        var outFile = parse.GetValue(Out)!.FullName;
        var outStem = Path.Combine(Path.GetDirectoryName(outFile) ?? ".", Path.GetFileNameWithoutExtension(outFile));
        var options = new EvalOptions
        {
            SkipBackbone = parse.GetValue(SkipBackbone),
            Epochs = parse.GetValue(Epochs),
            BudgetSeconds = parse.GetValue(Budget),
            Threads = parse.GetValue(Threads),
            Resamples = Math.Max(1, parse.GetValue(Resamples)),
            WorkDir = outStem + "-backbone",
        };
        var store = new SuiteRunStore(outStem + "-runs", parse.GetValue(Resume));
        SuiteReport report;
        try
        {
            report = await EvalSuite.RunAsync(logs, seeds, options, Console.WriteLine, store, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new CliException(ExitCodes.BadInput, e.Message);
        }
        var markdown = report.ToMarkdown();
        Console.WriteLine();
        Console.WriteLine(markdown);
        Directory.CreateDirectory(Path.GetDirectoryName(outFile) ?? ".");
        await File.WriteAllTextAsync(outFile, JsonSerializer.Serialize(report, EvalReport.Json), cancellationToken).ConfigureAwait(false);
        var md = EvaluationCommands.ReportFiles(outFile).Markdown;
        await File.WriteAllTextAsync(md, markdown, cancellationToken).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Suite report: {outFile}\n              {md}"));
        return ExitCodes.Ok;
    });
}
