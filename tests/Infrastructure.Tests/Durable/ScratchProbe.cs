using System.Diagnostics;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RoleGen.Infrastructure.Durable;
using Xunit.Abstractions;

namespace RoleGen.Infrastructure.Tests.Durable;

public sealed class ScratchProbe(ITestOutputHelper output)
{
    [Theory]
    [Trait("Category", "Scratch")]
    [InlineData(DurableBackend.InMemory, 500, 4)]
    [InlineData(DurableBackend.InMemory, 500, 64)]
    [InlineData(DurableBackend.AzureStorage, 500, 4)]
    [InlineData(DurableBackend.AzureStorage, 500, 32)]
    public async Task Probe(DurableBackend backend, int n, int conc)
    {
        var options = backend == DurableBackend.InMemory ? DurableTestHost.InMemoryOptions() : DurableTestHost.AzuriteOptions();
        options.MaxConcurrentActivities = conc;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(new ActivityLog());
        builder.Services.AddLocalDurableHost(options, r => r.AddActivity<SquareActivity>().AddOrchestrator<FanOutOrchestrator>());
        try
        {
            var sw = Stopwatch.StartNew();
            using var host = builder.Build();
            await host.StartAsync();
            output.WriteLine($"start {sw.ElapsedMilliseconds} ms");
            var client = host.Services.GetRequiredService<DurableTaskClient>();
            // warm-up
            var w = await client.ScheduleNewOrchestrationInstanceAsync(nameof(FanOutOrchestrator), 5);
            await client.WaitForInstanceCompletionAsync(w, true);
            sw.Restart();
            var id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(FanOutOrchestrator), n);
            var r = await client.WaitForInstanceCompletionAsync(id, true);
            double s = sw.Elapsed.TotalSeconds;
            output.WriteLine($"{backend} conc={conc}: {n} activities in {s:0.00} s = {n / s:0} activities/s, status {r.RuntimeStatus}");
            output.WriteLine($"ids warm={w} main={id}");
            output.WriteLine($"MARK-COMPLETED {DateTime.UtcNow:O}");
            var st = await client.GetInstanceAsync(id, true);
            output.WriteLine($"after 3s: {st?.RuntimeStatus} {st?.LastUpdatedAt:O} now {DateTime.UtcNow:O}");
            sw.Restart();
            await host.StopAsync();
            output.WriteLine($"stop {sw.ElapsedMilliseconds} ms");
        }
        finally
        {
            await LocalDurableHost.DeleteTaskHubAsync(options);
        }
    }
}
