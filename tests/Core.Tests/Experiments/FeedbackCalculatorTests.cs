using System.Text.Json;
using RoleGen.Core.Experiments;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests.Experiments;

public class FeedbackCalculatorTests
{
    private const string Run = "r1";
    private const long Start = 1_000;
    private const long End = 2_000;

    private static CandidateRow Row(string user, Arm? arm, params string[] items) =>
        new(Run, user, 0, [.. items.Select((item, i) => new Candidate(i + 1, item, "c", 1.0 / (i + 1), "backbone"))]) { Arm = arm };

    private static OutcomeEvent Ev(string user, string item, OutcomeType type, long ts, string? runId = null) => new(user, item, type, ts, runId);

    private static readonly CandidateRow[] Candidates =
    [
        Row("a", Arm.Treatment, "i1", "i2"),
        Row("b", Arm.Treatment, "i3"),
        Row("c", Arm.Control, "i1"),
        Row("d", Arm.Control, "i4"),
        Row("e", null, "i1"),
    ];

    private static readonly OutcomeEvent[] Outcomes =
    [
        Ev("a", "i1", OutcomeType.Impression, Start),           // start is inclusive
        Ev("a", "i1", OutcomeType.Click, 1_100, Run),           // this run's id
        Ev("a", "i1", OutcomeType.Order, 1_200),                // recommended order
        Ev("a", "i9", OutcomeType.Order, 1_300),                // order of another item
        Ev("b", "i3", OutcomeType.Impression, 1_500),
        Ev("b", "i7", OutcomeType.Order, End - 1),              // last second of the window
        Ev("b", "i3", OutcomeType.Order, End),                  // end is exclusive: outside
        Ev("c", "i1", OutcomeType.Impression, 1_000),
        Ev("c", "i1", OutcomeType.Impression, 1_001),
        Ev("c", "i1", OutcomeType.Click, 1_002),
        Ev("c", "i1", OutcomeType.Cart, 1_003),
        Ev("c", "i5", OutcomeType.Order, 1_004),                // not in c's candidates: no hit
        Ev("e", "i1", OutcomeType.Order, 1_500),                // user without an arm
        Ev("z", "i1", OutcomeType.Order, 1_500),                // not a candidate user
        Ev("a", "i1", OutcomeType.Order, 1_500, "r0"),          // another run's outcome
        Ev("a", "i1", OutcomeType.Order, Start - 1),            // before the window
    ];

    [Fact]
    public void Attribute_WindowEdgesOtherRunsUnknownAndUnarmedUsers_AreCountedApart()
    {
        var attribution = FeedbackCalculator.Attribute(Run, Start, End, Candidates, Outcomes);

        Assert.Equal(new FeedbackCounts(CandidateRows: 5, Users: 4, UsersWithoutArm: 1, DuplicateCandidateRows: 0, OutcomesRead: 16,
            Attributed: 11, OutsideWindow: 2, OtherRun: 1, UnknownUser: 1, UserWithoutArm: 1), attribution.Counts);
        Assert.Equal(["a", "b", "c", "d"], attribution.Users.Select(u => u.UserId));
        Assert.Equal([1_000L, 1_100, 1_200, 1_300], attribution.Users[0].Events.Select(e => e.Timestamp));
        Assert.Equal([1_500L, End - 1], attribution.Users[1].Events.Select(e => e.Timestamp));
        Assert.Empty(attribution.Users[3].Events);
        Assert.Equal(1, attribution.Users[0].RecommendedOrders);
        Assert.Equal(0, attribution.Users[2].RecommendedOrders);
        Assert.Equal(["i1", "i2"], attribution.Users[0].Items.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Compute_PerArmMetrics_HandComputed()
    {
        var report = FeedbackCalculator.Compute(Run, "exp", Start, End, Candidates, Outcomes);

        // Treatment a, b: impressions 2, clicks 1, carts 0, orders 3 (a: i1 + i9, b: i7); both ordered; only a ordered a
        // candidate item → OPU 1.5, CR 1, CTR 0.5, HR 0.5.
        // Control c, d: impressions 2, clicks 1, carts 1, orders 1 (c: i5, not a candidate) → OPU 0.5, CR 0.5, CTR 0.5, HR 0.
        Assert.Equal(
            [
                new ArmMetrics(Arm.Control, 2, 2, 1, 1, 1, 1, 0, 0.5, 0.5, 0.5, 0),
                new ArmMetrics(Arm.Treatment, 2, 2, 1, 0, 3, 2, 1, 1.5, 1, 0.5, 0.5),
            ],
            report.Arms);
        Assert.Equal((Run, "exp", Start, End), (report.RunId, report.Experiment, report.WindowStart, report.WindowEnd));
        Assert.Equal(11, report.Counts.Attributed);
    }

    [Fact]
    public void Compute_Lifts_OnePerMetricWithTheDocumentedTests()
    {
        var report = FeedbackCalculator.Compute(Run, "exp", Start, End, Candidates, Outcomes);
        var lifts = report.Lifts.ToDictionary(l => l.Metric);

        Assert.Equal(["conversion-rate", "hit-rate", "click-through-rate", "orders-per-user"], report.Lifts.Select(l => l.Metric));
        // Conversion 2/2 vs 1/2: lift 1; pooled 3/4, se0 = sqrt(0.75·0.25·(1/2 + 1/2)) = 0.433013, z = 0.5/0.433013 = 1.154701, p = 0.248213.
        Assert.Equal(1, lifts["conversion-rate"].RelativeLift, 12);
        Assert.Equal(0.248213, lifts["conversion-rate"].PValue, 6);
        // Hit rate: control 0/2 → infinite lift → undefined.
        Assert.Contains("control rate is 0", lifts["hit-rate"].Note, StringComparison.Ordinal);
        Assert.Equal((0.0, 0.5), (lifts["hit-rate"].Control, lifts["hit-rate"].Treatment));
        // CTR 1/2 vs 1/2.
        Assert.Equal((0.0, 1.0), (lifts["click-through-rate"].RelativeLift, lifts["click-through-rate"].PValue));
        // Orders per user: T [2, 1] mean 1.5, C [1, 0] mean 0.5 → lift 2; Welch se = sqrt(0.5/2 + 0.5/2) = 0.707107, z = 1.414214, p = 0.157299.
        Assert.Equal(2, lifts["orders-per-user"].RelativeLift, 12);
        Assert.Equal(0.157299, lifts["orders-per-user"].PValue, 6);
        Assert.Equal(LiftStatistics.RatioOfMeansTest, lifts["orders-per-user"].Test);
    }

    [Fact]
    public void Compute_ReportSerializesToJsonWithoutNaN()
    {
        var report = FeedbackCalculator.Compute(Run, "exp", Start, End, Candidates, []);
        var json = JsonSerializer.Serialize(report, RoleGenJson.Indented);

        Assert.DoesNotContain("NaN", json, StringComparison.Ordinal);
        Assert.DoesNotContain("Infinity", json, StringComparison.Ordinal);
        Assert.Contains("\"note\": \"undefined", json, StringComparison.Ordinal);
        var back = JsonSerializer.Deserialize<FeedbackReport>(json, RoleGenJson.Options)!;
        Assert.Equal(report.Counts, back.Counts);
        Assert.Equal(report.Arms, back.Arms);
        Assert.Equal("runs/r1/feedback.json", BlobLayout.RunFeedback("r1"));
    }

    [Fact]
    public void Compute_OutcomesWithoutRunId_CountForEveryRunTheirUserIsIn()
    {
        var candidates = new[] { Row("a", Arm.Control, "i1") };
        var outcomes = new[] { Ev("a", "i1", OutcomeType.Order, 1_500), Ev("a", "i1", OutcomeType.Order, 1_501, "r2") };

        var r1 = FeedbackCalculator.Attribute("r1", Start, End, candidates, outcomes);
        var r2 = FeedbackCalculator.Attribute("r2", Start, End, candidates, outcomes);

        Assert.Equal((1L, 1L), (r1.Counts.Attributed, r1.Counts.OtherRun));
        Assert.Equal((2L, 0L), (r2.Counts.Attributed, r2.Counts.OtherRun));
    }

    [Fact]
    public void Compute_MoreClicksThanImpressions_CtrUndefinedInsteadOfThrowing()
    {
        var candidates = new[] { Row("a", Arm.Treatment, "i1"), Row("c", Arm.Control, "i1") };
        var outcomes = new[] { Ev("a", "i1", OutcomeType.Click, 1_500), Ev("c", "i1", OutcomeType.Impression, 1_500) };

        var ctr = FeedbackCalculator.Compute(Run, "exp", Start, End, candidates, outcomes).Lifts.Single(l => l.Metric == FeedbackCalculator.ClickThroughRate);

        Assert.Contains("more clicks than impressions", ctr.Note, StringComparison.Ordinal);
        Assert.Equal(1, ctr.PValue);
    }

    [Fact]
    public void Attribute_DuplicateCandidateRows_FirstRowWins()
    {
        var candidates = new[] { Row("a", Arm.Treatment, "i1"), Row("a", Arm.Control, "i2"), Row("e", null), Row("e", Arm.Control) };

        var attribution = FeedbackCalculator.Attribute(Run, Start, End, candidates, []);

        Assert.Equal((4L, 1L, 1L, 2L), (attribution.Counts.CandidateRows, attribution.Counts.Users, attribution.Counts.UsersWithoutArm, attribution.Counts.DuplicateCandidateRows));
        Assert.Equal(Arm.Treatment, attribution.Users.Single().Arm);
        Assert.Equal(["i1"], attribution.Users.Single().Items);
    }

    [Fact]
    public void Attribute_EmptyWindow_Throws() =>
        Assert.Throws<ArgumentException>(() => FeedbackCalculator.Attribute(Run, End, End, Candidates, Outcomes));

    [Fact]
    public void WindowEnd_AddsAttributionDays() =>
        Assert.Equal(1_000 + 7 * 86_400 + 43_200, FeedbackCalculator.WindowEnd(1_000, 7.5));
}
