using OrganicScreen.Core;
using OrganicScreen.Training;

namespace OrganicScreen.Training.Tests;

/// <summary>Tiny problems so the whole suite stays well under a few minutes on 2 cores.</summary>
internal static class TestData
{
    public static LabeledFingerprints Linear(int rows = 160, int bits = 64, int onBits = 6, int seed = 3) =>
        SyntheticFingerprints.Create(rows, bits, onBits, seed, dataset: "tiny");

    public static TrainingSettings Quick(int epochs = 20, int batch = 32) => new(
        Epochs: epochs, BatchSize: batch, LearningRate: 0.003, WarmEpochs: epochs / 2, L2: 0.003, Seed: 11,
        Device: ComputeDevice.Cpu);

    public static FcnnArchitecture Small { get; } = new([16, 8]);

    public static SparseBitMatrix Matrix(int columns, params int[][] rows) => SparseBitMatrix.FromRows(columns, rows);
}
