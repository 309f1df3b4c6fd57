namespace RoleGen.Core.Ingest;

/// <summary>Behaviour-log formats RoleGen reads.</summary>
public enum EventFormat
{
    /// <summary>Taobao UserBehavior CSV: <c>user,item,category,pv|fav|cart|buy,unix_ts</c>, no header.</summary>
    Taobao,

    /// <summary>RoleGen's normalized CSV: <c>user_id,item_id,category_id,event_type,timestamp</c>; header optional;
    /// event_type in view|fav|cart|purchase; timestamp Unix seconds or ISO-8601.</summary>
    Normalized,

    /// <summary>OTTO JSONL sessions: <c>{"session":N,"events":[{"aid":..,"ts":ms,"type":"clicks|carts|orders"}]}</c>.</summary>
    Otto,
}

public static class EventFormats
{
    public static bool TryParse(string? text, out EventFormat format)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "taobao": format = EventFormat.Taobao; return true;
            case "normalized" or "csv": format = EventFormat.Normalized; return true;
            case "otto" or "jsonl": format = EventFormat.Otto; return true;
            default: format = default; return false;
        }
    }

    public const string Names = "taobao|normalized|otto";
}
