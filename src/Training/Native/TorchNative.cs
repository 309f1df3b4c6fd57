namespace RoleGen.Training.Native;

/// <summary>
/// Run-time safety net for the GLIBCXX_3.4.32 problem (see ElfVersionNeedPatcher.cs). The build target
/// (build/RoleGen.Training.Native.targets) patches bin/ at build time; a host that references RoleGen.Training without
/// importing that target would still get an unpatched copy, so before the first torch call this applies the same
/// idempotent patch to the copies in the application's own folder (never anywhere else), when the system libstdc++
/// lacks the version. Failures (read-only folder, no file) are ignored: TorchSharp then reports its own load error.
/// </summary>
public static class TorchNative
{
    /// <summary>The version needs the patch weakens.</summary>
    public static readonly string[] WeakVersions = ["GLIBCXX_3.4.32"];

    private static readonly Lock Gate = new();
    private static bool _done;

    /// <summary>The app-local copies of libLibTorchSharp.so that TorchSharp may load.</summary>
    public static IEnumerable<string> AppLocalLibraries(string? baseDirectory = null)
    {
        var root = baseDirectory ?? AppContext.BaseDirectory;
        foreach (var candidate in new[]
        {
            Path.Combine(root, "libLibTorchSharp.so"),
            Path.Combine(root, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
        })
        {
            if (File.Exists(candidate))
            {
                yield return candidate;
            }
        }
    }

    /// <summary>Patches the app-local copies once per process (Linux only). Returns what happened to each file.</summary>
    public static IReadOnlyDictionary<string, ElfPatchOutcome> EnsureLoadable()
    {
        var outcomes = new Dictionary<string, ElfPatchOutcome>(StringComparer.Ordinal);
        if (!OperatingSystem.IsLinux())
        {
            return outcomes;
        }
        lock (Gate)
        {
            if (_done)
            {
                return outcomes;
            }
            var system = ElfVersionNeedPatcher.FindSystemLibStdCxx();
            foreach (var library in AppLocalLibraries())
            {
                try
                {
                    outcomes[library] = ElfVersionNeedPatcher.Apply(library, WeakVersions, system);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
                {
                    // Leave it to TorchSharp's own error message.
                }
            }
            _done = true;
        }
        return outcomes;
    }
}
