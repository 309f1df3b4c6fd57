using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using RoleGen.Functions.Composition;

// The RoleGen Functions app: HTTP API + nightly timer + [Function] shims over the shared orchestrators and activities.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddRoleGenFunctions(builder.Configuration);
builder.Build().Run();
