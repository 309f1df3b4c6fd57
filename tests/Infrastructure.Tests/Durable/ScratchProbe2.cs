using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RoleGen.Infrastructure.Durable;
using Xunit.Abstractions;

namespace RoleGen.Infrastructure.Tests.Durable;

public sealed class ScratchProbe2
{
    [Fact]
    [Trait("Category", "Scratch2")]
    public async Task StopRightAfterCompletion()
    {
        var options = DurableTestHost.AzuriteOptions();
        try
        {
            for (int round = 0; round < 6; round++)
            {
                var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
                builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; }).SetMinimumLevel(LogLevel.Debug);
                builder.Services.AddSingleton(new ActivityLog());
                builder.Services.AddLocalDurableHost(options, r => r.AddActivity<SquareActivity>().AddOrchestrator<FanOutOrchestrator>());
                builder.Logging.AddFilter("Microsoft.DurableTask", LogLevel.Debug);
                builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
                builder.Logging.AddFilter("Grpc", LogLevel.Warning);
                builder.Logging.AddFilter("DurableTask.AzureStorage", LogLevel.Warning);
                using var host = builder.Build();
                await host.StartAsync();
                var client = host.Services.GetRequiredService<DurableTaskClient>();
                var id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(FanOutOrchestrator), 50);
                var r = await client.WaitForInstanceCompletionAsync(id, true);
                Console.WriteLine($"MARK round {round} {id} {r.RuntimeStatus} {DateTime.UtcNow:HH:mm:ss.fff}");
                await host.StopAsync();
                Console.WriteLine($"MARK stopped {DateTime.UtcNow:HH:mm:ss.fff}");
            }
        }
        finally
        {
            await LocalDurableHost.DeleteTaskHubAsync(options);
        }
    }
}
