using System.ComponentModel.DataAnnotations;

namespace RoleGen.Core.Cohort;

/// <summary>Who counts as dormant: engaged (enough views in the look-back window, optionally on enough distinct days)
/// but converting rarely (purchases / views at most <see cref="MaxConversionRate"/>). Configuration, not code.</summary>
public sealed record DormancyPolicy
{
    public const string SectionName = "RoleGen:Dormancy";

    /// <summary>Length of the window that ends at the as-of time.</summary>
    [Range(1, 3650)]
    public int LookbackDays { get; init; } = 30;

    /// <summary>Minimum views in the window (engagement).</summary>
    [Range(0, int.MaxValue)]
    public int MinViews { get; init; } = 10;

    /// <summary>Maximum purchases / views in the window (low conversion). Inclusive.</summary>
    [Range(0.0, 1.0)]
    public double MaxConversionRate { get; init; } = 0.02;

    /// <summary>Minimum distinct active days in the window (0 = off). Days are counted over the window's last 64 days.</summary>
    [Range(0, 64)]
    public int MinActiveDays { get; init; }

    /// <summary>End of the window, Unix seconds. Null: the latest event in the data (reproducible on a static dataset).</summary>
    public long? AsOfUnixSeconds { get; init; }

    /// <summary>Why a user with these window statistics is not dormant (null: dormant). The one rule every caller uses.</summary>
    public string? NotDormantReason(int views, int purchases, int activeDays) =>
        views < MinViews ? "too-few-views"
        : purchases > MaxConversionRate * views ? "converts-too-often"
        : activeDays < MinActiveDays ? "too-few-active-days"
        : null;

    public string? Validate()
    {
        var errors = new List<ValidationResult>();
        return Validator.TryValidateObject(this, new ValidationContext(this), errors, validateAllProperties: true)
            ? null
            : string.Join("; ", errors.Select(e => e.ErrorMessage));
    }
}
