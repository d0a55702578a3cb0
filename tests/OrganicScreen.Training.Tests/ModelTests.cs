using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Tests;

public class ModelTests
{
    static ModelTests() => TorchRuntime.Initialize();

    [Fact]
    public void Sparse_first_layer_equals_dense_linear_on_the_0_1_matrix_forward_and_backward()
    {
        TorchRuntime.Initialize();
        var x = TestData.Matrix(12, [0, 3, 11], [], [5], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        var rows = FingerprintBatch.AllRows(x);
        using var network = FcnnNetwork.Create(new FcnnArchitecture([7, 5], Dropout: 0), 12, CPU, seed: 9);
        using var sparse = FingerprintBatch.Create(x, rows, dense: false, CPU);
        using var dense = FingerprintBatch.Create(x, rows, dense: true, CPU);

        using var ySparse = network.Forward(sparse, null);
        ySparse.sum().backward();
        using var gradSparse = network.Kernels[0].grad!.clone();
        network.Kernels[0].grad!.zero_();
        using var yDense = network.Forward(dense, null);
        yDense.sum().backward();
        using var gradDense = network.Kernels[0].grad!.clone();

        ySparse.data<float>().ToArray().ShouldBe(yDense.data<float>().ToArray(), 1e-6);
        gradSparse.data<float>().ToArray().ShouldBe(gradDense.data<float>().ToArray(), 1e-6);

        // And both equal a plain Linear layer on the 0/1 matrix: row 0 has bits {0, 3, 11}, so its first-layer
        // output is the sum of those kernel rows plus the bias, computed here without torch.
        var kernel = network.Snapshot()[0];
        using var first = nn.functional.linear(dense.Dense!, network.Kernels[0].detach().t(), network.Parameters[1].detach());
        var byHand = Enumerable.Range(0, 7).Select(j => kernel.Kernel[0 * 7 + j] + kernel.Kernel[3 * 7 + j] + kernel.Kernel[11 * 7 + j] + kernel.Bias[j]).ToArray();
        first.data<float>().ToArray().Take(7).ToArray().ShouldBe(byHand, 1e-6f);
        // An empty fingerprint contributes only the bias.
        first.data<float>().ToArray().Skip(7).Take(7).ToArray().ShouldBe(kernel.Bias, 1e-7f);
    }

    [Fact]
    public void L2_term_is_0_003_times_the_sum_of_squared_kernels_including_the_output_layer()
    {
        TorchRuntime.Initialize();
        using var network = FcnnNetwork.Create(new FcnnArchitecture([6, 4]), 10, CPU, seed: 1);
        var layers = network.Snapshot();
        layers.Count.ShouldBe(3);
        layers[^1].Outputs.ShouldBe(1);
        var independent = 0.003 * layers.Sum(l => l.Kernel.Sum(w => (double)w * w));
        (0.003 * network.KernelSquaredSum()).ShouldBe(independent, 1e-9);
        // Biases are excluded: make them large and the term does not move.
        using (no_grad()) foreach (var b in network.Parameters.Where((_, i) => i % 2 == 1)) b.fill_(100);
        (0.003 * network.KernelSquaredSum()).ShouldBe(independent, 1e-9);
    }

    [Fact]
    public void Init_is_normal_with_std_0_05_and_zero_biases()
    {
        TorchRuntime.Initialize();
        using var network = FcnnNetwork.Create(new FcnnArchitecture([256]), 512, CPU, seed: 4);
        var kernel = network.Snapshot()[0].Kernel;
        var mean = kernel.Average(w => (double)w);
        var std = Math.Sqrt(kernel.Average(w => (w - mean) * (w - mean)));
        mean.ShouldBe(0, 0.002);
        std.ShouldBe(0.05, 0.001);
        network.Snapshot().ShouldAllBe(l => l.Bias.All(b => b == 0));
    }

    [Fact]
    public void Folding_L2_into_the_gradient_equals_adding_it_to_the_loss_and_fused_adam_equals_torch_ops()
    {
        TorchRuntime.Initialize();
        var data = TestData.Linear(rows: 24, bits: 16, onBits: 4);
        var rows = FingerprintBatch.AllRows(data.Fingerprints);
        var arch = new FcnnArchitecture([8, 4], Dropout: 0);
        var settings = TestData.Quick() with { L2 = 0.003 };
        using var batch = FingerprintBatch.Create(data.Fingerprints, rows, dense: false, CPU);
        using var y = tensor(data.Labels.Select(v => (float)(v - 7)).ToArray());

        float[][] Train(bool fused, bool l2InLoss, double l2 = 0.003)
        {
            using var network = FcnnNetwork.Create(arch, 16, CPU, seed: 2);
            using var adam = new KerasAdam(network.Parameters, network.Kernels, settings with { L2 = l2InLoss ? 0 : l2 }, fused);
            for (var step = 0; step < 5; step++)
            {
                using var scope = NewDisposeScope();
                var loss = (network.Forward(batch, null) - y).square().mean();
                if (l2InLoss)
                    foreach (var k in network.Kernels) loss = loss + k.square().sum() * settings.L2;
                loss.backward();
                adam.Step(0.01);
            }
            return network.Snapshot().SelectMany(l => new[] { l.Kernel, l.Bias }).ToArray();
        }

        var reference = Train(fused: false, l2InLoss: true);
        var folded = Train(fused: false, l2InLoss: false);
        var fusedFolded = Train(fused: true, l2InLoss: false);
        for (var i = 0; i < reference.Length; i++)
        {
            folded[i].ShouldBe(reference[i], 1e-5f);
            fusedFolded[i].ShouldBe(reference[i], 1e-5f);
        }
        // The penalty does something, so the comparison above is not vacuous.
        var unpenalised = Train(fused: true, l2InLoss: false, l2: 0)[0];
        unpenalised.Zip(fusedFolded[0], (a, b) => Math.Abs(a - b)).Max().ShouldBeGreaterThan(1e-6f);
    }

    [Fact]
    public void Keras_adam_first_step_moves_each_weight_by_about_lr()
    {
        // With m̂/√v̂ = ±1 on the first step, Keras' update is lr·(1 − ε-ish) per weight, sign of the gradient.
        TorchRuntime.Initialize();
        using var p = tensor(new float[] { 1, -1, 0.5f }).requires_grad_(true);
        using var adam = new KerasAdam([p], [], new TrainingSettings(L2: 0), fused: true);
        p.grad = tensor(new float[] { 2, -3, 1e-3f });
        adam.Step(0.003);
        p.detach().data<float>().ToArray().ShouldBe([1 - 0.003f, -1 + 0.003f, 0.5f - 0.003f], 1e-5f);
    }
}
