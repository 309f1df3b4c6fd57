using Microsoft.DurableTask;
using RoleGen.Orchestrations.Activities;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Orchestrations;

/// <summary>The single list of RoleGen's orchestrators and activities. Every host (the Functions app, the local host,
/// the tests) registers from here, and a test proves the Functions app exposes each of them.</summary>
public static class RoleGenTasks
{
    public static IReadOnlyList<Type> Orchestrators { get; } =
    [
        typeof(NightlyRunOrchestrator),
        typeof(ShardBatchOrchestrator),
        typeof(NightlyChainOrchestrator),
        typeof(FeedbackOrchestrator),
        typeof(FeedbackBatchOrchestrator),
        typeof(ReflectionOrchestrator),
        typeof(RefineBatchOrchestrator),
    ];

    public static IReadOnlyList<Type> Activities { get; } =
    [
        typeof(ResolveScoringModelActivity),
        typeof(PrepareRunActivity),
        typeof(RecommendShardActivity),
        typeof(FinalizeRunActivity),
        typeof(ResolvePreviousRunActivity),
        typeof(PartitionOutcomesActivity),
        typeof(FeedbackShardActivity),
        typeof(WriteFeedbackActivity),
        typeof(PlanReflectionActivity),
        typeof(RefineShardActivity),
        typeof(PublishReflectionActivity),
        typeof(ResolvePriorsActivity),
    ];

    /// <summary>Registers every orchestrator and activity of <see cref="Orchestrators"/> and <see cref="Activities"/> under
    /// its class name, with its concrete type (so inputs deserialize to the declared record, not JsonElement).</summary>
    public static DurableTaskRegistry AddRoleGenTasks(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        foreach (var orchestrator in Orchestrators)
        {
            registry.AddOrchestrator(orchestrator);
        }
        foreach (var activity in Activities)
        {
            registry.AddActivity(activity);
        }
        return registry;
    }
}
