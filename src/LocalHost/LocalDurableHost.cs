using System.Net;
using System.Net.Sockets;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RoleGen.LocalHost;

/// <summary>
/// An embedded Durable Task backend for running the Functions app's class-based orchestrators and activities without
/// the Functions host: the in-process gRPC sidecar of Microsoft.DurableTask.InProcessTestHost, served by Kestrel on
/// 127.0.0.1 (dynamic port, HTTP/2), in front of Azure Storage (Azurite) or an in-memory backend.
/// A Microsoft.DurableTask worker and client reach it through <see cref="Channel"/>.
/// </summary>
/// <remarks>
/// Register it with <see cref="LocalDurableHostExtensions.AddLocalDurableHost"/>; it is an <see cref="IHostedService"/>
/// that must start before the worker (the extension registers it first; the channel also waits for the port, so a
/// connection attempted earlier simply waits). One worker per task hub and machine: Azure Storage partition leases are
/// owned by the machine name, which is what lets a restarted process resume at once.
/// </remarks>
public sealed class LocalDurableHost : IHostedService, IAsyncDisposable, IDisposable
{
    private readonly LocalDurableHostOptions options;
    private readonly ILoggerFactory quietLoggerFactory;
    private readonly ILogger logger;
    private readonly TaskCompletionSource<int> port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? sidecar;
    private SidecarOrchestrationService? service;
    private int disposed;

    /// <summary>Creates the host; nothing is started or connected until <see cref="StartAsync"/>.</summary>
    /// <param name="options">Backend settings (copied).</param>
    /// <param name="loggerFactory">The application's logger factory; the sidecar and backend log through it at Warning and above only.</param>
    public LocalDurableHost(LocalDurableHostOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        this.options = options.Clone();
        this.options.Validate();
        quietLoggerFactory = new MinimumLevelLoggerFactory(loggerFactory, LogLevel.Warning);
        logger = loggerFactory.CreateLogger<LocalDurableHost>();
        Channel = CreateChannel(port.Task);
    }

    /// <summary>The backend behind the sidecar.</summary>
    public DurableBackend Backend => options.Backend;

    /// <summary>The task hub (Azure Storage backend).</summary>
    public string TaskHubName => options.TaskHubName;

    /// <summary>The sidecar's loopback port; 0 until started.</summary>
    public int Port => port.Task.IsCompletedSuccessfully ? port.Task.Result : 0;

    /// <summary>
    /// gRPC channel to the sidecar. Usable before start: connections wait until the sidecar listens (and fail with the
    /// start error if it could not start).
    /// </summary>
    public GrpcChannel Channel { get; }

    /// <summary>Checks the storage, creates the task hub if needed and starts the sidecar.</summary>
    /// <exception cref="InvalidOperationException">Azure Storage is not reachable (e.g. Azurite not started).</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        if (sidecar is not null)
        {
            throw new InvalidOperationException("The local durable host has already been started.");
        }

        try
        {
            IOrchestrationService backend = await CreateBackendAsync(cancellationToken).ConfigureAwait(false);
            bool azure = options.Backend == DurableBackend.AzureStorage;
            service = new SidecarOrchestrationService(
                backend,
                options.MaxConcurrentActivities,
                options.MaxConcurrentOrchestrations,
                waitPollInterval: azure ? TimeSpan.FromMilliseconds(250) : null,
                repairFailureDetails: azure,
                logger);

            sidecar = BuildSidecar(service);
            await sidecar.StartAsync(cancellationToken).ConfigureAwait(false);
            int listening = ListeningPort(sidecar);
            port.TrySetResult(listening);
            logger.LogDebug("Durable sidecar ({Backend}) listening on 127.0.0.1:{Port}.", options.Backend, listening);
        }
        catch (Exception e)
        {
            port.TrySetException(e);
            throw;
        }
    }

    /// <summary>Stops the sidecar, hands back work items still out, and stops the backend (releasing its partition leases).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (sidecar is { } app)
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        if (service is { } s)
        {
            await s.StopAsync(isForced: false).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        port.TrySetException(new ObjectDisposedException(nameof(LocalDurableHost)));
        if (sidecar is { } app)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }

        service?.Dispose();
        Channel.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Deletes the task hub's queues, tables and blob containers (Azure Storage backend; no-op for in-memory). Call it
    /// only while no host uses the hub, e.g. after disposing it, to clean up after tests.
    /// </summary>
    public static async Task DeleteTaskHubAsync(LocalDurableHostOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Backend != DurableBackend.AzureStorage)
        {
            return;
        }

        options.Validate();
        await StorageReachability.EnsureReachableAsync(options.StorageConnectionString, cancellationToken).ConfigureAwait(false);
        using var hub = new AzureStorageOrchestrationService(CreateSettings(options, loggerFactory: null));
        await hub.DeleteAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> (with a hint such as "start Azurite with scripts/azurite.sh start")
    /// unless the blob, queue and table endpoints of <paramref name="connectionString"/> accept a TCP connection within 3 s.
    /// </summary>
    public static Task EnsureStorageReachableAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return StorageReachability.EnsureReachableAsync(connectionString, cancellationToken);
    }

    internal static AzureStorageOrchestrationServiceSettings CreateSettings(LocalDurableHostOptions options, ILoggerFactory? loggerFactory)
    {
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = options.TaskHubName,
            StorageAccountClientProvider = new StorageAccountClientProvider(options.StorageConnectionString),
            MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivities,
            MaxConcurrentTaskOrchestrationWorkItems = options.MaxConcurrentOrchestrations,
            MaxQueuePollingInterval = options.MaxQueuePollingInterval,

            // Crash recovery (a killed rolegen, restarted with the same run id) waits for what the dead process held:
            // the messages it had dequeued (invisible until their visibility timeout runs out) and its partition leases
            // (until they expire). The backend's defaults (5 min, 5 min, 30 s) made a resume wait 5 minutes.
            // Activity messages: renewed while the activity runs (SidecarOrchestrationService, every half timeout), so
            // a short timeout is safe for long activities and only decides how soon a crashed one is redelivered.
            WorkItemQueueVisibilityTimeout = RecoveryTimeouts.WorkItemVisibility,

            // Control-queue messages (orchestration events) are not renewed: they are held only while an orchestration
            // work item is processed (seconds here). One that outlives the timeout reappears and is dropped as a duplicate.
            ControlQueueVisibilityTimeout = RecoveryTimeouts.ControlVisibility,

            // Partition leases: a restarted process can take the dead one's partitions once they expire.
            LeaseInterval = RecoveryTimeouts.LeaseInterval,
            LeaseRenewInterval = RecoveryTimeouts.LeaseRenewInterval,
            LeaseAcquireInterval = RecoveryTimeouts.LeaseAcquireInterval,

            // The app lease only arbitrates between app versions sharing a hub; it would make a process that restarts
            // after a crash wait for the old lease to expire.
            UseAppLease = false,
        };
        if (loggerFactory is not null)
        {
            settings.LoggerFactory = loggerFactory;
        }

        return settings;
    }

    private async Task<IOrchestrationService> CreateBackendAsync(CancellationToken cancellationToken)
    {
        if (options.Backend == DurableBackend.InMemory)
        {
            return new InMemoryOrchestrationService(quietLoggerFactory);
        }

        await StorageReachability.EnsureReachableAsync(options.StorageConnectionString, cancellationToken).ConfigureAwait(false);
        var azure = new AzureStorageOrchestrationService(CreateSettings(options, quietLoggerFactory));
        try
        {
            // The sidecar only calls StartAsync, and only once a worker connects; clients may call earlier.
            await azure.CreateIfNotExistsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            return azure;
        }
        catch
        {
            azure.Dispose();
            throw;
        }
    }

    private WebApplication BuildSidecar(SidecarOrchestrationService backend)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "RoleGen.DurableSidecar" });
        builder.Services.AddSingleton(quietLoggerFactory);
        builder.Services.AddLogging();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddRouting();
        builder.Services.AddGrpc(grpc =>
        {
            // In-process: an orchestration episode with many large activity results can exceed the 4 MB default.
            grpc.MaxReceiveMessageSize = null;
            grpc.MaxSendMessageSize = null;
        });
        builder.Services.AddSingleton<IOrchestrationService>(backend);
        builder.Services.AddSingleton<IOrchestrationServiceClient>(backend);
        builder.Services.AddSingleton<TaskHubGrpcServer>();

        var app = builder.Build();
        app.UseRouting();
        app.MapGrpcService<TaskHubGrpcServer>();
        return app;
    }

    private static int ListeningPort(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        string address = addresses?.FirstOrDefault()
            ?? throw new InvalidOperationException("The durable sidecar started without a listening address.");
        return new Uri(address).Port;
    }

    /// <summary>A channel whose connections go to 127.0.0.1:<paramref name="sidecarPort"/>, waiting until the port is known.</summary>
    private static GrpcChannel CreateChannel(Task<int> sidecarPort)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectCallback = async (_, cancellationToken) =>
            {
                int target = await sidecarPort.WaitAsync(cancellationToken).ConfigureAwait(false);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, target, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };

        return GrpcChannel.ForAddress("http://127.0.0.1", new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });
    }
}
