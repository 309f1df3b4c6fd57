using System.Text.Json;
using RoleGen.Core.Cohort;
using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests.Experiments;

/// <summary>Feedback and reflection as sums over shards: partitioning candidates and outcomes by the run's shard of the
/// user, computing each shard's partial and merging gives exactly the report and the reflection of the whole run.</summary>
public sealed class FeedbackPartialTests
{
    private const string Run = "r1";
    private const long Start = 1_000;
    private const long End = 90_000;

    private static (List<CandidateRow> Candidates, List<OutcomeEvent> Outcomes, List<UserReasoning> Reasoning) World(int seed)
    {
        var random = new Random(seed);
        var candidates = new List<CandidateRow>();
        var outcomes = new List<OutcomeEvent>();
        var reasoning = new List<UserReasoning>();
        FunctionalRole[] roles = [FunctionalRole.Converter, FunctionalRole.Anchor, FunctionalRole.Complement, FunctionalRole.Trigger];
        for (var u = 0; u < 400; u++)
        {
            var user = $"u{u}";
            Arm? arm = u % 11 == 0 ? null : random.NextDouble() < 0.5 ? Arm.Treatment : Arm.Control;
            var items = Enumerable.Range(0, 6).Select(i =>
            {
                var reasoned = random.NextDouble() < 0.4;
                var candidate = new Candidate(i + 1, $"i{random.Next(60)}", $"c{random.Next(8)}", 1.0 / (i + 1), reasoned ? "reasoned" : "backbone");
                return reasoned ? candidate with { Role = roles[random.Next(roles.Length)] } : candidate;
            }).DistinctBy(c => c.ItemId).Select((c, i) => c with { Rank = i + 1 }).ToArray();
            candidates.Add(new CandidateRow(Run, user, 0, items) { Arm = arm });
            if (u % 37 == 0)
            {
                candidates.Add(new CandidateRow(Run, user, 0, items) { Arm = arm }); // a duplicate row
            }
            var fallback = random.NextDouble() < 0.1;
            reasoning.Add(new UserReasoning(user, fallback ? ReasonerKinds.EmbeddedFallback : ReasonerKinds.Embedded, 0.1, [], [], "test")
            {
                FallbackReason = fallback ? "llm: invalid JSON" : null,
            });
            foreach (var item in items)
            {
                if (random.NextDouble() < 0.7)
                {
                    outcomes.Add(new OutcomeEvent(user, item.ItemId, OutcomeType.Impression, Start + random.Next(100_000), null));
                }
                if (random.NextDouble() < 0.2)
                {
                    outcomes.Add(new OutcomeEvent(user, item.ItemId, OutcomeType.Click, Start + random.Next(90_000), random.NextDouble() < 0.1 ? "r0" : Run));
                }
                if (random.NextDouble() < 0.08)
                {
                    outcomes.Add(new OutcomeEvent(user, random.NextDouble() < 0.5 ? item.ItemId : "other", random.NextDouble() < 0.5 ? OutcomeType.Order : OutcomeType.Cart, Start + random.Next(90_000), null));
                }
            }
        }
        for (var z = 0; z < 50; z++)
        {
            outcomes.Add(new OutcomeEvent($"stranger{z}", "i1", OutcomeType.Order, Start + z, null));
        }
        return (candidates, outcomes, reasoning);
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, RoleGenJson.Options);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16)]
    public void Merged_shard_partials_equal_the_whole_run(int shards)
    {
        var (candidates, outcomes, reasoning) = World(seed: 5);
        var whole = FeedbackPartial.Of(Run, Start, End, candidates, outcomes, reasoning);

        var merged = Enumerable.Range(0, shards)
            .Select(s => FeedbackPartial.Of(Run, Start, End,
                candidates.Where(r => ShardPlan.ShardOf(r.UserId, shards) == s),
                outcomes.Where(e => ShardPlan.ShardOf(e.UserId, shards) == s),
                reasoning.Where(r => ShardPlan.ShardOf(r.UserId, shards) == s)))
            .Aggregate(FeedbackPartial.Empty, (a, b) => a.Merge(b));

        Assert.Equal(Json(whole with { FallbackExamples = [] }), Json(merged with { FallbackExamples = [] }));
        Assert.Equal(whole.FallbackUsers, merged.FallbackUsers);
        Assert.True(whole.Counts.Attributed > 500 && whole.Counts.OtherRun > 0 && whole.Counts.OutsideWindow > 0 && whole.Counts.UnknownUser == 50);
        Assert.Equal(Json(FeedbackCalculator.Compute(Run, "x", Start, End, candidates, outcomes)), Json(FeedbackCalculator.Report(Run, "x", Start, End, merged)));
    }

    [Fact]
    public void Report_from_sums_matches_the_per_user_definition_of_the_metrics()
    {
        var (candidates, outcomes, _) = World(seed: 9);
        var attribution = FeedbackCalculator.Attribute(Run, Start, End, candidates, outcomes);
        var report = FeedbackCalculator.Compute(Run, "x", Start, End, candidates, outcomes);

        var treatment = attribution.Users.Where(u => u.Arm == Arm.Treatment).ToArray();
        var control = attribution.Users.Where(u => u.Arm == Arm.Control).ToArray();
        var arm = report.Arms.Single(a => a.Arm == Arm.Treatment);
        Assert.Equal(treatment.Length, arm.Users);
        Assert.Equal(treatment.Sum(u => u.Count(OutcomeType.Order)), arm.Orders);
        Assert.Equal(treatment.Count(u => u.RecommendedOrders > 0), arm.UsersWithRecommendedOrder);
        var perUser = LiftStatistics.RatioOfMeans(FeedbackCalculator.OrdersPerUser,
            [.. treatment.Select(u => (double)u.Count(OutcomeType.Order))], [.. control.Select(u => (double)u.Count(OutcomeType.Order))]);
        var fromSums = report.Lifts.Single(l => l.Metric == FeedbackCalculator.OrdersPerUser);
        Assert.Equal(perUser.RelativeLift, fromSums.RelativeLift, 12);
        Assert.Equal(perUser.CiLow, fromSums.CiLow, 9);
        Assert.Equal(perUser.CiHigh, fromSums.CiHigh, 9);
        Assert.Equal(perUser.PValue, fromSums.PValue, 9);
    }

    [Fact]
    public void Reflection_from_merged_tallies_and_per_row_refinement_equals_the_whole_reflection()
    {
        var (candidates, outcomes, reasoning) = World(seed: 13);
        var previous = new FusionWeights { Version = "default" };
        var attributed = FeedbackCalculator.Attribute(Run, Start, End, candidates, outcomes).Users.SelectMany(u => u.Events).ToArray();
        var (whole, wholeRefined) = ReflectionEngine.Reflect(Run, previous, candidates, attributed, reasoning);

        const int shards = 7;
        var merged = Enumerable.Range(0, shards)
            .Select(s => FeedbackPartial.Of(Run, Start, End,
                candidates.Where(r => ShardPlan.ShardOf(r.UserId, shards) == s),
                outcomes.Where(e => ShardPlan.ShardOf(e.UserId, shards) == s),
                reasoning.Where(r => ShardPlan.ShardOf(r.UserId, shards) == s)))
            .Aggregate(FeedbackPartial.Empty, (a, b) => a.Merge(b));
        var summary = ReflectionEngine.Summarize(Run, previous, merged.Roles, merged.CategoryImpressions, merged.CategoryOrders, merged.FallbackUsers, merged.FallbackExamples);
        var byUser = attributed.GroupBy(e => e.UserId).ToDictionary(g => g.Key, g => (IReadOnlyList<OutcomeEvent>)g.ToList());
        var refined = candidates.Select(r => ReflectionEngine.Refine(r, byUser.GetValueOrDefault(r.UserId) ?? [], previous, summary.Weights)).OfType<CandidateRow>().ToArray();

        Assert.Equal(Json(whole with { LlmFallbackExamples = [], RefinedUsers = 0 }), Json(summary with { LlmFallbackExamples = [] }));
        Assert.Equal(whole.RefinedUsers, refined.Length);
        Assert.True(refined.Length > 10);
        Assert.Equal(Json(wholeRefined.OrderBy(r => r.UserId, StringComparer.Ordinal)), Json(refined.OrderBy(r => r.UserId, StringComparer.Ordinal)));
        Assert.NotEqual(previous.ConverterPrior, summary.Weights.ConverterPrior);
    }

    [Fact]
    public void Refining_each_shards_refinable_rows_after_a_json_round_trip_equals_the_whole_reflection()
    {
        var (candidates, outcomes, reasoning) = World(seed: 17);
        var previous = new FusionWeights { Version = "default" };
        var attributed = FeedbackCalculator.Attribute(Run, Start, End, candidates, outcomes).Users.SelectMany(u => u.Events).ToArray();
        var (whole, wholeRefined) = ReflectionEngine.Reflect(Run, previous, candidates, attributed, reasoning);

        const int shards = 5;
        var refined = new List<CandidateRow>();
        var kept = 0;
        for (var s = 0; s < shards; s++)
        {
            var rows = candidates.Where(r => ShardPlan.ShardOf(r.UserId, shards) == s).ToList();
            var attribution = FeedbackCalculator.Attribute(Run, Start, End, rows, outcomes.Where(e => ShardPlan.ShardOf(e.UserId, shards) == s));
            // What the feedback step writes and the reflection reads back (JSON lines).
            var lines = RefinableRow.Select(rows, attribution).Select(r => JsonSerializer.Serialize(r, RoleGenJson.Options)).ToArray();
            kept += lines.Length;
            refined.AddRange(lines
                .Select(l => JsonSerializer.Deserialize<RefinableRow>(l, RoleGenJson.Options)!)
                .Select(r => ReflectionEngine.Refine(r.Row, r.Ignored, previous, whole.Weights))
                .OfType<CandidateRow>());
        }

        // Every kept row is refined (eligibility does not depend on the weights), and far fewer rows are kept than read.
        Assert.Equal(kept, refined.Count);
        Assert.Equal(wholeRefined.Count, refined.Count);
        Assert.True(refined.Count > 10 && refined.Count < candidates.Count / 2, $"{refined.Count} of {candidates.Count}");
        Assert.Equal(Json(wholeRefined.OrderBy(r => r.UserId, StringComparer.Ordinal)), Json(refined.OrderBy(r => r.UserId, StringComparer.Ordinal)));
    }

    [Fact]
    public void A_row_is_refinable_exactly_when_refine_returns_a_list()
    {
        var (candidates, outcomes, _) = World(seed: 19);
        var previous = new FusionWeights { Version = "default" };
        var next = previous with { ConverterPrior = previous.ConverterPrior * 2, Version = "next" };
        var byUser = FeedbackCalculator.Attribute(Run, Start, End, candidates, outcomes).Users.ToDictionary(u => u.UserId, u => u.Events, StringComparer.Ordinal);
        var refinable = 0;
        foreach (var row in candidates)
        {
            var events = byUser.GetValueOrDefault(row.UserId) ?? [];
            var isRefinable = ReflectionEngine.IsRefinable(row, ReflectionEngine.IgnoredItems(row, events));
            Assert.Equal(ReflectionEngine.Refine(row, events, previous, next) is not null, isRefinable);
            refinable += isRefinable ? 1 : 0;
        }
        Assert.InRange(refinable, 1, candidates.Count - 1);
    }
}
