using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RoleGen.Core.Cohort;
using RoleGen.Core.Runs;
using RoleGen.Functions.Composition;
using RoleGen.Functions.Triggers;

namespace RoleGen.Functions.Tests;

public sealed class NightlyRunTimerTests
{
    private readonly ClientMock _client = new();

    private static NightlyRunTimer Timer(string? dataset = "demo", DormancyPolicy? policy = null, DateTimeOffset? now = null) => new(
        Options.Create(new RunsOptions { Dataset = dataset, TopK = 12, ShardSize = 2000, ShardCount = 16 }),
        Options.Create(policy ?? new DormancyPolicy { LookbackDays = 45 }),
        new FixedTime(now ?? FixedTime.Default),
        NullLogger<NightlyRunTimer>.Instance);

    [Fact]
    public void InstanceId_IsTheUtcDate()
    {
        Assert.Equal("nightly-2026-11-27", NightlyRunTimer.InstanceId(new DateTimeOffset(2026, 11, 27, 23, 59, 59, TimeSpan.Zero)));
        Assert.Equal("nightly-2026-11-27", NightlyRunTimer.InstanceId(new DateTimeOffset(2026, 11, 28, 1, 0, 0, TimeSpan.FromHours(2))));
        Assert.True(RoleGen.Core.Runs.RunId.TryParse(NightlyRunTimer.InstanceId(FixedTime.Default), out _));
    }

    [Fact]
    public async Task RunAsync_NoInstanceToday_SchedulesTheNightlyRunOnce()
    {
        await Timer().RunAsync(new TimerInfo(), _client.Object);

        var scheduled = Assert.Single(_client.Scheduled);
        // The night chain (feedback → reflection → run) starts; the run itself is its sub-orchestration with the run id.
        Assert.Equal("NightlyChainOrchestrator", scheduled.Name.Name);
        Assert.Equal("nightly-2026-11-27:night", scheduled.Options?.InstanceId);
        var run = Assert.IsType<RoleGen.Orchestrations.Models.ChainRequest>(scheduled.Input).Run;
        Assert.Null(Assert.IsType<RoleGen.Orchestrations.Models.ChainRequest>(scheduled.Input).PreviousRunId);
        Assert.Equal("nightly-2026-11-27", run.RunId);
        Assert.Equal("demo", run.Dataset);
        Assert.Equal(12, run.TopK);
        Assert.Equal(2000, run.ShardSize);
        Assert.Equal(16, run.ShardCount);
        Assert.Equal(45, run.Policy.LookbackDays);
        Assert.Equal("timer", run.TriggeredBy);
    }

    [Theory]
    [InlineData(OrchestrationRuntimeStatus.Running)]
    [InlineData(OrchestrationRuntimeStatus.Completed)]
    [InlineData(OrchestrationRuntimeStatus.Failed)]
    [InlineData(OrchestrationRuntimeStatus.Terminated)]
    public async Task RunAsync_InstanceExists_StartsNothing(OrchestrationRuntimeStatus status)
    {
        _client.Add("nightly-2026-11-27", status);
        await Timer().RunAsync(new TimerInfo(), _client.Object);
        Assert.Empty(_client.Scheduled);
    }

    [Fact]
    public async Task RunAsync_FiredTwice_SchedulesOnce()
    {
        var timer = Timer();
        await timer.RunAsync(new TimerInfo(), _client.Object);
        _client.Add("nightly-2026-11-27", OrchestrationRuntimeStatus.Pending);
        await timer.RunAsync(new TimerInfo(), _client.Object);
        Assert.Single(_client.Scheduled);
    }

    [Fact]
    public async Task RunAsync_TonightsChainAlreadyExists_SchedulesNothing()
    {
        _client.Add("nightly-2026-11-27:night", OrchestrationRuntimeStatus.Running);
        await Timer().RunAsync(new TimerInfo(), _client.Object);
        Assert.Empty(_client.Scheduled);
    }

    [Fact]
    public async Task RunAsync_YesterdaysRunExists_StartsTonightsRun()
    {
        _client.Add("nightly-2026-11-26", OrchestrationRuntimeStatus.Completed);
        await Timer().RunAsync(new TimerInfo(), _client.Object);
        Assert.Equal("nightly-2026-11-27:night", Assert.Single(_client.Scheduled).Options?.InstanceId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task RunAsync_NoDatasetConfigured_StartsNothing(string? dataset)
    {
        await Timer(dataset).RunAsync(new TimerInfo(), _client.Object);
        Assert.Empty(_client.Scheduled);
    }

    [Fact]
    public async Task RunAsync_InvalidPolicy_StartsNothing()
    {
        await Timer(policy: new DormancyPolicy { LookbackDays = 0 }).RunAsync(new TimerInfo(), _client.Object);
        Assert.Empty(_client.Scheduled);
    }
}

public sealed class RunsOptionsLlmBudgetTests
{
    [Fact]
    public void CreateRequest_CarriesTheRunsLlmTokenBudget_IntoTheReasonerOptions()
    {
        var withBudget = new RunsOptions { LlmTokensPerRun = 500_000 }.CreateRequest("nightly-2026-11-27", "demo", new DormancyPolicy(), "timer");
        var without = new RunsOptions().CreateRequest("nightly-2026-11-27", "demo", new DormancyPolicy(), "timer");

        Assert.Equal(500_000, withBudget.Reasoner.LlmTokensPerRun);
        Assert.Null(without.Reasoner.LlmTokensPerRun);
        Assert.Null(withBudget.Validate());
        Assert.Contains("LlmTokensPerRun", (withBudget with { Reasoner = new RoleGen.Core.Reasoning.ReasonerOptions { LlmTokensPerRun = -1 } }).Validate(),
            StringComparison.Ordinal);
    }
}
