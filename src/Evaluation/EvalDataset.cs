using System.Numerics;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Training.Data;

namespace RoleGen.Evaluation;

/// <summary>Which items a user is never recommended (and which are dropped from every model's list before scoring).</summary>
public enum ExclusionMode
{
    /// <summary>Every item of the user's input history (the standard next-item protocol).</summary>
    History,

    /// <summary>Only the items the user purchased in the input history (what production scoring masks).</summary>
    Purchased,
}

/// <summary>One evaluated user: the input history (oldest first), the relevant items and whether the run's dormancy
/// policy selects the user on the train window.</summary>
public sealed record EvalUser(string UserId, IReadOnlyList<TrajectoryStep> History, IReadOnlySet<string> Targets, bool Dormant)
{
    public IReadOnlySet<string> Excluded(ExclusionMode mode) => mode == ExclusionMode.History
        ? History.Select(s => s.Item).ToHashSet(StringComparer.Ordinal)
        : History.Where(s => s.Type == EventType.Purchase).Select(s => s.Item).ToHashSet(StringComparer.Ordinal);

    /// <summary>The recommenders' input: <see cref="UserTrajectory.Purchased"/> carries the exclusion list, which both the
    /// transition recommender and the ONNX graph mask. Steps are the last <see cref="MaxSteps"/> (what a shard carries).</summary>
    public UserTrajectory ToTrajectory(ExclusionMode mode)
    {
        var views = History.Count(s => s.Type == EventType.View);
        var carts = History.Count(s => s.Type == EventType.Cart);
        var purchases = History.Count(s => s.Type == EventType.Purchase);
        var days = History.Select(s => s.Ts / 86_400).Distinct().Count();
        return new UserTrajectory(UserId, views, carts, purchases, days, History, Excluded(mode).ToArray());
    }

    /// <summary>Steps a production shard keeps per user (DormantCohortSelector): kept for reference; eval passes the whole history.</summary>
    public const int MaxSteps = 200;
}

/// <summary>A train/test split of one log, ready for every model.</summary>
public sealed class EvalDataset
{
    /// <summary>Cohorts every split reports (a cohort without users is left out of the tables, with a note).</summary>
    public static readonly IReadOnlyList<string> AllCohorts = ["all", "dormant"];

    public required string Name { get; init; }

    public required string Split { get; init; }

    /// <summary>Events the popularity and transition models and the reasoner's statistics learn from (the train part only).</summary>
    public required IReadOnlyList<BehaviorEvent> TrainEvents { get; init; }

    /// <summary>As-of time of the models built from <see cref="TrainEvents"/> (the end of the train part).</summary>
    public required long AsOf { get; init; }

    public required IReadOnlyList<EvalUser> Users { get; init; }

    /// <summary>What the backbone trainer receives. The trainer's own leave-one-out split makes the second-to-last event of
    /// each sequence the validation target (early stopping) and never trains on the last one.</summary>
    public required SequenceCorpus BackboneCorpus { get; init; }

    public required string BackboneValidation { get; init; }

    public IReadOnlyList<int> RecallKs { get; init; } = [1, 5, 10, 20];

    public IReadOnlyList<int> NdcgKs { get; init; } = [5, 10];

    /// <summary>Cohorts reported: "all" and "dormant" (the run's dormancy policy on the train window).</summary>
    public IReadOnlyList<string> Cohorts { get; init; } = AllCohorts;

    /// <summary>The exclusion a user of this protocol expects (history for leave-one-out, purchased for temporal splits).</summary>
    public ExclusionMode DefaultExclusion { get; init; } = ExclusionMode.Purchased;

    public IReadOnlyDictionary<string, long> Stats { get; init; } = new Dictionary<string, long>();

    /// <summary>Carves a validation split out of the train part only (for choices such as fusion weights); null when
    /// none can be carved (<see cref="ValidationNote"/> says why). The test part is never looked at.</summary>
    public Func<EvalDataset?>? ValidationSplit { get; init; }

    /// <summary>Why there is no validation split (or what it is), for the report.</summary>
    public string? ValidationNote { get; init; }

    /// <summary>What the reader and the split say about the log (quarantined rows, empty cohorts, suggestions).</summary>
    public List<string> Notes { get; } = [];

    private IReadOnlyDictionary<string, string>? _itemCategories;

    /// <summary>Item → category from the train events (the category of the item's last train event with a known
    /// category), for the diversity metrics. Empty when no train event has a category (Beauty), and diversity is then
    /// reported as n/a rather than 0. Computed on first use unless set.</summary>
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

    /// <summary>The per-user backbone corpus of a time-split train part: sequences of the train window with the last
    /// event appended twice, so that the trainer's leave-one-out split trains on seq[:-1] and validates on seq[-1] (its
    /// own "test" case is disabled) — the train window only.</summary>
    internal static SequenceCorpus TrainWindowCorpus(IEnumerable<BehaviorEvent> train)
    {
        var corpus = SequenceCorpus.FromEvents(train, new EventCorpusOptions { MinEvents = 2 }, out _);
        var items = corpus.ItemSeqs.Select(s => s.Append(s[^1]).ToArray()).ToArray();
        var actions = corpus.ActionSeqs.Select(s => s.Append(s[^1]).ToArray()).ToArray();
        return new SequenceCorpus(corpus.Vocabulary, items, actions, corpus.UserIds) { CollapseRepeats = corpus.CollapseRepeats };
    }
}

/// <summary>The dormancy rule of the nightly run (Core's <see cref="DormancyPolicy"/>, as DormantCohortSelector applies
/// it) on one user's history, and what to say when it selects nobody.</summary>
public static class EvalDormancy
{
    /// <summary>In (asOf − LookbackDays, asOf]: at least MinViews views, purchases ≤ MaxConversionRate × views, and at least
    /// MinActiveDays distinct days.</summary>
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

    /// <summary>A note when the policy selects none of the evaluated users: why (no views at all, or the window/threshold)
    /// and the options that would fit the log's span. Null when some user is dormant or nobody is evaluated.</summary>
    public static string? EmptyCohortNote(IReadOnlyList<EvalUser> users, IReadOnlyList<BehaviorEvent> train, long asOf, DormancyPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(policy);
        if (users.Count == 0 || users.Any(u => u.Dormant))
        {
            return null;
        }
        if (!train.Any(e => e.Type == EventType.View))
        {
            return "dormant cohort: not measurable on this log — it has no view events, and dormancy means engaged (viewing) but not converting.";
        }
        var start = train.Count == 0 ? asOf : train.Min(e => e.Timestamp);
        var spanDays = Math.Max(1, (int)Math.Ceiling((asOf - start) / 86_400.0));
        var views = users.Select(u => u.History.Count(s => s.Type == EventType.View && s.Ts > asOf - spanDays * 86_400L)).Order().ToArray();
        var median = views.Length == 0 ? 0 : views[views.Length / 2];
        var suggestion = new List<string>();
        if (spanDays > policy.LookbackDays)
        {
            suggestion.Add($"--lookback-days {Math.Min(spanDays, 3650)}");
        }
        if (median < policy.MinViews)
        {
            suggestion.Add($"--min-views {Math.Max(1, median)}");
        }
        return $"dormant cohort: the dormancy policy (look-back {policy.LookbackDays} d, at least {policy.MinViews} views, purchases/views at most " +
               $"{policy.MaxConversionRate.ToString(System.Globalization.CultureInfo.InvariantCulture)}{(policy.MinActiveDays > 0 ? $", at least {policy.MinActiveDays} active days" : "")}) " +
               $"selects none of the {users.Count} evaluated users. The train window spans {spanDays} days and the median evaluated user has {median} views in it" +
               (suggestion.Count > 0 ? $"; a policy that fits this log: {string.Join(" ", suggestion)}." : "; most users convert too often to be dormant.");
    }
}

/// <summary>
/// Temporal split of any event log: train = events before the split time; a user is evaluated (once) when they purchased
/// at least one item at/after it; relevant = the set of those items; input = all the user's train events. The split time
/// defaults to the time that leaves the last <see cref="DefaultTestShare"/> of the events as test. A validation split is
/// carved from the train window by the same rule sized to it: its cut leaves the last <see cref="ValidationShare"/> of the
/// train window's time span (from its 1st-percentile timestamp, so a few stray old rows do not stretch it) as validation.
/// </summary>
public static class TemporalSplit
{
    public const double DefaultTestShare = 0.2;

    /// <summary>Share of the train window's time span used as the validation window.</summary>
    public const double ValidationShare = 0.2;

    /// <summary>The time that leaves the last <paramref name="testShare"/> of <paramref name="events"/> (by timestamp) as test;
    /// at least one event stays before it.</summary>
    public static long DefaultSplitTime(IReadOnlyList<BehaviorEvent> events, double testShare = DefaultTestShare)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            throw new ArgumentException("the log has no valid events", nameof(events));
        }
        var ts = events.Select(e => e.Timestamp).Order().ToArray();
        var index = Math.Clamp((int)Math.Ceiling(ts.Length * (1 - testShare)), 1, ts.Length - 1);
        var split = ts[index];
        // Ties: the split must leave something before it.
        return split > ts[0] ? split : ts[0] + 1;
    }

    /// <summary>The validation cut inside a train window that ends at <paramref name="split"/>.</summary>
    public static long ValidationCut(IReadOnlyList<BehaviorEvent> train, long split)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0)
        {
            return split;
        }
        var ts = train.Select(e => e.Timestamp).Order().ToArray();
        var start = ts[(int)Math.Floor((ts.Length - 1) * 0.01)];
        return split - (long)Math.Ceiling(ValidationShare * Math.Max(1, split - start));
    }

    public static EvalDataset Create(IReadOnlyList<BehaviorEvent> events, long? splitTime, DormancyPolicy policy, string name = "log") =>
        Create(events, splitTime, policy, name, carveValidation: true);

    private static EvalDataset Create(IReadOnlyList<BehaviorEvent> events, long? splitTime, DormancyPolicy policy, string name, bool carveValidation)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(policy);
        var split = splitTime ?? DefaultSplitTime(events);
        var train = new List<BehaviorEvent>();
        var trainByUser = new Dictionary<string, List<(BehaviorEvent Event, int Order)>>(StringComparer.Ordinal);
        var testByUser = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var userOrder = new List<string>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        long testEvents = 0;
        foreach (var e in events)
        {
            if (known.Add(e.UserId))
            {
                userOrder.Add(e.UserId); // each user once, in order of first appearance
            }
            if (e.Timestamp < split)
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
            users.Add(new EvalUser(userId, history, relevant, EvalDormancy.IsDormant(history, split, policy)));
        }

        Func<EvalDataset?>? validation = null;
        string? validationNote = null;
        if (carveValidation)
        {
            var cut = ValidationCut(train, split);
            validation = () =>
            {
                var v = Create(train, cut, policy, name + "-validation", carveValidation: false);
                return v.Users.Count > 0 ? v : null;
            };
            validationNote = $"validation: train events before {cut}, relevant = purchases in [{cut}, {split}) (the last {ValidationShare:P0} of the train window's span)";
        }

        var corpus = EvalDataset.TrainWindowCorpus(train);
        var dataset = new EvalDataset
        {
            Name = name,
            Split = $"temporal at {split} ({DateTimeOffset.FromUnixTimeSeconds(split):yyyy-MM-dd HH:mm} UTC{(splitTime is null ? $", the last {DefaultTestShare:P0} of the events" : "")}): " +
                    "train = events before; relevant = distinct items a user purchased at/after; users with >= 1 such purchase evaluated once",
            TrainEvents = train,
            AsOf = split,
            Users = users,
            BackboneCorpus = corpus,
            BackboneValidation = "each user's last train event (input: the earlier train events); train window only",
            ValidationSplit = validation,
            ValidationNote = validationNote,
            DefaultExclusion = ExclusionMode.Purchased,
            Stats = new Dictionary<string, long>
            {
                ["splitTime"] = split,
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
                ["backboneUsers"] = corpus.ItemSeqs.Count,
                ["backboneItems"] = corpus.NumItems,
            },
        };
        if (EvalDormancy.EmptyCohortNote(users, train, split, policy) is { } note)
        {
            dataset.Notes.Add(note);
        }
        return dataset;
    }
}

/// <summary>
/// Leave-one-out split of any event log (the standard next-item protocol; Amazon Beauty with the <c>sasrec</c> format):
/// per user, the time-ordered sequence (consecutive repeats of one item and action collapsed, except in purchase-only
/// logs); train = seq[:-2] (users with fewer than 3 events train only); test = seq[-1] given seq[:-1]; validation =
/// seq[-2] given seq[:-2], on the same train events. The backbone trainer does the same split on the whole corpus.
/// </summary>
public static class LeaveOneOutEvalSplit
{
    public static EvalDataset Create(IReadOnlyList<BehaviorEvent> events, DormancyPolicy policy, string name = "log", bool? collapseRepeats = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(policy);
        // A purchase-only log (S3-Rec) keeps every step: that is the published protocol. Browsing logs collapse page reloads.
        var collapse = collapseRepeats ?? events.Any(e => e.Type != EventType.Purchase);
        var byUser = new Dictionary<string, List<(BehaviorEvent Event, int Order)>>(StringComparer.Ordinal);
        var order = new List<string>();
        var index = 0;
        foreach (var e in events)
        {
            if (!byUser.TryGetValue(e.UserId, out var list))
            {
                byUser[e.UserId] = list = [];
                order.Add(e.UserId);
            }
            list.Add((e, index++));
        }
        var sequences = new List<(string User, BehaviorEvent[] Steps)>(order.Count);
        foreach (var user in order)
        {
            var steps = new List<BehaviorEvent>();
            foreach (var (e, _) in byUser[user].OrderBy(x => x.Event.Timestamp).ThenBy(x => x.Order))
            {
                if (collapse && steps.Count > 0 && steps[^1].ItemId == e.ItemId && steps[^1].Type == e.Type)
                {
                    continue;
                }
                steps.Add(e);
            }
            sequences.Add((user, steps.ToArray()));
        }

        var train = new List<BehaviorEvent>();
        foreach (var (_, steps) in sequences)
        {
            train.AddRange(steps.Length >= 3 ? steps[..^2] : steps);
        }
        static TrajectoryStep Step(BehaviorEvent e) => new(e.ItemId, e.CategoryId, e.Type, e.Timestamp);
        EvalUser User(string id, BehaviorEvent[] steps, int holdOut)
        {
            var history = steps[..^holdOut].Select(Step).ToArray();
            var target = steps[^holdOut];
            return new EvalUser(id, history, new HashSet<string>([target.ItemId], StringComparer.Ordinal),
                EvalDormancy.IsDormant(history, history.Length == 0 ? 0 : history[^1].Ts, policy));
        }
        var evaluated = sequences.Where(s => s.Steps.Length >= 3).ToArray();
        var users = evaluated.Select(s => User(s.User, s.Steps, 1)).ToArray();
        var asOf = train.Count == 0 ? 0 : train.Max(e => e.Timestamp) + 1;
        var corpus = SequenceCorpus.FromEvents(events, new EventCorpusOptions { CollapseRepeats = collapse, MinEvents = 2 }, out _);
        var trainItems = train.Select(e => e.ItemId).ToHashSet(StringComparer.Ordinal);

        EvalDataset Dataset(string datasetName, IReadOnlyList<EvalUser> evalUsers, string split, Func<EvalDataset?>? validation) => new()
        {
            Name = datasetName,
            Split = split,
            TrainEvents = train,
            AsOf = asOf,
            Users = evalUsers,
            BackboneCorpus = corpus,
            BackboneValidation = "each user's second-to-last event (input: the earlier events)",
            RecallKs = [1, 5, 10],
            NdcgKs = [5, 10],
            DefaultExclusion = ExclusionMode.History,
            ValidationSplit = validation,
            ValidationNote = validation is null ? null : "validation: each user's second-to-last event given the earlier ones (the backbone's early-stopping item), same train events",
            Stats = new Dictionary<string, long>
            {
                ["users"] = sequences.Count,
                ["items"] = corpus.NumItems,
                ["events"] = events.Count,
                ["trainEvents"] = train.Count,
                ["evaluatedUsers"] = evalUsers.Count,
                ["dormantUsers"] = evalUsers.Count(u => u.Dormant),
                ["testItemsUnseenInTrain"] = evalUsers.Count(u => !trainItems.Contains(u.Targets.Single())),
            },
        };
        var data = Dataset(name,
            users,
            $"leave-one-out: train seq[:-2] (users with fewer than 3 events train only), validation seq[-2], test seq[-1] with history seq[:-1]{(collapse ? "; consecutive repeats of one item and action collapsed" : "")}",
            () => Dataset(name + "-validation", evaluated.Select(s => User(s.User, s.Steps, 2)).ToArray(), "leave-one-out validation: seq[-2] given seq[:-2]", null));
        if (EvalDormancy.EmptyCohortNote(users, train, asOf, policy) is { } note)
        {
            data.Notes.Add(note);
        }
        return data;
    }
}

/// <summary>An external test set: train = the whole log; evaluated = the users of the test file (user, item pairs), with
/// their whole history as input; relevant = their listed items. Validation is carved from the log like a temporal split's.</summary>
public static class ExternalTestSplit
{
    public static EvalDataset Create(IReadOnlyList<BehaviorEvent> events, IEnumerable<(string User, string Item)> test, DormancyPolicy policy, string name = "log")
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(policy);
        var asOf = events.Count == 0 ? 0 : events.Max(e => e.Timestamp) + 1;
        var targets = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var (user, item) in test)
        {
            if (!targets.TryGetValue(user, out var set))
            {
                targets[user] = set = new HashSet<string>(StringComparer.Ordinal);
                order.Add(user);
            }
            set.Add(item);
        }
        var history = events.Select((e, i) => (e, i)).Where(x => targets.ContainsKey(x.e.UserId))
            .GroupBy(x => x.e.UserId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(x => x.e.Timestamp).ThenBy(x => x.i).Select(x => new TrajectoryStep(x.e.ItemId, x.e.CategoryId, x.e.Type, x.e.Timestamp)).ToArray(),
                StringComparer.Ordinal);
        var users = order.Select(u =>
        {
            var h = history.GetValueOrDefault(u) ?? [];
            return new EvalUser(u, h, targets[u], EvalDormancy.IsDormant(h, asOf, policy));
        }).ToArray();
        var trainItems = events.Select(e => e.ItemId).ToHashSet(StringComparer.Ordinal);
        var cut = TemporalSplit.ValidationCut(events, asOf);
        var corpus = EvalDataset.TrainWindowCorpus(events);
        var data = new EvalDataset
        {
            Name = name,
            Split = "external test file: train = the whole log; relevant = the (user, item) pairs of --test; input = the user's whole history",
            TrainEvents = events,
            AsOf = asOf,
            Users = users,
            BackboneCorpus = corpus,
            BackboneValidation = "each user's last event (input: the earlier events)",
            DefaultExclusion = ExclusionMode.Purchased,
            ValidationSplit = () =>
            {
                var v = TemporalSplit.Create(events.Where(e => e.Timestamp < asOf).ToArray(), cut, policy, name + "-validation");
                return v.Users.Count > 0 ? v : null;
            },
            ValidationNote = $"validation: temporal split of the log at {cut} (the last {TemporalSplit.ValidationShare:P0} of its span)",
            Stats = new Dictionary<string, long>
            {
                ["trainEvents"] = events.Count,
                ["testUsers"] = order.Count,
                ["evaluatedUsers"] = users.Length,
                ["testUsersWithoutHistory"] = users.Count(u => u.History.Count == 0),
                ["testItems"] = targets.Values.Sum(s => (long)s.Count),
                ["testItemsUnseenInTrain"] = targets.Values.Sum(s => (long)s.Count(i => !trainItems.Contains(i))),
                ["dormantUsers"] = users.Count(u => u.Dormant),
            },
        };
        if (EvalDormancy.EmptyCohortNote(users, events, asOf, policy) is { } note)
        {
            data.Notes.Add(note);
        }
        return data;
    }
}
