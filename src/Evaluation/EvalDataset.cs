using System.Numerics;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Training.Data;

namespace RoleGen.Evaluation;

/// <summary>Which items a user is never recommended (and which are dropped from every model's list before scoring).</summary>
public enum ExclusionMode
{
    /// <summary>Every item of the user's input history (the standard protocol).</summary>
    History,

    /// <summary>Only the items the user purchased in the input history (what production scoring masks).</summary>
    Purchased,
}

/// <summary>One evaluated user: the input history (oldest first), the relevant items and the cohorts the user belongs to.</summary>
public sealed record EvalUser(string UserId, IReadOnlyList<TrajectoryStep> History, IReadOnlySet<string> Targets, bool Dormant)
{
    public IReadOnlySet<string> Excluded(ExclusionMode mode) => mode == ExclusionMode.History
        ? History.Select(s => s.Item).ToHashSet(StringComparer.Ordinal)
        : History.Where(s => s.Type == EventType.Purchase).Select(s => s.Item).ToHashSet(StringComparer.Ordinal);

    /// <summary>The recommenders' input: <see cref="UserTrajectory.Purchased"/> carries the exclusion list, which both the
    /// transition recommender and the ONNX graph mask.</summary>
    public UserTrajectory ToTrajectory(ExclusionMode mode)
    {
        var views = History.Count(s => s.Type == EventType.View);
        var carts = History.Count(s => s.Type == EventType.Cart);
        var purchases = History.Count(s => s.Type == EventType.Purchase);
        var days = History.Select(s => s.Ts / 86_400).Distinct().Count();
        return new UserTrajectory(UserId, views, carts, purchases, days, History, Excluded(mode).ToArray());
    }
}

/// <summary>A train/test split ready for the three models.</summary>
public sealed class EvalDataset
{
    public required string Name { get; init; }

    public required string Split { get; init; }

    /// <summary>Events the popularity and transition models learn from (the train part only).</summary>
    public required IReadOnlyList<BehaviorEvent> TrainEvents { get; init; }

    /// <summary>As-of time of the transition model (end of the train part).</summary>
    public required long AsOf { get; init; }

    public required IReadOnlyList<EvalUser> Users { get; init; }

    /// <summary>What the backbone trainer receives. The trainer's own leave-one-out split makes the second-to-last event of
    /// each sequence the validation target (early stopping) and never trains on the last one.</summary>
    public required SequenceCorpus BackboneCorpus { get; init; }

    public required string BackboneValidation { get; init; }

    public required IReadOnlyList<int> RecallKs { get; init; }

    public required IReadOnlyList<int> NdcgKs { get; init; }

    /// <summary>Cohorts reported: "all", plus "dormant" when the split defines it.</summary>
    public required IReadOnlyList<string> Cohorts { get; init; }

    public IReadOnlyDictionary<string, long> Stats { get; init; } = new Dictionary<string, long>();

    /// <summary>Carves a validation split out of the train part only (for choices such as fusion weights); null when the
    /// dataset has none. The test part is never looked at.</summary>
    public Func<EvalDataset>? ValidationSplit { get; init; }

    private IReadOnlyDictionary<string, string>? _itemCategories;

    /// <summary>Item → category from the train events (the category of the item's last train event with a known
    /// category), for the diversity metrics. Empty when no train event has a category (Beauty: every category is
    /// <see cref="EventReader.UnknownCategory"/>), and diversity is then reported as n/a rather than 0. Computed on
    /// first use unless set.</summary>
    public IReadOnlyDictionary<string, string> ItemCategories
    {
        get => _itemCategories ??= CategoriesOf(TrainEvents);
        init => _itemCategories = value;
    }

    public static IReadOnlyDictionary<string, string> CategoriesOf(IEnumerable<BehaviorEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (!string.IsNullOrEmpty(e.CategoryId) && e.CategoryId != EventReader.UnknownCategory)
            {
                map[e.ItemId] = e.CategoryId;
            }
        }
        return map;
    }
}

/// <summary>Amazon Beauty, leave-one-out: train on seq[:-2], validate on seq[-2] (input seq[:-2]), test on seq[-1] with
/// input seq[:-1]; users with fewer than 3 items only train. Every action is a purchase; timestamps are synthetic
/// (one second per position) because the file has none.</summary>
public static class BeautySplit
{
    public const long BaseTimestamp = 1_500_000_000;

    public static EvalDataset Create(SequenceCorpus corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var split = LeaveOneOutSplit.Create(corpus.ItemSeqs, corpus.ActionSeqs);
        var vocab = corpus.Vocabulary;
        var train = new List<BehaviorEvent>();
        for (var u = 0; u < split.TrainItems.Count; u++)
        {
            var items = split.TrainItems[u];
            for (var i = 0; i < items.Length; i++)
            {
                train.Add(new BehaviorEvent(corpus.UserIds[u], vocab.IdOf(items[i]), EventReader.UnknownCategory, EventType.Purchase, BaseTimestamp + i));
            }
        }
        var users = split.Test.Select(c => new EvalUser(
            corpus.UserIds[c.User],
            c.Items.Select((t, i) => new TrajectoryStep(vocab.IdOf(t), EventReader.UnknownCategory, EventType.Purchase, BaseTimestamp + i)).ToArray(),
            new HashSet<string>([vocab.IdOf(c.Target)], StringComparer.Ordinal),
            Dormant: false)).ToArray();
        var maxLength = corpus.ItemSeqs.Count == 0 ? 0 : corpus.ItemSeqs.Max(s => s.Length);
        return new EvalDataset
        {
            Name = "beauty",
            Split = "leave-one-out: train seq[:-2], validation seq[-2] (backbone early stopping only), test seq[-1] with history seq[:-1]",
            TrainEvents = train,
            AsOf = BaseTimestamp + maxLength,
            Users = users,
            BackboneCorpus = corpus,
            BackboneValidation = "each user's second-to-last item (input: the train sequence)",
            RecallKs = [1, 5, 10],
            NdcgKs = [5, 10],
            Cohorts = ["all"],
            Stats = new Dictionary<string, long>
            {
                ["users"] = corpus.ItemSeqs.Count,
                ["items"] = corpus.NumItems,
                ["events"] = corpus.EventCount,
                ["trainEvents"] = train.Count,
                ["testUsers"] = users.Length,
            },
        };
    }
}

/// <summary>Taobao UserBehavior, temporal: train = events before <see cref="DefaultSplit"/>; a user is evaluated when they
/// purchased at least one item at/after it; relevant = the set of those purchased items; input = all the user's train
/// events. Dormant = the <see cref="DormancyPolicy"/> rule (as in Core's DormantCohortSelector) over the train events in
/// (split − look-back, split].</summary>
public static class TaobaoSplit
{
    /// <summary>2017-12-01 00:00 China time (UTC+8).</summary>
    public const long DefaultSplit = 1_512_057_600;

    /// <summary>The validation split sits this long before the test split: train = events before it, relevant = purchases
    /// in the last day of the train window.</summary>
    public const long ValidationSeconds = 86_400;

    public static EvalDataset Create(IEnumerable<BehaviorEvent> events, long splitTime, DormancyPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(policy);
        var train = new List<BehaviorEvent>();
        var trainByUser = new Dictionary<string, List<(BehaviorEvent Event, int Order)>>(StringComparer.Ordinal);
        var testByUser = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var userOrder = new List<string>();
        long testEvents = 0;
        foreach (var e in events)
        {
            if (!trainByUser.ContainsKey(e.UserId) && !testByUser.ContainsKey(e.UserId))
            {
                userOrder.Add(e.UserId);
            }
            if (e.Timestamp < splitTime)
            {
                if (!trainByUser.TryGetValue(e.UserId, out var list))
                {
                    trainByUser[e.UserId] = list = [];
                }
                list.Add((e, train.Count));
                train.Add(e);
            }
            else
            {
                testEvents++;
                if (e.Type == EventType.Purchase)
                {
                    if (!testByUser.TryGetValue(e.UserId, out var set))
                    {
                        testByUser[e.UserId] = set = new HashSet<string>(StringComparer.Ordinal);
                    }
                    set.Add(e.ItemId);
                }
            }
        }

        var trainItems = train.Select(e => e.ItemId).ToHashSet(StringComparer.Ordinal);
        var users = new List<EvalUser>();
        long targets = 0, targetsInHistory = 0, targetsUnseen = 0;
        foreach (var userId in userOrder)
        {
            if (!testByUser.TryGetValue(userId, out var relevant))
            {
                continue;
            }
            var history = trainByUser.TryGetValue(userId, out var list)
                ? list.OrderBy(x => x.Event.Timestamp).ThenBy(x => x.Order)
                    .Select(x => new TrajectoryStep(x.Event.ItemId, x.Event.CategoryId, x.Event.Type, x.Event.Timestamp)).ToArray()
                : [];
            var seen = history.Select(s => s.Item).ToHashSet(StringComparer.Ordinal);
            targets += relevant.Count;
            targetsInHistory += relevant.Count(seen.Contains);
            targetsUnseen += relevant.Count(i => !trainItems.Contains(i));
            users.Add(new EvalUser(userId, history, relevant, IsDormant(history, splitTime, policy)));
        }

        // Backbone: sequences of the train window; the last train event is appended twice so that the trainer's
        // leave-one-out split trains on seq[:-1] and validates on seq[-1] (its own "test" case is disabled).
        var corpus = SequenceCorpus.FromEvents(train, new EventCorpusOptions { MinEvents = 2 }, out _);
        var items = corpus.ItemSeqs.Select(s => s.Append(s[^1]).ToArray()).ToArray();
        var actions = corpus.ActionSeqs.Select(s => s.Append(s[^1]).ToArray()).ToArray();
        var backboneCorpus = new SequenceCorpus(corpus.Vocabulary, items, actions, corpus.UserIds);

        return new EvalDataset
        {
            Name = "taobao",
            Split = $"temporal at {splitTime} ({DateTimeOffset.FromUnixTimeSeconds(splitTime).ToOffset(TimeSpan.FromHours(8)):yyyy-MM-dd HH:mm zzz}): " +
                    "train = events before; relevant = distinct items a user purchased at/after; users with >= 1 such purchase evaluated",
            TrainEvents = train,
            AsOf = splitTime,
            Users = users,
            BackboneCorpus = backboneCorpus,
            BackboneValidation = "each user's last train event (input: the earlier train events); train window only",
            RecallKs = [1, 5, 10, 20],
            NdcgKs = [5, 10],
            Cohorts = ["all", "dormant"],
            ValidationSplit = () => Create(train, splitTime - ValidationSeconds, policy),
            Stats = new Dictionary<string, long>
            {
                ["trainEvents"] = train.Count,
                ["testEvents"] = testEvents,
                ["trainUsers"] = trainByUser.Count,
                ["trainItems"] = trainItems.Count,
                ["evaluatedUsers"] = users.Count,
                ["dormantUsers"] = users.Count(u => u.Dormant),
                ["evaluatedUsersWithoutTrainEvents"] = users.Count(u => u.History.Count == 0),
                ["testItems"] = targets,
                ["testItemsInUserHistory"] = targetsInHistory,
                ["testItemsUnseenInTrain"] = targetsUnseen,
                ["backboneUsers"] = backboneCorpus.ItemSeqs.Count,
                ["backboneItems"] = backboneCorpus.NumItems,
            },
        };
    }

    /// <summary>Core's dormancy rule (DormantCohortSelector) on one user's history: in (asOf − LookbackDays, asOf], at least
    /// MinViews views, purchases ≤ MaxConversionRate × views, and at least MinActiveDays distinct days.</summary>
    public static bool IsDormant(IReadOnlyList<TrajectoryStep> history, long asOf, DormancyPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(policy);
        var windowStart = asOf - policy.LookbackDays * 86_400L;
        int views = 0, purchases = 0;
        ulong days = 0;
        foreach (var s in history)
        {
            if (s.Ts > asOf || s.Ts <= windowStart)
            {
                continue;
            }
            if (s.Type == EventType.View)
            {
                views++;
            }
            else if (s.Type == EventType.Purchase)
            {
                purchases++;
            }
            var daysAgo = (asOf - s.Ts) / 86_400L;
            if (daysAgo < 64)
            {
                days |= 1UL << (int)daysAgo;
            }
        }
        return policy.NotDormantReason(views, purchases, BitOperations.PopCount(days)) is null;
    }

    public static IEnumerable<BehaviorEvent> ReadEvents(Stream stream, EventFormat format = EventFormat.Taobao) =>
        EventReader.Read(stream, format).Where(r => r.IsValid).Select(r => r.Event);
}
