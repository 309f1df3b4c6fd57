namespace RoleGen.Infrastructure.Reasoning;

/// <summary>
/// Thread-safe token budget of one run. A call reserves its worst case (estimated prompt + max output tokens) before it
/// is made, so concurrent users cannot overshoot together, and settles with the usage the service reports afterwards.
/// </summary>
public sealed class TokenBudget
{
    private readonly Lock _lock = new();
    private long _used;
    private long _reserved;

    public TokenBudget(long maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxTokens);
        _max = maxTokens;
    }

    private long _max;

    public long MaxTokens
    {
        get
        {
            lock (_lock)
            {
                return _max;
            }
        }
    }

    /// <summary>Lowers the budget to <paramref name="maxTokens"/> (0 allowed: nothing more is reserved); never raises it.</summary>
    public void LimitTo(long maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        lock (_lock)
        {
            _max = Math.Min(_max, maxTokens);
        }
    }

    /// <summary>Tokens consumed (settled) so far.</summary>
    public long Used
    {
        get
        {
            lock (_lock)
            {
                return _used;
            }
        }
    }

    /// <summary>Tokens neither used nor reserved by a call in flight.</summary>
    public long Remaining
    {
        get
        {
            lock (_lock)
            {
                return Math.Max(0, _max - _used - _reserved);
            }
        }
    }

    /// <summary>Reserves <paramref name="tokens"/>; false (nothing reserved) when the run budget cannot cover them.</summary>
    public bool TryReserve(int tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        lock (_lock)
        {
            if (_used + _reserved + tokens > _max)
            {
                return false;
            }
            _reserved += tokens;
            return true;
        }
    }

    /// <summary>Releases a reservation and records what the call actually consumed (0 when it was not billed).</summary>
    public void Settle(int reserved, long actual)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(reserved);
        ArgumentOutOfRangeException.ThrowIfNegative(actual);
        lock (_lock)
        {
            _reserved = Math.Max(0, _reserved - reserved);
            _used += actual;
        }
    }
}
