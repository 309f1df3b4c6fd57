using RoleGen.Core.Cohort;

namespace RoleGen.Evaluation.Tests;

public sealed class EvalSuiteTests
{
    [Fact]
    public async Task The_suite_pools_datasets_against_each_datasets_strongest_baseline()
    {
        var logs = new[] { 21, 22 }.Select(seed => new SuiteLog($"demo-s{seed}", "demo",
            () => TemporalSplit.Create(EvalLog.Demo(400, seed).Log.Events, null, new DormancyPolicy(), $"demo-s{seed}"))).ToArray();

        var report = await EvalSuite.RunAsync(logs, [1, 2], new EvalOptions { SkipBackbone = true, Resamples = 100 }, _ => { }, CancellationToken.None);

        Assert.Equal([1L], report.Seeds); // deterministic without a backbone: one run per log
        var pooled = Assert.Single(report.Comparisons, c => c.Scope == "pooled" && c.Cohort == "all" && c.Metric == "Recall@10");
        var parts = report.Comparisons.Where(c => c.Scope != "pooled" && c.Cohort == "all" && c.Metric == "Recall@10").ToArray();
        Assert.Equal(2, parts.Length);
        Assert.Equal(parts.Sum(p => p.Users), pooled.Users);
        // The pooled means are the user-weighted means of the datasets'.
        Assert.Equal(parts.Sum(p => p.MeanRoleGen * p.Users) / pooled.Users, pooled.MeanRoleGen, 9);
        Assert.Equal(parts.Sum(p => p.MeanBaseline * p.Users) / pooled.Users, pooled.MeanBaseline, 9);
        Assert.All(parts, p => Assert.NotEqual("rolegen", p.Baseline));
        Assert.True(pooled.DiffCi.Lower <= pooled.Diff && pooled.Diff <= pooled.DiffCi.Upper);
        Assert.StartsWith("**Pooled over 2 datasets", report.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_resumed_suite_reads_the_finished_runs_and_pools_exactly_as_the_first()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rolegen-suite-runs-" + Guid.NewGuid().ToString("N"));
        try
        {
            static SuiteLog Log(int seed) => new($"demo-s{seed}", $"demo(seed={seed})",
                () => TemporalSplit.Create(EvalLog.Demo(400, seed).Log.Events, null, new DormancyPolicy(), $"demo-s{seed}"));
            var options = new EvalOptions { SkipBackbone = true, Resamples = 100 };
            var lines = new List<string>();

            var first = await EvalSuite.RunAsync([Log(21)], [1], options, lines.Add, new SuiteRunStore(dir, resume: false), CancellationToken.None);
            Assert.True(File.Exists(Path.Combine(dir, "demo-s21-s1.json")));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));

            // Resumed with one more log: the stored run is read (not run again), the new one runs, and the stored one's
            // comparisons are the same as when it was run.
            lines.Clear();
            var resumed = await EvalSuite.RunAsync([Log(21), Log(22)], [1], options, lines.Add, new SuiteRunStore(dir, resume: true), CancellationToken.None);
            Assert.Contains(lines, l => l.Contains("demo-s21, seed 1: read from", StringComparison.Ordinal));
            Assert.Single(lines, l => l.StartsWith("  popularity:", StringComparison.Ordinal)); // only demo-s22 was evaluated
            Assert.True(File.Exists(Path.Combine(dir, "demo-s22-s1.json")));
            foreach (var c in first.Comparisons.Where(c => c.Scope == "demo-s21"))
            {
                var again = Assert.Single(resumed.Comparisons, r => r.Scope == c.Scope && r.Cohort == c.Cohort && r.Metric == c.Metric);
                Assert.Equal(c, again);
            }
            Assert.Contains(resumed.Comparisons, c => c.Scope == "pooled");

            // Other settings: an error naming the file, not a silent mix of runs.
            var error = await Assert.ThrowsAsync<InvalidDataException>(() => EvalSuite.RunAsync([Log(21)], [1], options with { Epochs = 7 }, _ => { },
                new SuiteRunStore(dir, resume: true), CancellationToken.None));
            Assert.Contains("demo-s21-s1.json", error.Message, StringComparison.Ordinal);
            Assert.Contains("epochs=7", error.Message, StringComparison.Ordinal);

            // A damaged file: a clear error too.
            await File.WriteAllTextAsync(Path.Combine(dir, "demo-s22-s1.json"), "{ not json");
            var damaged = await Assert.ThrowsAsync<InvalidDataException>(() => EvalSuite.RunAsync([Log(22)], [1], options, _ => { },
                new SuiteRunStore(dir, resume: true), CancellationToken.None));
            Assert.Contains("delete it", damaged.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Generated_worlds_are_pooled_and_the_real_logs_are_also_pooled_alone()
    {
        static SuiteLog Log(int seed, bool generated) => new($"log-s{seed}", $"demo(seed={seed})",
            () => TemporalSplit.Create(EvalLog.Demo(400, seed).Log.Events, null, new DormancyPolicy(), $"log-s{seed}"), generated);

        var report = await EvalSuite.RunAsync([Log(31, false), Log(32, false), Log(33, true)], [1], new EvalOptions { SkipBackbone = true, Resamples = 50 },
            _ => { }, CancellationToken.None);

        var parts = report.Comparisons.Where(c => c.Scope.StartsWith("log-", StringComparison.Ordinal) && c.Cohort == "all" && c.Metric == "Recall@1").ToArray();
        Assert.Equal(3, parts.Length);
        var pooled = Assert.Single(report.Comparisons, c => c.Scope == "pooled" && c.Cohort == "all" && c.Metric == "Recall@1");
        var real = Assert.Single(report.Comparisons, c => c.Scope == "pooled-real" && c.Cohort == "all" && c.Metric == "Recall@1");
        Assert.Equal(parts.Sum(p => p.Users), pooled.Users);
        Assert.Equal(parts.Where(p => p.Scope != "log-s33").Sum(p => p.Users), real.Users);
        Assert.DoesNotContain("log-s33", real.Baseline, StringComparison.Ordinal);
        Assert.Contains("Pooled over the real logs only, cohort all, Recall@1", report.ToMarkdown(), StringComparison.Ordinal);

        // Without a generated log there is nothing to separate.
        var allReal = await EvalSuite.RunAsync([Log(31, false), Log(32, false)], [1], new EvalOptions { SkipBackbone = true, Resamples = 50 }, _ => { }, CancellationToken.None);
        Assert.DoesNotContain(allReal.Comparisons, c => c.Scope == "pooled-real");
    }

    [Fact]
    public async Task A_failed_evaluation_is_left_out_and_said_and_the_suite_goes_on()
    {
        static SuiteLog Log(int seed) => new($"log-s{seed}", $"demo(seed={seed})",
            () => TemporalSplit.Create(EvalLog.Demo(400, seed).Log.Events, null, new DormancyPolicy(), $"log-s{seed}"));
        var lines = new List<string>();

        var report = await EvalSuite.RunAsync([Log(41), Log(42)], [1], new EvalOptions { SkipBackbone = true, Resamples = 50 }, lines.Add, null,
            (data, source, options, log, ct) => source == "demo(seed=41)"
                ? throw new InvalidOperationException("Expected false to be true\n(native stack)")
                : Evaluator.RunAsync(data, source, options, log, ct),
            CancellationToken.None);

        Assert.Contains(lines, l => l.StartsWith("suite: FAILED log-s41, seed 1", StringComparison.Ordinal));
        Assert.Contains(report.Notes, n => n.Contains("log-s41, seed 1: the evaluation failed (InvalidOperationException: Expected false to be true)", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Comparisons, c => c.Scope == "log-s41");
        Assert.Contains(report.Comparisons, c => c.Scope == "log-s42");
    }
}
