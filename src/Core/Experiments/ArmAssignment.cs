using RoleGen.Core.Cohort;

namespace RoleGen.Core.Experiments;

/// <summary>Stable A/B arm of a user in an experiment (lead's placeholder until the feedback branch lands).</summary>
public static class ArmAssignment
{
    public static Arm Of(string experiment, string userId, double treatmentShare)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(userId);
        var u = (StableHash.Hash64(userId, $"arm:{experiment}") >> 11) * (1.0 / (1UL << 53));
        return u < treatmentShare ? Arm.Treatment : Arm.Control;
    }
}
