// This file is compiled twice: into OrganicScreen.Training (runtime safety net, see TorchRuntime)
// and by MSBuild's RoslynCodeTaskFactory (build/LibStdCxxCompat.targets) as an inline task. The inline
// compilation targets netstandard2.0 with an older language version, so the code sticks to byte[]
// and classic C# syntax on purpose.
#nullable enable
using System;
using System.IO;
using System.Text;

namespace OrganicScreen.Training.Native
{
    /// <summary>Outcome of <see cref="LibStdCxxCompat.PatchFile"/>.</summary>
    public enum LibStdCxxPatchOutcome
    {
        /// <summary>The library does not require the version at all.</summary>
        NotRequired,
        /// <summary>The requirement was already weak and the symbols unversioned (idempotent re-run).</summary>
        AlreadyPatched,
        /// <summary>The requirement was made weak and the marker symbol's version cleared.</summary>
        Patched,
    }

    /// <summary>
    /// Makes TorchSharp's <c>libLibTorchSharp.so</c> loadable on systems whose libstdc++ predates
    /// GLIBCXX_3.4.32 (GCC 13), e.g. Debian 12 (up to 3.4.30). The library only needs that version for the
    /// bare marker symbol <c>std::ios_base_library_init()</c>, which GCC 13 emits to force iostream
    /// initialisation ordering; nothing calls it. The patch marks the Vernaux entry weak
    /// (<c>vna_flags |= VER_FLG_WEAK</c>) so ld.so tolerates its absence, and resets the marker symbol's
    /// <c>.gnu.version</c> entry to 1 (global) so the lookup does not demand that version either.
    /// Symbols that are real functions at that version are refused: weakening those would hide a genuine
    /// ABI gap and crash later instead of failing at load.
    /// </summary>
    public static class LibStdCxxCompat
    {
        public const string RequiredVersion = "GLIBCXX_3.4.32";
        public const string LibraryFileName = "libLibTorchSharp.so";

        // The only symbols that may be detached from the version: GCC 13's iostream-init marker.
        static readonly string[] MarkerSymbols = { "_ZSt21ios_base_library_initv" };

        const uint ShtDynsym = 11;
        const uint ShtGnuVerneed = 0x6ffffffe;
        const uint ShtGnuVersym = 0x6fffffff;
        const ushort VerFlgWeak = 0x2;

        static readonly string[] SystemLibStdCxxCandidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/lib64/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };

        /// <summary>Path of the system libstdc++ the loader will pick, or null when none is found.</summary>
        public static string? FindSystemLibStdCxx()
        {
            foreach (var candidate in SystemLibStdCxxCandidates)
                if (File.Exists(candidate)) return candidate;
            return null;
        }

        /// <summary>
        /// True when the system libstdc++ defines <paramref name="version"/>. A version definition's name
        /// appears NUL-terminated in .dynstr, so a byte search is sufficient and avoids parsing verdef.
        /// Unknown (no libstdc++ found) counts as "provides", so nothing is patched on exotic systems.
        /// </summary>
        public static bool SystemProvides(string version)
        {
            var path = FindSystemLibStdCxx();
            if (path == null) return true;
            var bytes = File.ReadAllBytes(path);
            var needle = Encoding.ASCII.GetBytes(version + "\0");
            return IndexOf(bytes, needle, 0) >= 0;
        }

        /// <summary>True when the system libstdc++ lacks GLIBCXX_3.4.32, i.e. patching is needed.</summary>
        public static bool PatchNeeded()
        {
            return !SystemProvides(RequiredVersion);
        }

        /// <summary>Inspects without writing: would <see cref="PatchFile"/> change this file?</summary>
        public static LibStdCxxPatchOutcome Inspect(string path)
        {
            var bytes = File.ReadAllBytes(path);
            return Apply(bytes, path, false);
        }

        /// <summary>
        /// Patches <paramref name="path"/> in place. The new content is written to a sibling temp file and
        /// renamed over the original, so a hard link into the NuGet cache is broken rather than modified,
        /// and a concurrently starting process sees either the old or the new file, never a torn one.
        /// </summary>
        public static LibStdCxxPatchOutcome PatchFile(string path)
        {
            var bytes = File.ReadAllBytes(path);
            var outcome = Apply(bytes, path, true);
            if (outcome != LibStdCxxPatchOutcome.Patched) return outcome;
            var temp = path + ".patching-" + Guid.NewGuid().ToString("N");
            try
            {
                File.WriteAllBytes(temp, bytes);
                if (File.Exists(path)) File.Delete(path);
                File.Move(temp, path);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            return outcome;
        }

        /// <summary>Core ELF64 little-endian edit on a byte image; <paramref name="write"/> false = dry run.</summary>
        public static LibStdCxxPatchOutcome Apply(byte[] elf, string nameForErrors, bool write)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException(nameForErrors + ": not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException(nameForErrors + ": only 64-bit little-endian ELF is supported");

            var shoff = checked((int)U64(elf, 0x28));
            int shentsize = U16(elf, 0x3A);
            int shnum = U16(elf, 0x3C);
            int verneed = -1, versym = -1, dynsym = -1;
            for (var i = 0; i < shnum; i++)
            {
                var type = U32(elf, shoff + i * shentsize + 4);
                if (type == ShtGnuVerneed) verneed = i;
                else if (type == ShtGnuVersym) versym = i;
                else if (type == ShtDynsym) dynsym = i;
            }
            if (verneed < 0 || versym < 0 || dynsym < 0) return LibStdCxxPatchOutcome.NotRequired;

            var verneedHdr = shoff + verneed * shentsize;
            var verneedOff = checked((int)U64(elf, verneedHdr + 24));
            var verneedStr = checked((int)U64(elf, shoff + (int)U32(elf, verneedHdr + 40) * shentsize + 24));
            var verneedCount = (int)U32(elf, verneedHdr + 44); // sh_info = number of Verneed entries

            // Find the Vernaux naming the version; remember its index (vna_other) and flag position.
            var auxOffset = -1;
            ushort versionIndex = 0;
            var entry = verneedOff;
            for (var n = 0; n < verneedCount && auxOffset < 0; n++)
            {
                int auxCount = U16(elf, entry + 2);
                var aux = entry + (int)U32(elf, entry + 8);
                for (var a = 0; a < auxCount; a++)
                {
                    if (CString(elf, verneedStr + (int)U32(elf, aux + 8)) == RequiredVersion)
                    {
                        auxOffset = aux;
                        versionIndex = U16(elf, aux + 6);
                        break;
                    }
                    aux += (int)U32(elf, aux + 12);
                }
                entry += (int)U32(elf, entry + 12);
            }
            if (auxOffset < 0) return LibStdCxxPatchOutcome.NotRequired;

            var dynsymHdr = shoff + dynsym * shentsize;
            var dynsymOff = checked((int)U64(elf, dynsymHdr + 24));
            var dynsymSize = checked((int)U64(elf, dynsymHdr + 32));
            var dynsymEnt = checked((int)U64(elf, dynsymHdr + 56));
            var dynstrOff = checked((int)U64(elf, shoff + (int)U32(elf, dynsymHdr + 40) * shentsize + 24));
            var versymOff = checked((int)U64(elf, shoff + versym * shentsize + 24));
            var symbolCount = dynsymSize / dynsymEnt;

            var changed = false;
            var flags = U16(elf, auxOffset + 4);
            if ((flags & VerFlgWeak) == 0)
            {
                changed = true;
                if (write) W16(elf, auxOffset + 4, (ushort)(flags | VerFlgWeak));
            }
            for (var s = 0; s < symbolCount; s++)
            {
                var slot = versymOff + s * 2;
                // Bit 15 is the "hidden" flag; the low 15 bits are the version index.
                if ((U16(elf, slot) & 0x7fff) != versionIndex) continue;
                var name = CString(elf, dynstrOff + (int)U32(elf, dynsymOff + s * dynsymEnt));
                if (Array.IndexOf(MarkerSymbols, name) < 0)
                    throw new InvalidDataException(nameForErrors + ": symbol " + name + " really needs " + RequiredVersion +
                        "; refusing to weaken it (upgrade libstdc++ to GCC 13+ instead)");
                changed = true;
                if (write) W16(elf, slot, 1);
            }
            return changed ? LibStdCxxPatchOutcome.Patched : LibStdCxxPatchOutcome.AlreadyPatched;
        }

        static ushort U16(byte[] b, int o) { return (ushort)(b[o] | (b[o + 1] << 8)); }
        static uint U32(byte[] b, int o) { return (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)); }
        static ulong U64(byte[] b, int o) { return U32(b, o) | ((ulong)U32(b, o + 4) << 32); }
        static void W16(byte[] b, int o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }

        static string CString(byte[] b, int o)
        {
            var end = o;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, o, end - o);
        }

        static int IndexOf(byte[] haystack, byte[] needle, int start)
        {
            var first = needle[0];
            for (var i = Array.IndexOf(haystack, first, start); i >= 0 && i <= haystack.Length - needle.Length;
                 i = Array.IndexOf(haystack, first, i + 1))
            {
                var match = true;
                for (var j = 1; j < needle.Length && match; j++) match = haystack[i + j] == needle[j];
                if (match) return i;
            }
            return -1;
        }
    }

#if !ORGANICSCREEN_TRAINING
    /// <summary>
    /// MSBuild task: patches every libLibTorchSharp.so under the given directories when the system
    /// libstdc++ lacks GLIBCXX_3.4.32. Only compiled by RoslynCodeTaskFactory.
    /// </summary>
    public class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public string Directories { get; set; } = "";

        public override bool Execute()
        {
            if (!LibStdCxxCompat.PatchNeeded())
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low,
                    "System libstdc++ provides " + LibStdCxxCompat.RequiredVersion + "; libLibTorchSharp.so left as is.");
                return true;
            }
            foreach (var raw in Directories.Split(';'))
            {
                var dir = raw.Trim();
                if (dir.Length == 0 || !Directory.Exists(dir)) continue;
                foreach (var file in Directory.GetFiles(dir, LibStdCxxCompat.LibraryFileName, SearchOption.AllDirectories))
                {
                    var outcome = LibStdCxxCompat.PatchFile(file);
                    Log.LogMessage(outcome == LibStdCxxPatchOutcome.Patched
                            ? Microsoft.Build.Framework.MessageImportance.High
                            : Microsoft.Build.Framework.MessageImportance.Low,
                        "libstdc++ compat: " + file + ": " + outcome);
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
