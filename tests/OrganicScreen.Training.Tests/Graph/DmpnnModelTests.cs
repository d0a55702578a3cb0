using OrganicScreen.Core;
using OrganicScreen.Training.Graph;
using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Tests.Graph;

public class DmpnnModelTests
{
    static DmpnnModelTests() => TorchRuntime.Initialize();

    static float[] Values(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    static float[] Identity(int n)
    {
        var w = new float[n * n];
        for (var i = 0; i < n; i++) w[i * n + i] = 1;
        return w;
    }

    [Fact]
    public void A_message_step_sums_incoming_messages_except_the_one_from_the_bond_target()
    {
        TorchRuntime.Initialize();
        // A–B–C, 2 atom features + 1 bond feature, hidden 3 = their concatenation, W_i = W_h = I, so
        // h⁰(a→b) = [x_a ‖ x_ab] and h¹(a→b) = [x_a ‖ x_ab] + Σ_{k→a, k≠b} h⁰(k→a) (all values ≥ 0: ReLU is the identity).
        float[] xA = [1, 0], xB = [0, 2], xC = [3, 0];
        float[] ab = [0.5f], bc = [0.25f];
        var graphs = GraphTestData.Build(2, 1, new TestMolecule([xA, xB, xC], [(0, 1, ab), (1, 2, bc)]));
        var architecture = new DmpnnArchitecture(Hidden: 3, Depth: 2, Aggregation: DmpnnArchitecture.Sum, HeadHidden: []);
        var weights = DmpnnNetwork.ParameterShapes(architecture, 2, 1, 1)
            .Select(p => new NamedWeights(p.Name, p.Shape, p.Name is "W_i.weight" or "W_h.weight" ? Identity(3) : new float[p.Shape.Aggregate(1, (a, b) => a * b)]))
            .ToList();
        using var network = DmpnnNetwork.FromWeights(architecture, 2, 1, 1, CPU, weights);
        network.eval();
        using var batch = GraphBatch.Create(graphs, CPU);
        // Layout: undirected bond j → directed 2j (begin→end) and 2j+1 (end→begin); bond 1 is (B, C).
        batch.Source.data<long>().ToArray().ShouldBe([0L, 1, 1, 2]);
        batch.Target.data<long>().ToArray().ShouldBe([1L, 0, 2, 1]);
        batch.Reverse.data<long>().ToArray().ShouldBe([1L, 0, 3, 2]);

        using var _ = no_grad();
        var messages = Values(network.BondMessages(batch));
        var bToC = messages.Skip(2 * 3).Take(3).ToArray();
        // Only A→B arrives at B besides C→B: h¹(B→C) = [x_B ‖ x_BC] + [x_A ‖ x_AB] = [0+1, 2+0, 0.25+0.5].
        bToC.ShouldBe([1f, 2f, 0.75f], 1e-6f);
        // Had the reverse bond C→B (= [x_C ‖ x_BC] = [3, 0, 0.25]) been included, it would read [4, 2, 1].
        bToC.ShouldNotBe([4f, 2f, 1f]);
        // C→B: C's only incoming message is B→C itself, which is excluded, so C→B keeps its input [x_C ‖ x_BC].
        messages.Skip(3 * 3).Take(3).ToArray().ShouldBe([3f, 0f, 0.25f], 1e-6f);
        // B→A sees only C→B: [x_B ‖ x_AB] + [x_C ‖ x_BC].
        messages.Skip(1 * 3).Take(3).ToArray().ShouldBe([3f, 2f, 0.75f], 1e-6f);
    }

    static DmpnnNetwork RandomNetwork(string aggregation, int atomFeatures = 5, int bondFeatures = 3, int targets = 2, int depth = 3) =>
        DmpnnNetwork.Create(new DmpnnArchitecture(Hidden: 16, Depth: depth, Aggregation: aggregation, HeadHidden: [8], Dropout: 0.3),
            atomFeatures, bondFeatures, targets, CPU, seed: 7);

    [Theory]
    [InlineData(DmpnnArchitecture.Mean, 3)]
    [InlineData(DmpnnArchitecture.Sum, 3)]
    [InlineData(DmpnnArchitecture.Mean, 1)]
    public void A_batch_predicts_what_each_molecule_predicts_alone(string aggregation, int depth)
    {
        TorchRuntime.Initialize();
        var graphs = GraphTestData.Assorted();
        using var network = RandomNetwork(aggregation, depth: depth);
        network.eval(); // dropout 0.3 in the architecture must be off in eval mode
        using var _ = no_grad();
        using var all = GraphBatch.Create(graphs, CPU);
        var batched = Values(network.call(all));
        batched.Length.ShouldBe(graphs.Molecules * 2);
        for (var m = 0; m < graphs.Molecules; m++)
        {
            using var one = GraphBatch.Create(graphs, [m], CPU);
            Values(network.call(one)).ShouldBe(batched.Skip(2 * m).Take(2).ToArray(), 1e-5f, $"molecule {m}");
        }
        // A batch of single atoms only: no bonds at all.
        using var atomsOnly = GraphBatch.Create(graphs, [5, 0], CPU);
        atomsOnly.DirectedBonds.ShouldBe(0);
        Values(network.call(atomsOnly)).ShouldBe([.. batched.Skip(10).Take(2), .. batched.Take(2)], 1e-5f);
        // And a reordered subset of the batch gives the same rows, reordered.
        using var subset = GraphBatch.Create(graphs, [3, 1], CPU);
        Values(network.call(subset)).ShouldBe([.. batched.Skip(6).Take(2), .. batched.Skip(2).Take(2)], 1e-5f);
    }

    [Theory]
    [InlineData(DmpnnArchitecture.Mean)]
    [InlineData(DmpnnArchitecture.Sum)]
    public void Predictions_do_not_depend_on_atom_or_bond_order(string aggregation)
    {
        TorchRuntime.Initialize();
        var rng = new SplitMix64(21);
        // A fused ring system with a substituent, renumbered by a permutation; bonds listed in another order with swapped ends.
        var original = GraphTestData.Random(ref rng, 7, [(0, 1), (1, 2), (2, 3), (3, 0), (2, 4), (4, 5), (4, 6), (6, 1)], 5, 3);
        int[] newIndex = [4, 0, 6, 2, 5, 1, 3];
        var atoms = new float[7][];
        for (var i = 0; i < 7; i++) atoms[newIndex[i]] = original.Atoms[i];
        var bonds = original.Bonds.Reverse().Select((b, k) => k % 2 == 0 ? (newIndex[b.B], newIndex[b.A], b.Features) : (newIndex[b.A], newIndex[b.B], b.Features)).ToArray();
        var graphs = GraphTestData.Build(5, 3, original, new TestMolecule(atoms, bonds));
        using var network = RandomNetwork(aggregation);
        network.eval();
        using var _ = no_grad();
        using var batch = GraphBatch.Create(graphs, CPU);
        var y = Values(network.call(batch));
        y.Skip(2).ToArray().ShouldBe(y.Take(2).ToArray(), 1e-5f);
        // Sanity: a different molecule does not give the same output (the check above is not vacuous).
        using var other = GraphBatch.Create(GraphTestData.Assorted(), [3], CPU);
        Values(network.call(other)).ShouldNotBe(y.Take(2).ToArray());
    }

    [Fact]
    public void An_ensemble_predictor_sharing_graph_batches_gives_each_members_own_predictions()
    {
        // 1,100 molecules: two graph batches (GraphFoldPredictor.BatchSize is 1,000), each shared by the members.
        var rng = new SplitMix64(77);
        var molecules = new List<TestMolecule>();
        for (var m = 0; m < 1100; m++)
        {
            var n = 1 + rng.NextInt(6);
            molecules.Add(GraphTestData.Random(ref rng, n, Enumerable.Range(1, n - 1).Select(i => (rng.NextInt(i), i)).ToArray(), 5, 3));
        }
        var graphs = GraphTestData.Build(5, 3, [.. molecules]);
        GraphFoldModel Member(int seed, string? precision)
        {
            var architecture = new DmpnnArchitecture(Hidden: 16, Depth: 3, HeadHidden: [8], Precision: precision);
            using var network = DmpnnNetwork.Create(architecture, 5, 3, 2, CPU, seed: (ulong)seed);
            return new GraphFoldModel(architecture, 5, 3, ["IE", "EA"], [new TargetScaler(TargetScaling.Standard, 7 + seed, 0.5), new TargetScaler(TargetScaling.Standard, 2, 0.3 + seed / 10.0)], network.Snapshot());
        }

        var ensemble = new Ensemble([Member(1, null), Member(2, DmpnnArchitecture.BFloat16), Member(3, null)]);
        var features = new GivenFeatures(graphs.Molecules, graphs: graphs);
        var alone = ensemble.Predict(features);
        using var predictor = ensemble.Predictor();
        var shared = predictor.Predict(features);
        for (var t = 0; t < 2; t++)
        {
            shared[t].Mean.ShouldBe(alone[t].Mean);
            shared[t].StandardDeviation.ShouldBe(alone[t].StandardDeviation);
            alone[t].StandardDeviation.Min().ShouldBeGreaterThan(0, "the members differ");
        }

        var foreign = GraphTestData.Build(4, 3, GraphTestData.Random(ref rng, 3, [(0, 1), (1, 2)], 4, 3));
        Should.Throw<ArgumentException>(() => predictor.Predict(new GivenFeatures(1, graphs: foreign))).Message.ShouldContain("the model expects 5 atom and 3 bond features");
    }

    [Fact]
    public void Dropout_is_active_in_training_mode_and_reproducible_with_its_generator()
    {
        TorchRuntime.Initialize();
        var graphs = GraphTestData.Assorted();
        using var network = RandomNetwork(DmpnnArchitecture.Mean);
        using var batch = GraphBatch.Create(graphs, CPU);
        using var _ = no_grad();
        network.eval();
        var inference = Values(network.call(batch));
        network.train();
        using var g1 = new Generator(3, CPU);
        network.DropoutGenerator = g1;
        var first = Values(network.call(batch));
        using var g2 = new Generator(3, CPU);
        network.DropoutGenerator = g2;
        Values(network.call(batch)).ShouldBe(first);
        first.ShouldNotBe(inference);
    }

    [Fact]
    public void Masked_loss_ignores_missing_labels_and_gives_their_head_zero_gradient()
    {
        TorchRuntime.Initialize();
        var graphs = GraphTestData.Assorted();
        using var network = RandomNetwork(DmpnnArchitecture.Mean, targets: 3);
        network.train();
        using var generator = new Generator(1, CPU);
        network.DropoutGenerator = generator;
        using var batch = GraphBatch.Create(graphs, CPU);
        // Target 1 is missing for every molecule of the batch; target 2 for some.
        var n = graphs.Molecules;
        var labels = new float[n * 3];
        var mask = new float[n * 3];
        for (var i = 0; i < n; i++)
        {
            labels[i * 3] = i * 0.1f; mask[i * 3] = 1;
            if (i % 2 == 0) { labels[i * 3 + 2] = -0.5f + i; mask[i * 3 + 2] = 1; }
        }
        using var y = tensor(labels, [n, 3]);
        using var m = tensor(mask, [n, 3]);
        var prediction = network.call(batch);
        var loss = MultiTaskLoss.Compute(prediction, y, m);
        loss.backward();

        var p = Values(prediction);
        double mse0 = 0, mse2 = 0;
        for (var i = 0; i < n; i++) mse0 += Math.Pow(p[i * 3] - labels[i * 3], 2) / n;
        for (var i = 0; i < n; i += 2) mse2 += Math.Pow(p[i * 3 + 2] - labels[i * 3 + 2], 2) / ((n + 1) / 2);
        loss.item<float>().ShouldBe((float)((mse0 + mse2) / 2), 1e-5f);

        var outWeight = network.Weights[^2];
        var outBias = network.Weights[^1];
        var gradWeight = Values(outWeight.grad!);
        var gradBias = Values(outBias.grad!);
        var hidden = (int)outWeight.shape[1];
        gradWeight.Skip(hidden).Take(hidden).ShouldAllBe(g => g == 0f);
        gradBias[1].ShouldBe(0f);
        gradWeight.Take(hidden).ShouldContain(g => g != 0f);
        gradBias[0].ShouldNotBe(0f);
        gradBias[2].ShouldNotBe(0f);
    }

    [Fact]
    public void Weighted_loss_is_the_weighted_mean_of_the_present_targets_mse_or_mae()
    {
        TorchRuntime.Initialize();
        // Two molecules, three targets; target 2 (weight 0.5) is missing for the second molecule, target 1 (weight 0.25) for both.
        using var prediction = tensor(new float[] { 1, 0, 2, 3, 0, 5 }, [2, 3]);
        using var labels = tensor(new float[] { 0, 0, 0, 1, 0, 0 }, [2, 3]);
        using var mask = tensor(new float[] { 1, 0, 1, 1, 0, 0 }, [2, 3]);
        using var weights = tensor(new float[] { 1, 0.25f, 0.5f }, [3]);
        // MSE target 0 = (1 + 4) / 2 = 2.5; target 2 = 4 / 1 = 4; target 1 absent, so its weight drops out: (2.5 + 0.5·4) / 1.5 = 3.
        MultiTaskLoss.Compute(prediction, labels, mask, weights).item<float>().ShouldBe(3f, 1e-6f);
        // Equal weights give the plain mean of the present targets: (2.5 + 4) / 2.
        using var ones = tensor(new float[] { 1, 1, 1 }, [3]);
        MultiTaskLoss.Compute(prediction, labels, mask, ones).item<float>().ShouldBe(3.25f, 1e-6f);
        MultiTaskLoss.Compute(prediction, labels, mask).item<float>().ShouldBe(3.25f, 1e-6f);

        // MAE target 0 = (1 + 2) / 2 = 1.5; target 2 = 2 / 1 = 2; target 1 absent: (1.5 + 0.5·2) / 1.5 = 5/3.
        MultiTaskLoss.Compute(prediction, labels, mask, weights, TrainingLoss.Mae).item<float>().ShouldBe(5f / 3, 1e-6f);
        MultiTaskLoss.Compute(prediction, labels, mask, null, TrainingLoss.Mae).item<float>().ShouldBe(1.75f, 1e-6f);
        // Its gradient is the sign of each present error over the target's label count, whatever the error's size.
        using var leaf = prediction.detach().requires_grad_(true);
        MultiTaskLoss.Compute(leaf, labels, mask, null, TrainingLoss.Mae).backward();
        Values(leaf.grad!).ShouldBe(new[] { 0.25f, 0, 0.5f, 0.25f, 0, 0 });
    }

    [Fact]
    public void Auxiliary_targets_weigh_their_own_weight_and_never_choose_the_epoch()
    {
        var options = new GraphTrainingOptions(Auxiliary: ["homo", "lumo"], AuxiliaryWeight: 0.3);
        options.LossWeights(["ie", "ea", "homo", "lumo"]).ShouldBe([1f, 1f, 0.3f, 0.3f]);
        options.Validate(["ie", "ea", "homo", "lumo"]);
        Should.Throw<ArgumentException>(() => (options with { SelectionTarget = "homo" }).Validate(["ie", "ea", "homo", "lumo"])).Message.ShouldContain("is auxiliary");
        Should.Throw<ArgumentException>(() => options.Validate(["homo", "lumo"])).Message.ShouldContain("at least one must be primary");
        Should.Throw<ArgumentException>(() => options.Validate(["ie", "ea", "homo"])).Message.ShouldContain("[lumo] are not among the targets");
        Should.Throw<ArgumentException>(() => (options with { AuxiliaryWeight = 0 }).Validate(["ie", "ea", "homo", "lumo"])).Message.ShouldContain("(0, 10]");
    }

    [Fact]
    public void The_best_epoch_is_chosen_on_primary_targets_only()
    {
        TorchRuntime.Initialize();
        var graphs = GraphTestData.Assorted();
        var n = graphs.Molecules;
        // Target "aux" is noise the model cannot learn; "y" is learnable. With "aux" auxiliary, selection MAE = y's MAE.
        var labels = new double[n, 2];
        for (var i = 0; i < n; i++)
        {
            labels[i, 0] = 0.3 * i;
            labels[i, 1] = (i * 7919 % 13) - 6.0;
        }
        var data = new LabeledGraphs("sel", graphs, labels, ["y", "aux"]);
        var fold = Folds.Create(Folds.Assign(n, 2, 1), 2)[0];
        var settings = new TrainingSettings(Epochs: 4, BatchSize: 0, LearningRate: 0.01, Schedule: LearningRateSchedule.Constant, L2: 0, Seed: 5, Device: ComputeDevice.Cpu);
        var result = GraphFoldTrainer.Train(data, fold, new DmpnnArchitecture(8, 2, DmpnnArchitecture.Mean, [8], 0), settings,
            new GraphTrainingOptions(Auxiliary: ["aux"]));
        result.Curve.ShouldAllBe(e => e.SelectionMae == e.ValidationMae[0]);
        result.BestSelectionMae.ShouldBe(result.Curve.Min(e => e.ValidationMae[0]));
    }
}
