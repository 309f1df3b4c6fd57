using RoleGen.Core.Storage;

namespace RoleGen.Integration.Tests;

public sealed class AzureBlobStoreTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private IBlobStore Store => azurite.Store;

    [Fact]
    public async Task WriteThenRead_RoundTripsAndOverwrites()
    {
        await Store.WriteTextAsync("a/b/one.txt", "first");
        await Store.WriteTextAsync("a/b/one.txt", "second");
        Assert.Equal("second", await Store.ReadTextAsync("a/b/one.txt"));
        Assert.True(await Store.ExistsAsync("a/b/one.txt"));
    }

    [Fact]
    public async Task OpenRead_MissingBlob_ThrowsBlobNotFound()
    {
        var ex = await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync("nope/missing.json"));
        Assert.Equal("nope/missing.json", ex.Path);
        Assert.Null(await Store.TryReadJsonAsync<Dictionary<string, int>>("nope/missing.json"));
    }

    [Fact]
    public async Task WriteStream_IsInvisibleUntilDisposed()
    {
        var stream = await Store.OpenWriteAsync("pending/blob.bin");
        await stream.WriteAsync(new byte[1024]);
        Assert.False(await Store.ExistsAsync("pending/blob.bin"));
        await stream.DisposeAsync();
        Assert.True(await Store.ExistsAsync("pending/blob.bin"));
    }

    /// <summary>More than one block (staged blocks, then the list) and one block or less (a single Put Blob) round trip,
    /// and each replaces the other whole.</summary>
    [Fact]
    public async Task MultiBlockAndSingleBlockWrites_RoundTripAndReplaceEachOther()
    {
        var large = new byte[(5 << 20) + 123];
        new Random(1).NextBytes(large);
        await using (var w = await Store.OpenWriteAsync("blocks/blob.bin"))
        {
            for (var offset = 0; offset < large.Length; offset += 100_000)
            {
                await w.WriteAsync(large.AsMemory(offset, Math.Min(100_000, large.Length - offset)));
            }
        }
        Assert.Equal(large, await ReadAllAsync("blocks/blob.bin"));
        await Store.WriteTextAsync("blocks/blob.bin", "small");
        Assert.Equal("small", await Store.ReadTextAsync("blocks/blob.bin"));
        await using (var w = await Store.OpenWriteAsync("blocks/blob.bin"))
        {
            w.Write(large);
        }
        Assert.Equal(large, await ReadAllAsync("blocks/blob.bin"));
        await (await Store.OpenWriteAsync("blocks/blob.bin")).DisposeAsync();
        Assert.Empty(await ReadAllAsync("blocks/blob.bin"));
    }

    private async Task<byte[]> ReadAllAsync(string path)
    {
        await using var s = await Store.OpenReadAsync(path);
        using var m = new MemoryStream();
        await s.CopyToAsync(m);
        return m.ToArray();
    }

    [Fact]
    public async Task List_ReturnsPrefixInNameOrder_AndDeleteRemoves()
    {
        await Store.WriteTextAsync("list/2.txt", "x");
        await Store.WriteTextAsync("list/1.txt", "yy");
        await Store.WriteTextAsync("other/3.txt", "z");
        var entries = new List<BlobEntry>();
        await foreach (var e in Store.ListAsync("list/"))
        {
            entries.Add(e);
        }
        Assert.Equal(["list/1.txt", "list/2.txt"], entries.Select(e => e.Path));
        Assert.Equal(2, entries[0].Size);
        Assert.True(await Store.DeleteAsync("list/1.txt"));
        Assert.False(await Store.DeleteAsync("list/1.txt"));
    }

    [Fact]
    public async Task JsonLines_RoundTripThroughAzurite()
    {
        var rows = Enumerable.Range(0, 2000).Select(i => new Row($"u{i}", i)).ToArray();
        Assert.Equal(2000, await Store.WriteJsonLinesAsync("jsonl/rows.jsonl", rows));
        var back = new List<Row>();
        await foreach (var r in Store.ReadJsonLinesAsync<Row>("jsonl/rows.jsonl"))
        {
            back.Add(r);
        }
        Assert.Equal(rows, back);
    }

    private sealed record Row(string Id, int Value);
}
