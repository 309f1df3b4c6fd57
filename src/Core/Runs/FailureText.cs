using System.Text.RegularExpressions;

namespace RoleGen.Core.Runs;

/// <summary>Failure text for callers outside the system (GET /api/runs/{id}): storage URLs, account names, keys and SAS
/// tokens are replaced by placeholders, so an exception message never discloses where the data lives. The full text stays
/// in the logs and the durable history.</summary>
public static partial class FailureText
{
    public const string Url = "<url>";

    public const string Account = "<account>";

    public const string Secret = "<secret>";

    public static string? Sanitize(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }
        var s = Urls().Replace(text, Url);
        s = Secrets().Replace(s, m => m.Groups["k"].Value + "=" + Secret);
        s = AccountSettings().Replace(s, m => m.Groups["k"].Value + "=" + Account);
        s = StorageHosts().Replace(s, Account);
        s = s.Replace("devstoreaccount1", Account, StringComparison.OrdinalIgnoreCase);
        return s;
    }

    [GeneratedRegex(@"\b[a-z][a-z0-9+.-]*://[^\s'""<>]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Urls();

    [GeneratedRegex(@"(?<k>AccountKey|SharedAccessSignature|sig|SharedAccessKey)=[^;\s&'""]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Secrets();

    [GeneratedRegex(@"(?<k>AccountName|BlobEndpoint|QueueEndpoint|TableEndpoint)=[^;\s'""]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AccountSettings();

    [GeneratedRegex(@"\b[a-z0-9-]+\.(blob|queue|table|dfs|file)\.core\.windows\.net\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StorageHosts();
}
