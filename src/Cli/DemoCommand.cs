using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Cli;

/// <summary><c>rolegen demo</c>: generate the demo world, train (or reuse) its backbone, run one night or N nights of the loop.</summary>
public static class DemoCommand
{
    public static Task<int> DemoAsync(ParseResult parse, CancellationToken cancellationToken) => CliCommon.Guard(async () =>
    {
        var settings = CliCommon.Settings(parse);
        var dataset = EventStore.ValidateDataset(parse.GetValue(Commands.Dataset) ?? "demo");
        var users = parse.GetValue(Commands.Users);
        if (users < 1)
        {
            throw new CliException(ExitCodes.BadInput, "--users must be at least 1.");
        }
        var watch = Stopwatch.StartNew();
        await using var host = await CliHost.StartAsync(settings, durable: true, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Generating the demo world: {users:N0} users, seed {parse.GetValue(Commands.Seed)} → {host.Store.Describe(BlobLayout.EventsPrefix(dataset))}");
        var progress = ConsoleProgress.ForConsole();
        var writer = host.Services.GetRequiredService<DemoWorldWriter>();
        var (summary, truth) = await writer.WriteAsync(new DemoWorldOptions { Users = users, Seed = parse.GetValue(Commands.Seed) }, dataset,
            new Progress<(long Users, long Events)>(p => progress.Report($"  generated {p.Users:N0} users, {p.Events:N0} events")),
            cancellationToken: cancellationToken).ConfigureAwait(false);
        progress.Done($"  generated {summary.Users:N0} users, {summary.Events:N0} events ({truth.Triggers.Count} trigger items recorded in {BlobLayout.DemoTruth(dataset)}) in {summary.Seconds:F1} s");
        await EnsureDemoBackboneAsync(host, dataset, parse.GetValue(Commands.TrainSeconds), cancellationToken).ConfigureAwait(false);
        var request = RunCommand.BuildRequest(parse, dataset, policy: new DormancyPolicy());
        var nights = parse.GetValue(Commands.Nights);
        if (nights < 0 || nights > 30)
        {
            throw new CliException(ExitCodes.BadInput, "--nights must be between 0 and 30.");
        }
        if (nights > 0)
        {
            // A fresh experiment per invocation (unless named): its arms, priors and feedback start clean.
            var experiment = request.Experiment! with { Name = parse.GetValue(Commands.Experiment) ?? $"demo-{request.RunId}" };
            return await DemoNights.RunAsync(host, settings, request with { Experiment = experiment }, nights, truth, parse.GetValue(Commands.Seed), watch,
                reflect: !parse.GetValue(Commands.NoReflection), cancellationToken).ConfigureAwait(false);
        }
        return await RunCommand.RunAndReportAsync(host, settings, request, rerun: true, summary, watch, cancellationToken,
            parse.GetValue(Commands.LocalCopy)).ConfigureAwait(false);
    });

    /// <summary>The demo scores with the generative backbone: reuse the one published for this dataset, else train one
    /// within <paramref name="trainSeconds"/> and publish it. 0 seconds keeps the baseline.</summary>
    private static async Task EnsureDemoBackboneAsync(CliHost host, string dataset, int trainSeconds, CancellationToken cancellationToken)
    {
        if (trainSeconds <= 0)
        {
            Console.WriteLine("Backbone: --train-seconds 0, not training (a backbone already published for this dataset is still used).");
            return;
        }
        var pointer = await host.Store.TryReadJsonAsync<BackbonePointer>(BlobLayout.BackboneCurrent, cancellationToken).ConfigureAwait(false);
        var (current, _) = await BackboneRegistry.ResolveCurrentAsync(host.Store, dataset, cancellationToken).ConfigureAwait(false);
        if (current is not null && pointer?.Dataset == dataset)
        {
            Console.WriteLine($"Backbone: reusing {current.Version} (published for '{dataset}'); delete {BlobLayout.BackboneCurrent} to retrain.");
            return;
        }
        var version = $"{dataset}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CliCommon.Ci)}";
        Console.WriteLine($"Backbone: training {version} on '{dataset}' for about {trainSeconds} s (the budget is checked between epochs)...");
        var outDir = Path.Combine(".rolegen", "models", version);
        var (artifacts, _) = await TrainCommand.TrainAsync(host.Store, null, EventFormat.Normalized, dataset,
            new Training.TrainingOptions { TimeBudget = TimeSpan.FromSeconds(trainSeconds), EvaluateTest = false, Log = line => Console.WriteLine($"  {line}") },
            outDir, cancellationToken).ConfigureAwait(false);
        await BackbonePublisher.PublishAsync(host.Store, outDir, version, dataset, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Backbone: published {version} (best epoch {artifacts.Metrics.BestEpoch}, validation Recall@10 {artifacts.Metrics.BestValidation?.Recall:F4}) in {artifacts.Metrics.TotalSeconds:F0} s.");
    }
}
