using System.Globalization;
using System.Text;

namespace OrganicScreen.Chem;

/// <summary>
/// Limits a SMILES must meet before it reaches RDKit (see <see cref="SmilesGuard"/>).
/// <see cref="MaxHeavyAtoms"/>: most heavy atoms (counted from the text) a SMILES may have. RDKit's parser is super-linear in chain
/// length (a 1,000-carbon chain takes about a second, 5,000 carbons minutes), so one oversized line can
/// stall a batch; 150 is above every molecule in OCELOT (max 78) and OMEAD (max 122).
/// </summary>
public sealed record SmilesLimits
{
    public const int DefaultMaxHeavyAtoms = 150;

    public SmilesLimits(int maxHeavyAtoms = DefaultMaxHeavyAtoms) => MaxHeavyAtoms = maxHeavyAtoms;

    public static SmilesLimits Default { get; } = new();

    // Validated in the setter so `with { MaxHeavyAtoms = 0 }` cannot bypass it either.
    public int MaxHeavyAtoms
    {
        get;
        init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxHeavyAtoms), value, "must be at least 1");
    }
}

/// <summary>
/// Checks a SMILES in managed code, in one pass over the text, before RDKit sees it. Rejects:
/// blank input ("empty SMILES", as the shim), any character outside printable ASCII (U+0020..U+007E;
/// the C boundary would otherwise truncate at NUL or RDKit stop at the first byte it does not know, so
/// <c>C\u00e9C</c> parsed as methane), and more heavy atoms than <see cref="SmilesLimits.MaxHeavyAtoms"/>.
/// Allocates only the reason string of a rejected input.
/// </summary>
public static class SmilesGuard
{
    private const string AsciiWhitespace = " \t\n\r\f\v";
    private const string CopyPasteHint =
        "(check for accents, smart quotes, Greek letters, non-breaking spaces or control characters from copy/paste)";

    /// <summary>Null when <paramref name="smiles"/> may go to RDKit, else a reason a chemist can act on.</summary>
    public static string? Check(ReadOnlySpan<char> smiles, SmilesLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        // Same blank set as the shim (ASCII whitespace), so the verdict does not change with the entry point.
        if (smiles.IndexOfAnyExcept(AsciiWhitespace) < 0) return "empty SMILES";
        var bad = smiles.IndexOfAnyExceptInRange(' ', '~');
        if (bad >= 0) return NotPrintableAscii(smiles, bad);
        var heavy = CountHeavyAtoms(smiles);
        return heavy <= limits.MaxHeavyAtoms
            ? null
            : $"SMILES has {heavy} heavy atoms (counted from the text), more than the limit of {limits.MaxHeavyAtoms}; "
              + "RDKit is too slow on molecules that large. Raise SmilesLimits.MaxHeavyAtoms if the molecule is intended.";
    }

    /// <summary>
    /// Heavy atoms as written, without parsing: every atom token up to the first whitespace (after it
    /// RDKit reads a name or CXSMILES extension, not atoms). Tokens are bracket atoms except hydrogen
    /// (<c>[H]</c>, <c>[2H+]</c>, <c>[#1]</c>) and the dummy atom (<c>[*]</c>, <c>*</c>), and the organic subset
    /// B C N O P S F Cl Br I and aromatic b c n o p s. For a SMILES RDKit accepts this is RDKit's
    /// <c>GetNumHeavyAtoms()</c> (a test compares them with Python RDKit); each character is read once.
    /// </summary>
    public static int CountHeavyAtoms(ReadOnlySpan<char> smiles)
    {
        var end = smiles.IndexOfAny(AsciiWhitespace);
        if (end >= 0) smiles = smiles[..end];
        var count = 0;
        for (var i = 0; i < smiles.Length; i++)
        {
            switch (smiles[i])
            {
                case '[':
                    var close = smiles[(i + 1)..].IndexOf(']');
                    var inside = close < 0 ? smiles[(i + 1)..] : smiles.Slice(i + 1, close);
                    if (IsHeavyBracketAtom(inside)) count++;
                    if (close < 0) return count; // unclosed bracket: RDKit rejects it anyway
                    i += close + 1;
                    break;
                case 'C': // Cl is one atom: skip its 'l' so it is not read as a token of its own
                    if (i + 1 < smiles.Length && smiles[i + 1] == 'l') i++;
                    count++;
                    break;
                case 'B':
                    if (i + 1 < smiles.Length && smiles[i + 1] == 'r') i++;
                    count++;
                    break;
                case 'N' or 'O' or 'P' or 'S' or 'F' or 'I' or 'b' or 'c' or 'n' or 'o' or 'p' or 's':
                    count++;
                    break;
            }
        }
        return count;
    }

    /// <summary>Text between '[' and ']': isotope digits, then the element (or '#' atomic number).</summary>
    private static bool IsHeavyBracketAtom(ReadOnlySpan<char> inside)
    {
        var k = 0;
        while (k < inside.Length && char.IsAsciiDigit(inside[k])) k++;
        inside = inside[k..];
        if (inside.IsEmpty || inside[0] == '*') return false;
        // H alone is hydrogen; He, Hf, Hg, Ho, Hs are heavy.
        if (inside[0] == 'H') return inside.Length > 1 && char.IsAsciiLetterLower(inside[1]);
        if (inside[0] == '#')
        {
            var digits = inside[1..];
            var n = digits.IndexOfAnyExceptInRange('0', '9');
            if (n >= 0) digits = digits[..n];
            return !(digits.SequenceEqual("0") || digits.SequenceEqual("1"));
        }
        return true;
    }

    private static string NotPrintableAscii(ReadOnlySpan<char> smiles, int index)
    {
        // Report the whole code point (an emoji is two UTF-16 chars) and a name for invisible ones.
        Rune.DecodeFromUtf16(smiles[index..], out var rune, out _);
        var shown = rune.Value switch
        {
            0 => "NUL",
            '\t' => "tab",
            '\n' => "line feed",
            '\r' => "carriage return",
            0xA0 => "no-break space",
            0xFEFF => "byte order mark",
            < 0x20 or 0x7F => "control character",
            >= 0x2000 and <= 0x200F => "invisible space/format character",
            _ => $"'{rune}'",
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"SMILES contains {shown} (U+{rune.Value:X4}) at position {index + 1}; only printable ASCII is allowed {CopyPasteHint}.");
    }
}
