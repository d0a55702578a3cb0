using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace OrganicScreen.Core;

/// <summary>
/// Where the code a stage runs lives: the folder of the OrganicScreen assemblies (normally the
/// running program's) and the native libraries that some of them load. Tests point it at a copy
/// with one assembly rebuilt, to prove that keys follow code.
/// </summary>
/// <param name="NativeLibraries">Per assembly name, the native files it loads (the RDKit shim for OrganicScreen.Chem).</param>
public sealed record CodeLocation(string Directory, IReadOnlyDictionary<string, string> NativeLibraries)
{
    /// <summary>Only assemblies with this prefix are ours; framework and package code is covered by tool versions.</summary>
    public const string Prefix = "OrganicScreen.";

    /// <summary>
    /// The code identity of a stage whose code is in <paramref name="rootAssembly"/>: the module version id of that
    /// assembly and of every OrganicScreen assembly it references, transitively, plus the sha256 of the native
    /// libraries those load. Builds are deterministic, so an MVID changes exactly when its assembly's code changes;
    /// MVIDs do not include referenced assemblies' MVIDs, hence the closure.
    /// </summary>
    public IReadOnlyDictionary<string, string> Identity(string rootAssembly)
    {
        var identity = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var pending = new Stack<string>([rootAssembly]);
        while (pending.TryPop(out var name))
        {
            if (identity.ContainsKey(name)) continue;
            var path = Path.Combine(Directory, name + ".dll");
            if (!File.Exists(path)) throw new FileNotFoundException($"code identity: assembly {name} not found in {Directory}");
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            var reader = pe.GetMetadataReader();
            identity[name] = reader.GetGuid(reader.GetModuleDefinition().Mvid).ToString("N");
            foreach (var handle in reader.AssemblyReferences)
            {
                var referenced = reader.GetString(reader.GetAssemblyReference(handle).Name);
                if (referenced.StartsWith(Prefix, StringComparison.Ordinal)) pending.Push(referenced);
            }
        }

        foreach (var (assembly, file) in NativeLibraries.Where(n => identity.ContainsKey(n.Key)).ToList())
            identity[$"{assembly}:{Path.GetFileName(file)}"] = File.Exists(file)
                ? ContentHash.Of(File.ReadAllBytes(file))
                : throw new FileNotFoundException($"code identity: native library {file} (loaded by {assembly}) not found");
        return identity;
    }
}

public static class CodeVersion
{
    /// <summary>Version of the .NET runtime the pipeline runs on, recorded as a tool version.</summary>
    public static string Runtime => Environment.Version.ToString();
}
