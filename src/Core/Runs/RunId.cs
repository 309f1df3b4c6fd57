using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace RoleGen.Core.Runs;

/// <summary>
/// A run id: the durable instance id of a run and its blob folder <c>runs/{id}/</c>. One rule for every entry point (CLI,
/// HTTP API, timer): 1-80 ASCII letters, digits, '-', '_' or '.', with at least one letter or digit (so "." and ".." —
/// which the storage SDK resolves as path steps — are refused). Ids starting with <see cref="NightlyPrefix"/> belong to
/// the nightly timer: the HTTP API refuses them, so no caller can pre-empt (and so cancel) a night's run.
/// </summary>
public readonly record struct RunId
{
    public const int MaxLength = 80;

    /// <summary>The timer's id space: <c>nightly-yyyy-MM-dd</c>.</summary>
    public const string NightlyPrefix = "nightly-";

    private RunId(string value) => Value = value;

    public string Value { get; }

    public override string ToString() => Value ?? string.Empty;

    /// <summary>True when the id belongs to the nightly timer's id space (<see cref="NightlyPrefix"/>, any case).</summary>
    public bool IsReserved => Value is not null && Value.StartsWith(NightlyPrefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>Why <paramref name="text"/> is not a valid run id, or null when it is.</summary>
    public static string? Problem(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return $"run id is required: use 1-{MaxLength} letters, digits, '-', '_' or '.'";
        }
        if (text.Length > MaxLength)
        {
            return $"run id '{Clip(text)}' is {text.Length} characters long; at most {MaxLength} are allowed";
        }
        if (!text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || !text.Any(char.IsAsciiLetterOrDigit))
        {
            return $"run id '{Clip(text)}' is not valid: use 1-{MaxLength} letters, digits, '-', '_' or '.', with at least one letter or digit";
        }
        return null;
    }

    /// <summary>Why <paramref name="text"/> cannot name an ad-hoc run (HTTP API, <c>rolegen run</c>), or null when it can:
    /// the run-id rule plus the timer's reserved id space.</summary>
    public static string? AdHocProblem(string? text)
    {
        if (Problem(text) is { } problem)
        {
            return problem;
        }
        return text!.StartsWith(NightlyPrefix, StringComparison.OrdinalIgnoreCase)
            ? $"run id '{Clip(text)}' is reserved: ids starting with '{NightlyPrefix}' belong to the nightly timer (a run under tonight's id would make the timer start nothing)"
            : null;
    }

    public static bool TryParse([NotNullWhen(true)] string? text, out RunId id)
    {
        id = default;
        if (Problem(text) is not null)
        {
            return false;
        }
        id = new RunId(text!);
        return true;
    }

    /// <summary>The id, or an <see cref="ArgumentException"/> whose message states the rule (and names no parameter).</summary>
    public static RunId Parse(string? text) => TryParse(text, out var id) ? id : throw new ArgumentException(Capitalize(Problem(text)!) + ".");

    /// <summary>The durable instance id of shard <paramref name="shard"/>'s sub-orchestration: <c>{runId}:shard:{NNNNN}</c>
    /// (':' cannot occur in a run id, so no run can take it).</summary>
    public static string ShardInstance(string runId, int shard) => string.Create(CultureInfo.InvariantCulture, $"{runId}:shard:{shard:D5}");

    /// <summary>The night chain's instance id: <c>{runId}:night</c>.</summary>
    public static string NightChainInstance(string runId) => runId + ":night";

    /// <summary>The nightly run of <paramref name="utcDate"/>: <c>nightly-yyyy-MM-dd</c>.</summary>
    public static RunId Nightly(DateTime utcDate) => new(NightlyPrefix + utcDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

    /// <summary>A fresh id for an ad-hoc run: <c>{dataset}-{yyyyMMdd-HHmmss}[-{6 hex}]</c> (at most 80 characters).</summary>
    public static RunId New(string dataset, DateTimeOffset utcNow, Guid? nonce = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        // The dataset may still be unvalidated here (its own check reports it): keep the id valid whatever it holds.
        var stem = new string((dataset.Length > 50 ? dataset[..50] : dataset).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray());
        if (stem.StartsWith(NightlyPrefix, StringComparison.OrdinalIgnoreCase))
        {
            stem = "run-" + stem;
        }
        var text = string.Create(CultureInfo.InvariantCulture, $"{stem}-{utcNow.UtcDateTime:yyyyMMdd-HHmmss}");
        if (nonce is { } n)
        {
            text += "-" + n.ToString("N")[..6];
        }
        return Parse(text);
    }

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
