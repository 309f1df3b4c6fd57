using System.Collections.Concurrent;

namespace RoleGen.Core.Storage;

/// <summary>
/// An <see cref="IBlobStore"/> that counts the bytes read and written through it, per kind of blob
/// (<see cref="KindOf"/>: events, shard users, candidates, models, outcomes...). Used by <c>rolegen bench nightly</c> to
/// show that each input is read once per night; <see cref="Snapshot"/> lets a caller take the difference over a phase.
/// </summary>
public sealed class CountingBlobStore(IBlobStore inner) : IBlobStore
{
    private readonly ConcurrentDictionary<string, long[]> _counts = new(StringComparer.Ordinal);

    /// <summary>The kind of a path, as the bench reports it.</summary>
    public static string KindOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.StartsWith("events/", StringComparison.Ordinal))
        {
            return path.Contains("/_", StringComparison.Ordinal) ? "events metadata" : "events";
        }
        if (path.StartsWith("models/", StringComparison.Ordinal) || path.Contains("/model/", StringComparison.Ordinal))
        {
            return "models";
        }
        if (path.StartsWith("feedback/", StringComparison.Ordinal))
        {
            return "outcome files";
        }
        if (path.StartsWith("runs/", StringComparison.Ordinal))
        {
            if (path.Contains("/feedback/outcomes/", StringComparison.Ordinal))
            {
                return "outcomes by shard";
            }
            if (path.Contains("/feedback/partials/", StringComparison.Ordinal))
            {
                return "feedback partials";
            }
            if (path.Contains("/feedback/refinable/", StringComparison.Ordinal))
            {
                return "refinable rows";
            }
            var name = path[(path.LastIndexOf('/') + 1)..];
            return name switch
            {
                "users.jsonl" => "shard users",
                "candidates.jsonl" => "candidates",
                "reasoning.jsonl" => "reasoning traces",
                "shard.json" or "executions.txt" => "shard reports",
                BlobLayout.GraphStatisticsFile => "graph statistics",
                _ => "run metadata",
            };
        }
        return path.StartsWith("priors/", StringComparison.Ordinal) ? "priors" : "other";
    }

    /// <summary>Bytes read, bytes written and blobs opened for reading, per kind, so far.</summary>
    public IReadOnlyDictionary<string, (long Read, long Written, long Opened)> Snapshot() =>
        _counts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(kv => kv.Key, kv => (Interlocked.Read(ref kv.Value[0]), Interlocked.Read(ref kv.Value[1]), Interlocked.Read(ref kv.Value[2])), StringComparer.Ordinal);

    private long[] Counter(string path) => _counts.GetOrAdd(KindOf(path), _ => new long[3]);

    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var stream = await inner.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
        var counter = Counter(path);
        Interlocked.Increment(ref counter[2]);
        return new CountingStream(stream, counter, 0);
    }

    public async Task<Stream> OpenWriteAsync(string path, CancellationToken cancellationToken = default) =>
        new CountingStream(await inner.OpenWriteAsync(path, cancellationToken).ConfigureAwait(false), Counter(path), 1);

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => inner.ExistsAsync(path, cancellationToken);

    public IAsyncEnumerable<BlobEntry> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default) => inner.DeleteAsync(path, cancellationToken);

    public string Describe(string path) => inner.Describe(path);

    /// <summary>Forwards to the inner stream and adds what passes to <c>counter[slot]</c>.</summary>
    private sealed class CountingStream(Stream inner, long[] counter, int slot) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => Add(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Add(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Add(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Add(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Add(count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Add(buffer.Length);
        }

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            await inner.WriteAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false);
            Add(count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            Add(buffer.Length);
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void SetLength(long value) => inner.SetLength(value);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        private int Add(int n)
        {
            Interlocked.Add(ref counter[slot], n);
            return n;
        }
    }
}
