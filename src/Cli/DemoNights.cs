using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Experiments;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Cli;

/// <summary>
/// `rolegen demo --nights N`: N nights of the closed loop on the demo world. Each night runs the
/// <see cref="NightlyChainOrchestrator"/> (feedback of the previous night → reflection → the night's run with the newest
/// priors); then the seeded <see cref="OutcomeSimulator"/> turns the world's ground truth into outcome events for the
/// lists the night published, written to <c>feedback/{experiment}/{runId}.csv</c> for the next night to collect. After
/// the last night its feedback is collected too, and a table of treatment-vs-control lift per night is printed.
/// The demo's nights are minutes apart in real time, so their attribution windows overlap: the simulated channel tags
/// every outcome with its run id (<see cref="OutcomeSimulatorOptions.RunIdKnownShare"/> = 1), which attribution honours.
/// </summary>
internal static class DemoNights
{
    public static async Task<int> RunAsync(CliHost host, CliSettings settings, RunRequest first, int nights, DemoWorldTruth truth, int seed,
        Stopwatch watch, bool reflect, CancellationToken cancellationToken)
    {
        var experiment = first.Experiment!;
        var simulator = new OutcomeSimulator(truth, new OutcomeSimulatorOptions { Seed = seed, RunIdKnownShare = 1.0 });
        var runs = new List<(int Night, string RunId, ChainSummary Chain)>();
        Console.WriteLine($"Closed loop: {nights} nights, experiment '{experiment.Name}' (treatment share {experiment.TreatmentShare:P0}: RoleGen; control: the model alone)" +
                          (reflect ? string.Empty : "; reflection OFF (ablation)"));
        for (var night = 1; night <= nights; night++)
        {
            var request = first with { RunId = $"{first.RunId}-n{night}" };
            var chain = await RunNightAsync(host, request, night, reflect, cancellationToken).ConfigureAwait(false);
            runs.Add((night, request.RunId, chain));
            if (chain.Run is null || chain.Run.Published == 0)
            {
                Console.WriteLine($"Night {night}: the run did not publish candidates ({chain.Error ?? chain.Run?.Error ?? "no summary"}); stopping.");
                return ExitCodes.FailedRun;
            }
            var simulated = await simulator.WriteRunFeedbackAsync(host.Store, request.RunId, night, experiment.Name, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"  night {night}: simulated {simulated.Events:N0} outcome events for {simulated.Users:N0} users → {host.Store.Describe(simulated.Path)}");
        }

        // The last night's feedback (the next night would collect it).
        var last = runs[^1].RunId;
        var final = await RunOrchestrationAsync<FeedbackResult>(host, nameof(FeedbackOrchestrator), new FeedbackRequest(last), $"{last}:final-feedback", cancellationToken).ConfigureAwait(false);

        var feedbackByRun = runs.Where(r => r.Chain.Feedback is not null).ToDictionary(r => r.Chain.Feedback!.RunId, r => r.Chain.Feedback!, StringComparer.Ordinal);
        feedbackByRun[last] = final;
        Console.WriteLine();
        Console.WriteLine(Table(runs, feedbackByRun));
        Console.WriteLine($"Lift = treatment / control − 1 per user of each arm; CI and p-value: {Test(feedbackByRun.Values)}.");
        Console.WriteLine($"Feedback: runs/{{runId}}/feedback.json; priors: priors/{{version}}/ (fusion.json, reflection.json, candidates/{{shard}}.jsonl); pointer {BlobLayout.PriorsCurrent(experiment.Name)}");
        Console.WriteLine($"Total wall time {watch.Elapsed.TotalSeconds:F1} s; results under {host.Store.Describe("runs/")}");
        return ExitCodes.Ok;
    }

    private static async Task<ChainSummary> RunNightAsync(CliHost host, RunRequest request, int night, bool reflect, CancellationToken cancellationToken)
    {
        Console.WriteLine();
        Console.WriteLine($"Night {night}: run {request.RunId}");
        var chain = await RunOrchestrationAsync<ChainSummary>(host, nameof(NightlyChainOrchestrator), new ChainRequest(request) { Reflect = reflect },
            NightlyChainOrchestrator.InstanceId(request.RunId), cancellationToken, request.RunId).ConfigureAwait(false);
        Console.WriteLine($"  previous run    {chain.PreviousRunId ?? "none"} — {chain.PreviousReason}");
        if (chain.Feedback is { } f)
        {
            Console.WriteLine(f.Path is null ? $"  feedback        skipped: {f.Skipped}" : $"  feedback        {f.OutcomesAttributed:N0} outcomes attributed → {f.Path}; {Lift(f, FeedbackCalculator.ConversionRate)}");
        }
        if (chain.Reflection is { } r)
        {
            Console.WriteLine(r.Version is null
                ? $"  reflection      skipped: {r.Skipped}"
                : $"  reflection      priors {r.Version}: failed roles [{string.Join(", ", r.FailedRoles)}], {r.CollapsedCategories.Count} collapsed categories, {r.RefinedUsers:N0} refined lists");
        }
        Console.WriteLine($"  fusion weights  {chain.FusionVersion} ({chain.PriorsReason})");
        if (chain.Run is { } run)
        {
            Console.WriteLine($"  run             {run.Status}: {run.Published:N0} of {run.Dormant:N0} dormant users published in {run.Seconds:F1} s");
        }
        return chain;
    }

    /// <summary>Schedules (or resumes) an orchestration and waits for it, printing the phase of <paramref name="statusOf"/>
    /// (default: the orchestration itself) on one line.</summary>
    private static async Task<T> RunOrchestrationAsync<T>(CliHost host, string name, object input, string instanceId, CancellationToken cancellationToken,
        string? statusOf = null)
    {
        var client = host.Client;
        var existing = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(name), input, new StartOrchestrationOptions { InstanceId = instanceId }, cancellationToken)
                .ConfigureAwait(false);
        }
        var meta = await RunConsole.WaitWithProgressAsync(client, instanceId, statusOf, $"{name} {instanceId} disappeared from the task hub.", cancellationToken)
            .ConfigureAwait(false);
        if (meta.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            throw new CliException(ExitCodes.FailedRun, $"{name} {instanceId} ended {meta.RuntimeStatus}: {meta.FailureDetails?.ErrorMessage ?? "no details"}");
        }
        return meta.ReadOutputAs<T>() ?? throw new CliException(ExitCodes.FailedRun, $"{name} {instanceId} completed without an output.");
    }

    private static string Lift(FeedbackResult f, string metric)
    {
        var l = f.Lifts.FirstOrDefault(x => x.Metric == metric);
        return l is null
            ? $"no {metric} lift"
            : string.Create(CultureInfo.InvariantCulture, $"{metric} T {l.Treatment:P2} vs C {l.Control:P2}: lift {l.RelativeLift:+0.0%;-0.0%;0%} [{l.CiLow:+0.0%;-0.0%;0%}, {l.CiHigh:+0.0%;-0.0%;0%}], p = {l.PValue:0.0000}");
    }

    private static string Test(IEnumerable<FeedbackResult> results) =>
        string.Join("; ", results.SelectMany(r => r.Lifts).Select(l => $"{l.Metric}: {l.Test}").Distinct(StringComparer.Ordinal));

    private static string Table(IReadOnlyList<(int Night, string RunId, ChainSummary Chain)> runs, IReadOnlyDictionary<string, FeedbackResult> feedback)
    {
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| night | run | fusion weights | users T / C | conversion T | conversion C | lift [95% CI] | p | orders/user lift [95% CI] | hit-rate lift |");
        sb.AppendLine("|---:|---|---|---|---:|---:|---|---:|---|---|");
        foreach (var (night, runId, chain) in runs)
        {
            if (!feedback.TryGetValue(runId, out var f) || f.Path is null)
            {
                sb.AppendLine(ci, $"| {night} | {runId} | {chain.FusionVersion} | — | — | — | no feedback ({f?.Skipped ?? "not collected"}) | | | |");
                continue;
            }
            var t = f.Arms.FirstOrDefault(a => a.Arm == Arm.Treatment);
            var c = f.Arms.FirstOrDefault(a => a.Arm == Arm.Control);
            var cr = f.Lifts.FirstOrDefault(l => l.Metric == FeedbackCalculator.ConversionRate);
            var opu = f.Lifts.FirstOrDefault(l => l.Metric == FeedbackCalculator.OrdersPerUser);
            var hit = f.Lifts.FirstOrDefault(l => l.Metric == FeedbackCalculator.HitRate);
            static string L(LiftEstimate? l) => l is null ? "—" : string.Create(CultureInfo.InvariantCulture, $"{l.RelativeLift:+0.0%;-0.0%;0%} [{l.CiLow:+0.0%;-0.0%;0%}, {l.CiHigh:+0.0%;-0.0%;0%}]");
            sb.AppendLine(ci, $"| {night} | {runId} | {chain.FusionVersion} | {t?.Users:N0} / {c?.Users:N0} | {t?.ConversionRate:P2} | {c?.ConversionRate:P2} | {L(cr)} | {cr?.PValue:0.0000} | {L(opu)} | {L(hit)} |");
        }
        return sb.ToString();
    }
}
