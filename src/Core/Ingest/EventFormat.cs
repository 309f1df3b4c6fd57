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

    /// <summary>SASRec / S3-Rec sequences (Amazon Beauty, Sports, Toys): one line per user, <c>user item item ...</c>,
    /// whitespace-separated, oldest first. Every item is a purchase; the file has no times, so event i of a line gets the
    /// synthetic timestamp <see cref="EventReader.SasrecBaseTimestamp"/> + i (order is all that is known). No categories.</summary>
    Sasrec,
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
            case "sasrec" or "amazon": format = EventFormat.Sasrec; return true;
            default: format = default; return false;
        }
    }

    public const string Names = "taobao|normalized|otto|sasrec";
}
