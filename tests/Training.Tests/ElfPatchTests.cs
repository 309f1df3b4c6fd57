using System.Diagnostics;
using System.Runtime.Versioning;
using RoleGen.Training.Native;
using TorchSharp;

namespace RoleGen.Training.Tests;

/// <summary>The GLIBCXX_3.4.32 fix, on the real libLibTorchSharp.so (a temp copy of the NuGet original) and on the
/// build output.</summary>
[SupportedOSPlatform("linux")]
public sealed class ElfPatchTests
{
    private const string Version = "GLIBCXX_3.4.32";

    private static ElfVersionNeed Need(string path) =>
        ElfVersionNeedPatcher.ReadVersionNeeds(path).Single(n => n.Name == Version);

    private static bool SystemLacksVersion =>
        ElfVersionNeedPatcher.FindSystemLibStdCxx() is not { } lib || !ElfVersionNeedPatcher.ReadVersionDefinitions(lib).Contains(Version);

    [Fact]
    public void Original_needs_GLIBCXX_3_4_32_from_libstdcxx_without_the_weak_flag()
    {
        var needs = ElfVersionNeedPatcher.ReadVersionNeeds(TestSupport.OriginalLibTorchSharp);
        var need = needs.Single(n => n.Name == Version);
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.Equal(0, need.Flags);
        Assert.False(need.IsWeak);
        // The parser sees the whole table (readelf -V: 5 files, 28 version needs, 20 of them from libstdc++).
        Assert.Equal(28, needs.Count);
        Assert.Equal(20, needs.Count(n => n.File == "libstdc++.so.6"));
        Assert.Contains(needs, n => n.File == "libc.so.6" && n.Name == "GLIBC_2.34");
    }

    [Fact]
    public void Apply_sets_only_that_flag_keeps_mode_and_timestamp_and_is_idempotent()
    {
        using var dir = TestSupport.NewTempDir();
        var path = dir.File("libLibTorchSharp.so");
        File.Copy(TestSupport.OriginalLibTorchSharp, path);
        var stamp = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, stamp);
        var modeBefore = File.GetUnixFileMode(path);
        var before = File.ReadAllBytes(path);
        var needBefore = Need(path);

        var outcome = ElfVersionNeedPatcher.Apply(path, [Version], systemLibrary: null);

        Assert.Equal(ElfPatchOutcome.Patched, outcome);
        var after = File.ReadAllBytes(path);
        var needAfter = Need(path);
        Assert.True(needAfter.IsWeak);
        Assert.Equal(ElfVersionNeedPatcher.VerFlagWeak, needAfter.Flags);
        Assert.Equal(needBefore.FlagsOffset, needAfter.FlagsOffset);
        // Exactly one byte differs: the low byte of that vna_flags.
        var diffs = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToArray();
        Assert.Equal([needBefore.FlagsOffset], diffs.Select(i => (long)i));
        Assert.All(ElfVersionNeedPatcher.ReadVersionNeeds(path).Where(n => n.Name != Version), n => Assert.Equal(0, n.Flags));
        Assert.Equal(modeBefore, File.GetUnixFileMode(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));

        var again = ElfVersionNeedPatcher.Apply(path, [Version], systemLibrary: null);
        Assert.Equal(ElfPatchOutcome.AlreadyWeak, again);
        Assert.Equal(after, File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.weak-*"));
    }

    [Fact]
    public void Apply_never_writes_through_a_hard_link()
    {
        using var dir = TestSupport.NewTempDir();
        var cache = dir.File("cache-copy.so");
        var output = dir.File("output-copy.so");
        File.Copy(TestSupport.OriginalLibTorchSharp, cache);
        using (var ln = Process.Start(new ProcessStartInfo("ln", [cache, output]) { UseShellExecute = false })!)
        {
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
        }

        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.Apply(output, [Version], systemLibrary: null));

        Assert.True(Need(output).IsWeak);
        Assert.False(Need(cache).IsWeak);
        Assert.Equal(File.ReadAllBytes(TestSupport.OriginalLibTorchSharp), File.ReadAllBytes(cache));
    }

    [Fact]
    public void Apply_is_a_no_op_when_the_system_library_defines_the_versions()
    {
        var system = ElfVersionNeedPatcher.FindSystemLibStdCxx();
        Assert.NotNull(system);
        var defined = ElfVersionNeedPatcher.ReadVersionDefinitions(system);
        Assert.Contains("GLIBCXX_3.4", defined);
        Assert.Contains("GLIBCXX_3.4.30", defined); // Debian 12's libstdc++ (GCC 12) and newer
        using var dir = TestSupport.NewTempDir();
        var path = dir.File("libLibTorchSharp.so");
        File.Copy(TestSupport.OriginalLibTorchSharp, path);

        // GLIBCXX_3.4.30 is both needed by the library and defined by the system: nothing to do.
        Assert.Equal(ElfPatchOutcome.SystemProvidesVersion, ElfVersionNeedPatcher.Apply(path, ["GLIBCXX_3.4.30"], system));
        // A version the library does not need.
        Assert.Equal(ElfPatchOutcome.NotNeeded, ElfVersionNeedPatcher.Apply(path, ["GLIBCXX_9.9"], systemLibrary: null));
        Assert.Equal(File.ReadAllBytes(TestSupport.OriginalLibTorchSharp), File.ReadAllBytes(path));

        // The real decision for GLIBCXX_3.4.32 depends on this machine's libstdc++.
        var outcome = ElfVersionNeedPatcher.Apply(path, [Version], system);
        Assert.Equal(SystemLacksVersion ? ElfPatchOutcome.Patched : ElfPatchOutcome.SystemProvidesVersion, outcome);
    }

    [Fact]
    public void Rejects_files_that_are_not_elf64()
    {
        using var dir = TestSupport.NewTempDir();
        var path = dir.File("not-elf.so");
        File.WriteAllText(path, "definitely not an ELF file, but long enough to have a header of sixty-four bytes......");
        Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(path));
    }

    [Fact]
    public void Build_output_copy_is_patched_and_the_nuget_cache_copy_is_not()
    {
        Assert.True(File.Exists(TestSupport.OutputLibTorchSharp), TestSupport.OutputLibTorchSharp);
        Assert.Equal(SystemLacksVersion, Need(TestSupport.OutputLibTorchSharp).IsWeak);
        Assert.False(Need(TestSupport.OriginalLibTorchSharp).IsWeak);
    }

    [Fact]
    public void Torch_loads_and_computes_from_the_build_output()
    {
        // Before the patch existed this threw "libtorch-cpu-linux-x64 ... not restored" (a misleading GLIBCXX load error).
        using var ones = torch.ones(2);
        Assert.Equal(2f, ones.sum().item<float>());
        Assert.Equal(new long[] { 2 }, ones.shape);
        // The run-time safety net finds the same (already patched) copy and leaves it alone.
        Assert.All(TorchNative.EnsureLoadable().Values, o => Assert.NotEqual(ElfPatchOutcome.Patched, o));
    }
}
