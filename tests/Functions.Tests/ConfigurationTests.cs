using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RoleGen.Core.Cohort;
using RoleGen.Functions.Composition;
using RoleGen.Infrastructure.Storage;

namespace RoleGen.Functions.Tests;

public sealed partial class ConfigurationTests
{
    private static IConfiguration Config(params (string Key, string? Value)[] values)
        => new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static ServiceProvider Services(IConfiguration configuration) => FunctionContextMock.Services(services =>
    {
        services.AddSingleton(configuration);
        services.AddRoleGenFunctions(configuration);
    });

    [Fact]
    public void CreateCredential_ConnectionStringMode_IsNull()
        => Assert.Null(FunctionsServiceCollectionExtensions.CreateCredential(Config(("RoleGen:Storage:ConnectionString", "UseDevelopmentStorage=true"))));

    [Fact]
    public void CreateCredential_BlobServiceUriWithClientId_IsTheManagedIdentity()
        => Assert.IsType<ManagedIdentityCredential>(FunctionsServiceCollectionExtensions.CreateCredential(Config(
            ("RoleGen:Storage:BlobServiceUri", "https://strolegen.blob.core.windows.net/"), ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001"))));

    [Fact]
    public void CreateCredential_BlobServiceUriWithoutClientId_IsDefaultAzureCredential()
        => Assert.IsType<DefaultAzureCredential>(FunctionsServiceCollectionExtensions.CreateCredential(Config(
            ("RoleGen:Storage:BlobServiceUri", "https://strolegen.blob.core.windows.net/"))));

    [Fact]
    public void Options_FromAppSettings_BindRunsPolicyAndSchedule()
    {
        using var services = Services(Config(
            ("RoleGen:Schedule:Nightly", "0 30 1 * * *"),
            ("RoleGen:Runs:Dataset", "shop"),
            ("RoleGen:Runs:TopK", "15"),
            ("RoleGen:Runs:ShardSize", "250"),
            ("RoleGen:Dormancy:LookbackDays", "14"),
            ("RoleGen:Dormancy:MaxConversionRate", "0.05")));
        var runs = services.GetRequiredService<IOptions<RunsOptions>>().Value;
        var policy = services.GetRequiredService<IOptions<DormancyPolicy>>().Value;
        Assert.Equal("shop", runs.Dataset);
        Assert.Equal(15, runs.TopK);
        Assert.Equal(250, runs.ShardSize);
        Assert.Equal(14, policy.LookbackDays);
        Assert.Equal(0.05, policy.MaxConversionRate);
        Assert.Equal(10, policy.MinViews);
        Assert.Equal("0 30 1 * * *", services.GetRequiredService<IOptions<ScheduleOptions>>().Value.Nightly);
        Assert.Equal("UseDevelopmentStorage=true", services.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString);
    }

    [Theory]
    [InlineData("RoleGen:Schedule:Nightly", null, "RoleGen__Schedule__Nightly")]
    [InlineData("RoleGen:Schedule:Nightly", "every night", "six fields")]
    [InlineData("RoleGen:Runs:TopK", "0", "TopK")]
    [InlineData("RoleGen:Runs:Dataset", "My Data", "RoleGen:Runs:Dataset")]
    [InlineData("RoleGen:Dormancy:MaxConversionRate", "1.5", "MaxConversionRate")]
    public void Options_InvalidSetting_FailsValidationNamingIt(string key, string? value, string expected)
    {
        var settings = new Dictionary<string, string?> { ["RoleGen:Schedule:Nightly"] = "0 0 2 * * *", [key] = value };
        using var services = Services(Config(settings.Select(kv => (kv.Key, kv.Value)).ToArray()));
        var ex = Assert.Throws<OptionsValidationException>(() =>
        {
            _ = services.GetRequiredService<IOptions<ScheduleOptions>>().Value;
            _ = services.GetRequiredService<IOptions<RunsOptions>>().Value;
            _ = services.GetRequiredService<IOptions<DormancyPolicy>>().Value;
        });
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    private static string RepoFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, name);
            if (File.Exists(path) && File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")))
            {
                return path;
            }
        }
        throw new FileNotFoundException($"{name} not found above {AppContext.BaseDirectory}.");
    }

    private static JsonElement ReadJson(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(RepoFile(name)));
        return doc.RootElement.Clone();
    }

    [GeneratedRegex("^%([^%]+)%$")]
    private static partial Regex AppSettingExpression();

    /// <summary>Binding expressions resolve against the host configuration, where the app setting <c>A__B</c> is the key
    /// <c>A:B</c>: an expression spelled with <c>__</c> does not resolve (Azure/azure-functions-host#10246).</summary>
    private static string SettingNameOf(string expression)
    {
        var match = AppSettingExpression().Match(expression);
        Assert.True(match.Success, $"'{expression}' is not an app-setting expression (%Name%).");
        var key = match.Groups[1].Value;
        Assert.DoesNotContain("__", key, StringComparison.Ordinal);
        return key.Replace(":", "__", StringComparison.Ordinal);
    }

    [Fact]
    public void AzureClients_ConnectionString_OneBlobServiceClientFromTheFactory_WithSdkLogsForwarded()
    {
        using var sp = Services(Config(("RoleGen:Storage:ConnectionString", "UseDevelopmentStorage=true"), ("RoleGen:Storage:Container", "ops-test")));

        var container = sp.GetRequiredService<Azure.Storage.Blobs.BlobContainerClient>();
        Assert.Equal("ops-test", container.Name);
        Assert.Same(sp.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>(), sp.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>());
        Assert.NotNull(sp.GetService<Microsoft.Extensions.Azure.IAzureClientFactory<Azure.Storage.Blobs.BlobServiceClient>>());
        // AddAzureClients' forwarder: the SDK's EventSource logs become ILogger entries (category Azure.*)
        Assert.NotNull(sp.GetService<Microsoft.Extensions.Azure.AzureEventSourceLogForwarder>());
    }

    [Fact]
    public void AzureClients_BlobServiceUri_UsesTheAppsOneCredential()
    {
        using var sp = Services(Config(("RoleGen:Storage:BlobServiceUri", "https://acct.blob.core.windows.net"), ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001")));

        var client = sp.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>();
        Assert.Equal("https://acct.blob.core.windows.net/", client.Uri.ToString());
        Assert.Equal("acct", client.AccountName);
    }

    [Fact]
    public void HostJson_TelemetryMode_IsOpenTelemetry()
    {
        Assert.Equal("OpenTelemetry", ReadJson("host.json").GetProperty("telemetryMode").GetString());
    }

    [Fact]
    public void HostJson_TaskHubAndLimits_AreSetFromAppSettings()
    {
        var durable = ReadJson("host.json").GetProperty("extensions").GetProperty("durableTask");
        var hubSetting = SettingNameOf(durable.GetProperty("hubName").GetString()!);
        Assert.Equal("RoleGen__Durable__TaskHubName", hubSetting);
        Assert.Equal("AzureStorage", durable.GetProperty("storageProvider").GetProperty("type").GetString());
        Assert.InRange(durable.GetProperty("maxConcurrentActivityFunctions").GetInt32(), 1, 16);
        Assert.InRange(durable.GetProperty("maxConcurrentOrchestratorFunctions").GetInt32(), 1, 64);
    }

    [Fact]
    public void LocalSettingsSample_HasEverySettingTheBindingsAndOptionsRead()
    {
        var values = ReadJson("local.settings.sample.json").GetProperty("Values");
        var names = values.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        string[] required =
        [
            "AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME",
            SettingNameOf(ReadJson("host.json").GetProperty("extensions").GetProperty("durableTask").GetProperty("hubName").GetString()!),
            SettingNameOf(ScheduleOptions.NightlyExpression),
            "RoleGen__Storage__ConnectionString", "RoleGen__Storage__Container",
            .. typeof(RunsOptions).GetProperties().Where(p => p.CanWrite).Select(p => $"RoleGen__Runs__{p.Name}"),
            .. new[] { "LookbackDays", "MinViews", "MaxConversionRate", "MinActiveDays" }.Select(p => $"RoleGen__Dormancy__{p}"),
            .. typeof(RoleGen.Infrastructure.Reasoning.LlmReasonerOptions).GetProperties().Where(p => p.CanWrite).Select(p => $"RoleGen__Reasoner__Llm__{p.Name}"),
            .. typeof(RoleGen.Infrastructure.Scoring.ScoringOptions).GetProperties().Where(p => p.CanWrite).Select(p => $"RoleGen__Scoring__{p.Name}"),
        ];
        var missing = required.Where(r => !names.Contains(r)).ToArray();
        Assert.True(missing.Length == 0, $"local.settings.sample.json lacks {string.Join(", ", missing)}");
        Assert.Equal("dotnet-isolated", values.GetProperty("FUNCTIONS_WORKER_RUNTIME").GetString());
        Assert.Equal(ScheduleOptions.DefaultNightly, values.GetProperty("RoleGen__Schedule__Nightly").GetString());
    }

    [Fact]
    public void LocalSettingsSample_BindsAndValidates()
    {
        var values = ReadJson("local.settings.sample.json").GetProperty("Values").EnumerateObject()
            .Select(p => (p.Name.Replace("__", ":", StringComparison.Ordinal), (string?)p.Value.GetString())).ToArray();
        using var services = Services(Config(values));
        Assert.Equal("demo", services.GetRequiredService<IOptions<RunsOptions>>().Value.Dataset);
        Assert.NotNull(services.GetRequiredService<IOptions<ScheduleOptions>>().Value.Nightly);
        Assert.Null(services.GetRequiredService<IOptions<DormancyPolicy>>().Value.Validate());
        Assert.Null(services.GetRequiredService<IOptions<StorageOptions>>().Value.BlobServiceUri);
        Assert.Equal(RoleGen.Infrastructure.Scoring.ExecutionProviderKind.Cpu,
            services.GetRequiredService<IOptions<RoleGen.Infrastructure.Scoring.ScoringOptions>>().Value.ExecutionProvider);
        // The sample leaves the LLM reasoner off (no endpoint): its settings bind, and nothing is registered.
        var llm = Config(values).GetSection(RoleGen.Infrastructure.Reasoning.LlmReasonerOptions.SectionName).Get<RoleGen.Infrastructure.Reasoning.LlmReasonerOptions>();
        Assert.NotNull(llm);
        Assert.False(llm.IsEnabled);
        Assert.Equal(200_000, llm.MaxTokensPerRun);
        Assert.Equal("latest", llm.PromptVersion);
        var registrations = new ServiceCollection();
        RoleGen.Infrastructure.Composition.LlmReasonerServiceCollectionExtensions.AddRoleGenLlmReasoner(registrations, Config(values));
        Assert.Empty(registrations);
    }
}
