using RoleGen.Evaluation;
using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Reasoning;

namespace RoleGen.Evaluation.Tests;

/// <summary>RoleGen in the offline evaluation: weights chosen on a validation split of the train window only, and the
/// reasoned items (here: carted, not bought) lifting Recall@1 over the model they are fused into.</summary>
public sealed class RoleGenEvalTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long Split = 1_512_057_600;
    private const long Day = 86_400;

    /// <summary>40 users. Each views 12 filler items over the last days before the validation cut, carts item
    /// "k{u}" without buying it, and buys "k{u}" after the cut (half of the users on the validation day, half after the
    /// test split). A popular item "pop" is viewed by everyone, so the transition model's lists are dominated by
    /// co-viewed filler items rather than the carted one.</summary>
    private static List<BehaviorEvent> Events()
    {
        var events = new List<BehaviorEvent>();
        for (var u = 0; u < 40; u++)
        {
            var user = $"u{u}";
            var start = Split - 8 * Day;
            for (var i = 0; i < 12; i++)
            {
                events.Add(new BehaviorEvent(user, $"f{(u + i) % 15}", $"c{i % 3}", EventType.View, start + i * 3_600));
            }
            events.Add(new BehaviorEvent(user, "pop", "c9", EventType.View, start + 50_000));
            events.Add(new BehaviorEvent(user, $"k{u}", "c5", EventType.Cart, start + 60_000));
            var buyAt = u % 2 == 0 ? Split - Day + 1_000 : Split + 1_000;
            events.Add(new BehaviorEvent(user, $"k{u}", "c5", EventType.Purchase, buyAt));
        }
        return events.OrderBy(e => e.Timestamp).ToList();
    }

    [Fact]
    public void Validation_split_uses_only_the_train_window()
    {
        var data = TemporalSplit.Create(Events(), Split, new DormancyPolicy { MinViews = 1, MaxConversionRate = 1 });
        var validation = data.ValidationSplit!()!;

        // The validation window is the last 20% of the train window's span (8 days here): 1.6 days before the split.
        Assert.Equal(Split - (long)Math.Ceiling(0.2 * 8 * Day), validation.AsOf);
        Assert.All(validation.TrainEvents, e => Assert.True(e.Timestamp < validation.AsOf));
        // Targets of validation users are purchases on the last train day; none is a test-window purchase.
        Assert.Equal(20, validation.Users.Count);
        Assert.All(validation.Users, u => Assert.Single(u.Targets));
        Assert.All(validation.Users, u => Assert.Equal($"k{u.UserId[1..]}", u.Targets.Single()));
        Assert.Equal(20, data.Users.Count);
    }

    [Fact]
    public async Task RoleGen_is_evaluated_with_validated_weights_and_lifts_recall_over_its_ranker()
    {
        var data = TemporalSplit.Create(Events(), Split, new DormancyPolicy { MinViews = 1, MaxConversionRate = 1 });
        var lines = new List<string>();

        var report = await Evaluator.RunAsync(data, "synthetic", new EvalOptions { SkipBackbone = true, Exclusion = ExclusionMode.Purchased, Resamples = 50 },
            lines.Add, CancellationToken.None);

        foreach (var l in lines)
        {
            output.WriteLine(l);
        }
        output.WriteLine(report.ToMarkdown());
        Assert.Equal(["popularity", "transition", "rolegen"], report.Models.Select(m => m.Model));
        var rolegen = report.Models[2];
        var transition = report.Models[1];
        var chosen = Assert.IsType<FusionWeights>(rolegen.Details!["chosenWeights"]);
        Assert.StartsWith("validated-", chosen.Version, StringComparison.Ordinal);
        Assert.Equal("transition", rolegen.Details["ranker"]);
        Assert.Contains("statistics", (string)rolegen.Details["worldModel"]!, StringComparison.Ordinal);
        // Every test user's relevant item is the item they carted and did not buy: the Converter path puts it first.
        Assert.Equal(1.0, rolegen.Cohorts[0].Recall["@1"], 12);
        Assert.True(transition.Cohorts[0].Recall["@1"] < 1.0, "the synthetic data does not separate the models");
        Assert.Contains(lines, l => l.StartsWith("rolegen: chose validated-", StringComparison.Ordinal));
    }
}
