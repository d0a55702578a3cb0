using System.Text.Json;
using OrganicScreen.Core;
using OrganicScreen.Data;

namespace OrganicScreen.Pipeline;

/// <summary>
/// What <c>organicscreen train --data-path</c> is told about a user's own file: which columns hold SMILES, IE and EA,
/// the signs that bring IE and EA to eV in the Materials Project sign (EA positive when reduction is favourable),
/// and where the energies were computed.
/// </summary>
/// <param name="Name">Dataset name; default: the file stem made into a plain name ([a-z0-9-]+).</param>
/// <param name="Phase"><c>gas</c> or <c>solution</c> (then <paramref name="PhaseSolvent"/> and <paramref name="SolvationModel"/> are required).</param>
public sealed record AdHocDatasetRequest(
    string DataPath,
    string SmilesColumn,
    string IeColumn,
    string EaColumn,
    double IeSign = 1,
    double EaSign = 1,
    string? IdColumn = null,
    string? Name = null,
    string Phase = DatasetPhase.Gas,
    string? PhaseSolvent = null,
    string? SolvationModel = null);

/// <summary>
/// Turns a user's CSV/TSV into a dataset the pipeline runs unchanged: the file is copied into the artifact store's
/// <c>datasets/</c> folder (so the dataset does not depend on where the file was, and the source stays inside the
/// folders a manifest may read), its sha256 computed and pinned in a manifest <c>datasets/&lt;name&gt;.json</c> beside it,
/// with one variant, <see cref="Variant"/>. <see cref="DatasetManifest.Find"/> finds it there.
/// </summary>
public static class AdHocDataset
{
    public const string Variant = "user";

    /// <summary>Checks the file and its columns, writes the copy and the manifest, and returns the dataset's name.</summary>
    public static async Task<string> CreateAsync(RepositoryLayout layout, AdHocDatasetRequest request, IStageLog log, CancellationToken cancellation)
    {
        var source = Path.GetFullPath(request.DataPath);
        if (Directory.Exists(source)) throw new DatasetException($"--data-path {request.DataPath} is a directory; give a CSV or TSV file");
        if (!File.Exists(source)) throw new FileNotFoundException($"data file not found: {source}", source);
        var extension = Path.GetExtension(source).ToLowerInvariant();
        var format = extension switch
        {
            ".csv" => "csv",
            ".tsv" or ".tab" => "tsv",
            _ => throw new DatasetException($"train --data-path reads .csv or .tsv files with a header line; {Path.GetFileName(source)} is neither"),
        };
        foreach (var (sign, option) in new[] { (request.IeSign, "--ie-sign"), (request.EaSign, "--ea-sign") })
            if (!double.IsFinite(sign) || sign == 0) throw new DatasetException($"{option} must be a non-zero number (1 or -1)");
        CheckColumns(source, format == "tsv" ? '\t' : ',', request);

        var name = request.Name ?? PlainNames.Sanitize(Path.GetFileNameWithoutExtension(source));
        if (!PlainNames.IsValid(name)) throw new DatasetException($"dataset name '{name}' is not valid: {PlainNames.Rule}");
        if (File.Exists(Path.Combine(layout.Data, "datasets", $"{name}.json")))
            throw new DatasetException($"'{name}' is a dataset of the repository (data/datasets/{name}.json); choose another name with --name");

        var folder = Directory.CreateDirectory(Path.Combine(layout.Artifacts, DatasetManifest.AdHocFolder)).FullName;
        var copy = Path.Combine(folder, $"{name}.{format}");
        if (!PathIdentity.Same(source, copy))
            await AtomicFile.WriteAsync(copy, async stream =>
            {
                await using var input = File.OpenRead(source);
                await input.CopyToAsync(stream, cancellation);
            });
        var sha256 = await ContentHash.OfFileAsync(copy, cancellation);
        var phase = request.Phase switch
        {
            DatasetPhase.Gas => new DatasetPhase(DatasetPhase.Gas, Note: "as stated to organicscreen train (--phase gas)"),
            DatasetPhase.Solution => new DatasetPhase(DatasetPhase.Solution, request.PhaseSolvent, request.SolvationModel, "as stated to organicscreen train (--phase solution)"),
            _ => throw new DatasetException($"--phase must be {string.Join(" or ", DatasetPhase.Kinds)}"),
        };
        var ie = $"{(request.IeSign == 1 ? "" : $"{request.IeSign} × ")}{request.IeColumn}";
        var ea = $"{(request.EaSign == 1 ? "" : $"{request.EaSign} × ")}{request.EaColumn}";
        var manifest = new DatasetManifest(
            name,
            $"User dataset from {Path.GetFileName(source)} (organicscreen train)",
            "user-supplied data; cite its source",
            "user-supplied data",
            [new DatasetSource(format, Path.GetFileName(copy), null, sha256, $"copy of {source} (sha256 {sha256}) made by organicscreen train", null)],
            new DatasetColumns(request.IdColumn ?? "id", request.SmilesColumn, null),
            Variant,
            new Dictionary<string, TargetVariant>
            {
                [Variant] = new(new TargetColumn(request.IeColumn, request.IeSign), new TargetColumn(request.EaColumn, request.EaSign), null,
                    $"IE = {ie}; EA = {ea} (eV, Materials Project sign: EA positive when reduction is favourable)"),
            },
            phase);
        var manifestPath = Path.Combine(folder, $"{name}.json");
        await AtomicFile.WriteAllTextAsync(manifestPath, JsonSerializer.Serialize(manifest, Json.Options), cancellation);
        _ = DatasetManifest.Find(layout.Root, name, folder); // the manifest as every later run will read it
        log.Info($"train: dataset '{name}' = {source} (sha256 {sha256[..16]}…), manifest {manifestPath}");
        return name;
    }

    /// <summary>The columns the request names must be in the file's header (exact names, as the dataset reader matches them).</summary>
    private static void CheckColumns(string path, char delimiter, AdHocDatasetRequest request)
    {
        using var reader = new StreamReader(path, InputText.Encoding);
        using var parser = Csv.Parser(reader, delimiter);
        if (!parser.Read()) throw new DatasetException($"{path}: empty file; it needs a header line");
        var header = parser.Record!.Select(h => h.Trim().TrimStart('\uFEFF')).ToList();
        var columns = string.Join(", ", header.Select(h => $"'{h}'"));
        foreach (var (column, option) in new[] { (request.SmilesColumn, "--smiles-column"), (request.IeColumn, "--ie-column"), (request.EaColumn, "--ea-column"), (request.IdColumn, "--id-column") })
            if (column is not null && !header.Contains(column))
                throw new DatasetException($"{path}: no column '{column}' ({option}); the header has {columns}");
    }
}
