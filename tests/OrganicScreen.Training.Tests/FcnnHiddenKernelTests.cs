using System.Runtime.Intrinsics.X86;
using OrganicScreen.Core;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Tests;

/// <summary>
/// The managed hidden layers of a fingerprint FCNN (<see cref="FcnnHiddenKernel"/>) against libtorch itself, the
/// independent truth here: every prediction must be libtorch's to the last bit, at every batch size a screen uses.
/// </summary>
public class FcnnHiddenKernelTests
{
    static FcnnHiddenKernelTests() => TorchRuntime.Initialize();

    /// <summary>The `default` profile's network: 1024-bit fingerprints, hidden 512 and 256, Keras-like initial weights (about half of each hidden layer is zero after the ReLU).</summary>
    private static FoldModel Network(int seed, FcnnArchitecture? architecture = null, int bits = 1024)
    {
        architecture ??= new FcnnArchitecture([512, 256], Dropout: 0);
        using var network = FcnnNetwork.Create(architecture, bits, CPU, (ulong)seed);
        return new FoldModel(architecture, bits, new MinMaxScaler(4.2, 9.7), network.Snapshot());
    }

    /// <summary>Random fingerprints: empty ones, typical ones (up to 60 bits), and one with a third of all bits set.</summary>
    private static SparseBitMatrix Fingerprints(int rows, int bits, int seed)
    {
        var random = new Random(seed);
        return SparseBitMatrix.FromRows(bits, Enumerable.Range(0, rows).Select(r => r switch
        {
            0 => [],
            1 => Enumerable.Range(0, bits / 3).Select(i => i * 3).ToArray(),
            _ => Enumerable.Range(0, random.Next(1, 61)).Select(_ => random.Next(bits)).Distinct().Order().ToArray(),
        }).ToArray());
    }

    // Not below 16 rows: those go to libtorch, whose last bits for a few rows are not even reproducible from run to
    // run there (MKL picks its small-matrix kernels by the threads it finds free: 15 rows failed once in three runs).
    [Theory]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(37)]
    [InlineData(256)]
    [InlineData(300)]
    [InlineData(511)]
    [InlineData(512)]
    public void Predictions_are_libtorchs_to_the_bit_at_every_batch_size(int rows)
    {
        var model = Network(seed: 5);
        using var managed = model.Predictor();
        using var libtorch = model.Predictor(managedKernel: false);
        // Where AVX-512 exists (this CI machine) the kernel must have been verified and taken; elsewhere libtorch predicts.
        managed.UsesManagedKernel.ShouldBe(Avx512F.IsSupported);
        libtorch.UsesManagedKernel.ShouldBeFalse();
        var fingerprints = Fingerprints(rows, 1024, seed: rows);

        // The same network through libtorch (see PredictWithLibtorch for why not another network of the same weights).
        var expected = managed.PredictWithLibtorch(fingerprints, batchSize: 512);
        var actual = managed.Predict(fingerprints, batchSize: 512);

        actual.Length.ShouldBe(rows);
        for (var i = 0; i < rows; i++)
            BitConverter.DoubleToInt64Bits(actual[i]).ShouldBe(BitConverter.DoubleToInt64Bits(expected[i]), $"molecule {i}: {actual[i]:R} vs libtorch {expected[i]:R}");
        // Different molecules, different predictions: the comparison is not between two constants.
        expected.Distinct().Count().ShouldBeGreaterThan(rows / 2);
    }

    [Fact]
    public void Three_hidden_layers_and_256_inputs_find_their_own_blocks()
    {
        if (!Avx512F.IsSupported) return; // the kernel exists only with AVX-512; the test above covers the fallback
        var model = Network(seed: 8, new FcnnArchitecture([256, 256, 128], Dropout: 0), bits: 2048);
        using var managed = model.Predictor();
        managed.UsesManagedKernel.ShouldBeTrue();
        managed.KernelBlocks!.Count.ShouldBe(2);
        var fingerprints = Fingerprints(200, 2048, seed: 3);
        managed.Predict(fingerprints).ShouldBe(managed.PredictWithLibtorch(fingerprints));
    }

    [Fact]
    public void The_check_tells_MKLs_summation_order_from_another()
    {
        if (!Avx512F.IsSupported) return;
        var model = Network(seed: 11);
        using var managed = model.Predictor();
        var block = managed.KernelBlocks!.Single();
        var layer = model.Layers[1];
        FcnnHiddenKernel.ReproducesAddmm(layer, block, new Random(1)).ShouldBeTrue();
        // One block of all 512 inputs (a plain running sum), or another blocking, rounds differently somewhere among
        // the 512 × 256 outputs: the check must see it, or it could not protect the predictions.
        foreach (var other in new[] { layer.Inputs, block / 2, block + 64 }.Where(b => b != block))
            FcnnHiddenKernel.ReproducesAddmm(layer, other, new Random(1)).ShouldBeFalse($"block {other}");
    }

    [Fact]
    public void Damaged_weights_leave_prediction_to_libtorch()
    {
        var model = Network(seed: 2);
        var kernel = model.Layers[1].Kernel.ToArray();
        kernel[1234] = float.NaN;
        var damaged = model with { Layers = [model.Layers[0], model.Layers[1] with { Kernel = kernel }, model.Layers[2]] };
        using var predictor = damaged.Predictor();
        // Skipping zero inputs would hide a NaN weight that libtorch's 0 × NaN turns into a NaN prediction.
        predictor.UsesManagedKernel.ShouldBeFalse();
        var predicted = predictor.Predict(Fingerprints(64, 1024, seed: 9), batchSize: 512);
        predicted.ShouldContain(double.NaN);
    }

    [Fact]
    public void An_ensemble_running_members_side_by_side_predicts_what_its_members_do_one_by_one()
    {
        var members = Enumerable.Range(0, 3).Select(i => (IFoldModel)new FingerprintFoldModel(Network(seed: 20 + i), new FingerprintSpec(1, 1024), "ie")).ToList();
        var fingerprints = Fingerprints(400, 1024, seed: 4);
        var features = new GivenFeatures(400, new Dictionary<FingerprintSpec, SparseBitMatrix> { [new FingerprintSpec(1, 1024)] = fingerprints });
        var built = members.Select(m => m.Predictor()).ToList();
        using var predictor = new EnsemblePredictor(["ie"], built);
        predictor.ManagedKernelMembers.ShouldBe(Avx512F.IsSupported ? 3 : 0);

        var sideBySide = predictor.Predict(features).Single();
        // Each member's own network through libtorch, one after the other.
        var oneByOne = Ensemble.Combine(built.Select(m => new[] { ((FingerprintFoldModel.FingerprintFoldPredictor)m).Network.PredictWithLibtorch(fingerprints) }).ToArray()).Single();

        sideBySide.Mean.ShouldBe(oneByOne.Mean);
        sideBySide.StandardDeviation.ShouldBe(oneByOne.StandardDeviation);
    }
}
