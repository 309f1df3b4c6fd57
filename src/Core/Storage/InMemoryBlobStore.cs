using System.Collections.Concurrent;

namespace RoleGen.Core.Storage;

/// <summary>A complete <see cref="IBlobStore"/> in process memory: for fast tests and dry runs. Same semantics as the
/// Azure adapter (overwrite on dispose of the write stream, ordered listing, not-found exception).</summary>
public sealed class InMemoryBlobStore : IBlobStore
{
    private readonly ConcurrentDictionary<string, (byte[] Data, DateTimeOffset Modified)> _blobs = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Paths => _blobs.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();

    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!_blobs.TryGetValue(path, out var blob))
        {
            throw new BlobNotFoundException(path);
        }
        return Task.FromResult<Stream>(new MemoryStream(blob.Data, writable: false));
    }

    public Task<Stream> OpenWriteAsync(string path, CancellationToken cancellationToken = default)
        => Task.FromResult<Stream>(new CommitOnDisposeStream(data => _blobs[path] = (data, DateTimeOffset.UtcNow)));

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => Task.FromResult(_blobs.ContainsKey(path));

    public async IAsyncEnumerable<BlobEntry> ListAsync(string prefix,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var (key, blob) in _blobs.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                     .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new BlobEntry(key, blob.Data.LongLength, blob.Modified);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default) => Task.FromResult(_blobs.TryRemove(path, out _));

    public string Describe(string path) => $"memory://rolegen/{path}";

    private sealed class CommitOnDisposeStream(Action<byte[]> commit) : MemoryStream
    {
        private bool _committed;

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_committed)
            {
                _committed = true;
                commit(ToArray());
            }
            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
            return ValueTask.CompletedTask;
        }
    }
}
