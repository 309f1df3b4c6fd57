using System.Collections.Concurrent;
using RoleGen.Core.Storage;

namespace RoleGen.Orchestrations.Tests.Durable;

/// <summary>An <see cref="IBlobStore"/> decorator that counts reads per path and fails the reads of chosen paths.</summary>
internal sealed class FaultInjectingBlobStore(IBlobStore inner) : IBlobStore
{
    private readonly ConcurrentDictionary<string, Func<Exception>> faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> reads = new(StringComparer.Ordinal);

    public IBlobStore Inner => inner;

    /// <summary>Every read of <paramref name="path"/> fails with the exception <paramref name="fault"/> creates.</summary>
    public void FailReads(string path, Func<Exception> fault) => faults[path] = fault;

    public int Reads(string path) => reads.GetValueOrDefault(path);

    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        reads.AddOrUpdate(path, 1, (_, n) => n + 1);
        return faults.TryGetValue(path, out var fault) ? Task.FromException<Stream>(fault()) : inner.OpenReadAsync(path, cancellationToken);
    }

    public Task<Stream> OpenWriteAsync(string path, CancellationToken cancellationToken = default) => inner.OpenWriteAsync(path, cancellationToken);

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => inner.ExistsAsync(path, cancellationToken);

    public IAsyncEnumerable<BlobEntry> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default) => inner.DeleteAsync(path, cancellationToken);

    public string Describe(string path) => inner.Describe(path);
}
