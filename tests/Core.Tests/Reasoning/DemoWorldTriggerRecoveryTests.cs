using System.Diagnostics;
using RoleGen.Core.Demo;
using RoleGen.Core.Reasoning;
using Xunit.Abstractions;

namespace RoleGen.Core.Tests.Reasoning;

/// <summary>On the seeded demo world (5,000 users, seed 7 — the smoothing α was chosen on seed 42, so this is held out), the ground-truth trigger items must rank high by smoothed
/// trigger uplift: precision@|triggers| well above the share of triggers among items. The numbers come from
/// <see cref="TriggerRecovery"/>, which <c>rolegen eval --dataset demo</c> reports too.</summary>
public class DemoWorldTriggerRecoveryTests(ITestOutputHelper output)
{
    private static readonly DemoWorldOptions Options = new() { Users = 5_000, Seed = 7 };

    [Fact]
    public async Task SmoothedUplift_RanksGroundTruthTriggersFarAboveChance()
    {
        var watch = Stopwatch.StartNew();
        var sample = await TriggerRecovery.GenerateAsync(Options);
        var stats = sample.Statistics;
        var triggers = sample.TriggerItems;
        var ranked = stats.RankItemsByUplift().Select(x => x.Item.Item).ToArray();
        var k = triggers.Count;
        var atK = TriggerRecovery.At(ranked, triggers, k);
        var at2K = TriggerRecovery.At(ranked, triggers, 2 * k);
        var byExposure = TriggerRecovery.At(TriggerRecovery.PopularityRanking(stats), triggers, k);
        var baseRate = atK.ChancePrecision;
        output.WriteLine($"events={stats.Events} users={stats.Users} items={stats.Items.Count} triggers={k} p0={stats.BaseRate:F4} ({watch.Elapsed.TotalSeconds:F1} s)");
        output.WriteLine($"base rate of triggers among items={baseRate:F4}; precision@{k}={atK.Precision:F3} (recall@{k} is the same); recall@{2 * k}={at2K.Recall:F3}; lift over chance={atK.Precision / baseRate:F1}x");
        foreach (var n in new[] { 10, 25, 50 })
        {
            output.WriteLine($"precision@{n}={TriggerRecovery.At(ranked, triggers, n).Precision:F3}");
        }
        foreach (var a in new[] { 20.0, 50, 100, 200, 400 })
        {
            var top = stats.RankItemsByUplift(priorStrength: a).Select(x => x.Item.Item).ToArray();
            output.WriteLine($"alpha={a}: precision@{k}={TriggerRecovery.At(top, triggers, k).Precision:F3} precision@10={TriggerRecovery.At(top, triggers, 10).Precision:F1}");
        }
        output.WriteLine($"exposure-only (popularity) precision@{k}={byExposure.Precision:F3}");

        Assert.Equal(72, k);
        Assert.True(atK.Precision >= 3 * baseRate, $"precision@{k} {atK.Precision:F3} < 3 × base rate {baseRate:F4}");
        // The top of the ranking should be almost all triggers.
        Assert.True(TriggerRecovery.At(ranked, triggers, 10).Hits >= 7);
        // Uplift is not just exposure: it beats ranking by exposed users.
        Assert.True(atK.Hits > byExposure.Hits, $"uplift hits {atK.Hits} <= exposure-only hits {byExposure.Hits}");

        // The summary the CLI reports agrees with the direct computation.
        var result = TriggerRecovery.Evaluate(sample);
        Assert.Equal([10, k, 2 * k], result.Uplift.Select(r => r.K));
        Assert.Equal(atK, result.Uplift.Single(r => r.K == k));
        Assert.Equal(byExposure, result.Popularity.Single(r => r.K == k));
    }

    [Fact]
    public async Task EmbeddedRoles_LabelGroundTruthTriggerExposuresAsTriggersFarMoreOften()
    {
        var sample = await TriggerRecovery.GenerateAsync(Options);
        var steps = TriggerRecovery.Steps(sample.Trajectories, sample.TriggerItems, new EmbeddedRoleAssigner(sample.Statistics));
        output.WriteLine($"roles: {string.Join(", ", steps.RoleCounts.Select(kv => $"{kv.Key}={kv.Value}"))}");
        output.WriteLine($"Trigger label on views of true triggers: {steps.TriggerViewLabelRate:F3}; on other views: {steps.OtherViewLabelRate:F4}");
        output.WriteLine($"first exposures to true triggers: precision {steps.Precision:F3}, recall {steps.Recall:F3} (TP {steps.TruePositives}, FP {steps.FalsePositives}, FN {steps.FalseNegatives})");

        Assert.True(steps.TriggerViewLabelRate >= 5 * steps.OtherViewLabelRate,
            $"trigger-view rate {steps.TriggerViewLabelRate:F3} < 5 × other-view rate {steps.OtherViewLabelRate:F4}");
        Assert.True(steps.TruePositives > 0);
        Assert.NotNull(steps.Precision);
        Assert.NotNull(steps.Recall);
    }

    [Fact]
    public void RankingAtK_CountsHitsAndChance()
    {
        var truth = new HashSet<string>(["a", "b"], StringComparer.Ordinal);
        var r = TriggerRecovery.At(["a", "x", "b", "y"], truth, 2);
        Assert.Equal(1, r.Hits);
        Assert.Equal(0.5, r.Precision, 12);
        Assert.Equal(0.5, r.Recall, 12);
        Assert.Equal(0.5, r.ChancePrecision, 12); // 2 of 4 ranked items are triggers
        Assert.Equal(0.5, r.ChanceRecall, 12);    // 2 random picks × 0.5 / 2
        var beyond = TriggerRecovery.At(["a"], truth, 4);
        Assert.Equal(0.25, beyond.Precision, 12); // missing ranks are misses
        Assert.Equal(0.25, beyond.ChancePrecision, 12);
    }
}
