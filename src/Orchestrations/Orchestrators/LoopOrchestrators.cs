using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Runs;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Orchestrators;

/// <summary>Joins a past run's candidates with the outcome events under <c>feedback/{experiment}/</c> and writes
/// <c>runs/{runId}/feedback.json</c> (per-arm metrics, lifts with CIs and p-values). Idempotent: the same inputs give the
/// same file, overwritten. Skipped with a reason (never failed) when the run or its outcomes are missing.</summary>
public sealed class FeedbackOrchestrator : TaskOrchestrator<FeedbackRequest, FeedbackResult>
{
    public override async Task<FeedbackResult> RunAsync(TaskOrchestrationContext context, FeedbackRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        return await context.CallActivityAsync<FeedbackResult>(nameof(CollectFeedbackActivity), input, RetryPolicies.Transient(3, 2));
    }
}

/// <summary>Reads a run's reasoning traces and feedback and writes refined priors (<c>priors/{version}/</c>, then the
/// experiment's priors pointer). Idempotent (the version is derived from the run id). Skipped with a reason when the
/// run has no feedback.</summary>
public sealed class ReflectionOrchestrator : TaskOrchestrator<ReflectionRequest, ReflectionResult>
{
    public override async Task<ReflectionResult> RunAsync(TaskOrchestrationContext context, ReflectionRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        return await context.CallActivityAsync<ReflectionResult>(nameof(ReflectActivity), input, RetryPolicies.Transient(3, 2));
    }
}

/// <summary>
/// One night of the closed loop: Feedback(previous run) → Reflection(previous run) → the new run, which uses the newest
/// reflected priors. Each loop step is skipped with a reason when its input is missing (first night, no outcomes yet)
/// and a failing loop step never blocks the night's run: its error is recorded and the run goes on with the priors it
/// can resolve. Sub-orchestration ids derive from the run id, so a re-started night replays instead of duplicating.
/// </summary>
public sealed class NightlyChainOrchestrator : TaskOrchestrator<ChainRequest, ChainSummary>
{
    /// <summary>The night's own instance id (the run itself runs as a sub-orchestration with the run id).</summary>
    public static string InstanceId(string runId) => Core.Runs.RunId.NightChainInstance(runId);

    public static string FeedbackInstanceId(string runId) => $"{runId}:feedback";

    public static string ReflectionInstanceId(string runId) => $"{runId}:reflection";

    public override async Task<ChainSummary> RunAsync(TaskOrchestrationContext context, ChainRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger<NightlyChainOrchestrator>();
        var run = input.Run;
        var retry = RetryPolicies.Transient(3, 2);
        if (run.Validate() is { } invalid)
        {
            return new ChainSummary(run.RunId, null, "not resolved: the run request is invalid", null, null, run.Reasoner?.Fusion.Version ?? "default",
                "not resolved", null, invalid);
        }
        context.SetCustomStatus(new RunProgress("feedback", 0, 0, 0, 0, 0));
        string? previous = input.PreviousRunId;
        string previousReason = previous is null ? "" : $"previous run {previous} (given)";
        if (previous is null && run.Experiment is { } experiment)
        {
            var resolved = await context.CallActivityAsync<PreviousRunResult>(nameof(ResolvePreviousRunActivity),
                new ResolvePreviousRunInput(experiment.Name, run.Dataset, run.RunId), retry);
            previous = resolved.RunId;
            previousReason = resolved.Reason;
        }
        else if (previous is null)
        {
            previousReason = "the run belongs to no experiment: no feedback loop";
        }

        FeedbackResult? feedback = null;
        ReflectionResult? reflection = null;
        if (previous is not null)
        {
            try
            {
                feedback = await context.CallSubOrchestratorAsync<FeedbackResult>(nameof(FeedbackOrchestrator), new FeedbackRequest(previous),
                    new SubOrchestrationOptions { InstanceId = FeedbackInstanceId(run.RunId) });
                log.LogInformation("Night {RunId}: feedback of {Previous}: {Outcome}", run.RunId, previous, feedback.Skipped ?? feedback.Path);
            }
            catch (TaskFailedException ex)
            {
                feedback = new FeedbackResult(previous, null, $"feedback failed: {RetryPolicies.Describe(ex)}");
            }
            context.SetCustomStatus(new RunProgress("reflection", 0, 0, 0, 0, 0));
            if (!input.Reflect)
            {
                reflection = new ReflectionResult(previous, null, "reflection disabled for this night (ablation)");
            }
            else if (feedback.Path is not null)
            {
                try
                {
                    reflection = await context.CallSubOrchestratorAsync<ReflectionResult>(nameof(ReflectionOrchestrator), new ReflectionRequest(previous),
                        new SubOrchestrationOptions { InstanceId = ReflectionInstanceId(run.RunId) });
                }
                catch (TaskFailedException ex)
                {
                    reflection = new ReflectionResult(previous, null, $"reflection failed: {RetryPolicies.Describe(ex)}");
                }
            }
            else
            {
                reflection = new ReflectionResult(previous, null, $"no feedback for {previous} ({feedback.Skipped})");
            }
        }

        var priors = run.Experiment is null
            ? new ResolvePriorsResult(null, "the run belongs to no experiment: its own fusion weights are used")
            : await context.CallActivityAsync<ResolvePriorsResult>(nameof(ResolvePriorsActivity), new ResolvePriorsInput(run.RunId, run.Experiment.Name), retry);
        if (priors.Weights is not null)
        {
            run = run with { Reasoner = run.Reasoner with { Fusion = priors.Weights } };
        }
        RunSummary? summary = null;
        string? error = null;
        try
        {
            summary = await context.CallSubOrchestratorAsync<RunSummary>(nameof(NightlyRunOrchestrator), run,
                new SubOrchestrationOptions { InstanceId = run.RunId });
        }
        catch (TaskFailedException ex)
        {
            error = $"the run failed: {RetryPolicies.Describe(ex)}";
        }
        return new ChainSummary(run.RunId, previous, previousReason, feedback, reflection, run.Reasoner.Fusion.Version, priors.Reason, summary, error);
    }
}
