using Azure.Storage.Blobs;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Ingest;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Storage;

namespace RoleGen.Infrastructure.Composition;

public static class ServiceCollectionExtensions
{
    /// <summary>The domain services every host needs (activities take them by constructor injection).</summary>
    public static IServiceCollection AddRoleGenCore(this IServiceCollection services)
    {
        services.TryAddSingleton<EventIngestor>();
        services.TryAddSingleton<DemoWorldWriter>();
        services.TryAddSingleton<DormantCohortSelector>();
        services.TryAddSingleton<TransitionModelBuilder>();
        services.TryAddSingleton<RunReportWriter>();
        services.TryAddSingleton<RunInputsBuilder>();
        services.TryAddSingleton<TransitionRecommenderProvider>();
        services.AddOptions<Scoring.ScoringOptions>().BindConfiguration(Scoring.ScoringOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<Scoring.BackboneRecommenderProvider>();
        services.TryAddSingleton<IRecommenderProvider, Scoring.RoutingRecommenderProvider>();
        services.TryAddSingleton<Core.Reasoning.BehaviorGraphStatisticsBuilder>();
        services.TryAddSingleton<Core.Reasoning.ReasoningStatisticsCache>();
        services.TryAddSingleton<Core.Reasoning.ICounterfactualModelProvider, Scoring.BackboneCounterfactualModelProvider>();
        // Transient: each activity gets its own LLM reasoner instance (its own token-budget scope).
        services.TryAddTransient<Core.Pipeline.ShardRecommenderFactory>();
        return services;
    }

    /// <summary>Azure Blob storage as the <see cref="IBlobStore"/>: a connection string locally (Azurite), a service URI with
    /// a token credential (managed identity) in Azure. Options are validated on start.</summary>
    public static IServiceCollection AddRoleGenBlobStorage(this IServiceCollection services, Action<StorageOptions>? configure = null,
        Azure.Core.TokenCredential? credential = null)
    {
        var options = services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations()
            .Validate(o => o.BlobServiceUri is not null || !string.IsNullOrWhiteSpace(o.ConnectionString),
                "Set RoleGen:Storage:BlobServiceUri (Azure, managed identity) or RoleGen:Storage:ConnectionString (Azurite).")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        // One BlobServiceClient through the Azure client factory (Microsoft.Extensions.Azure): the SDK's event-source logs
        // are forwarded into ILogger (category Azure.*, filtered in host.json / the CLI's logging), and the one credential
        // of the app (managed identity in Azure) is the factory's.
        services.AddAzureClients(clients =>
        {
            clients.AddClient<BlobServiceClient, BlobClientOptions>((clientOptions, factoryCredential, sp) =>
            {
                var o = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
                return CreateServiceClient(o, o.BlobServiceUri is null ? null : credential ?? factoryCredential, clientOptions);
            });
            if (credential is not null)
            {
                clients.UseCredential(credential);
            }
        });
        services.TryAddSingleton(sp => sp.GetRequiredService<BlobServiceClient>()
            .GetBlobContainerClient(sp.GetRequiredService<IOptions<StorageOptions>>().Value.Container));
        services.TryAddSingleton<AzureBlobStore>();
        services.TryAddSingleton<IBlobStore>(sp => sp.GetRequiredService<AzureBlobStore>());
        return services;
    }

    public static BlobContainerClient CreateContainerClient(StorageOptions options, Azure.Core.TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return CreateServiceClient(options, credential, new BlobClientOptions()).GetBlobContainerClient(options.Container);
    }

    private static BlobServiceClient CreateServiceClient(StorageOptions options, Azure.Core.TokenCredential? credential, BlobClientOptions clientOptions)
    {
        clientOptions.Retry.MaxRetries = 5;
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
        if (options.BlobServiceUri is not null)
        {
            if (credential is null)
            {
                throw new InvalidOperationException("A token credential (managed identity) is required when RoleGen:Storage:BlobServiceUri is set.");
            }
            return new BlobServiceClient(options.BlobServiceUri, credential, clientOptions);
        }
        return new BlobServiceClient(options.ConnectionString, clientOptions);
    }
}
