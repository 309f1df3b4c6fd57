namespace RoleGen.Core.Events;

/// <summary>The four behaviour types RoleGen reasons about, in funnel order.</summary>
public enum EventType : byte
{
    View = 0,
    Fav = 1,
    Cart = 2,
    Purchase = 3,
}

/// <summary>One behaviour event. Ids are opaque strings (datasets use numbers, strings or both);
/// <see cref="Timestamp"/> is Unix time in seconds (UTC).</summary>
public readonly record struct BehaviorEvent(string UserId, string ItemId, string CategoryId, EventType Type, long Timestamp);

public static class EventTypes
{
    /// <summary>The canonical names used in the normalized CSV schema.</summary>
    public static string ToName(this EventType type) => type switch
    {
        EventType.View => "view",
        EventType.Fav => "fav",
        EventType.Cart => "cart",
        EventType.Purchase => "purchase",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Parses canonical names and the common dataset spellings (Taobao pv/buy, OTTO clicks/carts/orders).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out EventType type)
    {
        var t = text.Trim();
        if (t.Equals("view", StringComparison.OrdinalIgnoreCase) || t.Equals("pv", StringComparison.OrdinalIgnoreCase) ||
            t.Equals("click", StringComparison.OrdinalIgnoreCase) || t.Equals("clicks", StringComparison.OrdinalIgnoreCase))
        {
            type = EventType.View; return true;
        }
        if (t.Equals("fav", StringComparison.OrdinalIgnoreCase) || t.Equals("favorite", StringComparison.OrdinalIgnoreCase))
        {
            type = EventType.Fav; return true;
        }
        if (t.Equals("cart", StringComparison.OrdinalIgnoreCase) || t.Equals("carts", StringComparison.OrdinalIgnoreCase))
        {
            type = EventType.Cart; return true;
        }
        if (t.Equals("purchase", StringComparison.OrdinalIgnoreCase) || t.Equals("buy", StringComparison.OrdinalIgnoreCase) ||
            t.Equals("order", StringComparison.OrdinalIgnoreCase) || t.Equals("orders", StringComparison.OrdinalIgnoreCase))
        {
            type = EventType.Purchase; return true;
        }
        type = default;
        return false;
    }

    public static bool IsConversion(this EventType type) => type >= EventType.Cart;
}
