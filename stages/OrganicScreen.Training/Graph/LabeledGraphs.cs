using OrganicScreen.Core;

namespace OrganicScreen.Training.Graph;

/// <summary>
/// Multi-task training input: molecular graphs and a label matrix [molecules, targets] in eV, NaN = missing.
/// Unlike <see cref="LabeledFingerprints"/>, missing labels stay in: a molecule with only an IE still trains the
/// shared encoder through the IE head. <see cref="Dataset"/> names it in error messages.
/// </summary>
public sealed record LabeledGraphs(string Dataset, MolecularGraphs Graphs, double[,] Labels, IReadOnlyList<string> TargetNames)
{
    public int Rows => Labels.GetLength(0);

    public int Targets => Labels.GetLength(1);

    public static LabeledGraphs FromColumns(string dataset, MolecularGraphs graphs, IReadOnlyList<string> targetNames, params double[][] columns)
    {
        if (columns.Length != targetNames.Count)
            throw new ArgumentException($"{dataset}: {columns.Length} label columns but {targetNames.Count} target names.");
        var rows = columns.Length == 0 ? 0 : columns[0].Length;
        var labels = new double[rows, columns.Length];
        for (var t = 0; t < columns.Length; t++)
        {
            if (columns[t].Length != rows)
                throw new ArgumentException($"{dataset}: target '{targetNames[t]}' has {columns[t].Length} labels, the first target {rows}.");
            for (var r = 0; r < rows; r++) labels[r, t] = columns[t][r];
        }
        return new LabeledGraphs(dataset, graphs, labels, targetNames);
    }

    /// <summary>Labels of one target, NaN where missing.</summary>
    public double[] Column(int target)
    {
        var column = new double[Rows];
        for (var r = 0; r < column.Length; r++) column[r] = Labels[r, target];
        return column;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the dataset and the offending count.</summary>
    public void Validate(int minimumRows = 1)
    {
        Graphs.Validate(Dataset);
        if (TargetNames.Count == 0 || Targets == 0)
            throw new ArgumentException($"{Dataset}: no targets ({TargetNames.Count} names, {Targets} label columns).");
        if (TargetNames.Count != Targets)
            throw new ArgumentException($"{Dataset}: {TargetNames.Count} target names but {Targets} label columns.");
        if (TargetNames.Any(string.IsNullOrWhiteSpace) || TargetNames.Distinct(StringComparer.Ordinal).Count() != TargetNames.Count)
            throw new ArgumentException($"{Dataset}: target names must be non-empty and distinct: [{string.Join(", ", TargetNames)}].");
        if (Rows != Graphs.Molecules)
            throw new ArgumentException($"{Dataset}: {Graphs.Molecules} molecules but {Rows} label rows.");
        for (var t = 0; t < Targets; t++)
        {
            int missing = 0, infinite = 0;
            for (var r = 0; r < Rows; r++)
            {
                var y = Labels[r, t];
                if (double.IsNaN(y)) missing++;
                else if (double.IsInfinity(y)) infinite++;
            }
            if (missing == Rows)
                throw new ArgumentException($"{Dataset}: target '{TargetNames[t]}' is missing (NaN) for every one of the {Rows} rows.");
            if (infinite > 0)
                throw new ArgumentException($"{Dataset}: {infinite} of {Rows} labels of target '{TargetNames[t]}' are infinite.");
        }
        if (Rows < minimumRows)
            throw new ArgumentException($"{Dataset}: {Rows} molecules are fewer than the {minimumRows} required (one per fold).");
    }
}

public static class MolecularGraphsValidation
{
    /// <summary>
    /// Structural checks of the flat arrays (offsets, lengths, bond atom indices) plus the model's own
    /// requirements: every molecule has at least one atom (mean readout divides by the atom count) and every
    /// feature is finite. Throws <see cref="ArgumentException"/> naming <paramref name="dataset"/> and the count.
    /// </summary>
    public static void Validate(this MolecularGraphs graphs, string dataset)
    {
        var g = graphs;
        if (g.AtomFeatureCount <= 0) throw new ArgumentException($"{dataset}: atom feature count is {g.AtomFeatureCount}; must be positive.");
        if (g.BondFeatureCount < 0) throw new ArgumentException($"{dataset}: bond feature count is {g.BondFeatureCount}; must be ≥ 0.");
        if (g.AtomOffsets.Length < 2) throw new ArgumentException($"{dataset}: the graphs hold 0 molecules.");
        if (g.BondOffsets.Length != g.AtomOffsets.Length)
            throw new ArgumentException($"{dataset}: {g.AtomOffsets.Length} atom offsets but {g.BondOffsets.Length} bond offsets (both must be molecules + 1).");
        if (g.AtomOffsets[0] != 0 || g.BondOffsets[0] != 0) throw new ArgumentException($"{dataset}: atom and bond offsets must start at 0.");
        int emptyMolecules = 0, firstEmpty = -1;
        for (var m = 0; m < g.Molecules; m++)
        {
            if (g.AtomOffsets[m + 1] < g.AtomOffsets[m]) throw new ArgumentException($"{dataset}: atom offsets decrease at molecule {m}.");
            if (g.BondOffsets[m + 1] < g.BondOffsets[m]) throw new ArgumentException($"{dataset}: bond offsets decrease at molecule {m}.");
            if (g.AtomOffsets[m + 1] == g.AtomOffsets[m] && emptyMolecules++ == 0) firstEmpty = m;
        }
        if (emptyMolecules > 0)
            throw new ArgumentException($"{dataset}: {emptyMolecules} of {g.Molecules} molecules have zero atoms (first: molecule {firstEmpty}); the D-MPNN needs at least one atom per molecule.");
        var atoms = (long)g.AtomOffsets[^1];
        var bonds = (long)g.BondOffsets[^1];
        if (g.AtomFeatures.LongLength != atoms * g.AtomFeatureCount)
            throw new ArgumentException($"{dataset}: {g.AtomFeatures.LongLength} atom feature values, expected {atoms} atoms × {g.AtomFeatureCount}.");
        if (g.BondAtoms.LongLength != bonds * 2)
            throw new ArgumentException($"{dataset}: {g.BondAtoms.LongLength} bond atom indices, expected 2 × {bonds} bonds.");
        if (g.BondFeatures.LongLength != bonds * g.BondFeatureCount)
            throw new ArgumentException($"{dataset}: {g.BondFeatures.LongLength} bond feature values, expected {bonds} bonds × {g.BondFeatureCount}.");
        var badBonds = 0;
        for (var m = 0; m < g.Molecules; m++)
        {
            var n = g.Atoms(m);
            for (var b = g.BondOffsets[m]; b < g.BondOffsets[m + 1]; b++)
            {
                int a0 = g.BondAtoms[2 * b], a1 = g.BondAtoms[2 * b + 1];
                if ((uint)a0 >= (uint)n || (uint)a1 >= (uint)n || a0 == a1) badBonds++;
            }
        }
        if (badBonds > 0)
            throw new ArgumentException($"{dataset}: {badBonds} bonds refer to atoms outside their molecule or join an atom to itself.");
        var badAtoms = CountNonFinite(g.AtomFeatures);
        if (badAtoms > 0) throw new ArgumentException($"{dataset}: {badAtoms} atom feature values are NaN or infinite.");
        var badBondFeatures = CountNonFinite(g.BondFeatures);
        if (badBondFeatures > 0) throw new ArgumentException($"{dataset}: {badBondFeatures} bond feature values are NaN or infinite.");
    }

    static long CountNonFinite(float[] values)
    {
        long count = 0;
        foreach (var v in values)
            if (!float.IsFinite(v)) count++;
        return count;
    }
}
