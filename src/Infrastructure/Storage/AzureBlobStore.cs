using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using RoleGen.Core.Storage;

namespace RoleGen.Infrastructure.Storage;

/// <summary><see cref="IBlobStore"/> on Azure Blob Storage (or Azurite). Writes stage blocks and commit the block list when
/// the write stream is disposed (<see cref="BlockCommitStream"/>), so readers never see half a blob and an overwrite
/// replaces the blob atomically.</summary>
public sealed class AzureBlobStore(BlobContainerClient container) : IBlobStore
{
    private int _created;

    public BlobContainerClient Container { get; } = container;

    public async Task EnsureContainerAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _created, 1, 0) == 0)
        {
            await Container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            // One GET streamed from the response (OpenRead would first fetch the properties, then GET 4 MiB ranges: three
            // requests for a shard's 5 MB candidates file). The SDK resumes a broken download from where it stopped, on
            // the same ETag, so a blob replaced mid-read fails the read instead of mixing two versions.
            var response = await Container.GetBlobClient(path).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new BlobNotFoundException(path, ex);
        }
    }

    public async Task<Stream> OpenWriteAsync(string path, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        return new BlockCommitStream(Container.GetBlockBlobClient(path));
    }

    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
        => (await Container.GetBlobClient(path).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;

    public async IAsyncEnumerable<BlobEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!(await Container.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value)
        {
            yield break;
        }
        await foreach (var item in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
        {
            yield return new BlobEntry(item.Name, item.Properties.ContentLength ?? 0, item.Properties.LastModified);
        }
    }

    public async Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default)
        => (await Container.GetBlobClient(path).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;

    public string Describe(string path) => $"{Container.Uri.AbsoluteUri.TrimEnd('/')}/{path}";
}
