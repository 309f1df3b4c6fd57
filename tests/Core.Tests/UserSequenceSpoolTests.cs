using RoleGen.Core.Events;
using RoleGen.Core.Ingest;

namespace RoleGen.Core.Tests;

public sealed class UserSequenceSpoolTests
{
    [Fact]
    public void Users_ManyPartitions_GroupsEveryUserInTimeOrderKeepingArrivalOrderOnTies()
    {
        using var spool = new UserSequenceSpool(partitions: 7, salt: "test");
        for (var u = 0; u < 50; u++)
        {
            // Out of time order on purpose, with a tie at ts 100 (items 1 then 2 must stay in that order).
            spool.Add($"u{u}", new SpooledStep(3, 0, EventType.Purchase, 300));
            spool.Add($"u{u}", new SpooledStep(1, 0, EventType.View, 100));
            spool.Add($"u{u}", new SpooledStep(2, 1, EventType.Cart, 100));
        }

        var users = spool.Users().ToList();

        Assert.Equal(150, spool.Count);
        Assert.Equal(50, users.Count);
        Assert.All(users, u => Assert.Equal([1, 2, 3], u.Steps.Select(s => s.Item)));
        Assert.Equal(50, users.Select(u => u.UserId).Distinct().Count());
    }

    [Fact]
    public void Dispose_RemovesItsTempFiles()
    {
        string directory;
        using (var spool = new UserSequenceSpool(2, "cleanup"))
        {
            spool.Add("a", new SpooledStep(1, 0, EventType.View, 1));
            directory = Directory.GetDirectories(Path.Combine(Path.GetTempPath(), "rolegen-spool"), "cleanup-*").Single();
            Assert.NotEmpty(Directory.GetFiles(directory));
        }
        Assert.False(Directory.Exists(directory));
    }
}
