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
        typeof(ShardOrchestrator),
        typeof(NightlyChainOrchestrator),
        typeof(FeedbackOrchestrator),
        typeof(ReflectionOrchestrator),
    ];

    public static IReadOnlyList<Type> Activities { get; } =
    [
        typeof(SelectDormantUsersActivity),
        typeof(ResolveScoringModelActivity),
        typeof(BuildBaselineModelActivity),
        typeof(BuildReasoningStatsActivity),
        typeof(ReasonShardActivity),
        typeof(ScoreShardActivity),
        typeof(PublishShardActivity),
        typeof(FinalizeRunActivity),
        typeof(ResolvePreviousRunActivity),
        typeof(CollectFeedbackActivity),
        typeof(ReflectActivity),
        typeof(ResolvePriorsActivity),
    ];

    public static DurableTaskRegistry AddRoleGenTasks(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        // Registered with their concrete types so inputs deserialize to the declared record (not JsonElement).
        registry.AddOrchestrator<NightlyRunOrchestrator>();
        registry.AddOrchestrator<ShardOrchestrator>();
        registry.AddOrchestrator<NightlyChainOrchestrator>();
        registry.AddOrchestrator<FeedbackOrchestrator>();
        registry.AddOrchestrator<ReflectionOrchestrator>();
        registry.AddActivity<SelectDormantUsersActivity>();
        registry.AddActivity<ResolveScoringModelActivity>();
        registry.AddActivity<BuildBaselineModelActivity>();
        registry.AddActivity<BuildReasoningStatsActivity>();
        registry.AddActivity<ReasonShardActivity>();
        registry.AddActivity<ScoreShardActivity>();
        registry.AddActivity<PublishShardActivity>();
        registry.AddActivity<FinalizeRunActivity>();
        registry.AddActivity<ResolvePreviousRunActivity>();
        registry.AddActivity<CollectFeedbackActivity>();
        registry.AddActivity<ReflectActivity>();
        registry.AddActivity<ResolvePriorsActivity>();
        return registry;
    }
}
