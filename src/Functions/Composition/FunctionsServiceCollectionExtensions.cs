using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RoleGen.Core.Cohort;
using RoleGen.Infrastructure.Composition;
using RoleGen.Infrastructure.Storage;
using RoleGen.Orchestrations;

namespace RoleGen.Functions.Composition;

public static class FunctionsServiceCollectionExtensions
{
    /// <summary>Everything the Functions app resolves: the domain services, blob storage (connection string for Azurite,
    /// managed identity in Azure), the run defaults, and every activity class (the activity shims resolve them per call).
    /// Options are validated when the host starts.</summary>
    public static IServiceCollection AddRoleGenFunctions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddRoleGenCore();
        var credential = CreateCredential(configuration);
        services.AddRoleGenBlobStorage(credential: credential);
        // The LLM reasoner only when RoleGen:Reasoner:Llm has an endpoint and a deployment (key auth is off in infra/: the
        // managed identity is the credential there).
        services.AddRoleGenLlmReasoner(configuration, credential ?? CreateLlmCredential(configuration));
        services.AddOptions<RunsOptions>().BindConfiguration(RunsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ScheduleOptions>().BindConfiguration(ScheduleOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DormancyPolicy>().BindConfiguration(DormancyPolicy.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        foreach (var activity in RoleGenTasks.Activities)
        {
            services.TryAddTransient(activity);
        }
        return services;
    }

    /// <summary>The credential for Azure OpenAI when storage runs on a connection string (Azurite) but an LLM endpoint
    /// without an API key is configured: the managed identity / developer login, as for storage in Azure.</summary>
    private static TokenCredential? CreateLlmCredential(IConfiguration configuration)
    {
        var endpoint = configuration["RoleGen:Reasoner:Llm:Endpoint"];
        var key = configuration["RoleGen:Reasoner:Llm:ApiKey"];
        if (string.IsNullOrWhiteSpace(endpoint) || !string.IsNullOrWhiteSpace(key))
        {
            return null;
        }
        var clientId = configuration["AZURE_CLIENT_ID"];
        return string.IsNullOrWhiteSpace(clientId) ? new DefaultAzureCredential() : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
    }

    /// <summary>No credential in connection-string mode (Azurite). With <c>RoleGen:Storage:BlobServiceUri</c>: the
    /// user-assigned managed identity named by <c>AZURE_CLIENT_ID</c> (Azure), else <see cref="DefaultAzureCredential"/>
    /// (a developer's az/VS login against a cloud account).</summary>
    public static TokenCredential? CreateCredential(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (string.IsNullOrWhiteSpace(configuration[$"{StorageOptions.SectionName}:{nameof(StorageOptions.BlobServiceUri)}"]))
        {
            return null;
        }
        var clientId = configuration["AZURE_CLIENT_ID"];
        return string.IsNullOrWhiteSpace(clientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
    }
}
