using OrganicScreen.Chem;
using OrganicScreen.Reporting;

namespace OrganicScreen.Pipeline;

/// <summary>
/// Structure drawings for the review diff's HTML: RDKit's depiction of a canonical SMILES, kept only when the report's
/// own check finds it safe to inline (the diff library knows neither RDKit nor that check).
/// </summary>
public static class StructureDrawer
{
    public static Func<string, string?> Create(Rdkit rdkit) => smiles =>
    {
        try
        {
            var svg = rdkit.DepictSvg(smiles, 200, 150);
            return HtmlReport.IsInlineableSvg(svg) ? svg : null;
        }
        catch (InvalidSmilesException)
        {
            return null; // the row still names the SMILES
        }
    };
}
