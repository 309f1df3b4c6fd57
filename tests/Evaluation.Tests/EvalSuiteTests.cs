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
}
