using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace RoleGen.Core.Storage;

public static class BlobStoreExtensions
{
    public static async Task WriteJsonAsync<T>(this IBlobStore store, string path, T value, CancellationToken cancellationToken = default)
    {
        await using var stream = await store.OpenWriteAsync(path, cancellationToken).ConfigureAwait(false);
        await JsonSerializer.SerializeAsync(stream, value, RoleGenJson.Indented, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<T> ReadJsonAsync<T>(this IBlobStore store, string path, CancellationToken cancellationToken = default)
    {
        await using var stream = await store.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync<T>(stream, RoleGenJson.Options, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"Blob '{path}' holds JSON null.");
    }

    public static async Task<T?> TryReadJsonAsync<T>(this IBlobStore store, string path, CancellationToken cancellationToken = default)
        where T : class
    {
        try
        {
            return await store.ReadJsonAsync<T>(path, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobNotFoundException)
        {
            return null;
        }
    }

    public static async Task WriteTextAsync(this IBlobStore store, string path, string text, CancellationToken cancellationToken = default)
    {
        await using var stream = await store.OpenWriteAsync(path, cancellationToken).ConfigureAwait(false);
        var bytes = Encoding.UTF8.GetBytes(text);
        await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<string> ReadTextAsync(this IBlobStore store, string path, CancellationToken cancellationToken = default)
    {
        await using var stream = await store.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The extension of a gzip-compressed blob: <see cref="OpenContentWriteAsync"/> and
    /// <see cref="OpenContentReadAsync"/> (so <see cref="WriteJsonLinesAsync{T}"/> and <see cref="ReadJsonLinesAsync{T}"/>)
    /// compress and decompress paths ending in it. Used for the loop's working files, which JSON makes about six times
    /// larger than their gzip form (less to move through storage at a small CPU cost).</summary>
    public const string GzipExtension = ".gz";

    public static bool IsGzip(string path) => path.EndsWith(GzipExtension, StringComparison.Ordinal);

    /// <summary>A stream writing the blob's content: gzip-compressed (fastest level) when <paramref name="path"/> ends in
    /// <see cref="GzipExtension"/>, as is otherwise. Disposing it completes the blob.</summary>
    public static async Task<Stream> OpenContentWriteAsync(this IBlobStore store, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var stream = await store.OpenWriteAsync(path, cancellationToken).ConfigureAwait(false);
        return IsGzip(path) ? new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: false) : stream;
    }

    /// <summary>A stream reading the blob's content: decompressed when <paramref name="path"/> ends in
    /// <see cref="GzipExtension"/>, as is otherwise.</summary>
    public static async Task<Stream> OpenContentReadAsync(this IBlobStore store, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var stream = await store.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
        return IsGzip(path) ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: false) : stream;
    }

    /// <summary>Writes one JSON document per line (gzip-compressed when the path ends in <see cref="GzipExtension"/>).</summary>
    public static async Task<int> WriteJsonLinesAsync<T>(this IBlobStore store, string path, IEnumerable<T> rows, CancellationToken cancellationToken = default)
    {
        await using var stream = await store.OpenContentWriteAsync(path, cancellationToken).ConfigureAwait(false);
        return await JsonLines.WriteAsync(stream, rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one JSON document per line (blank lines skipped, a UTF-8 byte order mark and '\r' before '\n'
    /// ignored; decompressed when the path ends in <see cref="GzipExtension"/>). Each line is deserialized from its UTF-8
    /// bytes: no string per line, no transcoding to UTF-16 and back.</summary>
    public static async IAsyncEnumerable<T> ReadJsonLinesAsync<T>(this IBlobStore store, string path,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await store.OpenContentReadAsync(path, cancellationToken).ConfigureAwait(false);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            int start = 0, end = 0, lineNumber = 0;
            var eof = false;
            var first = true;
            while (true)
            {
                var newline = IndexOfNewline(buffer, start, end - start);
                if (newline < 0 && !eof)
                {
                    // Keep the partial line at the start of the buffer (grown when one line fills it) and read more.
                    if (start > 0)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }
                    if (end == buffer.Length)
                    {
                        var larger = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        Buffer.BlockCopy(buffer, 0, larger, 0, end);
                        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        eof = true;
                    }
                    end += read;
                    if (first && end >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF)
                    {
                        start = 3;
                    }
                    first = first && end < 3 && !eof;
                    continue;
                }
                if (newline < 0 && start == end)
                {
                    break;
                }
                var lineEnd = newline < 0 ? end : newline;
                var length = lineEnd - start;
                if (length > 0 && buffer[lineEnd - 1] == (byte)'\r')
                {
                    length--;
                }
                var lineStart = start;
                start = newline < 0 ? end : newline + 1;
                lineNumber++;
                if (length == 0)
                {
                    continue;
                }
                yield return JsonLine<T>(buffer, lineStart, length, path, lineNumber);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int IndexOfNewline(byte[] buffer, int start, int count)
    {
        var i = buffer.AsSpan(start, count).IndexOf((byte)'\n');
        return i < 0 ? -1 : start + i;
    }

    private static T JsonLine<T>(byte[] buffer, int start, int length, string path, int lineNumber)
    {
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(new ReadOnlySpan<byte>(buffer, start, length), RoleGenJson.Options);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}:{lineNumber}: not a valid {typeof(T).Name} JSON line ({ex.Message}).", ex);
        }
        return value ?? throw new InvalidDataException($"{path}:{lineNumber}: JSON null where a {typeof(T).Name} was expected.");
    }
}

public static class JsonLines
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    /// <summary>Writes one JSON document per line, serialized to UTF-8 in memory and written in blocks of about 64 KiB
    /// (one asynchronous write per block, not two per row).</summary>
    public static async Task<int> WriteAsync<T>(Stream stream, IEnumerable<T> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(rows);
        const int Block = 1 << 16;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(Block * 2);
        var count = 0;
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = RoleGenJson.Options.Encoder, SkipValidation = true }))
        {
            foreach (var row in rows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                JsonSerializer.Serialize(writer, row, RoleGenJson.Options);
                writer.Flush();
                writer.Reset();
                buffer.Write(NewLine);
                count++;
                if (buffer.WrittenCount >= Block)
                {
                    await stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                    buffer.ResetWrittenCount();
                }
            }
        }
        if (buffer.WrittenCount > 0)
        {
            await stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        }
        return count;
    }
}

/// <summary>One JSON convention for everything RoleGen writes: camelCase, enums as strings.</summary>
public static class RoleGenJson
{
    public static readonly JsonSerializerOptions Options = Create(indented: false, hot: true);
    public static readonly JsonSerializerOptions Indented = Create(indented: true, hot: true);

    /// <summary><see cref="Options"/> without the hand-written converters of the hot row types (<see cref="HotJson"/>):
    /// the general serializer they fall back to, and what their tests compare them with.</summary>
    public static readonly JsonSerializerOptions General = Create(indented: false, hot: false);

    private static JsonSerializerOptions Create(bool indented, bool hot)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = indented,
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        };
        if (hot)
        {
            foreach (var converter in HotJson.Converters)
            {
                options.Converters.Add(converter);
            }
        }
        options.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

public static class AsyncBatching
{
    /// <summary>Groups a stream into lists of at most <paramref name="size"/> items (the last may be shorter; none is empty).
    /// A new list per batch, so a consumer may keep one.</summary>
    public static async IAsyncEnumerable<List<T>> Batches<T>(this IAsyncEnumerable<T> source, int size,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var batch = new List<T>(size);
        await foreach (var item in source.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            batch.Add(item);
            if (batch.Count == size)
            {
                yield return batch;
                batch = new List<T>(size);
            }
        }
        if (batch.Count > 0)
        {
            yield return batch;
        }
    }
}
