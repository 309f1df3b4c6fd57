// One source file, two uses:
//  * compiled into RoleGen.Training (ROLEGEN_TRAINING_ASSEMBLY is defined there): the patcher is a plain, unit-tested class
//    and TorchNative uses it as a run-time safety net;
//  * compiled by MSBuild's RoslynCodeTaskFactory from build/RoleGen.Training.Native.targets: the WeakenElfVersionNeeds
//    task below runs after the native libraries are copied to bin/ (or publish/) and patches the copies there.
// It must therefore stay netstandard2.0-compatible (no Span/BinaryPrimitives, no File.Move overwrite, no records).
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so was linked against GCC 13's libstdc++ and lists GLIBCXX_3.4.32 in its
// version needs (ELF section .gnu.version_r). Debian 12's libstdc++ stops at GLIBCXX_3.4.30, so the dynamic loader refuses
// the library ("version `GLIBCXX_3.4.32' not found") and TorchSharp reports, misleadingly, that libtorch is "not restored".
// Exactly one symbol binds to that version (std::ios_base_library_init(), a link-time anchor that <iostream> references
// and nothing calls). Marking the version need VER_FLG_WEAK (vna_flags |= 0x2) makes the loader accept a libstdc++ that
// lacks the version (glibc only warns in LD_DEBUG output), which is what lets the library load and train.
// The patch is written to a new file that replaces the output copy (so a hard link into the NuGet cache is never
// written through), keeps the copy's timestamp (so incremental builds stay quiet), is idempotent, and is skipped
// when the system libstdc++ already defines the version.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace RoleGen.Training.Native
{
    /// <summary>One Vernaux entry of an ELF64 <c>.gnu.version_r</c> section: a symbol version the object needs from a file.</summary>
    public sealed class ElfVersionNeed
    {
        public ElfVersionNeed(string file, string name, ushort flags, long flagsOffset)
        {
            File = file;
            Name = name;
            Flags = flags;
            FlagsOffset = flagsOffset;
        }

        /// <summary>The needed library (vn_file), e.g. <c>libstdc++.so.6</c>.</summary>
        public string File { get; }

        /// <summary>The version name (vna_name), e.g. <c>GLIBCXX_3.4.32</c>.</summary>
        public string Name { get; }

        /// <summary>vna_flags (<see cref="ElfVersionNeedPatcher.VerFlagWeak"/> = 0x2).</summary>
        public ushort Flags { get; }

        /// <summary>File offset of vna_flags (two bytes, little-endian).</summary>
        public long FlagsOffset { get; }

        public bool IsWeak => (Flags & ElfVersionNeedPatcher.VerFlagWeak) != 0;

        public override string ToString() => File + ":" + Name + " flags=0x" + Flags.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>What <see cref="ElfVersionNeedPatcher.Apply"/> did to one file.</summary>
    public enum ElfPatchOutcome
    {
        /// <summary>The version need was strong and is now weak.</summary>
        Patched,

        /// <summary>Every requested version need was already weak: nothing written.</summary>
        AlreadyWeak,

        /// <summary>The file needs none of the requested versions: nothing written.</summary>
        NotNeeded,

        /// <summary>The system library already defines every requested version: nothing written.</summary>
        SystemProvidesVersion,
    }

    /// <summary>Reads and patches ELF64 little-endian symbol-version tables (<c>.gnu.version_r</c> / <c>.gnu.version_d</c>).</summary>
    public static class ElfVersionNeedPatcher
    {
        /// <summary>VER_FLG_WEAK from elf.h.</summary>
        public const ushort VerFlagWeak = 0x2;

        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>Where Debian/Ubuntu/Fedora keep the x86-64 libstdc++ the loader will pick.</summary>
        public static readonly string[] SystemLibStdCxxCandidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };

        /// <summary>The first existing <see cref="SystemLibStdCxxCandidates"/> entry, or null.</summary>
        public static string? FindSystemLibStdCxx()
        {
            foreach (var candidate in SystemLibStdCxxCandidates)
            {
                if (System.IO.File.Exists(candidate))
                {
                    return candidate;
                }
            }
            return null;
        }

        /// <summary>All version needs (Verneed × Vernaux) of an ELF64 file.</summary>
        public static IReadOnlyList<ElfVersionNeed> ReadVersionNeeds(string path) => ReadVersionNeeds(System.IO.File.ReadAllBytes(path));

        public static IReadOnlyList<ElfVersionNeed> ReadVersionNeeds(byte[] elf)
        {
            var result = new List<ElfVersionNeed>();
            foreach (var section in Sections(elf))
            {
                if (section.Type != ShtGnuVerneed)
                {
                    continue;
                }
                var strtab = LinkedStringTable(elf, section);
                long vn = section.Offset;
                for (var i = 0; i < section.Info; i++)
                {
                    // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32
                    var count = U16(elf, vn + 2);
                    var file = CString(elf, strtab + U32(elf, vn + 4));
                    long aux = vn + U32(elf, vn + 8);
                    for (var j = 0; j < count; j++)
                    {
                        // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32
                        var flags = U16(elf, aux + 4);
                        var name = CString(elf, strtab + U32(elf, aux + 8));
                        result.Add(new ElfVersionNeed(file, name, flags, aux + 4));
                        var next = U32(elf, aux + 12);
                        if (next == 0)
                        {
                            break;
                        }
                        aux += next;
                    }
                    var nextNeed = U32(elf, vn + 12);
                    if (nextNeed == 0)
                    {
                        break;
                    }
                    vn += nextNeed;
                }
            }
            return result;
        }

        /// <summary>The version names an ELF64 shared library defines (<c>.gnu.version_d</c>), e.g. GLIBCXX_3.4.30.</summary>
        public static ISet<string> ReadVersionDefinitions(string path)
        {
            var elf = System.IO.File.ReadAllBytes(path);
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var section in Sections(elf))
            {
                if (section.Type != ShtGnuVerdef)
                {
                    continue;
                }
                var strtab = LinkedStringTable(elf, section);
                long vd = section.Offset;
                for (var i = 0; i < section.Info; i++)
                {
                    // Elf64_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32, vd_aux u32, vd_next u32
                    var aux = vd + U32(elf, vd + 12);
                    // The first Verdaux (vda_name u32, vda_next u32) names the version itself; later ones name its parents.
                    result.Add(CString(elf, strtab + U32(elf, aux)));
                    var next = U32(elf, vd + 16);
                    if (next == 0)
                    {
                        break;
                    }
                    vd += next;
                }
            }
            return result;
        }

        /// <summary>Sets VER_FLG_WEAK on every version need of <paramref name="path"/> named in <paramref name="versions"/>,
        /// unless <paramref name="systemLibrary"/> (when given and present) already defines all of them.
        /// Writes a patched copy next to the file (same mode bits) and renames it over the original (the original's inode, which may be
        /// a hard link into a package cache, is never written), restoring the original's last-write time.</summary>
        public static ElfPatchOutcome Apply(string path, IEnumerable<string> versions, string? systemLibrary)
        {
            var wanted = new HashSet<string>(versions, StringComparer.Ordinal);
            if (wanted.Count == 0)
            {
                return ElfPatchOutcome.NotNeeded;
            }
            if (systemLibrary != null && System.IO.File.Exists(systemLibrary))
            {
                var defined = ReadVersionDefinitions(systemLibrary);
                if (wanted.IsSubsetOf(defined))
                {
                    return ElfPatchOutcome.SystemProvidesVersion;
                }
            }
            var elf = System.IO.File.ReadAllBytes(path);
            var needs = ReadVersionNeeds(elf);
            var matched = 0;
            var changed = 0;
            foreach (var need in needs)
            {
                if (!wanted.Contains(need.Name))
                {
                    continue;
                }
                matched++;
                if (need.IsWeak)
                {
                    continue;
                }
                var flags = (ushort)(need.Flags | VerFlagWeak);
                elf[need.FlagsOffset] = (byte)(flags & 0xff);
                elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                changed++;
            }
            if (matched == 0)
            {
                return ElfPatchOutcome.NotNeeded;
            }
            if (changed == 0)
            {
                return ElfPatchOutcome.AlreadyWeak;
            }
            var lastWrite = System.IO.File.GetLastWriteTimeUtc(path);
            var temp = path + ".weak-" + Guid.NewGuid().ToString("N");
            try
            {
                // File.Copy keeps the Unix mode bits; then only the flag bytes are rewritten in the private copy.
                System.IO.File.Copy(path, temp);
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.Write, FileShare.None))
                {
                    foreach (var need in needs)
                    {
                        if (wanted.Contains(need.Name))
                        {
                            stream.Position = need.FlagsOffset;
                            stream.Write(elf, (int)need.FlagsOffset, 2);
                        }
                    }
                }
                System.IO.File.Delete(path);
                System.IO.File.Move(temp, path);
            }
            finally
            {
                if (System.IO.File.Exists(temp))
                {
                    System.IO.File.Delete(temp);
                }
            }
            System.IO.File.SetLastWriteTimeUtc(path, lastWrite);
            return ElfPatchOutcome.Patched;
        }

        private struct Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
            public uint Info;
        }

        private static List<Section> Sections(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            {
                throw new InvalidDataException("not an ELF file");
            }
            if (elf[4] != 2 || elf[5] != 1)
            {
                throw new InvalidDataException("only ELF64 little-endian files are supported");
            }
            var shoff = (long)U64(elf, 0x28);
            var shentsize = U16(elf, 0x3a);
            var shnum = U16(elf, 0x3c);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shentsize * shnum > elf.Length)
            {
                throw new InvalidDataException("ELF section header table missing or truncated");
            }
            var sections = new List<Section>(shnum);
            for (var i = 0; i < shnum; i++)
            {
                // Elf64_Shdr: sh_name u32, sh_type u32, sh_flags u64, sh_addr u64, sh_offset u64, sh_size u64, sh_link u32, sh_info u32, ...
                var sh = shoff + (long)i * shentsize;
                var section = new Section
                {
                    Type = U32(elf, sh + 4),
                    Offset = (long)U64(elf, sh + 24),
                    Size = (long)U64(elf, sh + 32),
                    Link = U32(elf, sh + 40),
                    Info = U32(elf, sh + 44),
                };
                if (section.Type != 8 /* SHT_NOBITS */ && section.Offset + section.Size > elf.Length)
                {
                    throw new InvalidDataException("ELF section " + i + " lies outside the file");
                }
                sections.Add(section);
            }
            return sections;
        }

        private static long LinkedStringTable(byte[] elf, Section section)
        {
            var all = Sections(elf);
            if (section.Link >= all.Count)
            {
                throw new InvalidDataException("version section links to a missing string table");
            }
            return all[(int)section.Link].Offset;
        }

        private static ushort U16(byte[] b, long o)
        {
            Check(b, o, 2);
            return (ushort)(b[o] | (b[o + 1] << 8));
        }

        private static uint U32(byte[] b, long o)
        {
            Check(b, o, 4);
            return (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));
        }

        private static ulong U64(byte[] b, long o) => U32(b, o) | ((ulong)U32(b, o + 4) << 32);

        private static string CString(byte[] b, long o)
        {
            Check(b, o, 1);
            var end = o;
            while (end < b.Length && b[end] != 0)
            {
                end++;
            }
            return Encoding.ASCII.GetString(b, (int)o, (int)(end - o));
        }

        private static void Check(byte[] b, long o, int n)
        {
            if (o < 0 || o + n > b.Length)
            {
                throw new InvalidDataException("ELF offset 0x" + o.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + " out of range");
            }
        }
    }

#if !ROLEGEN_TRAINING_ASSEMBLY
    /// <summary>MSBuild task (RoslynCodeTaskFactory): weakens <see cref="Versions"/> in each of <see cref="Files"/>.</summary>
    public sealed class WeakenElfVersionNeeds : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>Semicolon-separated version names, e.g. GLIBCXX_3.4.32.</summary>
        [Microsoft.Build.Framework.Required]
        public string Versions { get; set; } = string.Empty;

        /// <summary>The libstdc++ to check first (empty: the usual system locations). When it defines every version, nothing is patched.</summary>
        public string SystemLibrary { get; set; } = string.Empty;

        public override bool Execute()
        {
            var versions = Versions.Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries);
            var system = string.IsNullOrWhiteSpace(SystemLibrary) ? ElfVersionNeedPatcher.FindSystemLibStdCxx() : SystemLibrary;
            foreach (var item in Files)
            {
                var path = item.GetMetadata("FullPath");
                try
                {
                    var outcome = ElfVersionNeedPatcher.Apply(path, versions, system);
                    var importance = outcome == ElfPatchOutcome.Patched ? Microsoft.Build.Framework.MessageImportance.High : Microsoft.Build.Framework.MessageImportance.Low;
                    Log.LogMessage(importance, "RoleGen ELF patch: " + path + ": " + outcome + " (" + string.Join(",", versions) + "; system libstdc++: " + (system ?? "not found") + ")");
                }
                catch (Exception ex) when (ex is IOException || ex is InvalidDataException || ex is UnauthorizedAccessException)
                {
                    Log.LogError("RoleGen ELF patch failed for " + path + ": " + ex.Message);
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
