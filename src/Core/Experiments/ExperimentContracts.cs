namespace RoleGen.Core.Experiments;

/// <summary>The arm of an A/B experiment a user is in. Control gets the baseline policy's candidates (the model alone),
/// treatment gets RoleGen's (reasoner + fusion).</summary>
public enum Arm
{
    Control = 0,
    Treatment = 1,
}

/// <summary>The experiment a run belongs to (<c>RunRequest.Experiment</c>).</summary>
public sealed record ExperimentOptions
{
    public const string DefaultName = "rolegen-ab";

    /// <summary>Experiment name: part of the arm hash (a user keeps their arm for the life of the experiment) and of the
    /// feedback folder <c>feedback/{Name}/</c>. Letters, digits, '-', '_' and '.'.</summary>
    public string Name { get; init; } = DefaultName;

    /// <summary>Share of users in the treatment arm, in [0, 1].</summary>
    public double TreatmentShare { get; init; } = Runs.RunDefaults.TreatmentShare;

    /// <summary>Outcomes count for a run when they happen within this many days after the run's candidates were published.</summary>
    public double AttributionDays { get; init; } = Runs.RunDefaults.AttributionDays;

    /// <summary>The name is a blob path segment (<c>feedback/{name}/</c>, <c>experiments/{name}/</c>): "." and ".." are
    /// refused, since the storage SDK resolves them as path steps.</summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 63 && name.Any(char.IsAsciiLetterOrDigit) &&
        name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    public string? Validate()
    {
        var errors = new List<string>();
        if (!IsValidName(Name))
        {
            errors.Add($"Experiment name '{Name}' is not valid: use 1-63 letters, digits, '-', '_' or '.', with at least one letter or digit.");
        }
        if (!double.IsFinite(TreatmentShare) || TreatmentShare is < 0 or > 1)
        {
            errors.Add("Experiment.TreatmentShare must be between 0 and 1.");
        }
        if (!double.IsFinite(AttributionDays) || AttributionDays is <= 0 or > 90)
        {
            errors.Add("Experiment.AttributionDays must be in (0, 90].");
        }
        return errors.Count == 0 ? null : string.Join(" ", errors);
    }
}

/// <summary>Kinds of outcome events collected after recommendations are shown.</summary>
public enum OutcomeType
{
    Impression = 0,
    Click = 1,
    Cart = 2,
    Order = 3,
}

/// <summary>One outcome event. <see cref="RunId"/> is set when the channel knows which run's candidates were shown.</summary>
public sealed record OutcomeEvent(string UserId, string ItemId, OutcomeType Type, long Timestamp, string? RunId);

/// <summary>Per-arm metrics of one run's feedback.</summary>
/// <param name="Users">Users of the arm in the run's candidates (the denominator of per-user rates).</param>
/// <param name="UsersWithOrder">Users with at least one attributed order (any item).</param>
/// <param name="UsersWithRecommendedOrder">Users who ordered at least one item of their own candidate list.</param>
/// <param name="OrdersPerUser">Orders / Users.</param>
/// <param name="ConversionRate">UsersWithOrder / Users.</param>
/// <param name="ClickThroughRate">Clicks / Impressions (0 without impressions).</param>
/// <param name="HitRate">UsersWithRecommendedOrder / Users.</param>
public sealed record ArmMetrics(
    Arm Arm,
    long Users,
    long Impressions,
    long Clicks,
    long Carts,
    long Orders,
    long UsersWithOrder,
    long UsersWithRecommendedOrder,
    double OrdersPerUser,
    double ConversionRate,
    double ClickThroughRate,
    double HitRate);

/// <summary>Treatment vs control on one metric: relative lift (T − C) / C with a 95% CI and a two-sided p-value, and
/// the name of the test used.</summary>
public sealed record LiftEstimate(string Metric, double Control, double Treatment, double RelativeLift, double CiLow, double CiHigh, double PValue, string Test)
{
    /// <summary>Why the lift is undefined (an empty arm, a zero rate: the ratio or its logarithm is infinite), null when
    /// it is defined. The report is JSON, which has no NaN or infinity, so an undefined estimate is written as
    /// <see cref="RelativeLift"/> = <see cref="CiLow"/> = <see cref="CiHigh"/> = 0 and <see cref="PValue"/> = 1 (no claim)
    /// with this note; <see cref="Control"/> and <see cref="Treatment"/> still hold the observed values.</summary>
    public string? Note { get; init; }
}
