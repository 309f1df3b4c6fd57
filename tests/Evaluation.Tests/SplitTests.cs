using System.Text;
using RoleGen.Evaluation;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Training.Data;

namespace RoleGen.Evaluation.Tests;

public sealed class SplitTests
{
    /// <summary>2017-12-01 00:00 China time (UTC+8), the split the README's Taobao numbers use.</summary>
    private const long Split = 1_512_057_600;

    /// <summary>u1 dormant (12 views in the window, no purchase) buys x and y after the split; u2 bought before and only
    /// views after (not evaluated); u3 has too few views; u4 converts too often (1/12 > 0.02); u5's views are older than
    /// the 30-day window; u6 buys exactly at the split time (test) and has no train events.</summary>
    private static string Csv()
    {
        var sb = new StringBuilder();
        void Row(string user, string item, string type, long ts) => sb.Append($"{user},{item},c1,{type},{ts}\n");
        for (var i = 0; i < 12; i++)
        {
            Row("u1", $"v{i}", "pv", Split - 86_400 * (i % 5) - 100 - i);
        }
        Row("u1", "x", "buy", Split + 10);
        Row("u1", "y", "buy", Split + 20);
        Row("u1", "y", "buy", Split + 30); // duplicate purchase: one relevant item
        Row("u1", "z", "pv", Split + 40);  // a view after the split: not relevant
        Row("u2", "a", "buy", Split - 50);
        Row("u2", "b", "pv", Split + 50);
        Row("u3", "a", "pv", Split - 300);
        Row("u3", "b", "pv", Split - 200);
        Row("u3", "a", "buy", Split + 60); // bought an item of the history
        for (var i = 0; i < 12; i++)
        {
            Row("u4", $"v{i}", "pv", Split - 1000 - i);
        }
        Row("u4", "v1", "buy", Split - 10);
        Row("u4", "x", "buy", Split + 70);
        for (var i = 0; i < 12; i++)
        {
            Row("u5", $"v{i}", "pv", Split - 40 * 86_400L - i);
        }
        Row("u5", "x", "buy", Split + 80);
        Row("u6", "x", "buy", Split);
        return sb.ToString();
    }

    private static EvalDataset Create(DormancyPolicy? policy = null)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(Csv()));
        // The Taobao layout and words with named ids (u1, v0): Taobao ids are integers, so the rows read as headerless
        // normalized CSV, which takes the pv|buy words and any id of the grammar.
        return TemporalSplit.Create(EvalLog.Read(stream, EventFormat.Normalized, "taobao", "test").Events, Split, policy ?? new DormancyPolicy());
    }

    [Fact]
    public void Taobao_TrainIsBeforeSplit_TestIsPurchasedItemsAtOrAfter()
    {
        var data = Create();
        Assert.All(data.TrainEvents, e => Assert.True(e.Timestamp < Split));
        Assert.Equal(12 + 1 + 2 + 13 + 12, data.TrainEvents.Count);
        var users = data.Users.ToDictionary(u => u.UserId);
        Assert.Equal(["u1", "u3", "u4", "u5", "u6"], data.Users.Select(u => u.UserId).Order(StringComparer.Ordinal));
        Assert.Equal(["x", "y"], users["u1"].Targets.Order(StringComparer.Ordinal));
        Assert.Equal(["a"], users["u3"].Targets);
        Assert.Equal(["x"], users["u6"].Targets);
        Assert.Empty(users["u6"].History);
        // History: the user's train events, oldest first.
        Assert.Equal(["a", "b"], users["u3"].History.Select(s => s.Item));
        Assert.True(users["u1"].History.Zip(users["u1"].History.Skip(1)).All(p => p.First.Ts <= p.Second.Ts));
        Assert.Equal(1, data.Stats["testItemsInUserHistory"]); // u3 bought a viewed item
        Assert.Equal(Split, data.AsOf);
    }

    [Fact]
    public void Taobao_DormantCohort_FollowsTheDefaultPolicyOnTheTrainWindow()
    {
        var data = Create();
        var dormant = data.Users.Where(u => u.Dormant).Select(u => u.UserId).ToArray();
        Assert.Equal(["u1"], dormant);
        Assert.Equal(["all", "dormant"], data.Cohorts);
        Assert.Equal(["all", "dormant"], Evaluator.CohortsOf(data.Users.Single(u => u.UserId == "u1"), data.Cohorts));
        Assert.Equal(["all"], Evaluator.CohortsOf(data.Users.Single(u => u.UserId == "u4"), data.Cohorts));
        // A looser policy admits u4 (1/12 conversion) and u3 (2 views).
        var loose = Create(new DormancyPolicy { MinViews = 2, MaxConversionRate = 0.1 });
        Assert.Equal(["u1", "u3", "u4"], loose.Users.Where(u => u.Dormant).Select(u => u.UserId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Taobao_BackboneValidatesOnTheLastTrainEvent()
    {
        var data = Create();
        var corpus = data.BackboneCorpus;
        var u3 = corpus.UserIds.ToList().IndexOf("u3");
        var ids = corpus.ItemSeqs[u3].Select(corpus.Vocabulary.IdOf).ToArray();
        Assert.Equal(["a", "b", "b"], ids); // last train event duplicated
        var split = LeaveOneOutSplit.Create(corpus.ItemSeqs, corpus.ActionSeqs);
        var validation = split.Validation.Single(c => c.User == u3);
        Assert.Equal("b", corpus.Vocabulary.IdOf(validation.Target));
        Assert.Equal(["a"], validation.Items.Select(corpus.Vocabulary.IdOf));
        Assert.Equal(["a"], split.TrainItems[u3].Select(corpus.Vocabulary.IdOf));
        Assert.False(corpus.Vocabulary.TryGetToken("x", out _)); // bought only after the split: not in the train vocabulary
    }

    private static EvalDataset Beauty(string lines)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(lines));
        return LeaveOneOutEvalSplit.Create(EvalLog.Read(stream, EventFormat.Sasrec, "beauty", "test").Events, new DormancyPolicy(), "beauty");
    }

    [Fact]
    public void Beauty_LeaveOneOut()
    {
        var data = Beauty("u1 a b c d\nu2 a b\nu3 c d e\n");
        var users = data.Users.ToDictionary(u => u.UserId);
        Assert.Equal(["u1", "u3"], users.Keys.Order(StringComparer.Ordinal)); // u2 (< 3 items) only trains
        Assert.Equal(["a", "b", "c"], users["u1"].History.Select(s => s.Item));
        Assert.Equal(["d"], users["u1"].Targets);
        Assert.Equal(["c", "d"], users["u3"].History.Select(s => s.Item));
        Assert.Equal(["e"], users["u3"].Targets);
        // Train part: seq[:-2] (u1: a b; u3: c) and all of u2; neither validation nor test items.
        var train = data.TrainEvents.GroupBy(e => e.UserId).ToDictionary(g => g.Key, g => g.Select(e => e.ItemId).ToArray());
        Assert.Equal(["a", "b"], train["u1"]);
        Assert.Equal(["a", "b"], train["u2"]);
        Assert.Equal(["c"], train["u3"]);
        Assert.All(data.TrainEvents, e => Assert.Equal(EventType.Purchase, e.Type));
        Assert.Equal(["a", "b", "c"], users["u1"].Excluded(ExclusionMode.History).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Evaluator_BaselinesOnATinySplit_ProduceATableAndExcludeHistory()
    {
        var data = Beauty("u1 a b c d\nu2 a b c d\nu3 a b c d\nu4 b c\nu5 a d e f\n");
        var lines = new List<string>();
        var report = await Evaluator.RunAsync(data, "tiny", new EvalOptions { SkipBackbone = true, SkipRoleGen = true }, lines.Add, CancellationToken.None);
        Assert.Equal(["popularity", "transition"], report.Models.Select(m => m.Model));
        // Train part: a b (u1-u3), b c (u4), a d (u5): counts a 4, b 4, c 1, d 1 → popularity a, b, c, d (tie a/b by id).
        // u1-u3 (history a b c, target d): a, b, c excluded → d first: hit. u5 (history a d e, target f): f never trained: miss.
        var popularity = report.Models[0].Cohorts.Single();
        Assert.Equal(4, popularity.Users);
        Assert.Equal(0.75, popularity.Recall["@1"], 12);
        Assert.Equal(0.75, popularity.Ndcg["@10"], 12);
        // Transition (a → b, a → d, b → c): for u1-u3 every candidate but d is in the history → d at rank 1.
        Assert.Equal(0.75, report.Models[1].Cohorts.Single().Recall["@1"], 12);
        Assert.Equal(2, lines.Count);
        var table = report.ToMarkdown();
        Assert.Contains("| model | cohort | users | Recall@1 | Recall@5 | Recall@10 | NDCG@5 | NDCG@10 | wall s |", table, StringComparison.Ordinal);
    }
}
