using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Tests.Activities;

/// <summary>The manifest tells the truth about a resumed run: real executions per shard activity (crash re-deliveries
/// included), the interruptions with their downtime, and timings whose downtime is kept apart from the overhead.</summary>
public sealed class FinalizeRunActivityTests
{
    [Fact]
    public async Task RunAsync_ResumedRun_RecordsExecutionsInterruptionsAndDowntime()
    {
        var store = new InMemoryBlobStore();
        var request = new RunRequest { RunId = "r1", Dataset = "demo" };
        var t0 = new DateTime(2026, 12, 3, 2, 0, 0, DateTimeKind.Utc);
        // Shard 0 ran twice (the host was killed mid-activity and the message came back), shard 1 once.
        await store.WriteJsonAsync(BlobLayout.ShardReport("r1", 0),
            new ShardOutcome(0, ShardStatus.Succeeded, 10, 10, 10, "c0", null, 1, 1, 1, t0, t0.AddSeconds(2)) { Executions = 2, QueueSeconds = 290 });
        await store.WriteJsonAsync(BlobLayout.ShardReport("r1", 1),
            new ShardOutcome(1, ShardStatus.Succeeded, 5, 5, 5, "c1", null, 1, 1, 1, t0, t0.AddSeconds(2)) { Executions = 1 });
        var batch = new ShardBatchResult(0, 2, 15, [], 4) { Interruptions = 1, InterruptionSeconds = 290 };
        var input = new FinalizeRunInput(request, null, null, [batch], t0, t0.AddSeconds(350), 5, 0, 340, null) { ShardUsers = [10, 5] };

        await new FinalizeRunActivity(new RunReportWriter(store, NullLogger<RunReportWriter>.Instance), store)
            .RunAsync(new Mock<TaskActivityContext>().Object, input);

        var manifest = await store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest("r1"));
        Assert.Equal(new RunInterruptions(1, 290, 3, 2), manifest.Interruptions);
        Assert.Equal([2, 1], manifest.Shards.Select(s => s.Executions));
        Assert.Equal(290, manifest.Timings.DowntimeSeconds);
        Assert.Equal(350, manifest.Timings.TotalSeconds);
        Assert.Equal(15, manifest.Counts.Published);
    }
}
