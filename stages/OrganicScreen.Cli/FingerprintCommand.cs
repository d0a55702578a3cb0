using System.CommandLine;
using System.Text;
using OrganicScreen.Chem;
using OrganicScreen.Core;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen fingerprint</c>: one SMILES per line in, TSV of canonical SMILES and on-bits out.
/// Invalid SMILES give <c>ERROR: &lt;RDKit's message&gt;</c> and never stop the other lines.
/// </summary>
public static class FingerprintCommand
{
    private const int BatchSize = 8192;

    public static Command Create(CommandContext context)
    {
        var input = new Option<FileInfo>("--input", "-i") { Description = "SMILES file, one per line", Required = true };
        var radius = new Option<int>("--radius", "-r") { Description = "Morgan radius", DefaultValueFactory = _ => 2 };
        var bits = new Option<int>("--bits", "-n") { Description = "fingerprint length", DefaultValueFactory = _ => 2048 };
        var output = new Option<FileInfo>("--output", "-o") { Description = "output TSV", Required = true };
        var command = new Command("fingerprint", "RDKit Morgan (ECFP) bit fingerprints for a SMILES file") { input, radius, bits, output };
        command.SetAction(async (parse, cancellation) =>
        {
            var source = parse.GetValue(input)!;
            if (!source.Exists) throw new FileNotFoundException($"input file not found: {source.FullName}");
            var spec = new FingerprintSpec(parse.GetValue(radius), parse.GetValue(bits));
            var rdkit = new Rdkit();
            var written = await WriteAsync(rdkit, source.FullName, spec, parse.GetValue(output)!.FullName, cancellation);
            await context.Output.WriteLineAsync($"fingerprint {spec}: {written.Total:N0} lines, {written.Invalid:N0} invalid -> {parse.GetValue(output)!.FullName}");
            return 0;
        });
        return command;
    }

    public static async Task<(int Total, int Invalid)> WriteAsync(Rdkit rdkit, string inputPath, FingerprintSpec spec, string outputPath, CancellationToken cancellation)
    {
        int total = 0, invalid = 0;
        await AtomicFile.WriteAsync(outputPath, async stream =>
        {
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false));
            await writer.WriteAsync("smiles\tcanonical_smiles\ton_bits\n");
            using var reader = new StreamReader(inputPath, Encoding.UTF8);
            var batch = new List<string>(BatchSize);
            async Task FlushAsync()
            {
                var result = rdkit.Featurize(batch, [spec]);
                var matrix = result.Fingerprints[spec];
                var text = new StringBuilder();
                for (var i = 0; i < batch.Count; i++)
                {
                    var parsed = result.Molecules[i];
                    // Tabs or line breaks inside RDKit's message would break the TSV row.
                    var canonical = parsed.IsValid ? parsed.Canonical : $"ERROR: {OneLine(parsed.Error!)}";
                    if (!parsed.IsValid) invalid++;
                    text.Append(OneLine(batch[i])).Append('\t').Append(canonical).Append('\t').AppendJoin(' ', matrix.Row(i).ToArray()).Append('\n');
                }

                total += batch.Count;
                batch.Clear();
                await writer.WriteAsync(text, cancellation);
            }

            while (await reader.ReadLineAsync(cancellation) is { } line)
            {
                batch.Add(line.Trim());
                if (batch.Count == BatchSize) await FlushAsync();
            }

            if (batch.Count > 0) await FlushAsync();
        });
        return (total, invalid);
    }

    private static string OneLine(string text) => text.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ').Trim();
}
