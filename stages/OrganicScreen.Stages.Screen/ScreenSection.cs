using System.Text.Json.Serialization;
using OrganicScreen.Screening;

namespace OrganicScreen.Stages;

/// <summary>Screening settings from the profile's <c>screen</c> section (all optional). The whole section is part of Screen's key.</summary>
/// <param name="LithiumAbsoluteVolts">Li/Li+ on the absolute scale: E(vs Li/Li+) = E(absolute) − this (the study's 1.40 V).</param>
/// <param name="RankBy">Order of the candidate tables within each role: <c>potential</c> (most useful potential first) or
/// <c>specificEnergy</c> (highest Wh/kg first).</param>
/// <param name="RequireRedoxStable">Keep only candidates the dataset marks redox-stable (OMEAD's <c>redox_stable</c>); a dataset
/// without that column then keeps none, and the log says why.</param>
/// <param name="AllowedElements">Element symbols a candidate may contain ("H" is not implied); null: any.</param>
/// <param name="MaxHeavyAtoms">Largest heavy-atom count a candidate may have; null: any size.</param>
public sealed record ScreenSection(string Solvent = "acetonitrile", string? Collector = "aluminium", MarginPolicy Margin = MarginPolicy.IntervalHalfWidth,
    double CathodeMinimumVolts = 3.0, double? AnodeMinimumVolts = null, double LithiumAbsoluteVolts = 1.40,
    CandidateRanking RankBy = CandidateRanking.Potential, bool RequireRedoxStable = false, IReadOnlyList<string>? AllowedElements = null, int? MaxHeavyAtoms = null)
{
    [JsonIgnore]
    public ReferenceScale Reference => ReferenceScale.WithLithiumAbsolute(LithiumAbsoluteVolts);

    /// <summary>The filter settings as <see cref="CandidateFilters"/>; <see cref="CandidateFilters.None"/> when none is set.</summary>
    [JsonIgnore]
    public CandidateFilters Filters => new(RequireRedoxStable ? true : null, AllowedElements, MaxHeavyAtoms);

    [JsonIgnore]
    public bool HasFilters => RequireRedoxStable || AllowedElements is not null || MaxHeavyAtoms is not null;

    /// <summary>Element symbols RDKit knows (H to Og); an allowedElements entry outside this list is a typo.</summary>
    public static IReadOnlyList<string> ElementSymbols { get; } =
    [
        "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn",
        "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd",
        "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu",
        "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu",
        "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
    ];

    /// <summary>Null when the ranking and filter keys are valid; otherwise (key, problem) for the profile's error message.</summary>
    public (string Key, string Problem)? ValidateScreening()
    {
        if (!Enum.IsDefined(RankBy)) return ("screen.rankBy", "must be potential or specificEnergy");
        if (MaxHeavyAtoms is < 1) return ("screen.maxHeavyAtoms", "must be an integer ≥ 1");
        if (AllowedElements is { } elements)
        {
            if (elements.Count == 0) return ("screen.allowedElements", "is empty, which would remove every candidate (leave it out for any element)");
            var unknown = elements.Where(e => !ElementSymbols.Contains(e, StringComparer.Ordinal)).ToList();
            if (unknown.Count > 0) return ("screen.allowedElements", $"has {string.Join(", ", unknown.Select(u => $"'{u}'"))}, not element symbols (case matters: \"Cl\", not \"CL\")");
            if (elements.Distinct(StringComparer.Ordinal).Count() != elements.Count) return ("screen.allowedElements", "lists an element twice");
        }

        return null;
    }
}
