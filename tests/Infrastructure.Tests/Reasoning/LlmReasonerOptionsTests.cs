using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Composition;
using RoleGen.Infrastructure.Reasoning;

namespace RoleGen.Infrastructure.Tests.Reasoning;

public sealed class LlmReasonerOptionsTests
{
    private static LlmReasonerOptions Valid() => new() { Endpoint = new Uri("https://oai-rolegen-test.openai.azure.com/"), Deployment = "d", ApiKey = "k" };

    [Fact]
    public void Defaults_AreValid()
    {
        var options = Valid();

        Assert.Empty(options.Errors());
        Assert.Equal(180, options.RequestsPerMinute);
        Assert.Equal(30_000, options.TokensPerMinute);
        Assert.Equal(4, options.MaxParallelCalls);
    }

    [Theory]
    [InlineData(nameof(LlmReasonerOptions.RequestsPerMinute), 0)]
    [InlineData(nameof(LlmReasonerOptions.TokensPerMinute), 0)]
    [InlineData(nameof(LlmReasonerOptions.MaxParallelCalls), 0)]
    [InlineData(nameof(LlmReasonerOptions.MaxParallelCalls), 65)]
    [InlineData(nameof(LlmReasonerOptions.RetryJitter), 1.5)]
    [InlineData(nameof(LlmReasonerOptions.BreakerFailureRatio), 0)]
    [InlineData(nameof(LlmReasonerOptions.BreakerMinimumThroughput), 1)]
    [InlineData(nameof(LlmReasonerOptions.BreakerSamplingSeconds), 0.1)]
    [InlineData(nameof(LlmReasonerOptions.BreakerBreakSeconds), 0)]
    public void OutOfRange_IsAnError(string property, double value)
    {
        var options = Valid();
        var info = typeof(LlmReasonerOptions).GetProperty(property)!;
        info.SetValue(options, info.PropertyType == typeof(int) ? (object)(int)value : value);

        Assert.Contains(options.Errors(), e => e.Contains(property, StringComparison.Ordinal));
    }

    [Fact]
    public void TokensPerMinuteBelowOneCall_IsAnError()
    {
        var options = Valid();
        options.TokensPerMinute = 3_000; // MaxTokensPerUser 4000: no call could ever get its tokens

        Assert.Contains(options.Errors(), e => e.Contains("TokensPerMinute (3000) must be at least MaxTokensPerUser (4000)", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => new ReasonerProbe(options));
    }

    [Fact]
    public void OutputCapNotBelowUserCap_IsAnError()
    {
        var options = Valid();
        options.MaxOutputTokens = 4_000;

        Assert.Contains(options.Errors(), e => e.Contains("MaxOutputTokens (4000) must be below MaxTokensPerUser (4000)", StringComparison.Ordinal));
    }

    [Fact]
    public void Registration_ValidatesTheNewSettingsOnStart()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RoleGen:Reasoner:Llm:Endpoint"] = "https://oai-rolegen-test.openai.azure.com/",
            ["RoleGen:Reasoner:Llm:Deployment"] = "d",
            ["RoleGen:Reasoner:Llm:ApiKey"] = "k",
            ["RoleGen:Reasoner:Llm:TokensPerMinute"] = "1000",
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IBlobStore>(new InMemoryBlobStore())
            .AddRoleGenLlmReasoner(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<LlmReasonerOptions>>().Value);
        Assert.Contains("TokensPerMinute", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The reasoner's constructor validates too (hosts that build it without the options pipeline).</summary>
    private sealed class ReasonerProbe
    {
        public ReasonerProbe(LlmReasonerOptions options) =>
            _ = new AzureOpenAiReasoner(AzureOpenAiReasoner.CreateChatClient(options), new InMemoryBlobStore(), options);
    }
}
