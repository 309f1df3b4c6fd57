using System.CommandLine;
using System.Globalization;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Reasoning;

namespace RoleGen.Cli;

/// <summary><c>rolegen prompts list|promote|rollback</c>: the LLM reasoner's prompt lifecycle. Reflection only stages a
/// revision (<c>prompts/reasoner/candidates/{v}</c>); an operator promotes it, and rolls back with one command.</summary>
public static class PromptsCommand
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static readonly Argument<string> VersionArgument = new("version") { Description = "The prompt version to make current (e.g. v2, from 'rolegen prompts list')." };

    public static Command Build()
    {
        var list = new Command("list", "Show the current prompt (version, SHA-256, whether it loads), the staged candidates and the history of the pointer.");
        list.SetAction(ListAsync);
        var promote = new Command("promote", "Move prompts/reasoner/current to a version (a reviewed candidate, or any stored version); records its SHA-256 and the move.")
        {
            VersionArgument,
        };
        promote.SetAction(PromoteAsync);
        var rollback = new Command("rollback", "Move prompts/reasoner/current back to the version that was current before the last promotion.");
        rollback.SetAction(RollbackAsync);
        return new Command("prompts", "The LLM reasoner's prompt versions: list current, candidates and history; promote a candidate; roll back.")
        {
            list, promote, rollback,
        };
    }

    public static Task<int> ListAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        await using var host = await CliHost.StartAsync(CliCommon.Settings(parse), durable: false, cancellationToken).ConfigureAwait(false);
        var prompts = new PromptStore(host.Store);
        var pointer = await prompts.TryReadPointerAsync(cancellationToken).ConfigureAwait(false);
        var loaded = await prompts.LoadAsync(PromptStore.Latest, cancellationToken).ConfigureAwait(false);
        var history = await prompts.HistoryAsync(cancellationToken).ConfigureAwait(false);
        var candidates = await prompts.CandidatesAsync(cancellationToken).ConfigureAwait(false);
        if (pointer is null)
        {
            Console.WriteLine($"Current: {loaded.Template.Version} (shipped default; no {BlobLayout.PromptCurrent} yet) SHA-256 {loaded.Template.Sha256}");
        }
        else
        {
            Console.WriteLine($"Current: {pointer.Version} since {pointer.CreatedAt.ToString("u", Ci)}"
                + (pointer.BasedOn is null ? "" : $", based on {pointer.BasedOn}")
                + (pointer.Sha256 is null ? ", no SHA-256 recorded (unchecked)" : $", SHA-256 {pointer.Sha256}")
                + (string.IsNullOrWhiteSpace(pointer.Reason) ? "" : $": {pointer.Reason}"));
            if (loaded.Problem is not null)
            {
                Console.WriteLine($"  REFUSED: {loaded.Problem}");
            }
        }
        var promoted = history.Where(h => h.Action == "promote").Select(h => h.Version).ToHashSet(StringComparer.Ordinal);
        Console.WriteLine(candidates.Count == 0 ? "Candidates: none" : "Candidates:");
        foreach (var c in candidates)
        {
            var state = c.Version == loaded.Template.Version && loaded.Problem is null ? "current" : promoted.Contains(c.Version) ? "promoted before" : "staged";
            Console.WriteLine($"  {c.Version,-8} {state,-16} from {c.BasedOn,-6} {c.CreatedAt.ToString("u", Ci)}  {c.Reason}");
        }
        Console.WriteLine(history.Count == 0 ? "History: none" : "History (oldest first):");
        foreach (var h in history)
        {
            Console.WriteLine($"  {h.At.ToString("u", Ci)}  {h.Action,-8} {h.From ?? PromptStore.DefaultVersion} -> {h.Version}" + (string.IsNullOrWhiteSpace(h.Reason) ? "" : $"  {h.Reason}"));
        }
        return ExitCodes.Ok;
    });

    public static Task<int> PromoteAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var version = parse.GetValue(VersionArgument);
        if (string.IsNullOrWhiteSpace(version) || BlobLayout.VersionProblem(version) is not null || !PromptStore.IsTemplateVersion(version))
        {
            throw new CliException(ExitCodes.BadInput, $"'{version}' is not a prompt version: use one listed by 'rolegen prompts list' (e.g. v2).");
        }
        await using var host = await CliHost.StartAsync(CliCommon.Settings(parse), durable: false, cancellationToken).ConfigureAwait(false);
        if (!await host.Store.ExistsAsync(BlobLayout.Prompt(version), cancellationToken).ConfigureAwait(false) && PromptStore.Shipped(version) is null)
        {
            throw new CliException(ExitCodes.NotFound, $"No prompt version {version} ({host.Store.Describe(BlobLayout.Prompt(version))} does not exist). 'rolegen prompts list' shows the candidates.");
        }
        var prompts = new PromptStore(host.Store);
        var before = (await prompts.TryReadPointerAsync(cancellationToken).ConfigureAwait(false))?.Version ?? PromptStore.DefaultVersion;
        try
        {
            var pointer = await prompts.PromoteAsync(version, "promoted with rolegen prompts promote", DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Moved {BlobLayout.PromptCurrent} from {before} to {pointer.Version} (SHA-256 {pointer.Sha256}): the next run's LLM reasoner uses it. Undo: rolegen prompts rollback");
        }
        catch (InvalidOperationException ex)
        {
            throw new CliException(ExitCodes.BadInput, ex.Message);
        }
        return ExitCodes.Ok;
    });

    public static Task<int> RollbackAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        await using var host = await CliHost.StartAsync(CliCommon.Settings(parse), durable: false, cancellationToken).ConfigureAwait(false);
        var prompts = new PromptStore(host.Store);
        var before = (await prompts.TryReadPointerAsync(cancellationToken).ConfigureAwait(false))?.Version ?? PromptStore.DefaultVersion;
        try
        {
            var pointer = await prompts.RollbackAsync(DateTimeOffset.UtcNow, null, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Rolled {BlobLayout.PromptCurrent} back from {before} to {pointer.Version} (SHA-256 {pointer.Sha256}): the next run's LLM reasoner uses it.");
        }
        catch (InvalidOperationException ex)
        {
            throw new CliException(ExitCodes.BadInput, ex.Message);
        }
        return ExitCodes.Ok;
    });
}
