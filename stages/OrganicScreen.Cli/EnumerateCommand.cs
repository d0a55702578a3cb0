using System.CommandLine;
using OrganicScreen.Chem;
using OrganicScreen.Core;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen enumerate</c>: a screening library from redox-active cores and substituents
/// (<c>data/libraries/</c>), canonical, deduplicated, in a fixed order; gzip when the name ends in .gz.
/// </summary>
public static class EnumerateCommand
{
    public static Command Create(CommandContext context)
    {
        var cores = new Option<FileInfo>("--cores") { Description = "cores with attachment points [*:1]..[*:k], one SMILES (and optional name) per line", Required = true };
        var substituents = new Option<FileInfo>("--substituents") { Description = "H-replacing groups [*]X, one per line", Required = true };
        var sites = new Option<int>("--sites") { Description = "most attachment points substituted per molecule (0 = the bare cores)", DefaultValueFactory = _ => 2 };
        var max = new Option<long>("--max") { Description = "stop after this many distinct molecules", DefaultValueFactory = _ => 1_000_000 };
        var threads = new Option<int>("--threads") { Description = "RDKit threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo>("--output", "-o") { Description = "library file, one canonical SMILES per line (.gz: gzip)", Required = true };
        var command = new Command("enumerate", "enumerate a screening library: substituents on redox-active cores") { cores, substituents, sites, max, threads, output };
        command.SetAction(async (parse, cancellation) =>
        {
            var coreFile = parse.GetValue(cores)!.FullName;
            var substituentFile = parse.GetValue(substituents)!.FullName;
            var options = new RGroupOptions(parse.GetValue(sites), parse.GetValue(max), parse.GetValue(threads));
            if (options.MaxSites < 0) throw new ArgumentException("--sites must be 0 or more");
            if (options.MaxMolecules < 1) throw new ArgumentException("--max must be at least 1");
            using var library = RGroupLibrary.Create(LibraryEntryFile.Read(coreFile), LibraryEntryFile.Read(substituentFile),
                Path.GetFileName(coreFile), Path.GetFileName(substituentFile));
            var path = parse.GetValue(output)!.FullName;
            RGroupResult? result = null;
            using var progress = context.Log.Progress("enumerate", Math.Min(options.MaxMolecules, (long)BigIntegerMin(RGroupEnumeration.Combinations(library.Sites, library.SubstituentCount, options.MaxSites), long.MaxValue)));
            await AtomicFile.WriteAsync(path, async file =>
            {
                await using var stream = GzipFiles.Wrap(file, path);
                result = await Task.Run(() => RGroupEnumeration.Write(library, stream, options, progress.Report, cancellation), cancellation);
            });
            var r = result!;
            var seconds = Math.Max(r.Elapsed.TotalSeconds, 1e-9);
            await context.Output.WriteLineAsync($"enumerate: {library.Sites.Count} cores ({library.Sites.Sum()} attachment points), {library.SubstituentCount} substituents, up to {options.MaxSites} per molecule: {r.Combinations:N0} combinations");
            await context.Output.WriteLineAsync($"enumerate: {r.Built:N0} built ({r.SkippedBySymmetry:N0} more skipped as symmetric), {r.Duplicates:N0} duplicates, {r.Rejected:N0} rejected by RDKit, {r.Written:N0} written -> {path} in {r.Elapsed.TotalSeconds:F1} s ({r.Written / seconds:N0} molecules/s written, {r.Built / seconds:N0} built/s; dedup table {r.DedupBytes / 1048576.0:F0} MiB)");
            foreach (var error in r.Errors) await context.Error.WriteLineAsync($"warning: {error}");
            if (r.Written < options.MaxMolecules)
                await context.Output.WriteLineAsync($"enumerate: every combination used; {r.Written:N0} distinct molecules is all these files give with --sites {options.MaxSites}");
            return 0;
        });
        return command;
    }

    private static System.Numerics.BigInteger BigIntegerMin(System.Numerics.BigInteger a, System.Numerics.BigInteger b) => a < b ? a : b;
}
