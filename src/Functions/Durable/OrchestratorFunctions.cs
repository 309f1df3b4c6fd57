using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using RoleGen.Core.Experiments;
using RoleGen.Core.Runs;
using RoleGen.Orchestrations.Models;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Functions.Durable;

/// <summary>Orchestrator functions: one shim per class in <c>RoleGenTasks.Orchestrators</c>, named after the class (the task
/// name the orchestrators call and the history records). The shims hold no logic: the class-based orchestrator runs with
/// the input it declares. (Microsoft.DurableTask.Generators, which would emit these, is not used.)</summary>
public static class OrchestratorFunctions
{
    [Function(nameof(NightlyRunOrchestrator))]
    public static Task<RunSummary> NightlyRun([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new NightlyRunOrchestrator().RunAsync(context, Input<RunRequest>(context));
    }

    [Function(nameof(ShardBatchOrchestrator))]
    public static Task<ShardBatchResult> ShardBatch([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new ShardBatchOrchestrator().RunAsync(context, Input<ShardBatchWork>(context));
    }

    [Function(nameof(NightlyChainOrchestrator))]
    public static Task<ChainSummary> NightlyChain([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new NightlyChainOrchestrator().RunAsync(context, Input<ChainRequest>(context));
    }

    [Function(nameof(FeedbackOrchestrator))]
    public static Task<FeedbackResult> Feedback([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new FeedbackOrchestrator().RunAsync(context, Input<FeedbackRequest>(context));
    }

    [Function(nameof(ReflectionOrchestrator))]
    public static Task<ReflectionResult> Reflection([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new ReflectionOrchestrator().RunAsync(context, Input<ReflectionRequest>(context));
    }

    [Function(nameof(FeedbackBatchOrchestrator))]
    public static Task<FeedbackPartial> FeedbackBatch([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new FeedbackBatchOrchestrator().RunAsync(context, Input<FeedbackBatchWork>(context));
    }

    [Function(nameof(RefineBatchOrchestrator))]
    public static Task<long> RefineBatch([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new RefineBatchOrchestrator().RunAsync(context, Input<RefineBatchWork>(context));
    }

    private static T Input<T>(TaskOrchestrationContext context)
        where T : class
        => context.GetInput<T>()
           ?? throw new InvalidOperationException($"Orchestration {context.InstanceId} ({context.Name}) was started without a {typeof(T).Name} input.");
}
