namespace RoleGen.Infrastructure.Reasoning;

/// <summary>Counters of one LLM reasoner instance (one run), for the run manifest. Thread-safe; read with <see cref="Snapshot"/>.</summary>
public sealed class LlmReasonerStats
{
    private long _calls;
    private long _ok;
    private long _cached;
    private long _invalid;
    private long _failed;
    private long _budgetExhausted;
    private long _droppedIds;
    private long _droppedRoles;
    private long _promptTokens;
    private long _completionTokens;
    private long _retries;
    private long _throttled;
    private long _circuitOpen;

    /// <summary>HTTP calls made (every attempt, including retried ones).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Users answered with a fresh valid result.</summary>
    public long Ok => Interlocked.Read(ref _ok);

    /// <summary>Users answered from the blob cache (no call, no tokens).</summary>
    public long Cached => Interlocked.Read(ref _cached);

    /// <summary>Users whose answers were still invalid after every attempt (the caller falls back).</summary>
    public long Invalid => Interlocked.Read(ref _invalid);

    /// <summary>Users whose calls failed (429/5xx/timeout after retries, other 4xx at once).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Users not sent because the per-user or per-run token budget did not allow it.</summary>
    public long BudgetExhausted => Interlocked.Read(ref _budgetExhausted);

    /// <summary>Path item ids the model invented (not among the candidates), dropped.</summary>
    public long DroppedIds => Interlocked.Read(ref _droppedIds);

    /// <summary>Role entries with an out-of-range or duplicate position, dropped.</summary>
    public long DroppedRoles => Interlocked.Read(ref _droppedRoles);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    public long CompletionTokens => Interlocked.Read(ref _completionTokens);

    /// <summary>Attempts after the first (HTTP retries and retries after an invalid answer).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>HTTP calls answered 429.</summary>
    public long Throttled => Interlocked.Read(ref _throttled);

    /// <summary>Users not sent because the deployment's circuit breaker was open (for this shard or the process).</summary>
    public long CircuitOpen => Interlocked.Read(ref _circuitOpen);

    public LlmReasonerStatsSnapshot Snapshot() => new(Calls, Ok, Cached, Invalid, Failed, BudgetExhausted, DroppedIds, DroppedRoles,
        PromptTokens, CompletionTokens, Retries)
    {
        Throttled = Throttled,
        CircuitOpen = CircuitOpen,
    };

    internal void AddThrottled() => Interlocked.Increment(ref _throttled);

    internal void AddCircuitOpen() => Interlocked.Increment(ref _circuitOpen);

    internal void AddCall() => Interlocked.Increment(ref _calls);

    internal void AddOk() => Interlocked.Increment(ref _ok);

    internal void AddCached() => Interlocked.Increment(ref _cached);

    internal void AddInvalid() => Interlocked.Increment(ref _invalid);

    internal void AddFailed() => Interlocked.Increment(ref _failed);

    internal void AddBudgetExhausted() => Interlocked.Increment(ref _budgetExhausted);

    internal void AddRetry() => Interlocked.Increment(ref _retries);

    internal void AddDropped(int ids, int roles)
    {
        Interlocked.Add(ref _droppedIds, ids);
        Interlocked.Add(ref _droppedRoles, roles);
    }

    internal void AddTokens(int prompt, int completion)
    {
        Interlocked.Add(ref _promptTokens, prompt);
        Interlocked.Add(ref _completionTokens, completion);
    }
}

/// <summary>A point-in-time copy of <see cref="LlmReasonerStats"/> (serializable into the run manifest).</summary>
public sealed record LlmReasonerStatsSnapshot(
    long Calls,
    long Ok,
    long Cached,
    long Invalid,
    long Failed,
    long BudgetExhausted,
    long DroppedIds,
    long DroppedRoles,
    long PromptTokens,
    long CompletionTokens,
    long Retries)
{
    public long Throttled { get; init; }

    public long CircuitOpen { get; init; }
}
