using System.Text;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests.Storage;

/// <summary><see cref="BlobStoreExtensions.ReadJsonLinesAsync{T}"/> reads lines as UTF-8 bytes: the same rows as a
/// line-by-line string reader, whatever the line endings, the buffer boundaries or the byte order mark.</summary>
public sealed class JsonLinesReadTests
{
    private static async Task<List<CandidateRow>> ReadAsync(byte[] bytes)
    {
        var store = new InMemoryBlobStore();
        await using (var w = await store.OpenWriteAsync("x/rows.jsonl"))
        {
            await w.WriteAsync(bytes);
        }
        var rows = new List<CandidateRow>();
        await foreach (var row in store.ReadJsonLinesAsync<CandidateRow>("x/rows.jsonl"))
        {
            rows.Add(row);
        }
        return rows;
    }

    private static CandidateRow Row(int i, int items) =>
        new("r", $"u{i}-é", i % 3, [.. Enumerable.Range(0, items).Select(k => new Candidate(k + 1, $"item-{i}-{k}", "c", 1.0 / (k + 1), "backbone"))]);

    [Fact]
    public async Task Rows_across_buffer_boundaries_crlf_blank_lines_a_bom_and_no_final_newline_read_back_identically()
    {
        // Rows of 1 to 3,000 items: some longer than the 64 KiB read buffer, many straddling its boundaries.
        var rows = Enumerable.Range(0, 60).Select(i => Row(i, i % 7 == 0 ? 3000 : 1 + i)).ToList();
        var text = new StringBuilder();
        for (var i = 0; i < rows.Count; i++)
        {
            text.Append(System.Text.Json.JsonSerializer.Serialize(rows[i], RoleGenJson.Options)).Append(i % 2 == 0 ? "\r\n" : "\n");
            if (i % 10 == 0)
            {
                text.Append("\n\r\n");
            }
        }
        var body = text.ToString().TrimEnd('\n', '\r');
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(body)).ToArray();

        var read = await ReadAsync(bytes);

        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(rows, RoleGenJson.Options), System.Text.Json.JsonSerializer.Serialize(read, RoleGenJson.Options));
    }

    [Fact]
    public async Task A_bad_line_is_reported_with_its_line_number()
    {
        var good = System.Text.Json.JsonSerializer.Serialize(Row(1, 2), RoleGenJson.Options);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(Encoding.UTF8.GetBytes($"{good}\n\n{{not json\n{good}\n")));
        Assert.StartsWith("x/rows.jsonl:3:", ex.Message, StringComparison.Ordinal);
        var nul = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(Encoding.UTF8.GetBytes($"{good}\nnull")));
        Assert.StartsWith("x/rows.jsonl:2:", nul.Message, StringComparison.Ordinal);
        Assert.Empty(await ReadAsync([]));
    }

    [Fact]
    public async Task Written_lines_are_each_rows_serialization_and_a_newline_and_read_back()
    {
        var rows = Enumerable.Range(0, 400).Select(i => Row(i, 1 + (i % 40))).ToList();
        var expected = string.Concat(rows.Select(r => System.Text.Json.JsonSerializer.Serialize(r, RoleGenJson.Options) + "\n"));
        Assert.True(expected.Length > 3 * 65536);
        var store = new InMemoryBlobStore();

        Assert.Equal(rows.Count, await store.WriteJsonLinesAsync("x/rows.jsonl", rows));

        Assert.Equal(expected, await store.ReadTextAsync("x/rows.jsonl"));
        Assert.Equal(expected, string.Concat((await ReadAsync(Encoding.UTF8.GetBytes(expected))).Select(r => System.Text.Json.JsonSerializer.Serialize(r, RoleGenJson.Options) + "\n")));
    }

    [Fact]
    public async Task A_gz_path_is_written_gzip_compressed_and_reads_back_the_same_rows()
    {
        var store = new InMemoryBlobStore();
        var rows = Enumerable.Range(0, 500).Select(i => Row(i, 20)).ToList();
        Assert.Equal(rows.Count, await store.WriteJsonLinesAsync("x/rows.jsonl.gz", rows));
        await store.WriteJsonLinesAsync("x/rows.jsonl", rows);
        byte[] stored;
        await using (var s = await store.OpenReadAsync("x/rows.jsonl.gz"))
        using (var m = new MemoryStream())
        {
            await s.CopyToAsync(m);
            stored = m.ToArray();
        }
        Assert.Equal(new byte[] { 0x1f, 0x8b }, stored[..2]);
        var plain = await store.ReadTextAsync("x/rows.jsonl");
        Assert.True(stored.Length * 4 < Encoding.UTF8.GetByteCount(plain), $"{stored.Length} compressed bytes for {plain.Length} characters");
        var back = new List<CandidateRow>();
        await foreach (var row in store.ReadJsonLinesAsync<CandidateRow>("x/rows.jsonl.gz"))
        {
            back.Add(row);
        }
        string Text(IEnumerable<CandidateRow> r) => System.Text.Json.JsonSerializer.Serialize(r, RoleGenJson.Options);
        Assert.Equal(Text(rows), Text(back));
        Assert.Equal(Text(rows), Text(await ReadAsync(Encoding.UTF8.GetBytes(plain))));
    }
}
