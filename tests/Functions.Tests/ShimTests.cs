using Microsoft.DurableTask;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Moq.Protected;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Functions.Composition;
using RoleGen.Functions.Durable;
using RoleGen.Orchestrations;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Functions.Tests;

/// <summary>The shims run the shared code: activities resolved from the app's composition, orchestrators with their input.</summary>
public sealed class ShimTests
{
    private static IConfiguration Configuration(Dictionary<string, string?>? extra = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["RoleGen:Storage:ConnectionString"] = "UseDevelopmentStorage=true",
            ["RoleGen:Schedule:Nightly"] = "0 0 2 * * *",
        };
        foreach (var (key, value) in extra ?? [])
        {
            values[key] = value;
        }
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    private static ServiceProvider AppServices(IBlobStore? store = null, IConfiguration? configuration = null)
    {
        var config = configuration ?? Configuration();
        return FunctionContextMock.Services(services =>
        {
            services.AddSingleton(config);
            if (store is not null)
            {
                services.AddSingleton(store);
            }
            services.AddRoleGenFunctions(config);
        });
    }

    [Fact]
    public void Composition_ResolvesEveryActivity()
    {
        using var services = AppServices();
        foreach (var activity in RoleGenTasks.Activities)
        {
            Assert.IsType(activity, services.GetRequiredService(activity));
        }
    }

    [Fact]
    public async Task FinalizeRunShim_RunsTheActivityFromTheAppServices_AndWritesTheManifest()
    {
        var store = new InMemoryBlobStore();
        using var services = AppServices(store);
        var context = FunctionContextMock.Create(services);
        var request = new RunRequest { RunId = "run-1", Dataset = "demo" };
        var now = new DateTime(2026, 11, 27, 2, 0, 0, DateTimeKind.Utc);

        var summary = await ActivityFunctions.FinalizeRun(
            new FinalizeRunInput(request, null, null, [], now, now.AddSeconds(5), 0, 0, 0, "Selecting the dormant cohort failed: boom"),
            "run-1", context.Object);

        Assert.Equal("run-1", summary.RunId);
        Assert.Equal(RunStatus.Failed, summary.Status);
        Assert.True(await store.ExistsAsync(BlobLayout.Manifest("run-1")));
        Assert.True(await store.ExistsAsync(BlobLayout.Report("run-1")));
    }

    [Fact]
    public async Task ActivityShim_ActivityNotRegistered_Throws()
    {
        using var services = FunctionContextMock.Services();
        var context = FunctionContextMock.Create(services);
        var request = new RunRequest { RunId = "run-1", Dataset = "demo" };
        await Assert.ThrowsAsync<InvalidOperationException>(() => ActivityFunctions.FinalizeRun(
            new FinalizeRunInput(request, null, null, [], DateTime.UtcNow, DateTime.UtcNow, 0, 0, 0, null), "run-1", context.Object));
    }

    private static Mock<TaskOrchestrationContext> OrchestrationContext(string instanceId, object? input)
    {
        var context = new Mock<TaskOrchestrationContext>(MockBehavior.Loose) { CallBase = true };
        context.SetupGet(c => c.InstanceId).Returns(instanceId);
        context.SetupGet(c => c.Name).Returns(new TaskName("NightlyRunOrchestrator"));
        context.SetupGet(c => c.IsReplaying).Returns(false);
        context.SetupGet(c => c.CurrentUtcDateTime).Returns(new DateTime(2026, 11, 27, 2, 0, 0, DateTimeKind.Utc));
        context.Protected().SetupGet<ILoggerFactory>("LoggerFactory").Returns(NullLoggerFactory.Instance);
        context.Setup(c => c.GetInput<RunRequest>()).Returns(input as RunRequest);
        context.Setup(c => c.GetInput<ShardBatchWork>()).Returns(input as ShardBatchWork);
        return context;
    }

    [Fact]
    public async Task NightlyRunShim_InvalidRequest_RunsTheOrchestratorToFinalize()
    {
        var request = new RunRequest { RunId = "run-1", Dataset = "NOT VALID" };
        var context = OrchestrationContext("run-1", request);
        var expected = new RunSummary("run-1", RunStatus.Failed, "NOT VALID", 0, 0, 0, 0, 0, null, BlobLayout.Manifest("run-1"),
            BlobLayout.Report("run-1"), "runs/run-1/shards/", 0, "invalid");
        FinalizeRunInput? finalized = null;
        context.Setup(c => c.CallActivityAsync<RunSummary>(It.Is<TaskName>(n => n.Name == nameof(FinalizeRunActivity)), It.IsAny<object?>(),
                It.IsAny<TaskOptions?>()))
            .Callback((TaskName _, object? input, TaskOptions? _) => finalized = (FinalizeRunInput?)input)
            .ReturnsAsync(expected);

        var summary = await OrchestratorFunctions.NightlyRun(context.Object);

        Assert.Same(expected, summary);
        Assert.NotNull(finalized);
        Assert.Same(request, finalized.Request);
        Assert.Contains("Dataset name 'NOT VALID' is not valid", finalized.Error, StringComparison.Ordinal);
        context.Verify(c => c.CallActivityAsync<PrepareRunResult>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()),
            Times.Never);
    }

    [Fact]
    public async Task ShardShim_NoInput_FailsWithAClearMessage()
    {
        var context = OrchestrationContext("run-1:batch:00000", input: null);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => OrchestratorFunctions.ShardBatch(context.Object));
        Assert.Contains("ShardBatchWork", ex.Message, StringComparison.Ordinal);
    }
}
