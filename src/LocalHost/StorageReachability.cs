using System.Net;
using System.Net.Sockets;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace RoleGen.LocalHost;

/// <summary>
/// Fails fast when the storage account behind a connection string cannot be reached. Without it, the Azure SDK's
/// retry policy makes the first storage call hang for about a minute before reporting anything.
/// </summary>
internal static class StorageReachability
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The blob, queue and table endpoints named by <paramref name="connectionString"/>.</summary>
    internal static IReadOnlyList<(string Service, Uri Endpoint)> Endpoints(string connectionString)
    {
        try
        {
            return
            [
                ("blob", new BlobServiceClient(connectionString).Uri),
                ("queue", new QueueServiceClient(connectionString).Uri),
                ("table", new TableServiceClient(connectionString).Uri),
            ];
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidOperationException($"The storage connection string is not valid: {e.Message}", e);
        }
    }

    /// <summary>Opens (and closes) a TCP connection to each endpoint; throws <see cref="InvalidOperationException"/> with a hint when one is refused or times out.</summary>
    internal static async Task EnsureReachableAsync(string connectionString, CancellationToken cancellationToken)
    {
        foreach (var (service, endpoint) in Endpoints(connectionString).DistinctBy(e => (e.Endpoint.Host, e.Endpoint.Port)))
        {
            string? problem = await TryConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            if (problem is not null)
            {
                bool local = endpoint.IsLoopback || string.Equals(endpoint.Host, "localhost", StringComparison.OrdinalIgnoreCase);
                string hint = local
                    ? "start Azurite with scripts/azurite.sh start"
                    : "check the storage connection string and the network";
                throw new InvalidOperationException(
                    $"Azure Storage at {endpoint.Host}:{endpoint.Port} ({service}) is not reachable ({problem}): {hint}.");
            }
        }
    }

    private static async Task<string?> TryConnectAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (IPAddress.TryParse(endpoint.Host, out var address))
            {
                await socket.ConnectAsync(address, endpoint.Port, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(endpoint.Host, endpoint.Port, timeout.Token).ConfigureAwait(false);
            }

            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"no answer within {ConnectTimeout.TotalSeconds:0} s";
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode.ToString();
        }
    }
}
