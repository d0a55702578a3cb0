using System.CommandLine;
using OrganicScreen.Chem;
using OrganicScreen.Chem.Inputs;
using OrganicScreen.Core;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen fingerprint</c>: molecules in (any format <see cref="MoleculeSource"/> reads), TSV of id, input,
/// canonical SMILES and on-bits out, with the input's other columns carried. Invalid molecules give
/// <c>ERROR: &lt;reason&gt;</c> and never stop the other records.
/// </summary>
public static class FingerprintCommand
{
    private const int BatchSize = 8192;

    public static readonly IReadOnlyList<string> Columns = ["id", "smiles", "canonical_smiles", "on_bits"];

    public static Command Create(CommandContext context)
    {
        var inputs = new InputOptions();
        var radius = new Option<int>("--radius", "-r") { Description = "Morgan radius", DefaultValueFactory = _ => 2 };
        var bits = new Option<int>("--bits", "-n") { Description = "fingerprint length", DefaultValueFactory = _ => 2048 };
        var output = new Option<string>("--output", "-o") { Description = "output TSV (- for standard output)", Required = true };
        var command = new Command("fingerprint", "RDKit Morgan (ECFP) bit fingerprints for a molecule file") { radius, bits, output };
        foreach (var option in inputs.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellation) =>
        {
            var input = inputs.Path(parse);
            var target = OutputPaths.File(parse.GetValue(output)!, input);
            var (r, n) = (parse.GetValue(radius), parse.GetValue(bits));
            if (r is < 0 or > Rdkit.MaxRadius) throw new UsageException($"--radius must be 0 to {Rdkit.MaxRadius}");
            if (n is < 1 or > Rdkit.MaxBits) throw new UsageException($"--bits must be 1 to {Rdkit.MaxBits}");
            var spec = new FingerprintSpec(r, n);
            var rdkit = new Rdkit();
            using var source = inputs.Open(parse, rdkit);
            var written = await WriteAsync(rdkit, source, spec, target, context.Output, cancellation);
            var messages = OutputPaths.IsStandardOutput(target) ? context.Error : context.Output;
            foreach (var warning in source.Warnings) await context.Error.WriteLineAsync($"warning: {warning}");
            await messages.WriteLineAsync($"fingerprint {spec}: {written.Total:N0} {source.RowLabel}s, {written.Invalid:N0} invalid -> {(OutputPaths.IsStandardOutput(target) ? "standard output" : target)}");
            if (written.Total == written.Invalid)
            {
                await context.Error.WriteLineAsync(written.Total == 0 ? $"error: {source.Name} holds no molecules" : $"error: none of the {written.Total:N0} {source.RowLabel}s is a valid molecule");
                return CliHost.AllRowsFailed;
            }

            return 0;
        });
        return command;
    }

    public static async Task<(int Total, int Invalid)> WriteAsync(Rdkit rdkit, MoleculeSource source, FingerprintSpec spec, string outputPath, TextWriter standardOutput, CancellationToken cancellation)
    {
        int total = 0, invalid = 0;
        var carried = Outputs.Carried(source.CarriedColumns, Columns.ToList());
        await Outputs.WriteAsync(outputPath, standardOutput, async writer =>
        {
            using var tsv = Csv.Writer(writer, '\t');
            foreach (var name in Columns.Concat(carried)) tsv.WriteField(name);
            tsv.NextRecord();
            var batch = new List<InputMolecule>(BatchSize);
            async Task FlushAsync()
            {
                cancellation.ThrowIfCancellationRequested();
                var readable = batch.Where(m => m.IsReadable).ToList();
                var result = rdkit.Featurize(readable.Select(m => m.Smiles!).ToList(), [spec]);
                var matrix = result.Fingerprints[spec];
                var k = 0;
                foreach (var molecule in batch)
                {
                    var (canonical, row) = (string.Empty, -1);
                    if (molecule.Error is { } error) canonical = $"ERROR: {OneLine(error)}";
                    else if (result.Molecules[k] is { IsValid: false } bad)
                    {
                        canonical = $"ERROR: {OneLine(bad.Error!)}";
                        k++;
                    }
                    else
                    {
                        canonical = result.Molecules[k].Canonical!;
                        row = k++;
                    }

                    if (row < 0) invalid++;
                    tsv.WriteField(Csv.Neutralize(source.IdOf(molecule)));
                    tsv.WriteField(Csv.Neutralize(InputEcho.Of(molecule.Smiles)));
                    tsv.WriteField(canonical);
                    tsv.WriteField(row < 0 ? "" : string.Join(' ', matrix.Row(row).ToArray()));
                    foreach (var value in molecule.Carried) tsv.WriteField(Csv.Neutralize(value));
                    for (var i = molecule.Carried.Count; i < carried.Count; i++) tsv.WriteField("");
                    tsv.NextRecord();
                }

                total += batch.Count;
                batch.Clear();
                await tsv.FlushAsync();
            }

            foreach (var molecule in source.Read(cancellation))
            {
                batch.Add(molecule);
                if (batch.Count == BatchSize) await FlushAsync();
            }

            if (batch.Count > 0) await FlushAsync();
        });
        return (total, invalid);
    }

    // Line breaks inside a reason would make a TSV cell span lines (quoted, but many tools read TSV line by line).
    private static string OneLine(string text) => text.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ').Trim();
}
