using System.CommandLine;
using System.Globalization;
using System.Text;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Cli;

/// <summary><c>rolegen candidates</c> and <c>rolegen explain</c>: a run's results without an Azure tool, from the run's local
/// copy (<see cref="LocalRunStore"/>, written when the run finished) or else from storage (Azurite or Azure).</summary>
public static class ResultsCommands
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>Trajectory steps <c>explain</c> prints (the most recent ones).</summary>
    private const int MaxSteps = 40;

    public static readonly Option<string> User = new("--user") { Description = "One user id." };
    public static readonly Option<string> RequiredUser = new("--user") { Description = "The user id to explain.", Required = true };
    public static readonly Option<FileInfo> Out = new("--out") { Description = "Write the rows to this file: .jsonl (one user per line, as published) or .csv (one item per line)." };

    public static IEnumerable<Command> Build()
    {
        var candidates = new Command("candidates", "Print or export a run's published candidates (all users or --user U) from .rolegen/runs/ or storage.")
        {
            Commands.RunIdArgument, User, Out,
        };
        candidates.SetAction(CandidatesAsync);
        var explain = new Command("explain", "Explain one user's list: trajectory with roles, counterfactual paths with Δ, final items with source and role.")
        {
            Commands.RunIdArgument, RequiredUser,
        };
        explain.SetAction(ExplainAsync);
        return [candidates, explain];
    }

    public static Task<int> CandidatesAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var runId = CliCommon.ParseRunId(parse.GetValue(Commands.RunIdArgument));
        var user = parse.GetValue(User);
        var outFile = parse.GetValue(Out);
        var csv = outFile is not null && outFile.Extension.Equals(".csv", StringComparison.OrdinalIgnoreCase);
        if (outFile is not null && !csv && !outFile.Extension.Equals(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            throw new CliException(ExitCodes.BadInput, $"--out '{outFile.Name}': use a .jsonl or a .csv file name.");
        }
        await using var source = await RunSource.OpenAsync(parse, runId, cancellationToken).ConfigureAwait(false);
        var reader = new RunResultsReader(source.Store);
        IAsyncEnumerable<CandidateRow> rows;
        if (user is not null)
        {
            var row = await reader.CandidatesOfAsync(source.Manifest, user, cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.NotFound, $"User '{user}' has no published candidates in run {runId} (not dormant, or in a failed shard).");
            rows = One(row);
        }
        else
        {
            rows = reader.CandidatesAsync(source.Manifest, cancellationToken);
        }
        if (outFile is not null)
        {
            var (users, items) = await WriteAsync(rows, outFile, csv, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Wrote {users:N0} users, {items:N0} items of run {runId} ({source.Where}) to {outFile.FullName}");
            return ExitCodes.Ok;
        }
        var shown = 0;
        var total = 0;
        var limit = user is null ? 5 : 1;
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            total++;
            if (shown < limit)
            {
                PrintRow(row);
                shown++;
            }
        }
        if (user is null)
        {
            Console.WriteLine(string.Create(Ci, $"{total:N0} users published in run {runId} ({source.Where}); shown {shown}. All of them: rolegen candidates {runId} --out candidates.csv (or .jsonl)"));
        }
        return ExitCodes.Ok;
    });

    public static Task<int> ExplainAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var runId = CliCommon.ParseRunId(parse.GetValue(Commands.RunIdArgument));
        var user = parse.GetValue(RequiredUser)!;
        await using var source = await RunSource.OpenAsync(parse, runId, cancellationToken).ConfigureAwait(false);
        var explanation = await new RunResultsReader(source.Store).ExplainAsync(source.Manifest, user, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.NotFound, $"User '{user}' has no published candidates in run {runId} (not dormant, or in a failed shard). Try: rolegen candidates {runId}");
        Console.Write(Render(explanation));
        return ExitCodes.Ok;
    });

    /// <summary>The explanation as text (what <c>rolegen explain</c> prints).</summary>
    public static string Render(UserExplanation e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var sb = new StringBuilder();
        var reasoned = e.Reasoning is { } rr ? string.Create(Ci, $", reasoner {rr.Reasoner}, P(conversion) {rr.BaseConversion:F4}") : ", no reasoning (model alone)";
        sb.AppendLine(Ci, $"User {e.UserId} in run {e.RunId}: shard {e.Shard}, arm {e.Arm?.ToString().ToLowerInvariant() ?? "none"}{reasoned}");
        if (e.Trajectory is { } t)
        {
            sb.AppendLine(Ci, $"Trajectory ({t.Views} views, {t.Carts} carts, {t.Purchases} purchases, {t.ActiveDays} active days; last {t.Steps.Count} steps, oldest first):");
            var steps = e.Steps;
            if (steps.Count > MaxSteps)
            {
                sb.AppendLine(Ci, $"  … {steps.Count - MaxSteps} earlier steps not shown");
            }
            foreach (var (step, role) in steps.Skip(Math.Max(0, steps.Count - MaxSteps)))
            {
                var what = role is null ? "-" : string.Create(Ci, $"{role.Role.ToString().ToLowerInvariant()} ({role.Confidence:F2}) {role.Reason}");
                sb.AppendLine(Ci, $"  {DateTimeOffset.FromUnixTimeSeconds(step.Ts):yyyy-MM-dd HH:mm}  {step.Type.ToString().ToLowerInvariant(),-8} item {step.Item,-10} cat {step.Category,-8} {what}");
            }
        }
        else
        {
            sb.AppendLine("Trajectory: not in the shard's users.jsonl.");
        }
        if (e.Reasoning is { } r)
        {
            sb.AppendLine(Ci, $"Counterfactual paths do(show x), best first ({r.Paths.Count}):");
            foreach (var p in r.Paths)
            {
                sb.AppendLine(Ci, $"  do(show {p.Item}) cat {p.Category}: {p.Role.ToString().ToLowerInvariant()} → converts in {p.TargetCategory}; Δ {p.Delta:+0.0000;-0.0000;0} (P {p.Conversion:F4}, prior {p.Prior:F2}) — {p.Rationale}");
            }
            if (r.FallbackReason is not null)
            {
                sb.AppendLine(Ci, $"  (LLM result not used: {r.FallbackReason})");
            }
        }
        sb.AppendLine(Ci, $"Final list ({e.Items.Count}):");
        foreach (var c in e.Items)
        {
            sb.AppendLine(Ci, $"  {c.Rank,3}. item {c.ItemId,-10} cat {c.CategoryId,-8} score {c.Score,8:F4}  {c.Source,-18} {c.Role?.ToString().ToLowerInvariant() ?? "-"}");
        }
        return sb.ToString();
    }

    private static void PrintRow(CandidateRow row)
    {
        var items = string.Join(", ", row.Items.Take(10).Select(c => $"{c.ItemId} [{c.Source}{(c.Role is { } role ? "/" + role.ToString().ToLowerInvariant() : string.Empty)}]"));
        var more = row.Items.Count > 10 ? string.Create(Ci, $", … ({row.Items.Count} items)") : string.Empty;
        Console.WriteLine(string.Create(Ci, $"{row.UserId} (shard {row.Shard}, arm {row.Arm?.ToString().ToLowerInvariant() ?? "none"}): {items}{more}"));
    }

    private static async Task<(long Users, long Items)> WriteAsync(IAsyncEnumerable<CandidateRow> rows, FileInfo file, bool csv, CancellationToken cancellationToken)
    {
        if (file.Directory is { Exists: false } dir)
        {
            dir.Create();
        }
        await using var writer = new StreamWriter(file.FullName, append: false, new UTF8Encoding(false));
        if (csv)
        {
            await writer.WriteLineAsync("run_id,user_id,shard,arm,rank,item_id,category_id,score,source,role").ConfigureAwait(false);
        }
        long users = 0, items = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            users++;
            if (!csv)
            {
                await writer.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(row, RoleGenJson.Options)).ConfigureAwait(false);
                items += row.Items.Count;
                continue;
            }
            foreach (var c in row.Items)
            {
                items++;
                await writer.WriteLineAsync(string.Join(',', Csv(row.RunId), Csv(row.UserId), row.Shard.ToString(Ci), row.Arm?.ToString().ToLowerInvariant() ?? string.Empty,
                    c.Rank.ToString(Ci), Csv(c.ItemId), Csv(c.CategoryId), c.Score.ToString("R", Ci), Csv(c.Source), c.Role?.ToString().ToLowerInvariant() ?? string.Empty)).ConfigureAwait(false);
            }
        }
        return (users, items);

        static string Csv(string s) => s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
    }

    private static async IAsyncEnumerable<CandidateRow> One(CandidateRow row)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return row;
    }

    /// <summary>Where a run's results are read from: its local copy when present, else storage (a host without the durable worker).</summary>
    private sealed class RunSource : IAsyncDisposable
    {
        private readonly CliHost? _host;

        private RunSource(IBlobStore store, RunManifest manifest, string where, CliHost? host)
        {
            Store = store;
            Manifest = manifest;
            Where = where;
            _host = host;
        }

        public IBlobStore Store { get; }

        public RunManifest Manifest { get; }

        public string Where { get; }

        public static async Task<RunSource> OpenAsync(ParseResult parse, string runId, CancellationToken cancellationToken)
        {
            var local = LocalRunStore.Default();
            if (local.HasRun(runId))
            {
                var manifest = await new RunResultsReader(local).ManifestAsync(runId, cancellationToken).ConfigureAwait(false);
                if (manifest is not null)
                {
                    return new RunSource(local, manifest, $"local copy {local.RunFolder(runId)}", null);
                }
            }
            var settings = CliCommon.Settings(parse);
            var host = await CliHost.StartAsync(settings, durable: false, cancellationToken).ConfigureAwait(false);
            try
            {
                var manifest = await new RunResultsReader(host.Store).ManifestAsync(runId, cancellationToken).ConfigureAwait(false)
                    ?? throw new CliException(ExitCodes.NotFound,
                        $"No run '{runId}': neither a local copy in {local.RunFolder(runId)} nor {BlobLayout.Manifest(runId)} in container '{settings.Container}'. Check the id (rolegen status {runId}).");
                return new RunSource(host.Store, manifest, host.Store.Describe(BlobLayout.RunPrefix(runId)), host);
            }
            catch
            {
                await host.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_host is not null)
            {
                await _host.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
