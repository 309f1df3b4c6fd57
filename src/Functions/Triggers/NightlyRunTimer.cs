using System.Globalization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RoleGen.Core.Cohort;
using RoleGen.Core.Runs;
using RoleGen.Functions.Composition;
using RoleGen.Functions.Durable;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Functions.Triggers;

/// <summary>Starts the night on <c>RoleGen:Schedule:Nightly</c> (UTC): the <see cref="NightlyChainOrchestrator"/> runs
/// Feedback(previous run) → Reflection → the new run. Idempotent: the run id is the UTC date (<c>nightly-yyyy-MM-dd</c>),
/// the chain's instance id <c>{runId}:night</c>, and an existing instance of either (whatever its status; a purged one no
/// longer exists) means the night was already started, so a repeated or late-firing timer starts nothing.</summary>
public sealed class NightlyRunTimer(IOptions<RunsOptions> runs, IOptions<DormancyPolicy> policy, TimeProvider time, ILogger<NightlyRunTimer> logger)
{
    public const string FunctionName = "NightlyRunTimer";

    public static string InstanceId(DateTimeOffset utcNow) => RunId.Nightly(utcNow.UtcDateTime).Value;

    [Function(FunctionName)]
    public async Task RunAsync([TimerTrigger(ScheduleOptions.NightlyExpression)] TimerInfo timer, [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var options = runs.Value;
        if (string.IsNullOrWhiteSpace(options.Dataset))
        {
            logger.LogWarning("Nightly run skipped: no dataset configured (set RoleGen__Runs__Dataset).");
            return;
        }
        var instanceId = InstanceId(time.GetUtcNow());
        var existing = await client.GetInstanceAsync(NightlyChainOrchestrator.InstanceId(instanceId), getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false)
            ?? await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            logger.LogInformation("Nightly run {RunId} already exists ({Status}, created {CreatedAt:u}); not starting another",
                instanceId, existing.RuntimeStatus, existing.CreatedAt);
            return;
        }
        var request = options.CreateRequest(instanceId, options.Dataset, policy.Value, triggeredBy: "timer");
        if (request.Validate() is { } invalid)
        {
            logger.LogError("Nightly run {RunId} not started: {Problems}", instanceId, invalid);
            return;
        }
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(NightlyChainOrchestrator)), new Orchestrations.Models.ChainRequest(request),
                new StartOrchestrationOptions { InstanceId = NightlyChainOrchestrator.InstanceId(instanceId) }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (DurableClientErrors.IsAlreadyExists(ex))
        {
            logger.LogInformation("Nightly run {RunId} was started concurrently; not starting another", instanceId);
            return;
        }
        logger.LogInformation("Started nightly run {RunId} on dataset {Dataset} (top-{TopK}, shard size {ShardSize}; timer past due: {PastDue})",
            instanceId, request.Dataset, request.TopK, request.ShardSize, timer?.IsPastDue ?? false);
    }
}
