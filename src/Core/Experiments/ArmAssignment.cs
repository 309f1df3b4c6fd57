using RoleGen.Core.Cohort;

namespace RoleGen.Core.Experiments;

/// <summary>Deterministic A/B arm assignment. A user's arm must not change between nightly runs of the same experiment
/// (otherwise outcomes would mix the two policies) and must not depend on the process, machine or shard that computes it,
/// so it is a pure function of (experiment, user) built on <see cref="StableHash"/>, never on a random generator or
/// <see cref="string.GetHashCode()"/>.</summary>
public static class ArmAssignment
{
    /// <summary>The arm of <paramref name="userId"/> in <paramref name="experiment"/>.</summary>
    /// <remarks>
    /// <para>u = <see cref="StableHash.Unit"/>(userId, salt: experiment): FNV-1a 64 over the UTF-8 bytes of the experiment
    /// name, a 0x1F separator byte, then the user id, finished with splitmix64; the top 53 bits of that hash divided by
    /// 2^53 give a uniform u in [0, 1).</para>
    /// <para>The user is in <see cref="Arm.Treatment"/> when u &lt; <paramref name="treatmentShare"/>: share 0 puts everyone
    /// in control, share 1 everyone in treatment (u is always below 1). Salting with the experiment name makes a new
    /// experiment reshuffle the arms independently of the previous one, and of the shard hash (unsalted).</para>
    /// <para>Raising the share of a running experiment only moves users from control to treatment (u thresholds are
    /// nested), never the other way round.</para>
    /// </remarks>
    public static Arm Of(string experiment, string userId, double treatmentShare)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(userId);
        if (!double.IsFinite(treatmentShare) || treatmentShare is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(treatmentShare), treatmentShare, "The treatment share must be in [0, 1].");
        }
        return StableHash.Unit(userId, salt: experiment) < treatmentShare ? Arm.Treatment : Arm.Control;
    }

    /// <summary>As <see cref="Of(string, string, double)"/> with the experiment's name and share.</summary>
    public static Arm Of(ExperimentOptions experiment, string userId)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        return Of(experiment.Name, userId, experiment.TreatmentShare);
    }
}
