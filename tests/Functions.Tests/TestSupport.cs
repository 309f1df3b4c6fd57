using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;
using RoleGen.Core.Cohort;
using RoleGen.Core.Storage;
using RoleGen.Functions.Composition;
using RoleGen.Functions.Http;

namespace RoleGen.Functions.Tests;

/// <summary>A fixed clock for the tests.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public static readonly DateTimeOffset Default = new(2026, 11, 27, 2, 0, 3, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>A <see cref="DurableTaskClient"/> mock that records scheduled instances and knows a set of instances.</summary>
internal sealed class ClientMock
{
    public Mock<DurableTaskClient> Mock { get; } = new("test") { CallBase = false };

    public Dictionary<string, OrchestrationMetadata> Instances { get; } = new(StringComparer.Ordinal);

    public List<(TaskName Name, object? Input, StartOrchestrationOptions? Options)> Scheduled { get; } = [];

    public List<(string Id, TerminateInstanceOptions? Options)> Terminated { get; } = [];

    public DurableTaskClient Object => Mock.Object;

    public ClientMock()
    {
        Mock.Setup(c => c.GetInstanceAsync(It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync((string id, bool _, CancellationToken _) => Instances.GetValueOrDefault(id));
        Mock.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(),
                It.IsAny<CancellationToken>()))
            .ReturnsAsync((TaskName name, object? input, StartOrchestrationOptions? options, CancellationToken _) =>
            {
                Scheduled.Add((name, input, options));
                return options?.InstanceId ?? "generated";
            });
        Mock.Setup(c => c.TerminateInstanceAsync(It.IsAny<string>(), It.IsAny<TerminateInstanceOptions?>(), It.IsAny<CancellationToken>()))
            .Callback((string id, TerminateInstanceOptions? options, CancellationToken _) => Terminated.Add((id, options)))
            .Returns(Task.CompletedTask);
    }

    public OrchestrationMetadata Add(string id, OrchestrationRuntimeStatus status, object? customStatus = null, object? output = null,
        TaskFailureDetails? failure = null)
    {
        var meta = new OrchestrationMetadata("NightlyRunOrchestrator", id)
        {
            RuntimeStatus = status,
            CreatedAt = new DateTimeOffset(2026, 11, 27, 2, 0, 0, TimeSpan.Zero),
            LastUpdatedAt = new DateTimeOffset(2026, 11, 27, 2, 5, 0, TimeSpan.Zero),
            SerializedCustomStatus = customStatus is null ? null : JsonDataConverter.Default.Serialize(customStatus),
            SerializedOutput = output is null ? null : JsonDataConverter.Default.Serialize(output),
            FailureDetails = failure,
            DataConverter = JsonDataConverter.Default,
        };
        Instances[id] = meta;
        return meta;
    }
}

internal static class Web
{
    public static HttpRequest Request(string method, string path, string? body = null, string? query = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "https";
        context.Request.Host = new HostString("func-rolegen.azurewebsites.net");
        context.Request.Path = path;
        if (query is not null)
        {
            context.Request.QueryString = new QueryString(query);
        }
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = "application/json";
        }
        return context.Request;
    }

    public static (int Status, JsonElement Body) Json(IActionResult result)
    {
        var json = Assert.IsType<JsonResult>(result);
        var serialized = JsonSerializer.Serialize(json.Value, json.SerializerSettings as JsonSerializerOptions ?? RoleGenJson.Options);
        return (json.StatusCode ?? 200, JsonDocument.Parse(serialized).RootElement.Clone());
    }

    public static string[] Problems(JsonElement body)
        => body.TryGetProperty("problems", out var problems) ? problems.EnumerateArray().Select(p => p.GetString()!).ToArray() : [];
}

internal static class Api
{
    public static RunsOptions Runs(string? dataset = "demo") => new() { Dataset = dataset, TopK = 20, ShardSize = 5000, MaxParallelShards = 8 };

    public static RunsApi Create(IBlobStore? store = null, RunsOptions? runs = null, DormancyPolicy? policy = null) =>
        new(store ?? new InMemoryBlobStore(), Options.Create(runs ?? Runs()), Options.Create(policy ?? new DormancyPolicy()),
            new FixedTime(FixedTime.Default), NullLogger<RunsApi>.Instance);
}

/// <summary>A <see cref="FunctionContext"/> mock whose services are real (an <see cref="ILoggerFactory"/> and whatever the
/// test registers).</summary>
internal static class FunctionContextMock
{
    public static Mock<FunctionContext> Create(IServiceProvider services)
    {
        var context = new Mock<FunctionContext>();
        context.SetupGet(c => c.InstanceServices).Returns(services);
        context.SetupGet(c => c.InvocationId).Returns("invocation-1");
        return context;
    }

    public static ServiceProvider Services(Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }
}
