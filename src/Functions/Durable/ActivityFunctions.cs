using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using RoleGen.Core.Experiments;
using RoleGen.Core.Runs;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Functions.Durable;

/// <summary>Activity functions: one shim per class in <c>RoleGenTasks.Activities</c>, named after the class. Each resolves
/// its activity from the invocation's services (registered transient, constructor-injected ports) and runs it with the
/// declared input type.</summary>
public static class ActivityFunctions
{
    [Function(nameof(ResolveScoringModelActivity))]
    public static Task<ResolveScoringModelResult> ResolveScoringModel([ActivityTrigger] ResolveScoringModelInput input, string instanceId,
        FunctionContext executionContext)
        => RunAsync<ResolveScoringModelActivity, ResolveScoringModelInput, ResolveScoringModelResult>(input, instanceId, executionContext);

    [Function(nameof(PrepareRunActivity))]
    public static Task<PrepareRunResult> PrepareRun([ActivityTrigger] PrepareRunInput input, string instanceId, FunctionContext executionContext)
        => RunAsync<PrepareRunActivity, PrepareRunInput, PrepareRunResult>(input, instanceId, executionContext);

    [Function(nameof(RecommendShardActivity))]
    public static Task<RecommendShardResult> RecommendShard([ActivityTrigger] RecommendShardInput input, string instanceId, FunctionContext executionContext)
        => RunAsync<RecommendShardActivity, RecommendShardInput, RecommendShardResult>(input, instanceId, executionContext);

    [Function(nameof(FinalizeRunActivity))]
    public static Task<RunSummary> FinalizeRun([ActivityTrigger] FinalizeRunInput input, string instanceId, FunctionContext executionContext)
        => RunAsync<FinalizeRunActivity, FinalizeRunInput, RunSummary>(input, instanceId, executionContext);

    [Function(nameof(ResolvePreviousRunActivity))]
    public static Task<PreviousRunResult> ResolvePreviousRun([ActivityTrigger] ResolvePreviousRunInput input, string instanceId, FunctionContext executionContext)
        => RunAsync<ResolvePreviousRunActivity, ResolvePreviousRunInput, PreviousRunResult>(input, instanceId, executionContext);

    [Function(nameof(PartitionOutcomesActivity))]
    public static Task<FeedbackPlan> PartitionOutcomes([ActivityTrigger] FeedbackRequest input, string instanceId, FunctionContext executionContext)
        => RunAsync<PartitionOutcomesActivity, FeedbackRequest, FeedbackPlan>(input, instanceId, executionContext);

    [Function(nameof(FeedbackShardActivity))]
    public static Task<FeedbackPartial> FeedbackShard([ActivityTrigger] FeedbackShardInput input, string instanceId, FunctionContext executionContext)
        => RunAsync<FeedbackShardActivity, FeedbackShardInput, FeedbackPartial>(input, instanceId, executionContext);

    [Function(nameof(WriteFeedbackActivity))]
    public static Task<FeedbackResult> WriteFeedback([ActivityTrigger] WriteFeedbackInput input, string instanceId, FunctionContext executionContext)
        => RunAsync<WriteFeedbackActivity, WriteFeedbackInput, FeedbackResult>(input, instanceId, executionContext);

    [Function(nameof(PlanReflectionActivity))]
    public static Task<ReflectionPlan> PlanReflection([ActivityTrigger] ReflectionRequest input, string instanceId, FunctionContext executionContext)
        => RunAsync<PlanReflectionActivity, ReflectionRequest, ReflectionPlan>(input, instanceId, executionContext);

    [Function(nameof(RefineShardActivity))]
    public static Task<int> RefineShard([ActivityTrigger] RefineShardInput input, string instanceId, FunctionContext executionContext)
        => RunAsync<RefineShardActivity, RefineShardInput, int>(input, instanceId, executionContext);

    [Function(nameof(PublishReflectionActivity))]
    public static Task<ReflectionResult> PublishReflection([ActivityTrigger] PublishReflectionInput input, string instanceId, FunctionContext executionContext)
        => RunAsync<PublishReflectionActivity, PublishReflectionInput, ReflectionResult>(input, instanceId, executionContext);

    [Function(nameof(ResolvePriorsActivity))]
    public static Task<ResolvePriorsResult> ResolvePriors([ActivityTrigger] ResolvePriorsInput input, string instanceId, FunctionContext executionContext)
        => RunAsync<ResolvePriorsActivity, ResolvePriorsInput, ResolvePriorsResult>(input, instanceId, executionContext);

    internal static async Task<TOutput> RunAsync<TActivity, TInput, TOutput>(TInput input, string? instanceId, FunctionContext executionContext)
        where TActivity : TaskActivity<TInput, TOutput>
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(executionContext);
        var activity = executionContext.InstanceServices.GetRequiredService<TActivity>();
        var context = new FunctionActivityContext(new TaskName(typeof(TActivity).Name), instanceId ?? string.Empty);
        return await activity.RunAsync(context, input).ConfigureAwait(false);
    }

    /// <summary>The activity context handed to the class-based activity: its task name and the calling orchestration.</summary>
    internal sealed class FunctionActivityContext(TaskName name, string instanceId) : TaskActivityContext
    {
        public override TaskName Name { get; } = name;

        public override string InstanceId { get; } = instanceId;
    }
}
