using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RoleGen.Core.Telemetry;

namespace RoleGen.Infrastructure.Composition;

/// <summary>
/// OpenTelemetry for the hosts (Functions app, CLI): traces of RoleGen's activities and steps
/// (<see cref="RoleGenTelemetry.Source"/>) with the Azure SDK's own spans under them (blob, queue, OpenAI calls:
/// <c>Azure.*</c> sources), and the <c>RoleGen</c> meter. Exporters by configuration:
/// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> → Azure Monitor (in Azure); <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> → OTLP;
/// <c>RoleGen:Telemetry:Console</c> = true (env <c>RoleGen__Telemetry__Console</c>) → console. None set: the
/// instruments still work (tests listen in memory), nothing is exported.
/// </summary>
public static class TelemetryServiceCollectionExtensions
{
    public const string ServiceName = "rolegen";

    public static OpenTelemetryBuilder AddRoleGenTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // The Azure SDK emits its HTTP/operation spans as ActivitySources only behind this switch.
        AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);
        var appInsights = configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        var otlp = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var console = string.Equals(configuration["RoleGen:Telemetry:Console"], "true", StringComparison.OrdinalIgnoreCase);
        return services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName))
            .WithTracing(t =>
            {
                t.AddSource(RoleGenTelemetry.Name, "Azure.*");
                if (!string.IsNullOrWhiteSpace(appInsights))
                {
                    t.AddAzureMonitorTraceExporter(o => o.ConnectionString = appInsights);
                }
                if (!string.IsNullOrWhiteSpace(otlp))
                {
                    t.AddOtlpExporter();
                }
                if (console)
                {
                    t.AddConsoleExporter();
                }
            })
            .WithMetrics(m =>
            {
                m.AddMeter(RoleGenTelemetry.Name);
                if (!string.IsNullOrWhiteSpace(appInsights))
                {
                    m.AddAzureMonitorMetricExporter(o => o.ConnectionString = appInsights);
                }
                if (!string.IsNullOrWhiteSpace(otlp))
                {
                    m.AddOtlpExporter();
                }
                if (console)
                {
                    m.AddConsoleExporter();
                }
            });
    }
}
