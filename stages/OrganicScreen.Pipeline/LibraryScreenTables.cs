using System.Globalization;
using OrganicScreen.Chem.Inputs;
using OrganicScreen.Core;
using OrganicScreen.Screening;
using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline;

/// <summary>
/// The three tables a library screen writes (cathode and anode candidates with the domain verdict and the input's
/// carried columns; rejects with their reason), one predicted row at a time. The unsharded <c>screen</c> and every
/// shard of a sharded screen write through this one class, which is what makes their files byte-identical.
/// </summary>
public sealed class LibraryScreenTables : IDisposable
{
    private readonly CandidateCsvWriter cathodes;
    private readonly CandidateCsvWriter anodes;
    private readonly CsvHelper.CsvWriter rejects;
    private readonly CandidateScreen screen;
    private readonly bool keepOutside;
    private readonly int carried;

    /// <param name="carriedColumns">The input's own columns carried to the candidate tables (already renamed where they clash).</param>
    public LibraryScreenTables(TextWriter cathodeText, TextWriter anodeText, TextWriter rejectText, string rowLabel, IReadOnlyList<string> carriedColumns,
        CandidateScreen screen, bool keepOutside)
    {
        this.screen = screen;
        this.keepOutside = keepOutside;
        carried = carriedColumns.Count;
        IReadOnlyList<string> extras = ["domain", "similarity", .. carriedColumns];
        cathodes = new CandidateCsvWriter(cathodeText, extras);
        anodes = new CandidateCsvWriter(anodeText, extras);
        rejects = Csv.Writer(rejectText);
        foreach (var name in RejectsHeader(rowLabel)) rejects.WriteField(name);
        rejects.NextRecord();
    }

    public static IReadOnlyList<string> RejectsHeader(string rowLabel) => [rowLabel, "id", "input", "reason"];

    /// <summary>
    /// Whether <see cref="Add"/> writes a candidate row for a predicted molecule (it passes the rules, inside the domain
    /// or kept anyway): the molecules whose canonical SMILES a screen needs (<see cref="ShippedModel.Predictor"/>).
    /// Reads neither the id nor the SMILES.
    /// </summary>
    public static Func<MoleculePrediction, DomainVerdict, bool> WritesCandidate(CandidateScreen screen, bool keepOutside) =>
        (prediction, domain) => (keepOutside || domain.Inside) && screen.Screen([prediction]).Any();

    public int Records { get; private set; }

    public int Rejected { get; private set; }

    public int Outside { get; private set; }

    /// <summary>Valid records a funnel's fast model ruled out (<see cref="Sharding.Funnel.ScreenedOut"/>): neither candidates nor rejects.</summary>
    public int Prefiltered { get; private set; }

    public int Cathodes { get; private set; }

    public int Anodes { get; private set; }

    /// <summary>The first reject, "&lt;row label&gt; &lt;row&gt;: &lt;reason&gt;", for the all-rows-failed message.</summary>
    public string? FirstFailure { get; private set; }

    public void Add(ShippedModel.LinePrediction row, string rowLabel)
    {
        Records++;
        if (row.Status == Sharding.Funnel.ScreenedOut)
        {
            Prefiltered++;
            return;
        }

        if (row.Prediction is null)
        {
            Rejected++;
            FirstFailure ??= $"{rowLabel} {row.Input.Row}: {row.Status}";
            rejects.WriteField(row.Input.Row.ToString(CultureInfo.InvariantCulture));
            rejects.WriteField(Csv.Neutralize(row.Id));
            rejects.WriteField(Csv.Neutralize(InputEcho.Of(row.Smiles)));
            rejects.WriteField(row.Status);
            rejects.NextRecord();
            return;
        }

        if (row.Domain is { Inside: false })
        {
            Outside++;
            if (!keepOutside) return;
        }

        string?[] cells =
        [
            row.Domain?.Text, row.Domain?.MaxSimilarity.ToString("F3", CultureInfo.InvariantCulture),
            .. row.Input.Carried.Select(Csv.Neutralize), .. Enumerable.Repeat("", carried - row.Input.Carried.Count),
        ];
        foreach (var candidate in screen.Screen([row.Prediction]))
        {
            if (candidate.Role == ElectrodeRole.Cathode)
            {
                Cathodes++;
                cathodes.Write(candidate, cells);
            }
            else
            {
                Anodes++;
                anodes.Write(candidate, cells);
            }
        }
    }

    public void Flush()
    {
        cathodes.Flush();
        anodes.Flush();
        rejects.Flush();
    }

    public void Dispose()
    {
        cathodes.Dispose();
        anodes.Dispose();
        rejects.Dispose();
    }
}
