using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Reasoning;

namespace RoleGen.Infrastructure.Composition;

public static class LlmReasonerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Azure OpenAI reasoner when <c>RoleGen:Reasoner:Llm:Endpoint</c> and <c>:Deployment</c> are set in
    /// <paramref name="configuration"/>; otherwise registers nothing, so <see cref="ILlmReasoner"/> does not resolve and
    /// callers use the embedded reasoner. Registered: the validated <see cref="LlmReasonerOptions"/>, a singleton
    /// <see cref="AzureOpenAiReasonerFactory"/> (one chat client) and a transient <see cref="ILlmReasoner"/> — each
    /// resolution is a new budget scope (see the factory) — and a transient <see cref="IPromptReviser"/> (the Azure OpenAI
    /// prompt reviser reflection uses to stage refined prompt versions; <c>RoleGen:Reflection:AutoPromote</c>, off by default,
    /// lets reflection promote a candidate whose offline check passed). Disabled: neither resolves.
    /// </summary>
    /// <param name="credential">Entra ID credential (managed identity) used when no API key is configured; Infrastructure
    /// has no implicit DefaultAzureCredential.</param>
    public static IServiceCollection AddRoleGenLlmReasoner(this IServiceCollection services, IConfiguration configuration,
        Azure.Core.TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(LlmReasonerOptions.SectionName);
        var probe = new LlmReasonerOptions();
        section.Bind(probe);
        if (!probe.IsEnabled)
        {
            return services;
        }
        services.AddOptions<LlmReasonerOptions>().Bind(section).ValidateDataAnnotations()
            .Validate(o => !string.IsNullOrWhiteSpace(o.ApiKey) || credential is not null,
                $"Set {LlmReasonerOptions.SectionName}:ApiKey or give AddRoleGenLlmReasoner a token credential (managed identity).")
            .ValidateOnStart();
        var promotion = new PromptPromotionOptions();
        configuration.GetSection(PromptPromotionOptions.SectionName).Bind(promotion);
        if (promotion.CheckUsers < 1 || promotion.MinCheckUsers < 1)
        {
            throw new InvalidOperationException($"{PromptPromotionOptions.SectionName}:CheckUsers and :MinCheckUsers must be at least 1.");
        }
        services.TryAddSingleton(sp => new AzureOpenAiReasonerFactory(sp.GetRequiredService<IBlobStore>(),
            sp.GetRequiredService<IOptions<LlmReasonerOptions>>(), sp.GetService<ILoggerFactory>(), credential, sp.GetService<TimeProvider>(), promotion));
        services.TryAddTransient<ILlmReasoner>(sp => sp.GetRequiredService<AzureOpenAiReasonerFactory>().Create());
        services.TryAddTransient<IPromptReviser>(sp => sp.GetRequiredService<AzureOpenAiReasonerFactory>().CreateReviser());
        return services;
    }
}
