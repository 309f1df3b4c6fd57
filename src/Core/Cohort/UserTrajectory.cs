using RoleGen.Core.Events;

namespace RoleGen.Core.Cohort;

/// <summary>One step of a trajectory (compact for JSON lines).</summary>
public sealed record TrajectoryStep(string Item, string Category, EventType Type, long Ts);

/// <summary>A dormant user's input to a shard: statistics in the window, the most recent steps (oldest first) and
/// every item bought in the window (kept even when old steps are truncated, to exclude them from recommendations).</summary>
public sealed record UserTrajectory(
    string UserId,
    int Views,
    int Carts,
    int Purchases,
    int ActiveDays,
    IReadOnlyList<TrajectoryStep> Steps,
    IReadOnlyList<string> Purchased);
