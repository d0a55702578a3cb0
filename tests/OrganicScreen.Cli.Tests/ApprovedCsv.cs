using System.Globalization;
using System.Runtime.CompilerServices;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// A candidate list against its approved snapshot (<c>approved/&lt;class&gt;.&lt;test&gt;.&lt;discriminator&gt;.approved.txt</c>, the
/// files Shouldly's approvals use): the same rows, every text field equal, every number within
/// <paramref name="tolerance"/> (absolute up to 1, relative above: specific energies are potentials times capacities). For fixtures whose training is not bit-reproducible across processors: on the AMD VM
/// the OMEAD fixture's EA predictions differed from the Intel VM's by up to 0.0011 V and, in this test host where other fixtures train at the same time, in the last digit from one run to the next (two CLI runs are byte-identical), while the candidates stayed.
/// A failure writes the received file beside the approved one and names the first differing line, as Shouldly does.
/// </summary>
internal static class ApprovedCsv
{
    public static void ShouldMatchApproved(string received, string discriminator, double tolerance,
        [CallerFilePath] string testFile = "", [CallerMemberName] string test = "")
    {
        var name = $"{Path.GetFileNameWithoutExtension(testFile)}.{test}.{discriminator}";
        var folder = Path.Combine(Path.GetDirectoryName(testFile)!, "approved");
        var approvedPath = Path.Combine(folder, name + ".approved.txt");
        var receivedPath = Path.Combine(folder, name + ".received.txt");
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n").Split('\n') : [];
        var lines = received.ReplaceLineEndings("\n").Split('\n');
        var difference = FirstDifference(approved, lines, tolerance);
        if (difference is null)
        {
            File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, received);
        throw new Shouldly.ShouldAssertException($"{name}: {difference} (tolerance {tolerance} on numbers). To approve: cp \"{receivedPath}\" \"{approvedPath}\"");
    }

    /// <summary>
    /// The first row that differs beyond the tolerance, described; null when none does. Rows are matched by their
    /// first two fields (role, id), so two candidates whose potentials tie within the tolerance may swap places; the
    /// order itself is tested elsewhere (the ranking tests).
    /// </summary>
    internal static string? FirstDifference(IReadOnlyList<string> approved, IReadOnlyList<string> received, double tolerance)
    {
        if (approved.Count != received.Count) return $"{received.Count} lines against {approved.Count} approved";
        if (approved.Count > 0 && approved[0] != received[0]) return $"header differs:\n  approved {approved[0]}\n  received {received[0]}";
        static string Key(string line) => string.Join(',', line.Split(',').Take(2));
        var byKey = approved.Skip(1).Where(l => l.Length > 0).GroupBy(Key).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var line in received.Skip(1).Where(l => l.Length > 0))
        {
            if (!byKey.TryGetValue(Key(line), out var candidates) || candidates.Count == 0) return $"row {Key(line)} is not approved:\n  received {line}";
            var match = candidates.FindIndex(a => a.Split(',') is var fields && fields.Length == line.Split(',').Length
                                                                           && fields.Zip(line.Split(',')).All(p => Same(p.First, p.Second, tolerance)));
            if (match < 0) return $"row {Key(line)} differs:\n  approved {candidates[0]}\n  received {line}";
            candidates.RemoveAt(match);
        }

        return null;
    }

    private static bool Same(string approved, string received, double tolerance) =>
        approved == received
        || (double.TryParse(approved, NumberStyles.Float, CultureInfo.InvariantCulture, out var a)
            && double.TryParse(received, NumberStyles.Float, CultureInfo.InvariantCulture, out var r)
            && Math.Abs(a - r) <= tolerance * Math.Max(1, Math.Abs(a)));
}
