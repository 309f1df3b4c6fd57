using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Events;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;
using Xunit.Abstractions;

namespace RoleGen.Core.Tests.Reasoning;

/// <summary>On the seeded demo world (5,000 users, seed 7 — the smoothing α was chosen on seed 42, so this is held out), the ground-truth trigger items must rank high by smoothed
/// trigger uplift: precision@|triggers| well above the share of triggers among items.</summary>
public class DemoWorldTriggerRecoveryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SmoothedUplift_RanksGroundTruthTriggersFarAboveChance()
    {
        var watch = Stopwatch.StartNew();
        var store = new InMemoryBlobStore();
        var options = new DemoWorldOptions { Users = 5_000, Seed = 7 };
        var (summary, truth) = await new DemoWorldWriter(store, NullLogger<DemoWorldWriter>.Instance).WriteAsync(options, "demo");
        var stats = await new BehaviorGraphStatisticsBuilder(store, NullLogger<BehaviorGraphStatisticsBuilder>.Instance)
            .BuildAsync("demo-run", "demo", summary.MaxTimestamp);

        var triggers = truth.Triggers.Select(t => t.ItemId).ToHashSet(StringComparer.Ordinal);
        var ranked = stats.RankItemsByUplift();
        var k = triggers.Count;
        var baseRate = (double)triggers.Count(t => stats.Item(t) is not null) / stats.Items.Count;
        var hitsAtK = ranked.Take(k).Count(x => triggers.Contains(x.Item.Item));
        var precisionAtK = (double)hitsAtK / k;
        var recallAt2K = (double)ranked.Take(2 * k).Count(x => triggers.Contains(x.Item.Item)) / k;
        var exposedTriggers = stats.Items.Count(i => triggers.Contains(i.Item));
        output.WriteLine($"events={stats.Events} users={stats.Users} items={stats.Items.Count} triggers={k} (exposed {exposedTriggers}) p0={stats.BaseRate:F4} ({watch.Elapsed.TotalSeconds:F1} s)");
        output.WriteLine($"base rate of triggers among items={baseRate:F4}; precision@{k}={precisionAtK:F3} (recall@{k} is the same); recall@{2 * k}={recallAt2K:F3}; lift over chance={precisionAtK / baseRate:F1}x");
        foreach (var n in new[] { 10, 25, 50 })
        {
            output.WriteLine($"precision@{n}={(double)ranked.Take(n).Count(x => triggers.Contains(x.Item.Item)) / n:F3}");
        }
        var raw = stats.Items.Where(i => i.Users > 0).OrderByDescending(i => (double)i.ConvertedOther / i.Users).ThenBy(i => i.Item, StringComparer.Ordinal)
            .Take(k).Count(i => triggers.Contains(i.Item));
        foreach (var a in new[] { 20.0, 50, 100, 200, 400 })
        {
            var top = stats.RankItemsByUplift(priorStrength: a);
            output.WriteLine($"alpha={a}: precision@{k}={(double)top.Take(k).Count(x => triggers.Contains(x.Item.Item)) / k:F3} precision@10={top.Take(10).Count(x => triggers.Contains(x.Item.Item)) / 10.0:F1}");
        }
        var byExposure = stats.Items.OrderByDescending(i => i.Users).ThenBy(i => i.Item, StringComparer.Ordinal).Take(k).Count(i => triggers.Contains(i.Item));
        output.WriteLine($"exposure-only (popularity) precision@{k}={(double)byExposure / k:F3}");
        output.WriteLine($"unsmoothed K/N precision@{k}={(double)raw / k:F3}");

        Assert.Equal(72, k);
        Assert.True(precisionAtK >= 3 * baseRate, $"precision@{k} {precisionAtK:F3} < 3 × base rate {baseRate:F4}");
        // The top of the ranking should be almost all triggers.
        Assert.True(ranked.Take(10).Count(x => triggers.Contains(x.Item.Item)) >= 7);
        // Uplift is not just exposure: it beats ranking by exposed users.
        Assert.True(hitsAtK > byExposure, $"uplift hits {hitsAtK} <= exposure-only hits {byExposure}");
        Assert.True(watch.Elapsed.TotalSeconds < 20, $"took {watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task EmbeddedRoles_LabelGroundTruthTriggerExposuresAsTriggersFarMoreOften()
    {
        var store = new InMemoryBlobStore();
        var (summary, truth) = await new DemoWorldWriter(store, NullLogger<DemoWorldWriter>.Instance)
            .WriteAsync(new DemoWorldOptions { Users = 5_000, Seed = 7 }, "demo");
        var stats = await new BehaviorGraphStatisticsBuilder(store, NullLogger<BehaviorGraphStatisticsBuilder>.Instance)
            .ComputeAsync("demo", summary.MaxTimestamp);
        var triggers = truth.Triggers.Select(t => t.ItemId).ToHashSet(StringComparer.Ordinal);
        var assigner = new EmbeddedRoleAssigner(stats);
        var events = await TestSupport.ReadDatasetAsync(store, "demo");

        long triggerSteps = 0, triggerLabelled = 0, otherSteps = 0, otherLabelled = 0;
        var roleCounts = new Dictionary<FunctionalRole, long>();
        foreach (var user in events.GroupBy(e => e.UserId, StringComparer.Ordinal))
        {
            var steps = user.OrderBy(e => e.Timestamp).Select(e => new TrajectoryStep(e.ItemId, e.CategoryId, e.Type, e.Timestamp)).ToArray();
            var trajectory = new UserTrajectory(user.Key, steps.Count(s => s.Type == EventType.View), steps.Count(s => s.Type == EventType.Cart),
                steps.Count(s => s.Type == EventType.Purchase), 1, steps, [.. steps.Where(s => s.Type == EventType.Purchase).Select(s => s.Item)]);
            foreach (var role in assigner.Assign(trajectory))
            {
                roleCounts[role.Role] = roleCounts.GetValueOrDefault(role.Role) + 1;
                if (steps[role.Position].Type != EventType.View)
                {
                    continue;
                }
                var isTrigger = role.Role == FunctionalRole.Trigger;
                if (triggers.Contains(role.Item))
                {
                    triggerSteps++;
                    triggerLabelled += isTrigger ? 1 : 0;
                }
                else
                {
                    otherSteps++;
                    otherLabelled += isTrigger ? 1 : 0;
                }
            }
        }
        var triggerRate = (double)triggerLabelled / triggerSteps;
        var otherRate = (double)otherLabelled / otherSteps;
        output.WriteLine($"roles: {string.Join(", ", roleCounts.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}"))}");
        output.WriteLine($"Trigger label on views of true triggers: {triggerLabelled}/{triggerSteps} = {triggerRate:F3}; on other views: {otherLabelled}/{otherSteps} = {otherRate:F4}");

        Assert.True(triggerRate >= 5 * otherRate, $"trigger-view rate {triggerRate:F3} < 5 × other-view rate {otherRate:F4}");
        Assert.True(triggerLabelled > 0);
    }
}
