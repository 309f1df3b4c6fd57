using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using RoleGen.Functions.Composition;
using RoleGen.Infrastructure.Composition;

// The RoleGen Functions app: HTTP API + nightly timer + [Function] shims over the shared orchestrators and activities.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddRoleGenFunctions(builder.Configuration);
// OpenTelemetry (host.json "telemetryMode": "OpenTelemetry"): the worker's invocation spans, RoleGen's spans and meter,
// the Azure SDK's spans; exported to Azure Monitor with APPLICATIONINSIGHTS_CONNECTION_STRING.
builder.Services.AddRoleGenTelemetry(builder.Configuration).UseFunctionsWorkerDefaults();
builder.Build().Run();
