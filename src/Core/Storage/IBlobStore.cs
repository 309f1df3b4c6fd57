namespace RoleGen.Core.Storage;

/// <summary>Port to the blob store (container <c>rolegen</c>). Paths are '/'-separated names inside the container,
/// e.g. <c>runs/{runId}/shards/00003/users.jsonl</c>. Writes overwrite: every producer uses deterministic names,
/// so a retried or replayed step replaces its own output instead of duplicating it.</summary>
public interface IBlobStore
{
    /// <summary>Opens a blob for streaming reads. Throws <see cref="BlobNotFoundException"/> when it does not exist.</summary>
    Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Opens a stream that replaces the blob when disposed (nothing is visible before that).</summary>
    Task<Stream> OpenWriteAsync(string path, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Blobs whose name starts with <paramref name="prefix"/>, in name order.</summary>
    IAsyncEnumerable<BlobEntry> ListAsync(string prefix, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Human-readable address of a path (a URL for Azure, a container path in memory), for summaries.</summary>
    string Describe(string path);
}

public sealed record BlobEntry(string Path, long Size, DateTimeOffset? LastModified);

public sealed class BlobNotFoundException : Exception
{
    public BlobNotFoundException(string path)
        : base($"Blob '{path}' does not exist.") => Path = path;

    public BlobNotFoundException(string path, Exception inner)
        : base($"Blob '{path}' does not exist.", inner) => Path = path;

    public string Path { get; }
}
