using System.Runtime.Intrinsics.X86;
using OrganicScreen.Core;
using OrganicScreen.Training.Graph;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Tests.Graph;

/// <summary>
/// The D-MPNN's W_o product in managed code (<see cref="AtomOutputProduct"/>) against libtorch itself, the independent
/// truth here: a screen's predictions must be those of libtorch's own GEMM, to the last bit.
/// </summary>
public class AtomOutputProductTests
{
    static AtomOutputProductTests() => TorchRuntime.Initialize();

    /// <summary>The `best` profile's shape: hidden 300, depth 3, bfloat16 W_h products, one head layer of 300, Chemprop's 133 atom features.</summary>
    private static GraphFoldModel Model(int seed, Func<IReadOnlyList<NamedWeights>, IReadOnlyList<NamedWeights>>? change = null)
    {
        var architecture = new DmpnnArchitecture(Hidden: 300, Depth: 3, HeadHidden: [300], Precision: DmpnnArchitecture.BFloat16);
        using var network = DmpnnNetwork.Create(architecture, 133, 4, 2, CPU, seed: (ulong)seed);
        var weights = network.Snapshot();
        return new GraphFoldModel(architecture, 133, 4, ["IE", "EA"],
            [new TargetScaler(TargetScaling.Standard, 7, 0.5), new TargetScaler(TargetScaling.Standard, 2, 0.4)], change?.Invoke(weights) ?? weights);
    }

    private static MolecularGraphs Molecules(int count, int seed)
    {
        var rng = new SplitMix64((ulong)seed);
        return GraphTestData.ChempropShaped(ref rng, count);
    }

    // One molecule has fewer than 16 atoms (libtorch multiplies them); 700 are one graph batch of about 5,000 atoms.
    [Theory]
    [InlineData(1)]
    [InlineData(40)]
    [InlineData(700)]
    public void Predictions_are_libtorchs_to_the_bit(int molecules)
    {
        var model = Model(seed: 3);
        var graphs = Molecules(molecules, seed: molecules);
        var features = new GivenFeatures(graphs.Molecules, graphs: graphs);
        using var predictor = (GraphFoldModel.GraphFoldPredictor)model.Predictor();
        // Where AVX-512 exists (this CI machine) the kernel must be checked and taken; elsewhere libtorch predicts. Read
        // first, so it is built before batches smaller than a screen's (which would not build it themselves).
        predictor.UsesManagedKernel.ShouldBe(Avx512F.IsSupported);

        var managed = predictor.Predict(features);
        (predictor.Network.ManagedOutputProduct is not null).ShouldBe(Avx512F.IsSupported);
        // The same weights in a network that never builds the kernel (a one-off prediction).
        var libtorch = model.Predict(graphs);

        for (var t = 0; t < 2; t++)
        {
            for (var i = 0; i < molecules; i++)
                BitConverter.DoubleToInt64Bits(managed[t][i]).ShouldBe(BitConverter.DoubleToInt64Bits(libtorch[t][i]), $"target {t}, molecule {i}: {managed[t][i]:R} vs libtorch {libtorch[t][i]:R}");
            // Different molecules, different predictions: the comparison is not between two constants.
            if (molecules > 1) libtorch[t].Distinct().Count().ShouldBeGreaterThan(molecules / 2);
        }
    }

    [Fact]
    public void The_product_is_addmms_beyond_the_checked_sizes_and_the_check_tells_MKLs_order_from_another()
    {
        if (!Avx512F.IsSupported) return; // the kernel exists only with AVX-512; the test above covers the fallback
        var model = Model(seed: 4);
        using var predictor = (GraphFoldModel.GraphFoldPredictor)model.Predictor();
        predictor.UsesManagedKernel.ShouldBeTrue();
        var product = predictor.Network.ManagedOutputProduct!;
        var (wo, bias) = (model.Weights.Single(w => w.Name == "W_o.weight"), model.Weights.Single(w => w.Name == "W_o.bias"));
        using var weight = tensor(wo.Values, [300, 433]);
        using var b = tensor(bias.Values);
        Tensor Reference(Tensor x) => addmm(b, x, weight.narrow(1, 133, 300).t(), 1, 1);

        // 20,011 atoms: more than the check's largest size, as a 1,000-molecule graph batch of large molecules has.
        using var _ = no_grad();
        var random = new Random(6);
        var values = Enumerable.Range(0, 20_011 * 300).Select(_ => random.NextDouble() < 0.4 ? 0f : (float)(random.NextDouble() * 6)).ToArray();
        using var incoming = tensor(values, [20_011, 300]);
        using var expected = Reference(incoming);
        using var actual = product.Product(incoming);
        actual.data<float>().ToArray().ShouldBe(expected.data<float>().ToArray());

        // Another blocking (one running sum, half or a little more of MKL's block) rounds differently somewhere: the check
        // must see it, or it could not protect the predictions.
        var layer = new DenseLayerWeights(300, 300, Transposed(wo.Values), bias.Values);
        MklOrderDense.Reproduces(layer, product.Block, Reference, [16, 100, 1000], new Random(1)).ShouldBeTrue();
        foreach (var other in new[] { 300, product.Block / 2, product.Block + 16 }.Where(o => o != product.Block))
            MklOrderDense.Reproduces(layer, other, Reference, [16, 100, 1000], new Random(1)).ShouldBeFalse($"block {other}");
    }

    /// <summary>W_o's hidden block, [300 out, 433 in] → row-major [300 in, 300 out].</summary>
    private static float[] Transposed(float[] wo)
    {
        var result = new float[300 * 300];
        for (var o = 0; o < 300; o++)
            for (var i = 0; i < 300; i++)
                result[i * 300 + o] = wo[o * 433 + 133 + i];
        return result;
    }

    [Fact]
    public void A_weight_that_is_not_finite_leaves_prediction_to_libtorch()
    {
        var model = Model(seed: 2, weights => weights.Select(w =>
        {
            if (w.Name != "W_o.weight") return w;
            var values = w.Values.ToArray();
            values[5 * 433 + 200] = float.NaN; // a hidden-message column: skipping its zero inputs would hide libtorch's 0 × NaN
            return w with { Values = values };
        }).ToList());
        using var predictor = (GraphFoldModel.GraphFoldPredictor)model.Predictor();
        predictor.UsesManagedKernel.ShouldBeFalse();
        var graphs = Molecules(50, seed: 1);
        var predicted = predictor.Predict(new GivenFeatures(graphs.Molecules, graphs: graphs));
        predicted[0].ShouldAllBe(v => double.IsNaN(v));
    }

    [Fact]
    public void Only_a_batch_worth_it_builds_and_checks_the_kernel()
    {
        var model = Model(seed: 7);
        using var predictor = (GraphFoldModel.GraphFoldPredictor)model.Predictor();
        var small = Molecules(40, seed: 2);
        small.AtomOffsets[^1].ShouldBeLessThan(AtomOutputProduct.WorthBuildingAt);
        predictor.Predict(new GivenFeatures(small.Molecules, graphs: small));
        // A `predict` of a few molecules does not pay for the check.
        predictor.Network.ManagedOutputProduct.ShouldBeNull();
        var large = Molecules(700, seed: 3);
        large.AtomOffsets[^1].ShouldBeGreaterThan(AtomOutputProduct.WorthBuildingAt);
        predictor.Predict(new GivenFeatures(large.Molecules, graphs: large));
        (predictor.Network.ManagedOutputProduct is not null).ShouldBe(Avx512F.IsSupported);
    }
}
