using OrganicScreen.Core;
using OrganicScreen.Training.Graph;
using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Tests.Graph;

/// <summary>
/// The CPU's fused message passing against a plain-loop D-MPNN written from the equations, and against the
/// tensor (index_select/index_add) formulation it replaces on the CPU, forward and backward.
/// </summary>
public class FusedMessagePassingTests
{
    static FusedMessagePassingTests() => TorchRuntime.Initialize();

    static float[] Values(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    /// <summary>
    /// The whole network in doubles with explicit neighbour loops: h⁰(a→b) = ReLU(W_i [x_a ‖ x_ab]),
    /// hᵗ⁺¹(a→b) = ReLU(W_i [x_a ‖ x_ab] + W_h Σ_{k→a, k≠b} hᵗ(k→a)), h(a) = ReLU(W_o [x_a ‖ Σ_{k→a} h(k→a)] + b_o),
    /// mean or sum over atoms, then the head. Weights in torch layout ([out, in], row-major).
    /// </summary>
    static double[] NaiveForward(MolecularGraphs g, DmpnnArchitecture architecture, IReadOnlyList<NamedWeights> weights)
    {
        int fa = g.AtomFeatureCount, fb = g.BondFeatureCount, h = architecture.Hidden;
        var w = weights.ToDictionary(x => x.Name, x => x.Values);
        double Dot(float[] matrix, int row, int columns, IReadOnlyList<double> x, int offset = 0)
        {
            double s = 0;
            for (var c = 0; c < x.Count; c++) s += matrix[row * columns + offset + c] * x[c];
            return s;
        }
        var output = new List<double>();
        for (var m = 0; m < g.Molecules; m++)
        {
            int n = g.Atoms(m), first = g.AtomOffsets[m];
            double[] Atom(int a) => Enumerable.Range(0, fa).Select(c => (double)g.AtomFeatures[(first + a) * fa + c]).ToArray();
            var directed = new List<(int From, int To, double[] Bond)>();
            for (var b = g.BondOffsets[m]; b < g.BondOffsets[m + 1]; b++)
            {
                var bond = Enumerable.Range(0, fb).Select(c => (double)g.BondFeatures[b * fb + c]).ToArray();
                directed.Add((g.BondAtoms[2 * b], g.BondAtoms[2 * b + 1], bond));
                directed.Add((g.BondAtoms[2 * b + 1], g.BondAtoms[2 * b], bond));
            }
            var input = directed.Select(d => Enumerable.Range(0, h).Select(r => Dot(w["W_i.weight"], r, fa + fb, [.. Atom(d.From), .. d.Bond])).ToArray()).ToList();
            var message = input.Select(x => x.Select(v => Math.Max(v, 0)).ToArray()).ToList();
            for (var step = 1; step < architecture.Depth; step++)
            {
                var next = new List<double[]>();
                for (var e = 0; e < directed.Count; e++)
                {
                    var sum = new double[h];
                    for (var k = 0; k < directed.Count; k++)
                        if (directed[k].To == directed[e].From && directed[k].From != directed[e].To)
                            for (var c = 0; c < h; c++) sum[c] += message[k][c];
                    next.Add(Enumerable.Range(0, h).Select(r => Math.Max(input[e][r] + Dot(w["W_h.weight"], r, h, sum), 0)).ToArray());
                }
                message = next;
            }
            var readout = new double[h];
            for (var a = 0; a < n; a++)
            {
                var incoming = new double[h];
                for (var k = 0; k < directed.Count; k++)
                    if (directed[k].To == a)
                        for (var c = 0; c < h; c++) incoming[c] += message[k][c];
                double[] x = [.. Atom(a), .. incoming];
                for (var r = 0; r < h; r++) readout[r] += Math.Max(Dot(w["W_o.weight"], r, fa + h, x) + w["W_o.bias"][r], 0) / (architecture.MeanReadout ? n : 1);
            }
            IReadOnlyList<double> y = readout;
            var layers = architecture.Head.Count + 1;
            for (var l = 0; l < layers; l++)
            {
                var kernel = w[$"head.{l}.weight"];
                var bias = w[$"head.{l}.bias"];
                var current = y;
                y = Enumerable.Range(0, bias.Length).Select(r => Dot(kernel, r, current.Count, current) + bias[r]).Select(v => l < layers - 1 ? Math.Max(v, 0) : v).ToArray();
            }
            output.AddRange(y);
        }
        return output.ToArray();
    }

    static List<NamedWeights> RandomWeights(DmpnnArchitecture architecture, int fa, int fb, int targets, ulong seed)
    {
        var rng = new SplitMix64(seed);
        return DmpnnNetwork.ParameterShapes(architecture, fa, fb, targets)
            .Select(p => new NamedWeights(p.Name, p.Shape,
                Enumerable.Range(0, p.Shape.Aggregate(1, (a, b) => a * b)).Select(_ => (rng.NextInt(2001) - 1000) / 2500f).ToArray()))
            .ToList();
    }

    [Theory]
    [InlineData(DmpnnArchitecture.Mean, 3)]
    [InlineData(DmpnnArchitecture.Sum, 2)]
    [InlineData(DmpnnArchitecture.Mean, 1)]
    public void A_three_atom_molecule_gives_what_the_equations_give(string aggregation, int depth)
    {
        // C–C=O-like chain: atom features (element, degree), bond features (single, double).
        var graphs = GraphTestData.Build(2, 2, new TestMolecule(
            [[1, 1], [1, 2], [0, 1]],
            [(0, 1, [1, 0]), (1, 2, [0, 1])]));
        var architecture = new DmpnnArchitecture(Hidden: 4, Depth: depth, Aggregation: aggregation, HeadHidden: [3]);
        var weights = RandomWeights(architecture, 2, 2, 2, seed: 3);
        var expected = NaiveForward(graphs, architecture, weights);
        using var network = DmpnnNetwork.FromWeights(architecture, 2, 2, 2, CPU, weights);
        using var batch = GraphBatch.Create(graphs, CPU);
        network.UsesFusedMessagePassing(batch).ShouldBeTrue();
        using var _ = no_grad();
        foreach (var training in new[] { false, true })
        {
            network.train(training);
            var y = Values(network.call(batch));
            for (var i = 0; i < expected.Length; i++) y[i].ShouldBe((float)expected[i], 1e-5f, $"output {i}, training {training}");
        }
    }

    [Fact]
    public void Graphs_without_bond_features_give_what_the_equations_give()
    {
        var graphs = GraphTestData.Build(2, 0, new TestMolecule([[1, 0], [0, 1], [1, 1]], [(0, 1, []), (1, 2, [])]));
        var architecture = new DmpnnArchitecture(Hidden: 4, Depth: 3, HeadHidden: [3]);
        var weights = RandomWeights(architecture, 2, 0, 1, seed: 8);
        var expected = NaiveForward(graphs, architecture, weights);
        using var network = DmpnnNetwork.FromWeights(architecture, 2, 0, 1, CPU, weights);
        network.eval();
        using var batch = GraphBatch.Create(graphs, CPU);
        using var _ = no_grad();
        Values(network.call(batch))[0].ShouldBe((float)expected[0], 1e-5f);
    }

    [Theory]
    [InlineData(DmpnnArchitecture.Mean, 3)]
    [InlineData(DmpnnArchitecture.Sum, 3)]
    [InlineData(DmpnnArchitecture.Mean, 2)]
    [InlineData(DmpnnArchitecture.Mean, 1)]
    public void A_batch_of_assorted_molecules_gives_what_the_equations_give(string aggregation, int depth)
    {
        var (y, expected) = NetworkAndEquations(new DmpnnArchitecture(Hidden: 8, Depth: depth, Aggregation: aggregation, HeadHidden: [6]));
        for (var i = 0; i < expected.Length; i++) y[i].ShouldBe((float)expected[i], 1e-5f, $"output {i}");
    }

    /// <summary>The network's eval-mode output on the assorted molecules, and what <see cref="NaiveForward"/> gives with the same weights.</summary>
    static (float[] Network, double[] Equations) NetworkAndEquations(DmpnnArchitecture architecture)
    {
        var graphs = GraphTestData.Assorted();
        var weights = RandomWeights(architecture, 5, 3, 2, seed: 11);
        var expected = NaiveForward(graphs, architecture, weights);
        using var network = DmpnnNetwork.FromWeights(architecture, 5, 3, 2, CPU, weights);
        network.eval();
        using var batch = GraphBatch.Create(graphs, CPU);
        using var _ = no_grad();
        return (Values(network.call(batch)), expected);
    }

    /// <summary>
    /// Random trees of minAtoms..minAtoms + atomRange − 1 atoms (7 atom and 4 bond features), each closed into rings by
    /// the bonds (From, n − FromEnd) of the closures whose AtLeast ≤ n atoms.
    /// </summary>
    static MolecularGraphs RandomTrees(ulong seed, int count, int minAtoms, int atomRange, params (int AtLeast, int From, int FromEnd)[] closures)
    {
        var rng = new SplitMix64(seed);
        var molecules = new List<TestMolecule>();
        for (var m = 0; m < count; m++)
        {
            var n = minAtoms + rng.NextInt(atomRange);
            var edges = Enumerable.Range(1, n - 1).Select(i => (rng.NextInt(i), i)).ToList();
            foreach (var (atLeast, from, fromEnd) in closures)
                if (n >= atLeast) edges.Add((from, n - fromEnd));
            molecules.Add(GraphTestData.Random(ref rng, n, edges.Distinct().ToArray(), 7, 4));
        }
        return GraphTestData.Build(7, 4, [.. molecules]);
    }

    [Fact]
    public void Prediction_skips_the_zero_atom_features_and_gives_the_dense_products_numbers()
    {
        // Chemprop's layout (about 8 non-zero of 133 atom features), random trees with rings, several blocks.
        var rng = new SplitMix64(17);
        var graphs = GraphTestData.ChempropShaped(ref rng, 120);
        // Hidden 100: one register block of 64 outputs, two vectors of 16, then 4 one by one.
        var architecture = new DmpnnArchitecture(Hidden: 100, Depth: 3, HeadHidden: [16]);
        using var network = DmpnnNetwork.Create(architecture, 133, 4, 2, CPU, seed: 9);
        network.eval();
        using var batch = GraphBatch.Create(graphs, CPU);
        batch.Blocks.Count.ShouldBeGreaterThan(2);
        var nonZero = graphs.AtomFeatures.Count(v => v != 0);
        batch.AtomFeatureRows.Columns.Length.ShouldBe(nonZero);
        batch.AtomFeatureRows.Offsets[^1].ShouldBe(nonZero);
        ((double)nonZero / batch.Atoms).ShouldBeInRange(7, 8);

        float[] Predict(bool sparse)
        {
            network.SparseAtomProducts = sparse;
            using var _ = no_grad();
            network.UsesSparseAtomProducts(batch).ShouldBe(sparse && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated);
            return Values(network.call(batch));
        }

        var dense = Predict(sparse: false);
        var skipping = Predict(sparse: true);
        // Each output is the same terms summed in the same order; where MKL's GEMM sums as it does here the numbers
        // are identical (they are on the AVX-512 machine these were measured on), else within a rounding or two.
        for (var i = 0; i < dense.Length; i++) skipping[i].ShouldBe(dense[i], 1e-6f * (1 + Math.Abs(dense[i])), $"output {i}");
        // Training needs the products' gradients: with autograd the GEMMs run.
        network.train();
        network.UsesSparseAtomProducts(batch).ShouldBeFalse();
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    [InlineData(1)]
    public void Fused_and_tensor_message_passing_agree_in_value_and_gradient(int depth)
    {
        // Enough molecules for several blocks (GraphBatch.BlockDirectedBonds), which the CPU runs in parallel.
        var graphs = RandomTrees(29, 100, minAtoms: 1, atomRange: 9, (5, 0, 1), (7, 2, 2));
        var architecture = new DmpnnArchitecture(Hidden: 24, Depth: depth, HeadHidden: [8]);
        using var network = DmpnnNetwork.Create(architecture, 7, 4, 2, CPU, seed: 5);
        network.train();
        using var batch = GraphBatch.Create(graphs, CPU);
        batch.Blocks.Count.ShouldBeGreaterThan(2);
        using var generator = new Generator(1, CPU);
        using var projection = randn([batch.Atoms, architecture.Hidden], generator: generator);
        // W_i, W_h (not at depth 1), W_o and its bias: the weights the atom states depend on.
        var encoder = network.TrainedWeights.Take(depth > 1 ? 4 : 3).ToList();

        (float[] Output, float[][] Gradients) Run(bool fused)
        {
            using var scope = NewDisposeScope();
            foreach (var w in network.Weights) w.grad?.zero_();
            var hidden = network.AtomHiddens(batch, fused);
            hidden.mul(projection).sum().backward();
            return (Values(hidden), encoder.Select(w => Values(w.grad!)).ToArray());
        }

        var tensor = Run(fused: false);
        var fused = Run(fused: true);
        var again = Run(fused: true);
        again.Output.ShouldBe(fused.Output);
        for (var p = 0; p < fused.Gradients.Length; p++) again.Gradients[p].ShouldBe(fused.Gradients[p]);
        fused.Output.Length.ShouldBe(batch.Atoms * architecture.Hidden);
        for (var i = 0; i < tensor.Output.Length; i++) fused.Output[i].ShouldBe(tensor.Output[i], 1e-5f + 1e-5f * Math.Abs(tensor.Output[i]));
        for (var p = 0; p < tensor.Gradients.Length; p++)
        {
            var scale = tensor.Gradients[p].Max(Math.Abs);
            scale.ShouldBeGreaterThan(0f, $"parameter {p} gets a gradient");
            for (var i = 0; i < tensor.Gradients[p].Length; i++)
                fused.Gradients[p][i].ShouldBe(tensor.Gradients[p][i], 1e-5f * scale, $"parameter {p}, element {i}");
        }
    }

    [Theory]
    [InlineData(DmpnnArchitecture.Mean, 3)]
    [InlineData(DmpnnArchitecture.Sum, 2)]
    public void Bfloat16_products_stay_within_bfloat16_rounding_of_what_the_equations_give(string aggregation, int depth)
    {
        var (y, expected) = NetworkAndEquations(new DmpnnArchitecture(Hidden: 8, Depth: depth, Aggregation: aggregation, HeadHidden: [6], Precision: DmpnnArchitecture.BFloat16));
        var scale = expected.Max(Math.Abs);
        // bfloat16 keeps 8 significant bits (relative rounding 2⁻⁹ per operand and product): a few parts in a
        // thousand of the output's scale after three products, far below 1e-5 only by accident.
        for (var i = 0; i < expected.Length; i++) y[i].ShouldBe((float)expected[i], 0.02f * (float)scale, $"output {i}");
        y.Select((v, i) => Math.Abs(v - expected[i])).Max().ShouldBeGreaterThan(1e-5, "the products ran in bfloat16, not float32");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void Bfloat16_inference_gives_the_training_forward_bit_for_bit(int depth)
    {
        // Inference keeps no step's pre-activations (it reads P⁰ + the bfloat16 product again); the training forward
        // stores them. The float32 arithmetic is the same, so the outputs must be too.
        var graphs = RandomTrees(47, 40, minAtoms: 2, atomRange: 11, (6, 1, 1));
        using var network = DmpnnNetwork.Create(new DmpnnArchitecture(Hidden: 24, Depth: depth, HeadHidden: [8], Precision: DmpnnArchitecture.BFloat16), 7, 4, 2, CPU, seed: 9);
        using var batch = GraphBatch.Create(graphs, CPU);
        network.train();
        float[] training;
        using (NewDisposeScope())
        {
            var hidden = network.AtomHiddens(batch, fused: true);
            hidden.requires_grad.ShouldBeTrue("the training forward records the autograd node");
            training = Values(hidden);
        }
        float[] inference;
        using (no_grad())
        using (NewDisposeScope())
            inference = Values(network.AtomHiddens(batch, fused: true));
        inference.ShouldBe(training);
        training.Max(Math.Abs).ShouldBeGreaterThan(0f);
    }

    [Fact]
    public void Bfloat16_products_follow_float32_in_value_and_gradient_fused_or_not()
    {
        var graphs = RandomTrees(31, 60, minAtoms: 2, atomRange: 9, (5, 0, 1));
        var single = new DmpnnArchitecture(Hidden: 32, Depth: 3, HeadHidden: [8]);
        var half = single with { Precision = DmpnnArchitecture.BFloat16 };
        using var reference = DmpnnNetwork.Create(single, 7, 4, 2, CPU, seed: 5);
        using var network = DmpnnNetwork.FromWeights(half, 7, 4, 2, CPU, reference.Snapshot());
        using var batch = GraphBatch.Create(graphs, CPU);
        using var generator = new Generator(1, CPU);
        using var projection = randn([batch.Atoms, single.Hidden], generator: generator);

        (float[] Output, float[][] Gradients) Run(DmpnnNetwork net, bool fused)
        {
            using var scope = NewDisposeScope();
            net.train();
            foreach (var w in net.Weights) w.grad?.zero_();
            var hidden = net.AtomHiddens(batch, fused);
            hidden.mul(projection).sum().backward();
            return (Values(hidden), net.TrainedWeights.Take(4).Select(w => Values(w.grad!)).ToArray());
        }

        // Outputs elementwise within 2 % of their scale. Gradients as directions: a ReLU whose pre-activation sits near
        // zero may switch under bfloat16 rounding and move single elements by whole terms, but the gradient vector
        // must point the same way (cosine ≥ 0.995) with the same length (within 2 %): that is what the optimiser uses.
        static void Close((float[] Output, float[][] Gradients) actual, (float[] Output, float[][] Gradients) expected)
        {
            var scale = expected.Output.Max(Math.Abs);
            for (var i = 0; i < expected.Output.Length; i++) actual.Output[i].ShouldBe(expected.Output[i], 0.02f * scale, $"output {i}");
            for (var p = 0; p < expected.Gradients.Length; p++)
            {
                double dot = 0, a2 = 0, e2 = 0;
                for (var i = 0; i < expected.Gradients[p].Length; i++)
                {
                    double a = actual.Gradients[p][i], e = expected.Gradients[p][i];
                    dot += a * e;
                    a2 += a * a;
                    e2 += e * e;
                }
                (dot / Math.Sqrt(a2 * e2)).ShouldBeGreaterThan(0.995, $"parameter {p}: gradient direction");
                Math.Sqrt(a2 / e2).ShouldBe(1.0, 0.02, $"parameter {p}: gradient length");
            }
        }

        var float32 = Run(reference, fused: true);
        var fused = Run(network, fused: true);
        var tensor = Run(network, fused: false);
        Close(fused, float32);
        Close(tensor, float32);
        fused.Output.Zip(float32.Output, (a, b) => Math.Abs(a - b)).Max().ShouldBeGreaterThan(1e-4f, "bfloat16 products differ from float32 ones");
        // Fused and tensor formulations in bfloat16 round the same products the same way (sums apart).
        for (var i = 0; i < fused.Output.Length; i++) fused.Output[i].ShouldBe(tensor.Output[i], 1e-5f + 1e-5f * Math.Abs(tensor.Output[i]));
        Run(network, fused: true).Output.ShouldBe(fused.Output);   // still deterministic
    }

    [Fact]
    public void Cpu_flags_say_whether_bfloat16_is_multiplied_in_hardware()
    {
        const string sapphire = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n\nprocessor\t: 1\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n";
        const string skylake = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n";
        const string amxOnly = "flags\t\t: fpu avx2 amx_bf16\n";
        CpuFeatures.BFloat16From(sapphire).ShouldBe(true);
        CpuFeatures.BFloat16From(skylake).ShouldBe(false);
        CpuFeatures.BFloat16From(amxOnly).ShouldBe(true);
        CpuFeatures.BFloat16From(sapphire + skylake).ShouldBe(false);   // every CPU must have it
        CpuFeatures.BFloat16From("model name\t: unknown\n").ShouldBeNull();
    }

    [Fact]
    public void A_bfloat16_model_card_says_so_and_a_float32_card_is_unchanged()
    {
        var dir = Directory.CreateTempSubdirectory("os-bf16").FullName;
        try
        {
            foreach (var precision in new string?[] { null, DmpnnArchitecture.BFloat16 })
            {
                var architecture = new DmpnnArchitecture(Hidden: 4, Depth: 2, HeadHidden: [3], Precision: precision);
                using var network = DmpnnNetwork.Create(architecture, 5, 3, 2, CPU, seed: 2);
                var model = new GraphFoldModel(architecture, 5, 3, ["ie", "ea"], [new TargetScaler(TargetScaling.Standard, 0, 1), new TargetScaler(TargetScaling.Standard, 0, 1)], network.Snapshot());
                var folder = Path.Combine(dir, precision ?? "float32");
                model.Save(folder);
                var card = File.ReadAllText(Path.Combine(folder, "model.json"));
                card.Contains("bfloat16").ShouldBe(precision is not null, card);
                card.Contains("Precision").ShouldBe(precision is not null, card);
                var loaded = GraphFoldModel.Load(folder);
                loaded.Architecture.ShouldBe(architecture);
                loaded.Architecture.BFloat16Products.ShouldBe(precision is not null);
            }
            new DmpnnArchitecture(Precision: "float32").ShouldBe(new DmpnnArchitecture());
            Should.Throw<ArgumentException>(() => new DmpnnArchitecture(Precision: "float16").Validate()).Message.ShouldContain("bfloat16");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Fused_message_passing_is_used_on_the_cpu_except_for_dropout_in_training()
    {
        var graphs = GraphTestData.Assorted();
        using var batch = GraphBatch.Create(graphs, CPU);
        using var plain = DmpnnNetwork.Create(new DmpnnArchitecture(Hidden: 8), 5, 3, 2, CPU, seed: 1);
        using var dropout = DmpnnNetwork.Create(new DmpnnArchitecture(Hidden: 8, Dropout: 0.2), 5, 3, 2, CPU, seed: 1);
        plain.train();
        plain.UsesFusedMessagePassing(batch).ShouldBeTrue();
        dropout.train();
        dropout.UsesFusedMessagePassing(batch).ShouldBeFalse();
        dropout.eval();
        dropout.UsesFusedMessagePassing(batch).ShouldBeTrue();
    }
}
