using System.Globalization;
using RoleGen.Core.Runs;

namespace RoleGen.Functions.Http;

public static class RunIds
{
    /// <summary><see cref="RunRequest.ValidateRunId"/>, plus at least one letter or digit: the id is a blob path segment
    /// (<c>runs/{id}/</c>), so "." and ".." are refused.</summary>
    public static bool IsValid(string? runId)
    {
        if (runId is null || !runId.Any(char.IsAsciiLetterOrDigit))
        {
            return false;
        }
        try
        {
            RunRequest.ValidateRunId(runId);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>A fresh run id for an HTTP-started run: <c>{dataset}-{yyyyMMdd-HHmmss}-{6 hex}</c> (at most 80 characters).</summary>
    public static string New(string dataset, DateTimeOffset utcNow, Guid nonce)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var stem = dataset.Length > 50 ? dataset[..50] : dataset;
        return string.Create(CultureInfo.InvariantCulture, $"{stem}-{utcNow.UtcDateTime:yyyyMMdd-HHmmss}-{nonce.ToString("N")[..6]}");
    }
}
