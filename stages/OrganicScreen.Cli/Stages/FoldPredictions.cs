using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Training;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Cli.Stages;

/// <summary>Which model family a trained target (and a model folder) holds.</summary>
public static class ModelFamily
{
    public const string Fcnn = "fcnn";
    public const string Dmpnn = "dmpnn";
}

/// <summary>
/// Every fold model's predictions (eV) for a set of molecules, whatever the model family: the one
/// place that knows fingerprint models read ECFP bits and graph models read RDKit graphs.
/// </summary>
public sealed class FoldModelSet
{
    private readonly string target;
    private readonly FingerprintSpec? spec;
    private readonly IReadOnlyList<FoldModel> fingerprintModels;
    private readonly IReadOnlyList<GraphFoldModel> graphModels;

    private FoldModelSet(string target, FingerprintSpec? spec, IReadOnlyList<FoldModel> fingerprintModels, IReadOnlyList<GraphFoldModel> graphModels)
    {
        this.target = target;
        this.spec = spec;
        this.fingerprintModels = fingerprintModels;
        this.graphModels = graphModels;
    }

    /// <summary>Loads the fold models in <paramref name="directories"/> for one target.</summary>
    public static FoldModelSet Load(string target, string model, string fingerprint, IReadOnlyList<string> directories) => model switch
    {
        ModelFamily.Fcnn => new(target, Profile.ParseSpec(fingerprint), directories.Select(FoldModel.Load).ToList(), []),
        ModelFamily.Dmpnn => new(target, null, [], directories.Select(GraphFoldModel.Load).ToList()),
        _ => throw new FormatException($"unknown model family '{model}' (fcnn, dmpnn)"),
    };

    /// <summary>Predictions <c>[fold][molecule]</c> for the molecules of <paramref name="inputs"/> (valid ones only).</summary>
    public double[][] Predict(MoleculeInputs inputs) => spec is { } s
        ? fingerprintModels.Select(m => m.Predict(inputs.Fingerprints(s))).ToArray()
        : graphModels.Select(m => m.Predict(inputs.Graphs())[IndexOfTarget(m)]).ToArray();

    private int IndexOfTarget(GraphFoldModel model)
    {
        var index = model.TargetNames.ToList().IndexOf(target);
        return index >= 0 ? index : throw new FormatException($"graph model has no target '{target}' (has {string.Join(", ", model.TargetNames)})");
    }

    /// <summary>Mean and population standard deviation over folds (the ensemble), per molecule.</summary>
    public static EnsemblePrediction Ensemble(double[][] perFold)
    {
        var n = perFold[0].Length;
        var mean = new double[n];
        var sd = new double[n];
        for (var i = 0; i < n; i++)
        {
            var m = perFold.Average(f => f[i]);
            mean[i] = m;
            sd[i] = Math.Sqrt(perFold.Average(f => (f[i] - m) * (f[i] - m)));
        }

        return new EnsemblePrediction(mean, sd);
    }
}

/// <summary>
/// Model inputs of one set of valid molecules, each computed once and shared by every target
/// (IE and EA models often read the same fingerprint, and graph models always read the same graphs).
/// </summary>
public sealed class MoleculeInputs(Rdkit rdkit, IReadOnlyList<string> smiles)
{
    private readonly Dictionary<FingerprintSpec, SparseBitMatrix> fingerprints = [];
    private MolecularGraphs? graphs;

    public SparseBitMatrix Fingerprints(FingerprintSpec spec)
    {
        if (!fingerprints.TryGetValue(spec, out var matrix))
            fingerprints[spec] = matrix = rdkit.Featurize(smiles, [spec], canonicalSmiles: false).Fingerprints[spec];
        return matrix;
    }

    public MolecularGraphs Graphs() => graphs ??= rdkit.Graphs(smiles).Graphs;
}
