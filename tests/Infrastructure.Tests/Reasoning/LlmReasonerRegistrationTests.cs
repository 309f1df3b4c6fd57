using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Composition;
using RoleGen.Infrastructure.Reasoning;

namespace RoleGen.Infrastructure.Tests.Reasoning;

public sealed class LlmReasonerRegistrationTests
{
    private static ServiceProvider Build(Azure.Core.TokenCredential? credential, params (string Key, string? Value)[] settings)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in settings)
        {
            values[key.StartsWith("RoleGen:", StringComparison.Ordinal) ? key : $"RoleGen:Reasoner:Llm:{key}"] = value; // a later setting replaces an earlier one
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IBlobStore>(new InMemoryBlobStore());
        services.AddRoleGenLlmReasoner(configuration, credential);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "reasoner")]
    [InlineData("https://oai-rolegen-x.openai.azure.com/", null)]
    [InlineData("https://oai-rolegen-x.openai.azure.com/", " ")]
    public void Disabled_RegistersNothing(string? endpoint, string? deployment)
    {
        using var services = Build(null, ("Endpoint", endpoint), ("Deployment", deployment), ("ApiKey", "k"));
        Assert.Null(services.GetService<ILlmReasoner>());
        Assert.Null(services.GetService<AzureOpenAiReasonerFactory>());
        Assert.Null(services.GetService<IPromptReviser>());
        Assert.Empty(services.GetServices<IPromptReviser>());
    }

    [Fact]
    public void Enabled_WithApiKey_ResolvesAReasonerPerResolution()
    {
        using var services = Build(null, ("Endpoint", "https://oai-rolegen-x.openai.azure.com/"), ("Deployment", "reasoner"), ("ApiKey", "k"),
            ("PromptVersion", "v1"), ("MaxTokensPerRun", "5000"));

        var reasoner = Assert.IsType<AzureOpenAiReasoner>(services.GetRequiredService<ILlmReasoner>());
        var another = services.GetRequiredService<ILlmReasoner>();

        Assert.Equal("v1", reasoner.PromptVersion);
        Assert.Equal(5000, reasoner.Budget.MaxTokens);
        Assert.NotSame(reasoner, another); // each resolution is its own budget scope
        Assert.IsType<AzureOpenAiPromptReviser>(Assert.Single(services.GetServices<IPromptReviser>()));
        Assert.Same(services.GetRequiredService<AzureOpenAiReasonerFactory>(), services.GetRequiredService<AzureOpenAiReasonerFactory>());
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("false", false)]
    [InlineData("true", true)]
    public void AutoPromote_IsOffUnlessSet(string? value, bool expected)
    {
        using var services = Build(null, ("Endpoint", "https://oai-rolegen-x.openai.azure.com/"), ("Deployment", "reasoner"), ("ApiKey", "k"),
            ("RoleGen:Reflection:AutoPromote", value));

        Assert.Equal(expected, services.GetRequiredService<IPromptReviser>().AutoPromote);
    }

    [Fact]
    public void Enabled_WithACredential_NeedsNoKey()
    {
        var credential = new Moq.Mock<Azure.Core.TokenCredential>().Object;
        using var services = Build(credential, ("Endpoint", "https://oai-rolegen-x.openai.azure.com/"), ("Deployment", "reasoner"));
        var reasoner = Assert.IsType<AzureOpenAiReasoner>(services.GetRequiredService<ILlmReasoner>());
        Assert.Equal("latest", reasoner.PromptVersion); // the default follows prompts/reasoner/current
    }

    [Theory]
    [InlineData("ApiKey", null, "ApiKey")]
    [InlineData("MaxAttempts", "0", "MaxAttempts")]
    [InlineData("PromptVersion", "../v1", "PromptVersion")]
    public void Enabled_InvalidOptions_FailValidationNamingTheSetting(string key, string? value, string expected)
    {
        using var services = Build(null, ("Endpoint", "https://oai-rolegen-x.openai.azure.com/"), ("Deployment", "reasoner"), ("ApiKey", "k"), (key, value));
        var ex = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<LlmReasonerOptions>>().Value);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
