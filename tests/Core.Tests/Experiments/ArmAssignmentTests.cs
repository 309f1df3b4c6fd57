using RoleGen.Core.Cohort;
using RoleGen.Core.Experiments;

namespace RoleGen.Core.Tests.Experiments;

public class ArmAssignmentTests
{
    private static readonly string[] Users = [.. Enumerable.Range(0, 100_000).Select(i => $"u{i}")];

    [Fact]
    public void Of_SameExperimentAndUser_SameArmEveryCall()
    {
        foreach (var user in Users.Take(1_000))
        {
            var first = ArmAssignment.Of("rolegen-ab", user, 0.5);
            Assert.Equal(first, ArmAssignment.Of("rolegen-ab", user, 0.5));
            Assert.Equal(first, ArmAssignment.Of(new ExperimentOptions(), user));
        }
    }

    [Fact]
    public void Of_IsTheDocumentedFunctionOfStableHash()
    {
        // Pinned: the arm is StableHash.Unit(user, salt: experiment) < share, so it cannot drift between processes/releases.
        foreach (var user in Users.Take(1_000))
        {
            var u = StableHash.Unit(user, "exp-1");
            Assert.Equal(u < 0.3 ? Arm.Treatment : Arm.Control, ArmAssignment.Of("exp-1", user, 0.3));
        }
    }

    [Fact]
    public void Of_Share03_GivesThirtyPercentTreatmentOver100kUsers()
    {
        var share = Users.Count(u => ArmAssignment.Of("rolegen-ab", u, 0.3) == Arm.Treatment) / (double)Users.Length;

        Assert.InRange(share, 0.29, 0.31);
    }

    [Fact]
    public void Of_DifferentExperiments_ReshuffleIndependently()
    {
        var sample = Users.Take(20_000).ToArray();
        var a = sample.Select(u => ArmAssignment.Of("exp-a", u, 0.5)).ToArray();
        var b = sample.Select(u => ArmAssignment.Of("exp-b", u, 0.5)).ToArray();

        // Independent 50/50 arms agree for half of the users (sd 0.0035 over 20k).
        var agreement = a.Zip(b).Count(p => p.First == p.Second) / (double)sample.Length;
        Assert.InRange(agreement, 0.48, 0.52);
    }

    [Fact]
    public void Of_ShareZeroAndOne_AreAllControlAndAllTreatment()
    {
        Assert.All(Users.Take(5_000), u => Assert.Equal(Arm.Control, ArmAssignment.Of("e", u, 0)));
        Assert.All(Users.Take(5_000), u => Assert.Equal(Arm.Treatment, ArmAssignment.Of("e", u, 1)));
    }

    [Fact]
    public void Of_RaisingTheShare_OnlyMovesControlUsersToTreatment()
    {
        foreach (var user in Users.Take(5_000))
        {
            if (ArmAssignment.Of("e", user, 0.2) == Arm.Treatment)
            {
                Assert.Equal(Arm.Treatment, ArmAssignment.Of("e", user, 0.5));
            }
        }
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.1)]
    [InlineData(double.NaN)]
    public void Of_ShareOutsideUnitInterval_Throws(double share) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ArmAssignment.Of("e", "u1", share));
}
