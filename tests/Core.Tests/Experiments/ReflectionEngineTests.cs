using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;

namespace RoleGen.Core.Tests.Experiments;

/// <summary>Reflection without an LLM: role priors move towards each role's observed order rate relative to the
/// backbone's items, shrunk by evidence; failures are named; only treatment users are read.</summary>
public sealed class ReflectionEngineTests
{
    private const string Run = "r1";

    private static readonly FusionWeights Previous = new() { Version = "default" };

    /// <summary>User u{i} (treatment) sees: a carted item (converter, reasoned), a complement (reasoned) and a backbone item.</summary>
    private static CandidateRow Row(int i, Arm arm = Arm.Treatment) => new(Run, $"u{i}", 0,
    [
        new Candidate(1, $"cart{i}", "c1", 2.0, "reasoned") { Role = FunctionalRole.Converter },
        new Candidate(2, $"comp{i}", "c2", 1.3, "reasoned") { Role = FunctionalRole.Complement },
        new Candidate(3, $"bb{i}", "c3", 0.6, "backbone"),
    ])
    { Arm = arm };

    private static IEnumerable<OutcomeEvent> Shown(int i, bool orderCart, bool orderBackbone)
    {
        foreach (var item in new[] { $"cart{i}", $"comp{i}", $"bb{i}" })
        {
            yield return new OutcomeEvent($"u{i}", item, OutcomeType.Impression, 100, Run);
        }
        if (orderCart)
        {
            yield return new OutcomeEvent($"u{i}", $"cart{i}", OutcomeType.Click, 101, Run);
            yield return new OutcomeEvent($"u{i}", $"cart{i}", OutcomeType.Order, 102, Run);
        }
        if (orderBackbone)
        {
            yield return new OutcomeEvent($"u{i}", $"bb{i}", OutcomeType.Click, 101, Run);
            yield return new OutcomeEvent($"u{i}", $"bb{i}", OutcomeType.Order, 102, Run);
        }
    }

    /// <summary>200 treatment users: carted items ordered by 40 (20%), backbone items by 10 (5%), complements never.</summary>
    private static (List<CandidateRow> Rows, List<OutcomeEvent> Events) World()
    {
        var rows = Enumerable.Range(0, 200).Select(i => Row(i)).ToList();
        var events = Enumerable.Range(0, 200).SelectMany(i => Shown(i, orderCart: i % 5 == 0, orderBackbone: i % 20 == 1)).ToList();
        return (rows, events);
    }

    [Fact]
    public void Priors_follow_observed_rates_relative_to_the_backbone_shrunk_by_evidence()
    {
        var (rows, events) = World();
        var (summary, _) = ReflectionEngine.Reflect(Run, Previous, rows, events, [], new ReflectionOptions { Smoothing = 50, PriorStrength = 200, MinImpressions = 100 });

        // Overall rate p̄ = 50 orders / 600 impressions. Smoothed: converter (40 + 50p̄)/250, backbone (10 + 50p̄)/250,
        // complement (0 + 50p̄)/250.
        var p = 50.0 / 600;
        var converter = (40 + 50 * p) / 250;
        var backbone = (10 + 50 * p) / 250;
        var complement = 50 * p / 250;
        Assert.Equal(converter, summary.Outcomes.Single(o => o.Key == "converter").Rate, 8);
        Assert.Equal(backbone, summary.Outcomes.Single(o => o.Key == "backbone").Rate, 8);
        // New prior = (200 · rate/backbone + 200 · old) / (200 + 200), old = prior · Role / Backbone = 1.0 and 0.3.
        Assert.Equal(Math.Round((200 * (converter / backbone) + 200 * 1.0) / 400, 4), summary.Weights.ConverterPrior, 4);
        Assert.Equal(Math.Round((200 * (complement / backbone) + 200 * 0.3) / 400, 4), summary.Weights.ComplementPrior, 4);
        Assert.True(summary.Weights.ConverterPrior > Previous.ConverterPrior);
        Assert.True(summary.Weights.ComplementPrior < Previous.ComplementPrior);
        // Roles never shown keep their prior.
        Assert.Equal(Previous.TriggerPrior, summary.Weights.TriggerPrior);
        Assert.Equal(PriorsRegistry.VersionFor(Run), summary.Weights.Version);
        Assert.Equal(["complement"], summary.FailedRoles);
    }

    [Fact]
    public void Only_treatment_users_are_read_and_ignored_reasoned_items_move_to_the_end()
    {
        var (rows, events) = World();
        rows.Add(Row(999, Arm.Control));
        events.AddRange(Shown(999, orderCart: true, orderBackbone: true));

        var (summary, refined) = ReflectionEngine.Reflect(Run, Previous, rows, events, [], new ReflectionOptions { MinImpressions = 100 });

        Assert.Equal(600, summary.Outcomes.Sum(o => o.Impressions)); // the control user's 3 impressions are not counted
        Assert.DoesNotContain(refined, r => r.UserId == "u999");
        // Every treatment user ignored their complement (shown, never clicked): all 200 get a refined list.
        Assert.Equal(200, refined.Count);
        var u1 = refined.Single(r => r.UserId == "u1"); // clicked the backbone item only
        Assert.Equal(["bb1", "cart1", "comp1"], u1.Items.Select(i => i.ItemId));
        Assert.Equal([1, 2, 3], u1.Items.Select(i => i.Rank));
        Assert.EndsWith("+ignored", u1.Items[^1].Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_inputs_give_the_same_reflection()
    {
        var (rows, events) = World();
        var reasoning = new[] { new UserReasoning("u3", ReasonerKinds.EmbeddedFallback, 0.1, [], [], "x") };
        var a = ReflectionEngine.Reflect(Run, Previous, rows, events, reasoning);
        var b = ReflectionEngine.Reflect(Run, Previous, rows, events.AsEnumerable().Reverse().ToList(), reasoning);

        Assert.Equal(a.Summary.Weights, b.Summary.Weights);
        Assert.Equal(a.Summary.Outcomes, b.Summary.Outcomes);
        Assert.Equal(1, a.Summary.LlmFallbackUsers);
        Assert.Equal(["u3"], a.Summary.LlmFallbackExamples);
    }
}
