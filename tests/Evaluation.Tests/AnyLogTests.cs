using System.Text;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;

namespace RoleGen.Evaluation.Tests;

/// <summary>`rolegen eval` on any log: formats, splits sized to the log, each user once, rejected rows counted, the
/// strongest-model comparisons, and the weight search being what the pipeline would publish.</summary>
public sealed class AnyLogTests
{
    private static EvalLog Read(string text, EventFormat format) =>
        EvalLog.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), format, "t", "test");

    [Fact]
    public void TemporalSplit_UserWithoutTrainEvents_IsEvaluatedOnce()
    {
        // u1 starts browsing after the split and buys later: before the fix it was listed once per view.
        var events = new List<BehaviorEvent>();
        for (var i = 0; i < 20; i++)
        {
            events.Add(new BehaviorEvent("u0", $"i{i}", "c", EventType.View, 100 + i));
        }
        for (var i = 0; i < 5; i++)
        {
            events.Add(new BehaviorEvent("u1", $"i{i}", "c", EventType.View, 1_000 + i));
        }
        events.Add(new BehaviorEvent("u1", "i3", "c", EventType.Purchase, 1_010));
        var data = TemporalSplit.Create(events, 500, new DormancyPolicy());

        var user = Assert.Single(data.Users);
        Assert.Equal("u1", user.UserId);
        Assert.Empty(user.History);
    }

    [Fact]
    public void TemporalSplit_DefaultSplitTime_LeavesTheLastFifthOfEventsAsTest()
    {
        var events = Enumerable.Range(0, 100).Select(i => new BehaviorEvent($"u{i % 7}", $"i{i}", "c", EventType.View, 1_000 + i)).ToArray();

        var split = TemporalSplit.DefaultSplitTime(events);

        Assert.Equal(1_080, split);
        Assert.Equal(80, events.Count(e => e.Timestamp < split));
    }

    [Fact]
    public async Task A_log_of_a_few_hours_is_evaluated_with_a_validation_window_sized_to_it()
    {
        // Three hours of activity: the old fixed one-day validation window left no train events and crashed.
        var events = new List<BehaviorEvent>();
        for (var u = 0; u < 30; u++)
        {
            for (var i = 0; i < 15; i++)
            {
                events.Add(new BehaviorEvent($"u{u}", $"i{(u + i) % 20}", $"c{i % 3}", EventType.View, 10_000 + u * 60 + i * 300));
            }
            events.Add(new BehaviorEvent($"u{u}", $"i{u % 20}", $"c{u % 3}", EventType.Purchase, 14_500 + u * 10));
            events.Add(new BehaviorEvent($"u{u}", $"i{(u + 5) % 20}", $"c{(u + 5) % 3}", EventType.Purchase, 19_000 + u * 10));
        }
        events.Sort((a, b) => a.Timestamp.CompareTo(b.Timestamp));
        var data = TemporalSplit.Create(events, null, new DormancyPolicy());
        var validation = data.ValidationSplit!();

        Assert.NotNull(validation);
        Assert.True(validation.AsOf < data.AsOf && data.AsOf - validation.AsOf < 3 * 3_600);
        var report = await Evaluator.RunAsync(data, "hours", new EvalOptions { SkipBackbone = true, Resamples = 20 }, _ => { }, CancellationToken.None);
        Assert.Equal(["popularity", "transition", "rolegen"], report.Models.Select(m => m.Model));
        Assert.StartsWith("validated-", ((FusionWeights)report.Model("rolegen").Details!["chosenWeights"]!).Version, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejected_rows_are_counted_in_the_report_and_empty_cohorts_are_left_out()
    {
        var sb = new StringBuilder("user_id,item_id,event_type,timestamp\n");
        for (var u = 0; u < 12; u++)
        {
            for (var i = 0; i < 4; i++)
            {
                sb.Append($"u{u},i{(u + i) % 6},view,{100 + u * 10 + i}\n");
            }
            sb.Append($"u{u},i{u % 6},purchase,{1_000 + u}\n");
        }
        sb.Append("u1,i1,click-ish,5\nu2,,view,6\nu3,i3,view\n");
        var log = Read(sb.ToString(), EventFormat.Normalized);
        Assert.Equal(3, log.QuarantinedRows);
        Assert.Equal(new Dictionary<string, long> { ["column-count"] = 1, ["empty-id"] = 1, ["unknown-event-type"] = 1 }, log.Quarantined);

        var data = TemporalSplit.Create(log.Events, 1_000, new DormancyPolicy());
        data.Notes.Insert(0, log.QuarantineNote!);
        var report = await Evaluator.RunAsync(data, "small", new EvalOptions { SkipBackbone = true, SkipRoleGen = true, Resamples = 20 }, _ => { }, CancellationToken.None);

        Assert.Contains(report.Notes, n => n.Contains("3 of", StringComparison.Ordinal) && n.Contains("quarantined", StringComparison.Ordinal));
        // 4 views per user: the default policy (10 views) selects nobody, and says what would fit.
        Assert.Contains(report.Notes, n => n.Contains("selects none of the 12 evaluated users", StringComparison.Ordinal) && n.Contains("--min-views 4", StringComparison.Ordinal));
        Assert.All(report.Models, m => Assert.Equal(["all"], m.Cohorts.Select(c => c.Cohort)));
        Assert.DoesNotContain("| dormant |", report.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public void Normalized_and_taobao_formats_of_the_same_log_give_the_same_split()
    {
        var taobao = "1,10,7,pv,1511540100\n1,11,7,cart,1511540200\n2,10,7,pv,1511540150\n2,12,8,buy,1511540300\n1,11,7,buy,1511540400\n";
        var normalized = "user_id,item_id,category_id,event_type,timestamp\n1,10,7,view,1511540100\n1,11,7,cart,1511540200\n2,10,7,view,1511540150\n2,12,8,purchase,1511540300\n1,11,7,purchase,1511540400\n";

        var a = TemporalSplit.Create(Read(taobao, EventFormat.Taobao).Events, 1_511_540_250, new DormancyPolicy());
        var b = TemporalSplit.Create(Read(normalized, EventFormat.Normalized).Events, 1_511_540_250, new DormancyPolicy());

        Assert.Equal(a.TrainEvents, b.TrainEvents);
        Assert.Equal(a.Users.Select(u => (u.UserId, string.Join(",", u.Targets))), b.Users.Select(u => (u.UserId, string.Join(",", u.Targets))));
    }

    [Fact]
    public void LeaveOneOut_ValidationHoldsOutTheSecondToLastEvent()
    {
        var log = Read("u1 a b c d\nu2 a b\nu3 c d e\n", EventFormat.Sasrec);

        var data = LeaveOneOutEvalSplit.Create(log.Events, new DormancyPolicy());
        var validation = data.ValidationSplit!()!;

        Assert.Equal(["c", "d"], validation.Users.Select(u => u.Targets.Single()));
        Assert.Equal(["a", "b"], validation.Users[0].History.Select(s => s.Item));
        Assert.Equal(data.TrainEvents, validation.TrainEvents);
        Assert.Equal(ExclusionMode.History, data.DefaultExclusion);
        Assert.Contains(data.Notes, n => n.Contains("no view events", StringComparison.Ordinal));
    }

    [Fact]
    public void ExternalTestSplit_TrainsOnTheWholeLogAndEvaluatesTheListedPairs()
    {
        var log = Read("1,10,7,pv,1511540100\n1,11,7,pv,1511540200\n2,10,7,pv,1511540150\n", EventFormat.Taobao);

        var data = ExternalTestSplit.Create(log.Events, [("1", "12"), ("1", "13"), ("3", "10")], new DormancyPolicy());

        Assert.Equal(3, data.TrainEvents.Count);
        Assert.Equal(["1", "3"], data.Users.Select(u => u.UserId));
        Assert.Equal(["12", "13"], data.Users[0].Targets.Order(StringComparer.Ordinal));
        Assert.Equal(["10", "11"], data.Users[0].History.Select(s => s.Item));
        Assert.Empty(data.Users[1].History);
        Assert.Equal(1_511_540_201, data.AsOf);
    }

    [Fact]
    public void WeightSearch_AmongTiedWeightSets_PicksTheOneInsideThePlateau()
    {
        var grid = FusionWeightSearch.Grid(new FusionWeights())
            .Select(w => (w, w.Role >= 0.25 && w.Backbone <= 0.5 ? 1.0 : 0.5, 1.0))
            .ToArray();

        var chosen = FusionWeightSearch.Choose(grid);

        Assert.Equal(1.0, chosen.Item2);
        // b0.25-u0-r0.25 (first in grid order) sits on the edge of the plateau; an interior point has more tied neighbours.
        Assert.NotEqual(0.25, chosen.Weights.Role);
        Assert.True(chosen.Weights.Role > 0.25 && chosen.Weights.Uplift > 0, chosen.Weights.Version);
    }

    private static (FusionWeights, double, double)[] Flat(double recall1, double recall10) =>
        FusionWeightSearch.Grid(new FusionWeights()).Select(w => (w, recall1, recall10)).ToArray();

    [Fact]
    public void RankerSelection_AHigherRecallAt1ThatLosesTheBaselinesRecallAt10_IsNotChosen()
    {
        // The Taobao-head shape: the backbone tops Recall@1 on validation, but its list is a third worse at 10 than the
        // transition model's; Recall@1 alone chose it.
        RankerValidation[] rankers =
        [
            new(0, 0.048, 0.139, Flat(0.050, 0.140)),
            new(0.25, 0.050, 0.142, Flat(0.055, 0.142)),
            new(1, 0.060, 0.090, Flat(0.063, 0.091)),
        ];

        var choice = RankerSelection.Choose(rankers);

        Assert.Equal(0.25, choice.BackboneWeight);
        Assert.Equal(0.055, choice.Recall1);
        Assert.Equal(0.139, choice.FloorRecall10);
        Assert.True(choice.KeepsFloor);
    }

    [Fact]
    public void RankerSelection_NoConfigurationKeepsTheFloor_ServesTheClosestAndSaysSo()
    {
        RankerValidation[] rankers = [new(0, 0.048, 0.139, Flat(0.060, 0.120)), new(1, 0.030, 0.100, Flat(0.070, 0.110))];

        var choice = RankerSelection.Choose(rankers);

        Assert.False(choice.KeepsFloor);
        Assert.Equal(0, choice.BackboneWeight);
        Assert.Equal(0.120, choice.Recall10);
    }

    [Fact]
    public void RankerSelection_TiesGoToTheSimplerRanker()
    {
        RankerValidation[] rankers = [new(0.5, 0.05, 0.1, Flat(0.06, 0.12)), new(1, 0.05, 0.1, Flat(0.06, 0.12)), new(0, 0.05, 0.1, Flat(0.06, 0.12))];

        Assert.Equal(0, RankerSelection.Choose(rankers).BackboneWeight);
    }
}
