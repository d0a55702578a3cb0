using OrganicScreen.Core;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Training.Tests.Graph;

public class GraphBadInputTests
{
    static readonly DmpnnArchitecture Tiny = new(Hidden: 8, Depth: 2, HeadHidden: [4]);

    static LabeledGraphs Data(int molecules = 12) => GraphTestData.Countable(molecules, seed: 1) with { Dataset = "ie-ea test" };

    static string Fails(LabeledGraphs data, int k = 3) =>
        Should.Throw<ArgumentException>(() => GraphCrossValidator.Run(data, k, 1, Tiny, GraphTestData.Quick(epochs: 1))).Message;

    [Fact]
    public void Non_finite_atom_or_bond_features_are_rejected_with_their_count()
    {
        var data = Data();
        var atoms = (float[])data.Graphs.AtomFeatures.Clone();
        atoms[3] = float.NaN;
        atoms[40] = float.PositiveInfinity;
        var message = Fails(data with { Graphs = data.Graphs with { AtomFeatures = atoms } });
        message.ShouldContain("ie-ea test");
        message.ShouldContain("2 atom feature values");

        var bonds = (float[])data.Graphs.BondFeatures.Clone();
        bonds[1] = float.NaN;
        Fails(data with { Graphs = data.Graphs with { BondFeatures = bonds } }).ShouldContain("1 bond feature values");
    }

    [Fact]
    public void Infinite_labels_are_rejected_but_nan_means_missing()
    {
        var data = Data();
        var labels = (double[,])data.Labels.Clone();
        labels[2, 1] = double.NegativeInfinity;
        var message = Fails(data with { Labels = labels });
        message.ShouldContain("ie-ea test");
        message.ShouldContain("1 of 12 labels of target 'bonds' are infinite");
    }

    [Fact]
    public void A_target_missing_for_every_row_is_rejected()
    {
        var data = Data();
        var labels = (double[,])data.Labels.Clone();
        for (var r = 0; r < data.Rows; r++) labels[r, 0] = double.NaN;
        var message = Fails(data with { Labels = labels });
        message.ShouldContain("ie-ea test");
        message.ShouldContain("'atoms' is missing (NaN) for every one of the 12 rows");
    }

    [Fact]
    public void Fewer_molecules_than_folds_is_rejected()
    {
        var message = Fails(Data(molecules: 4), k: 5);
        message.ShouldContain("ie-ea test");
        message.ShouldContain("4 molecules are fewer than the 5");
    }

    [Fact]
    public void Molecules_without_atoms_are_rejected_with_their_count()
    {
        // Molecules 1 and 2 of three are empty (offsets repeat).
        var graphs = new MolecularGraphs(2, 1, [0, 2, 2, 2, 3], [1, 0, 0, 1, 1, 1], [0, 1, 1, 1, 1], [0, 1], [1]);
        var data = new LabeledGraphs("empty test", graphs, new double[,] { { 1 }, { 2 }, { 3 }, { 4 } }, ["IE"]);
        var message = Fails(data, k: 2);
        message.ShouldContain("empty test");
        message.ShouldContain("2 of 4 molecules have zero atoms");
        // Prediction checks the same.
        var model = GraphCrossValidator.Run(GraphTestData.Countable(6, 1), 2, 1, Tiny, GraphTestData.Quick(epochs: 1)).Folds[0].Model;
        Should.Throw<ArgumentException>(() => model.Predict(graphs with { AtomFeatureCount = 6, BondFeatureCount = 3 }, dataset: "screen")).Message.ShouldContain("screen");
    }

    [Fact]
    public void Bonds_outside_their_molecule_and_mismatched_shapes_are_rejected()
    {
        var data = Data();
        var bondAtoms = (int[])data.Graphs.BondAtoms.Clone();
        bondAtoms[1] = 50;
        Fails(data with { Graphs = data.Graphs with { BondAtoms = bondAtoms } }).ShouldContain("1 bonds refer to atoms outside");
        Fails(data with { TargetNames = ["atoms"] }).ShouldContain("1 target names but 2 label columns");
        Fails(data with { Labels = new double[5, 2] }).ShouldContain("12 molecules but 5 label rows");
        Should.Throw<ArgumentException>(() => new DmpnnArchitecture(Aggregation: "max").Validate()).Message.ShouldContain("max");
        Should.Throw<ArgumentException>(() => GraphCrossValidator.Run(data, 3, 1, Tiny, GraphTestData.Quick(1), new GraphTrainingOptions(SelectionTarget: "EA")))
            .Message.ShouldContain("'EA'");
    }
}
