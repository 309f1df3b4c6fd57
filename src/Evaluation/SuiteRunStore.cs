using System.Globalization;
using System.Text.Json;

namespace RoleGen.Evaluation;

/// <summary>One finished (log, seed) evaluation of a suite as written to disk: the report plus the per-user values the
/// report's JSON leaves out (the suite's paired bootstrap needs them), and what it was run with.</summary>
public sealed record SuiteRunFile(
    string Format,
    string Dataset,
    long Seed,
    string Source,
    string Settings,
    EvalReport Report,
    IReadOnlyList<SuiteRunFile.CohortValues> PerUser)
{
    public const string CurrentFormat = "rolegen-eval-suite-run/1";

    /// <summary>One model's per-user values on one cohort (users in the dataset's order).</summary>
    public sealed record CohortValues(string Model, string Cohort, IReadOnlyList<string> UserIds, IReadOnlyDictionary<string, double[]> Values);
}

/// <summary>
/// Keeps each finished (log, seed) run of <see cref="EvalSuite"/> in <c>{dir}/{dataset}-s{seed}.json</c>, written when it
/// finishes (to a temporary file, then renamed, so a killed suite leaves no half file). With resume on, a run whose file
/// exists is read instead of run again, after checking that it was made from the same source with the same settings;
/// a file made otherwise is an error that names it (a suite must not pool runs of different settings).
/// </summary>
public sealed class SuiteRunStore(string directory, bool resume)
{
    public string Directory { get; } = directory;

    public bool Resume { get; } = resume;

    public string PathOf(string dataset, long seed) =>
        Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"{dataset}-s{seed}.json"));

    /// <summary>The stored run of (<paramref name="dataset"/>, <paramref name="seed"/>), or null when resume is off or there is none.</summary>
    public async Task<EvalReport?> TryReadAsync(string dataset, long seed, string source, string settings, CancellationToken cancellationToken)
    {
        var path = PathOf(dataset, seed);
        if (!Resume || !File.Exists(path))
        {
            return null;
        }
        SuiteRunFile? file;
        try
        {
            await using var stream = File.OpenRead(path);
            file = await JsonSerializer.DeserializeAsync<SuiteRunFile>(stream, EvalReport.Json, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a suite run file ({e.Message}); delete it to run that evaluation again.", e);
        }
        if (file is null || file.Format != SuiteRunFile.CurrentFormat || file.Report is null)
        {
            throw new InvalidDataException($"{path}: not a '{SuiteRunFile.CurrentFormat}' file; delete it to run that evaluation again.");
        }
        if (file.Dataset != dataset || file.Seed != seed || file.Source != source || file.Settings != settings)
        {
            throw new InvalidDataException(
                $"{path} was made from {file.Source} (seed {file.Seed}) with settings {file.Settings}, not from {source} (seed {seed}) with {settings}: " +
                "delete it, or give another --out, to run that evaluation again.");
        }
        return Attach(file.Report, file.PerUser, path);
    }

    public async Task WriteAsync(string dataset, long seed, string source, string settings, EvalReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        System.IO.Directory.CreateDirectory(Directory);
        var perUser = report.Models
            .SelectMany(m => m.Cohorts.Select(c => new SuiteRunFile.CohortValues(m.Model, c.Cohort, c.UserIds, c.PerUser)))
            .ToArray();
        var file = new SuiteRunFile(SuiteRunFile.CurrentFormat, dataset, seed, source, settings, report, perUser);
        var path = PathOf(dataset, seed);
        var temporary = path + ".tmp";
        await using (var stream = File.Create(temporary))
        {
            await JsonSerializer.SerializeAsync(stream, file, EvalReport.Json, cancellationToken).ConfigureAwait(false);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary><paramref name="report"/> with each cohort's per-user values put back (every model × cohort must have them,
    /// with as many values per metric as users).</summary>
    private static EvalReport Attach(EvalReport report, IReadOnlyList<SuiteRunFile.CohortValues>? perUser, string path)
    {
        var byKey = (perUser ?? []).ToDictionary(v => (v.Model, v.Cohort));
        var models = report.Models.Select(m => m with
        {
            Cohorts = m.Cohorts.Select(c =>
            {
                if (!byKey.TryGetValue((m.Model, c.Cohort), out var v) || v.UserIds.Count != c.Users || v.Values.Values.Any(a => a.Length != c.Users))
                {
                    throw new InvalidDataException($"{path}: the per-user values of model '{m.Model}', cohort '{c.Cohort}' are missing or do not match its {c.Users} users; delete the file to run that evaluation again.");
                }
                return c with { UserIds = v.UserIds, PerUser = v.Values };
            }).ToArray(),
        }).ToArray();
        return report with { Models = models };
    }
}
