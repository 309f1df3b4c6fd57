using System.Runtime.CompilerServices;
using RoleGen.Core.Storage;

namespace RoleGen.Cli;

/// <summary>
/// The runs' local copy as a blob store: blob <c>runs/{runId}/x</c> is the file <c>{root}/{runId}/x</c>, where root is
/// <c>$ROLEGEN_OUTPUT</c> or <c>.rolegen/runs</c>. The CLI exports each finished run's report and per-shard results here
/// (Azurite is usually stopped afterwards: its blobs cannot be browsed without a key), and <c>rolegen candidates</c> /
/// <c>rolegen explain</c> read from here when the run is present, else from storage.
/// </summary>
public sealed class LocalRunStore(string root) : IBlobStore
{
    private const string Prefix = "runs/";

    public string Root { get; } = Path.GetFullPath(root);

    public static LocalRunStore Default() =>
        new(Environment.GetEnvironmentVariable("ROLEGEN_OUTPUT") is { Length: > 0 } o ? o : Path.Combine(".rolegen", "runs"));

    /// <summary>The folder of one run's local copy.</summary>
    public string RunFolder(string runId) => Path.Combine(Root, runId);

    /// <summary>True when the run's local copy has a manifest (the export ran to its end writes it last).</summary>
    public bool HasRun(string runId) => File.Exists(Path.Combine(RunFolder(runId), "manifest.json"));

    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var file = FileOf(path);
        return File.Exists(file) ? Task.FromResult<Stream>(File.OpenRead(file)) : throw new BlobNotFoundException(path);
    }

    public Task<Stream> OpenWriteAsync(string path, CancellationToken cancellationToken = default)
    {
        var file = FileOf(path);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        return Task.FromResult<Stream>(File.Create(file));
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => Task.FromResult(File.Exists(FileOf(path)));

    public async IAsyncEnumerable<BlobEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        if (!Directory.Exists(Root))
        {
            yield break;
        }
        foreach (var file in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var path = Prefix + Path.GetRelativePath(Root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (path.StartsWith(prefix, StringComparison.Ordinal))
            {
                var info = new FileInfo(file);
                yield return new BlobEntry(path, info.Length, info.LastWriteTimeUtc);
            }
        }
    }

    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var file = FileOf(path);
        var existed = File.Exists(file);
        File.Delete(file);
        return Task.FromResult(existed);
    }

    public string Describe(string path) => FileOf(path);

    private string FileOf(string path)
    {
        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Only runs/ blobs have a local copy, not '{path}'.");
        }
        var relative = path[Prefix.Length..];
        var full = Path.GetFullPath(Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar)));
        return full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || full == Root
            ? full
            : throw new ArgumentException($"'{path}' leaves the local runs folder.");
    }
}
