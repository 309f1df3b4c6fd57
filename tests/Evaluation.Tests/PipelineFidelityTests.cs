using System.Text;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;

namespace RoleGen.Evaluation.Tests;

/// <summary>The evaluation measures what the pipeline publishes: the weight search's replay equals a fresh pipeline run
/// with those weights; a log read in two formats gives the same report; each model is compared with the strongest other.</summary>
public sealed class PipelineFidelityTests
{
    private static IReadOnlyList<BehaviorEvent> World()
    {
        var (log, _) = EvalLog.Demo(600, 5);
        return log.Events;
    }

    [Theory]
    [InlineData(3, 3)]
    [InlineData(5, 2)] // K < M: the replay re-selects the kept paths with each weight set's own rule
    public async Task Replay_with_any_weights_equals_a_pipeline_run_with_those_weights(int interventions, int kept)
    {
        var events = World();
        var data = TemporalSplit.Create(events, null, new DormancyPolicy());
        var users = data.Users.Select(u => u.ToTrajectory(ExclusionMode.Purchased)).ToArray();
        var (transition, _) = await TransitionBaseline.BuildAsync(data.TrainEvents, data.AsOf, CancellationToken.None);
        var stats = await RoleGenEval.StatisticsAsync(data.TrainEvents, data.AsOf, CancellationToken.None);
        var world = new StatisticalCounterfactualModel(stats);
        var options = new ReasonerOptions { MaxInterventions = interventions, PathsPerUser = kept };
        var replay = await RoleGenEval.ReplayAsync(users, transition, world, stats, options, 20, 64, CancellationToken.None);

        foreach (var weights in FusionWeightSearch.Grid(options.Fusion).Where((_, i) => i % 13 == 0))
        {
            var fresh = await EvalPipeline.ForRoleGen(transition, stats, world, options with { Fusion = weights }, 20).RecommendAsync(users);
            var replayed = replay.Recommend(users, weights);
            Assert.Equal(fresh.Select(r => string.Join(",", r.Items.Select(i => $"{i.ItemId}:{i.Source}:{i.Score}"))),
                replayed.Select(r => string.Join(",", r.Items.Select(i => $"{i.ItemId}:{i.Source}:{i.Score}"))));
        }
    }

    [Fact]
    public async Task Every_model_is_compared_with_the_strongest_other_model_and_the_headline_names_the_strongest_baseline()
    {
        var data = TemporalSplit.Create(World(), null, new DormancyPolicy());
        var report = await Evaluator.RunAsync(data, "demo", new EvalOptions { SkipBackbone = true, Resamples = 50 }, _ => { }, CancellationToken.None);

        foreach (var cohort in report.Models[0].Cohorts.Select(c => c.Cohort))
        {
            foreach (var metric in EvalReport.HeadlineMetrics)
            {
                var means = report.Models.Where(m => m.Cohorts.Any(c => c.Cohort == cohort))
                    .ToDictionary(m => m.Model, m => m.Cohorts.Single(c => c.Cohort == cohort).Values(metric).Average());
                foreach (var (model, _) in means)
                {
                    var strongest = means.Where(kv => kv.Key != model).MaxBy(kv => kv.Value).Value;
                    var c = Assert.Single(report.Comparisons, x => x.ModelA == model && x.Cohort == cohort && x.Metric == metric);
                    Assert.Equal(strongest, c.MeanB, 12);
                }
            }
        }
        var headline = report.Headline();
        Assert.NotEmpty(headline);
        Assert.StartsWith("**RoleGen vs the strongest baseline", report.ToMarkdown(), StringComparison.Ordinal);
        var best = report.Models.Where(m => m.Model != "rolegen").MaxBy(m => m.Cohorts[0].Recall["@1"])!.Model;
        Assert.Contains($"vs {best} ", headline[0], StringComparison.Ordinal);
    }

    [SharedDataFact("taobao-head", "UserBehavior_head_raw.csv")]
    public async Task The_Taobao_file_converted_to_the_normalized_schema_evaluates_exactly_as_the_original()
    {
        var raw = SharedData.PathOf("taobao-head", "UserBehavior_head_raw.csv");
        var original = EvalLog.ReadFile(raw, EventFormat.Taobao, "taobao");
        using var csv = new MemoryStream();
        using (var writer = new NormalizedCsvWriter(csv))
        {
            foreach (var e in original.Events)
            {
                writer.Write(e);
            }
        }
        var converted = EvalLog.Read(new MemoryStream(csv.ToArray()), EventFormat.Normalized, "taobao", "normalized");
        Assert.Equal(1, original.QuarantinedRows); // the cut-off last line
        Assert.Equal(0, converted.QuarantinedRows);

        var options = new EvalOptions { SkipBackbone = true, Resamples = 100 };
        var a = await Evaluator.RunAsync(TemporalSplit.Create(original.Events, null, new DormancyPolicy()), raw, options, _ => { }, CancellationToken.None);
        var b = await Evaluator.RunAsync(TemporalSplit.Create(converted.Events, null, new DormancyPolicy()), raw, options, _ => { }, CancellationToken.None);

        Assert.Equal(a.Split, b.Split);
        Assert.Equal(["popularity", "transition", "rolegen"], b.Models.Select(m => m.Model));
        foreach (var (ma, mb) in a.Models.Zip(b.Models))
        {
            foreach (var (ca, cb) in ma.Cohorts.Zip(mb.Cohorts))
            {
                Assert.Equal(ca.Users, cb.Users);
                Assert.Equal(ca.Recall, cb.Recall);
                Assert.Equal(ca.Ndcg, cb.Ndcg);
                Assert.Equal(ca.RecallCi, cb.RecallCi);
                Assert.Equal(ca.IldAt10, cb.IldAt10);
            }
        }
        Assert.Equal(a.Headline(), b.Headline());
    }
}
