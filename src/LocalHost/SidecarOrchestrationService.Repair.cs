using System.Collections.Concurrent;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.Extensions.Logging;

namespace RoleGen.LocalHost;

/// <summary>History repairs between the sidecar and the backend: sub-orchestration events, protobuf tags, failure details.</summary>
internal sealed partial class SidecarOrchestrationService
{
    private static TimeSpan? EarlyTimerDelay(TaskOrchestrationWorkItem workItem)
    {
        DateTime latest = DateTime.MinValue;
        foreach (var message in workItem.NewMessages ?? [])
        {
            if (message.Event is TimerFiredEvent timer && timer.FireAt.ToUniversalTime() > latest)
            {
                latest = timer.FireAt.ToUniversalTime();
            }
        }

        TimeSpan early = latest - DateTime.UtcNow;
        return early > TimeSpan.Zero && early <= TimeSpan.FromSeconds(5) ? early : null;
    }

    private static bool IsTerminal(OrchestrationStatus status) =>
        status is OrchestrationStatus.Completed or OrchestrationStatus.Failed or OrchestrationStatus.Terminated or OrchestrationStatus.Canceled;

    /// <summary>Swaps sidecar-specific event subclasses for the plain, serializable types.</summary>
    private void Repair(OrchestrationRuntimeState? runtimeState, OrchestrationState? orchestrationState)
    {
        if (runtimeState is null)
        {
            return;
        }

        foreach (var historyEvent in runtimeState.NewEvents.ToList())
        {
            switch (historyEvent)
            {
                case SubOrchestrationInstanceCreatedEvent created when created.GetType() != typeof(SubOrchestrationInstanceCreatedEvent):
                    Replace(runtimeState, created, new SubOrchestrationInstanceCreatedEvent(created.EventId)
                    {
                        Name = created.Name,
                        Version = created.Version,
                        InstanceId = created.InstanceId,
                        Input = created.Input,
                        ClientSpanId = created.ClientSpanId,
                        Tags = created.Tags is null ? null : new Dictionary<string, string>(created.Tags),
                        Timestamp = created.Timestamp,
                        IsPlayed = created.IsPlayed,
                    });
                    break;

                case ExecutionStartedEvent started:
                    RepairTags(started);
                    break;

                case ExecutionCompletedEvent { FailureDetails: null } completed
                    when repairFailureDetails && orchestrationState?.FailureDetails is { } failure:
                    var withFailure = new ExecutionCompletedEvent(completed.EventId, completed.Result, completed.OrchestrationStatus, failure)
                    {
                        Timestamp = completed.Timestamp,
                        IsPlayed = completed.IsPlayed,
                    };
                    Replace(runtimeState, completed, withFailure);
                    if (ReferenceEquals(runtimeState.ExecutionCompletedEvent, completed))
                    {
                        runtimeState.ExecutionCompletedEvent = withFailure;
                    }

                    break;
            }
        }
    }

    private static void Replace(OrchestrationRuntimeState runtimeState, HistoryEvent old, HistoryEvent replacement)
    {
        ReplaceIn(runtimeState.Events, old, replacement);
        ReplaceIn(runtimeState.NewEvents, old, replacement);
        ReplaceIn(runtimeState.PastEvents, old, replacement);
    }

    private static void ReplaceIn(IList<HistoryEvent> events, HistoryEvent old, HistoryEvent replacement)
    {
        for (int i = 0; i < events.Count; i++)
        {
            if (ReferenceEquals(events[i], old))
            {
                events[i] = replacement;
            }
        }
    }

    private static void RepairTags(IEnumerable<TaskMessage>? messages)
    {
        foreach (var message in messages ?? [])
        {
            RepairTags(message);
        }
    }

    private static void RepairTags(TaskMessage? message)
    {
        if (message?.Event is ExecutionStartedEvent started)
        {
            RepairTags(started);
        }
    }

    /// <summary>Replaces a Google.Protobuf MapField (or any other dictionary type) by a plain Dictionary.</summary>
    private static void RepairTags(ExecutionStartedEvent started)
    {
        if (started.Tags is { } tags && tags.GetType() != typeof(Dictionary<string, string>))
        {
            started.Tags = new Dictionary<string, string>(tags);
        }
    }

    /// <summary>Azure Storage keeps a failed instance's failure details only as "ErrorType: message" in its output.</summary>
    private OrchestrationState? RepairFailureDetails(OrchestrationState? state)
    {
        if (repairFailureDetails && state is { OrchestrationStatus: OrchestrationStatus.Failed, FailureDetails: null, Output: { Length: > 0 } output })
        {
            int colon = output.IndexOf(": ", StringComparison.Ordinal);
            bool typed = colon > 0 && !output.AsSpan(0, colon).ContainsAny(" \r\n\"{[");
            state.FailureDetails = typed
                ? new FailureDetails(output[..colon], output[(colon + 2)..], null, null, false)
                : new FailureDetails("OrchestrationFailed", output, null, null, false);
        }

        return state;
    }
}
