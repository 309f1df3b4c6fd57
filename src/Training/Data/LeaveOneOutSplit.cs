namespace RoleGen.Training.Data;

/// <summary>
/// The standard sequential-recommendation split. For a user with n ≥ 3 events: the last item is the test target, the
/// second-to-last the validation target, and the first n - 2 events are the training sequence (validation input = the
/// training sequence; test input = training sequence + validation item). Users with n &lt; 3 only train, on their whole sequence.
/// Validation drives early stopping; the test split is only ever evaluated once, after model selection.
/// </summary>
public sealed class LeaveOneOutSplit
{
    private LeaveOneOutSplit(int[][] trainItems, int[][] trainActions, EvalCase[] validation, EvalCase[] test)
    {
        TrainItems = trainItems;
        TrainActions = trainActions;
        Validation = validation;
        Test = test;
    }

    public IReadOnlyList<int[]> TrainItems { get; }

    public IReadOnlyList<int[]> TrainActions { get; }

    public IReadOnlyList<EvalCase> Validation { get; }

    public IReadOnlyList<EvalCase> Test { get; }

    public static LeaveOneOutSplit Create(IReadOnlyList<int[]> itemSeqs, IReadOnlyList<int[]> actionSeqs)
    {
        ArgumentNullException.ThrowIfNull(itemSeqs);
        ArgumentNullException.ThrowIfNull(actionSeqs);
        var trainItems = new int[itemSeqs.Count][];
        var trainActions = new int[itemSeqs.Count][];
        var validation = new List<EvalCase>();
        var test = new List<EvalCase>();
        for (var u = 0; u < itemSeqs.Count; u++)
        {
            var items = itemSeqs[u];
            var actions = actionSeqs[u];
            var n = items.Length;
            if (n < 3)
            {
                trainItems[u] = items;
                trainActions[u] = actions;
                continue;
            }
            trainItems[u] = items[..(n - 2)];
            trainActions[u] = actions[..(n - 2)];
            validation.Add(new EvalCase(u, items[..(n - 2)], actions[..(n - 2)], items[n - 2], actions[n - 2]));
            test.Add(new EvalCase(u, items[..(n - 1)], actions[..(n - 1)], items[n - 1], actions[n - 1]));
        }
        return new LeaveOneOutSplit(trainItems, trainActions, validation.ToArray(), test.ToArray());
    }
}

/// <summary>One ranking case: the model reads <see cref="Items"/>/<see cref="Actions"/> (its last L events) and must rank
/// <see cref="Target"/> among all items, every item of <see cref="Items"/> (the whole history, not just the window) excluded
/// unless the evaluation keeps the history rankable. <see cref="TargetAction"/>: the target event's action token (0 = unknown).</summary>
public sealed record EvalCase(int User, int[] Items, int[] Actions, int Target, int TargetAction = 0);
