using System.Globalization;
using RoleGen.Core.Demo;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;

namespace RoleGen.Evaluation;

/// <summary>A behaviour log read for evaluation with the production readers (Core's <see cref="EventReader"/>, any
/// supported format): the valid events, and every rejected row counted by reason (with a few samples) — never dropped
/// silently.</summary>
public sealed record EvalLog(
    string Name,
    string Source,
    string Format,
    IReadOnlyList<BehaviorEvent> Events,
    long Lines,
    IReadOnlyDictionary<string, long> Quarantined,
    IReadOnlyList<string> Samples)
{
    public const int MaxSamples = 5;

    public long QuarantinedRows => Quarantined.Values.Sum();

    /// <summary>One line for the report: what was read and what was rejected (null when nothing was).</summary>
    public string? QuarantineNote => QuarantinedRows == 0
        ? null
        : string.Create(CultureInfo.InvariantCulture,
            $"input: {QuarantinedRows} of {Lines} rows of {Source} quarantined ({string.Join(", ", Quarantined.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"))}), e.g. {string.Join("; ", Samples)}");

    public static EvalLog Read(Stream stream, EventFormat format, string name, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var events = new List<BehaviorEvent>();
        var quarantined = new Dictionary<string, long>(StringComparer.Ordinal);
        var samples = new List<string>();
        var lines = new HashSet<long>();
        foreach (var row in EventReader.Read(stream, format))
        {
            lines.Add(row.Line);
            if (row.IsValid)
            {
                events.Add(row.Event);
                continue;
            }
            var code = row.ErrorCode ?? "invalid";
            quarantined[code] = quarantined.GetValueOrDefault(code) + 1;
            if (samples.Count < MaxSamples)
            {
                samples.Add(string.Create(CultureInfo.InvariantCulture, $"line {row.Line}: {row.Error}"));
            }
        }
        return new EvalLog(name, source, format.ToString().ToLowerInvariant(), events, lines.Count, quarantined, samples);
    }

    /// <summary>Reads <paramref name="path"/>; a missing file or a directory is a clear <see cref="FileNotFoundException"/>.</summary>
    public static EvalLog ReadFile(string path, EventFormat format, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            throw new FileNotFoundException($"{path} is a directory, not a log file: pass the file itself.", path);
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} does not exist.", path);
        }
        using var stream = File.OpenRead(path);
        return Read(stream, format, name ?? EventStore.DatasetFromFileName(Path.GetFullPath(path)), Path.GetFullPath(path));
    }

    /// <summary>A demo world generated in memory (the generator of <c>rolegen demo</c>), as a log, with its generator
    /// (ground truth).</summary>
    public static (EvalLog Log, DemoWorldGenerator Generator) Demo(int users, int seed)
    {
        var generator = new DemoWorldGenerator(new DemoWorldOptions { Users = users, Seed = seed });
        var events = generator.Generate().ToArray();
        return (new EvalLog($"demo-s{seed.ToString(CultureInfo.InvariantCulture)}", $"demo-world(users={users}, seed={seed})", "demo", events, events.Length,
            new Dictionary<string, long>(), []), generator);
    }

    /// <summary>An external test file: CSV lines <c>user_id,item_id[,...]</c> (an optional header naming user and item
    /// columns is skipped); lines with fewer than two fields or an empty id are counted in <paramref name="bad"/>.</summary>
    public static IReadOnlyList<(string User, string Item)> ReadTestPairs(string path, out long bad)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--test {path} does not exist.", path);
        }
        var pairs = new List<(string, string)>();
        bad = 0;
        var first = true;
        foreach (var raw in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(raw))
            {
                continue;
            }
            var parts = raw.Split(',');
            if (first)
            {
                first = false;
                if (parts.Length >= 2 && parts[0].Trim().StartsWith("user", StringComparison.OrdinalIgnoreCase) && parts[1].Trim().StartsWith("item", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
            }
            if (parts.Length < 2 || parts[0].Trim().Length == 0 || parts[1].Trim().Length == 0)
            {
                bad++;
                continue;
            }
            pairs.Add((parts[0].Trim(), parts[1].Trim()));
        }
        return pairs;
    }
}
