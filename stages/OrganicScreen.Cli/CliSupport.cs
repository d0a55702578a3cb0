using System.CommandLine;
using OrganicScreen.Chem;
using OrganicScreen.Chem.Inputs;
using OrganicScreen.Core;
using OrganicScreen.Screening;

namespace OrganicScreen.Cli;

/// <summary>A mistake in how a command was called (a bad option value, an output that would overwrite the input): one line, exit code 1.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The input options every molecule command shares, and opening the input with them.</summary>
internal sealed class InputOptions
{
    public Option<string> Input { get; } = new("--input", "-i")
    {
        Description = "molecules: .smi (SMILES [name]), .csv/.tsv with a header, .sdf; .gz compressed or not; - for standard input",
        Required = true,
    };

    public Option<string?> Format { get; } = new("--format") { Description = "smi, csv, tsv or sdf (default: from the extension, else from the content)" };

    public Option<string?> SmilesColumn { get; } = new("--smiles-column") { Description = "CSV/TSV column holding the SMILES (default: smiles, canonical_smiles or smi, any case)" };

    public Option<string?> IdColumn { get; } = new("--id-column") { Description = "CSV/TSV column (or SD data item) holding the id (default: id, name, identifier, title or compound_id if present; SD: the name line)" };

    public IEnumerable<Option> All => [Input, Format, SmilesColumn, IdColumn];

    public string Path(ParseResult parse) => parse.GetValue(Input)!;

    public MoleculeSource Open(ParseResult parse, Rdkit rdkit) => MoleculeSource.Open(Path(parse), new MoleculeInputOptions(
        parse.GetValue(Format) is { } f ? MoleculeInputOptions.ParseFormat(f) : null, parse.GetValue(SmilesColumn), parse.GetValue(IdColumn)), rdkit);
}

/// <summary>Checks on output paths: never the input, never a directory where a file is meant (and the reverse).</summary>
internal static class OutputPaths
{
    public static bool IsStandardOutput(string path) => path == MoleculeSource.StandardStream;

    /// <summary>An output file: not a directory, and not the input (compared as full paths with symbolic links resolved).</summary>
    public static string File(string output, string input, string option = "--output")
    {
        if (IsStandardOutput(output)) return output;
        var full = System.IO.Path.GetFullPath(output);
        if (Directory.Exists(full)) throw new UsageException($"{option} {output} is a directory; give a file path (or - for standard output)");
        NotInput(full, input, option);
        return full;
    }

    /// <summary>An output folder: not an existing file, and none of <paramref name="files"/> inside it is the input.</summary>
    public static string Folder(string output, string input, IEnumerable<string> files, string option = "--output")
    {
        var full = System.IO.Path.GetFullPath(output);
        if (System.IO.File.Exists(full)) throw new UsageException($"{option} {output} is a file; give a folder (it will hold {string.Join(", ", files)})");
        foreach (var file in files) NotInput(System.IO.Path.Combine(full, file), input, option);
        return full;
    }

    private static void NotInput(string output, string input, string option)
    {
        if (input != MoleculeSource.StandardStream && PathIdentity.Same(output, input))
            throw new UsageException($"{option} {output} is the input file; writing it would destroy the input. Choose another output path");
    }
}

/// <summary>Solvent and current-collector names checked against data/solvents.json, with the known names in the message.</summary>
internal static class Catalog
{
    public static SolventWindow Solvent(SolventCatalog catalog, string name) =>
        catalog.Solvents.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new UsageException($"unknown --solvent '{name}' (known: {string.Join(", ", catalog.Solvents.Select(s => s.Name))})");

    public static CurrentCollector? Collector(SolventCatalog catalog, string name) =>
        name.Equals("none", StringComparison.OrdinalIgnoreCase)
            ? null
            : catalog.CurrentCollectors.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
              ?? throw new UsageException($"unknown --collector '{name}' (known: {string.Join(", ", catalog.CurrentCollectors.Select(c => c.Name))}, or none)");
}

/// <summary>Where a command's data goes: a file written atomically (a temporary sibling renamed at the end), or standard output.</summary>
internal static class Outputs
{
    /// <param name="standardOutput">The command's standard output (the console's, or a test's writer).</param>
    public static async Task WriteAsync(string path, TextWriter standardOutput, Func<TextWriter, Task> write)
    {
        if (OutputPaths.IsStandardOutput(path))
        {
            await write(standardOutput);
            await standardOutput.FlushAsync();
            return;
        }

        await AtomicFile.WriteAsync(path, async stream =>
        {
            await using var writer = new StreamWriter(stream, Csv.Utf8, 1 << 16);
            await write(writer);
        });
    }

    /// <summary>Output column names for carried input columns, renamed "input_&lt;name&gt;" where they would collide with ours.</summary>
    public static IReadOnlyList<string> Carried(IEnumerable<string> carried, IReadOnlyCollection<string> ours)
    {
        var taken = new HashSet<string>(ours, StringComparer.OrdinalIgnoreCase);
        var names = new List<string>();
        foreach (var name in carried)
        {
            var unique = name;
            while (!taken.Add(unique)) unique = "input_" + unique;
            names.Add(unique);
        }

        return names;
    }
}
