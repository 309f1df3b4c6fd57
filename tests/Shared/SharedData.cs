namespace RoleGen.Tests.Shared;

/// <summary>Finds the shared data folder (<c>shared/data</c>) by walking up from the test binaries: CI clones the repo
/// next to <c>shared/</c>, and locally it sits at <c>/work/shared/data</c>.</summary>
internal static class SharedData
{
    public static readonly string? Directory = Find();

    public const string MissingMessage = "shared/data not found above the test directory (CI clones the repo next to shared/); real-data tests skipped.";

    public static string PathOf(params string[] parts) => System.IO.Path.Combine([Directory!, .. parts]);

    private static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "data");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}

/// <summary>A fact that is skipped, with a clear message, when the shared data folder or one of its files is absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute(params string[] relativeFile)
    {
        if (SharedData.Directory is null)
        {
            Skip = SharedData.MissingMessage;
        }
        else if (relativeFile.Length > 0 && !File.Exists(SharedData.PathOf(relativeFile)))
        {
            Skip = $"{string.Join('/', relativeFile)} not found under {SharedData.Directory}; real-data test skipped.";
        }
    }
}
