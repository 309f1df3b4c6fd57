using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Grpc;
using Microsoft.DurableTask.Worker.Grpc.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RoleGen.LocalHost;

/// <summary>Registers the embedded durable backend with a worker and a client.</summary>
public static class LocalDurableHostExtensions
{
    /// <summary>
    /// Adds <see cref="LocalDurableHost"/> (a hosted service: storage check, task hub creation, gRPC sidecar on
    /// 127.0.0.1), a Microsoft.DurableTask worker running the tasks of <paramref name="registerTasks"/> (activities and
    /// orchestrators are resolved from this container), and a <see cref="DurableTaskClient"/>, both on the sidecar's
    /// channel. Call it before registering other hosted services that use the client while starting.
    /// Logs of Microsoft.DurableTask.* below Warning are filtered out.
    /// </summary>
    /// <example><code>
    /// var builder = Host.CreateApplicationBuilder();
    /// builder.Services.AddLocalDurableHost(new LocalDurableHostOptions(), r => r.AddOrchestrator&lt;X&gt;().AddActivity&lt;Y&gt;());
    /// using var host = builder.Build();
    /// await host.StartAsync();
    /// var client = host.Services.GetRequiredService&lt;DurableTaskClient&gt;();
    /// </code></example>
    public static IServiceCollection AddLocalDurableHost(
        this IServiceCollection services, LocalDurableHostOptions options, Action<DurableTaskRegistry> registerTasks)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registerTasks);
        if (services.Any(d => d.ServiceType == typeof(LocalDurableHost)))
        {
            throw new InvalidOperationException("AddLocalDurableHost has already been called on this service collection.");
        }

        var settings = options.Clone();
        settings.Validate();

        services.AddLogging(logging => logging.AddFilter("Microsoft.DurableTask", LogLevel.Warning));
        services.AddSingleton(sp => new LocalDurableHost(settings, sp.GetRequiredService<ILoggerFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<LocalDurableHost>());

        if (!settings.ClientOnly)
        {
            AddWorker(services, settings, registerTasks);
        }

        services.AddDurableTaskClient(client =>
        {
            client.UseGrpc();
            client.RegisterDirectly();
            services.AddOptions<GrpcDurableTaskClientOptions>(client.Name).Configure<LocalDurableHost>((o, host) => o.Channel = host.Channel);
        });

        return services;
    }

    private static void AddWorker(IServiceCollection services, LocalDurableHostOptions settings, Action<DurableTaskRegistry> registerTasks)
    {
        services.AddDurableTaskWorker(worker =>
        {
            worker.AddTasks(registerTasks);
            worker.UseGrpc();
            worker.Configure(o =>
            {
                o.Concurrency.MaximumConcurrentActivityWorkItems = settings.MaxConcurrentActivities;
                o.Concurrency.MaximumConcurrentOrchestrationWorkItems = settings.MaxConcurrentOrchestrations;
            });
            services.AddOptions<GrpcDurableTaskWorkerOptions>(worker.Name).Configure<LocalDurableHost>((o, host) =>
            {
                o.Channel = host.Channel;

                // The sidecar sends no keep-alive traffic; the default (reconnect after 120 s without work items)
                // would only log warnings during long activities or idle waits.
                o.SetSilentDisconnectTimeout(TimeSpan.Zero);
            });
        });
    }
}
