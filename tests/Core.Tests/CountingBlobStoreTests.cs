using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

/// <summary>The bench's byte counter: bytes read and written per kind of blob, whatever API reads them.</summary>
public sealed class CountingBlobStoreTests
{
    [Theory]
    [InlineData("events/demo/part-00000.csv", "events")]
    [InlineData("events/demo/_ingest.json", "events metadata")]
    [InlineData("runs/r1/shards/00003/users.jsonl", "shard users")]
    [InlineData("runs/r1/shards/00003/candidates.jsonl", "candidates")]
    [InlineData("runs/r1/shards/00003/shard.json", "shard reports")]
    [InlineData("runs/r1/model/transition.bin", "models")]
    [InlineData("models/backbone/v1/model.onnx", "models")]
    [InlineData("runs/r1/reasoning/graph-stats.json", "graph statistics")]
    [InlineData("runs/r1/feedback/outcomes/00001.jsonl", "outcomes by shard")]
    [InlineData("runs/r1/feedback/outcomes/00001.jsonl.gz", "outcomes by shard")]
    [InlineData("runs/r1/feedback/refinable/00001.jsonl.gz", "refinable rows")]
    [InlineData("feedback/exp/r1.csv", "outcome files")]
    [InlineData("runs/r1/manifest.json", "run metadata")]
    [InlineData("priors/v/fusion.json", "priors")]
    public void Paths_are_grouped_by_kind(string path, string kind) => Assert.Equal(kind, CountingBlobStore.KindOf(path));

    [Fact]
    public async Task Bytes_read_and_written_are_counted_per_kind()
    {
        var store = new CountingBlobStore(new InMemoryBlobStore());
        await store.WriteTextAsync("events/demo/part-00000.csv", new string('x', 1000));
        await store.WriteTextAsync("runs/r1/manifest.json", "{}");

        Assert.Equal(1000, (await store.ReadTextAsync("events/demo/part-00000.csv")).Length);
        await using (var stream = await store.OpenReadAsync("events/demo/part-00000.csv"))
        {
            var buffer = new byte[300];
            Assert.Equal(300, stream.Read(buffer, 0, 300)); // a partial, synchronous read counts what was read
        }

        var counts = store.Snapshot();
        Assert.Equal(1300, counts["events"].Read);
        Assert.Equal(1000, counts["events"].Written);
        Assert.Equal(2, counts["events"].Opened);
        Assert.Equal(0, counts["run metadata"].Read);
        Assert.Equal(2, counts["run metadata"].Written);
    }
}
