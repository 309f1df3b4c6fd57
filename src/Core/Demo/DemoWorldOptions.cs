using System.ComponentModel.DataAnnotations;

namespace RoleGen.Core.Demo;

/// <summary>Parameters of the synthetic demo world (see docs/demo-world.md for the generative process).</summary>
public sealed class DemoWorldOptions
{
    public const string SectionName = "RoleGen:Demo";

    [Range(1, 100_000_000)]
    public int Users { get; set; } = 20_000;

    [Range(2, 10_000)]
    public int Categories { get; set; } = 40;

    [Range(2, 100_000)]
    public int ItemsPerCategory { get; set; } = 60;

    [Range(1, 365)]
    public int Days { get; set; } = 30;

    /// <summary>Share of users whose purchase propensity is low (engaged but rarely buy).</summary>
    [Range(0.0, 1.0)]
    public double LowIntentShare { get; set; } = 0.7;

    /// <summary>Share of items that act as triggers.</summary>
    [Range(0.0, 0.5)]
    public double TriggerShare { get; set; } = 0.03;

    /// <summary>Per-view probability that the shown item is a (promoted) trigger item rather than an intent item.</summary>
    [Range(0.0, 1.0)]
    public double TriggerExposure { get; set; } = 0.04;

    /// <summary>Multiplier on the purchase propensity in a trigger's target category once the trigger was seen.</summary>
    [Range(1.0, 100.0)]
    public double TriggerUplift { get; set; } = 8.0;

    public int Seed { get; set; } = 42;

    /// <summary>First day of the simulated window (UTC).</summary>
    public DateTimeOffset Start { get; set; } = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
}
