using RoleGen.Core.Runs;

namespace RoleGen.Core.Tests;

/// <summary>The manifest's truth about a resumed run: downtime (shards waiting while the host was down) is recorded and is
/// not counted as orchestration overhead.</summary>
public sealed class RunTimingsTests
{
    private static RunTimings Timings(double total, double downtime) =>
        new(DateTime.UnixEpoch, DateTime.UnixEpoch.AddSeconds(total), 5, 0, total - 5, total)
        {
            ShardActivitySeconds = 80,
            DowntimeSeconds = downtime,
        };

    [Fact]
    public void OverheadShare_ResumedRun_DowntimeIsNotOverhead()
    {
        // 5 s select + 80 s of shard work over 2 slots = 45 s ideal; 50 s running → 10 % overhead, with or without 300 s down.
        var uninterrupted = Timings(total: 50, downtime: 0);
        var resumed = Timings(total: 350, downtime: 300);

        Assert.Equal(0.1, uninterrupted.OverheadShare(activitySlots: 2, shards: 8, maxParallelShards: 8, selectActivitySeconds: 5), 6);
        Assert.Equal(0.1, resumed.OverheadShare(activitySlots: 2, shards: 8, maxParallelShards: 8, selectActivitySeconds: 5), 6);
        // Counted as running time, the downtime would read as 87 % overhead.
        Assert.True(Timings(total: 350, downtime: 0).OverheadShare(2, 8, 8, 5) > 0.8);
    }

    [Fact]
    public void OverheadShare_AllDowntime_IsZeroNotNegative()
    {
        Assert.Equal(0, Timings(total: 100, downtime: 100).OverheadShare(2, 8, 8, 5));
    }
}
