using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Composition;
using RoleGen.LocalHost;
using RoleGen.Infrastructure.Storage;
using RoleGen.Orchestrations;

namespace RoleGen.Cli;

/// <summary>Settings shared by every command (flags, else environment, else defaults for Azurite).</summary>
public sealed record CliSettings(string StorageConnectionString, string Container, string TaskHub, bool InMemory, bool Verbose)
{
    public const string DefaultConnectionString = "UseDevelopmentStorage=true";
}

/// <summary>The local host: the same orchestrations and activities as the Functions app, on the embedded durable
/// backend (Azure Storage on Azurite; in-memory for quick checks), with the Azure Blob adapter.</summary>
public sealed class CliHost : IAsyncDisposable
{
    private readonly IHost _host;

    /// <summary>Activities the local host runs at once (one per core, at least two).</summary>
    public static int ActivitySlots { get; } = Math.Max(2, Environment.ProcessorCount);

    private static int workerStarts;

    private CliHost(IHost host) => _host = host;

    /// <summary>Hosts started with a durable worker in this process (read-only commands must not add to it).</summary>
    internal static int WorkerStarts => Volatile.Read(ref workerStarts);

    public IServiceProvider Services => _host.Services;

    public IBlobStore Store => _host.Services.GetRequiredService<IBlobStore>();

    public DurableTaskClient Client => _host.Services.GetRequiredService<DurableTaskClient>();

    /// <summary>Checks that storage answers (clear error otherwise), then starts the host (blob only, or blob + durable).</summary>
    /// <remarks><paramref name="decorateStore"/> wraps the blob store every service and activity uses (the bench counts bytes with it).
    /// <paramref name="clientOnly"/> (with <paramref name="durable"/>): a durable client without a worker, for read-only
    /// commands: it never runs an orchestration or activity of the task hub it reads.</remarks>
    public static async Task<CliHost> StartAsync(CliSettings settings, bool durable, CancellationToken cancellationToken, Func<IBlobStore, IBlobStore>? decorateStore = null,
        bool clientOnly = false)
    {
        ArgumentNullException.ThrowIfNull(settings);
        try
        {
            await LocalDurableHost.EnsureStorageReachableAsync(settings.StorageConnectionString, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new CliException(ExitCodes.StorageUnreachable, ex.Message);
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // RoleGen__* environment variables configure the local host as app settings do the Functions app
        // (e.g. RoleGen__Scoring__ExecutionProvider=Cuda, RoleGen__Scoring__BatchSize=256).
        // ONNX Runtime threads per session: the host runs ActivitySlots scoring activities at once, so give each its share
        // of the cores instead of letting every session spin one thread per core (oversubscription). Env overrides.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RoleGen:Scoring:IntraOpThreads"] = Math.Max(1, Environment.ProcessorCount / ActivitySlots).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        builder.Configuration.AddEnvironmentVariables();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // The console belongs to the progress line; logs are for warnings unless --verbose.
        builder.Logging.SetMinimumLevel(settings.Verbose ? LogLevel.Information : LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft", settings.Verbose ? LogLevel.Information : LogLevel.Error);
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Error);
        // Azure SDK logs reach ILogger through AddAzureClients; its expected 404/409 responses (TryRead, CreateIfNotExists)
        // are warnings there, so only errors show unless --verbose.
        builder.Logging.AddFilter("Azure", settings.Verbose ? LogLevel.Warning : LogLevel.Error);
        if (decorateStore is not null)
        {
            // Registered before AddRoleGenBlobStorage, whose IBlobStore registration is a TryAdd.
            builder.Services.AddSingleton<IBlobStore>(sp => decorateStore(sp.GetRequiredService<AzureBlobStore>()));
        }
        builder.Services.AddRoleGenCore();
        // Traces and metrics: console with RoleGen__Telemetry__Console=true, OTLP with OTEL_EXPORTER_OTLP_ENDPOINT.
        builder.Services.AddRoleGenTelemetry(builder.Configuration);
        // Optional LLM reasoner: RoleGen__Reasoner__Llm__Endpoint / __Deployment / __ApiKey in the environment.
        builder.Services.AddRoleGenLlmReasoner(builder.Configuration);
        builder.Services.AddRoleGenBlobStorage(o =>
        {
            o.ConnectionString = settings.StorageConnectionString;
            o.Container = settings.Container;
        });
        if (durable)
        {
            builder.Services.AddLocalDurableHost(new LocalDurableHostOptions
            {
                Backend = settings.InMemory ? DurableBackend.InMemory : DurableBackend.AzureStorage,
                StorageConnectionString = settings.StorageConnectionString,
                TaskHubName = settings.TaskHub,
                MaxConcurrentActivities = ActivitySlots,
                MaxConcurrentOrchestrations = 32,
                ClientOnly = clientOnly,
            }, registry => registry.AddRoleGenTasks());
            if (!clientOnly)
            {
                Interlocked.Increment(ref workerStarts);
            }
        }
        var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        await host.Services.GetRequiredService<AzureBlobStore>().EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        return new CliHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _host.StopAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _host.Dispose();
    }
}
