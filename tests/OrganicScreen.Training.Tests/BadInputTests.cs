using OrganicScreen.Core;

namespace OrganicScreen.Training.Tests;

public class BadInputTests
{
    static readonly SparseBitMatrix Three = SparseBitMatrix.FromRows(8, [[1], [2, 3], [4]]);

    static string CvError(LabeledFingerprints data, int k = 2) =>
        Should.Throw<ArgumentException>(() => CrossValidator.Run(data, k, 1, TestData.Small, TestData.Quick(epochs: 1))).Message;

    [Fact]
    public void Nan_labels_are_named_and_counted() =>
        CvError(new LabeledFingerprints("IE set", Three, [1, double.NaN, 2])).ShouldBe(
            "IE set: 1 of 3 labels are missing (NaN); drop those rows first (WithoutMissing).");

    [Fact]
    public void Infinite_labels_are_rejected() =>
        CvError(new LabeledFingerprints("EA set", Three, [1, double.PositiveInfinity, double.NegativeInfinity]))
            .ShouldBe("EA set: 2 of 3 labels are infinite.");

    [Fact]
    public void A_target_missing_everywhere_is_rejected() =>
        CvError(new LabeledFingerprints("EA set", Three, [double.NaN, double.NaN, double.NaN]))
            .ShouldBe("EA set: the target is missing (NaN) for every one of the 3 rows.");

    [Fact]
    public void Fewer_rows_than_folds_is_rejected() =>
        CvError(new LabeledFingerprints("IE set", Three, [1, 2, 3]), k: 8)
            .ShouldBe("IE set: 3 rows are fewer than the 8 required (one per fold).");

    [Fact]
    public void Empty_matrices_are_rejected()
    {
        CvError(new LabeledFingerprints("IE set", new SparseBitMatrix(8, [0], []), []))
            .ShouldBe("IE set: the fingerprint matrix has 0 rows.");
        CvError(new LabeledFingerprints("IE set", SparseBitMatrix.FromRows(0, [[], [], []]), [1, 2, 3]))
            .ShouldBe("IE set: the fingerprint matrix has 0 columns; expected the fingerprint bit count.");
    }

    [Fact]
    public void Row_count_mismatch_and_out_of_range_bits_are_rejected()
    {
        CvError(new LabeledFingerprints("IE set", Three, [1, 2])).ShouldBe("IE set: 3 fingerprint rows but 2 labels.");
        CvError(new LabeledFingerprints("IE set", SparseBitMatrix.FromRows(4, [[1], [9], [2]]), [1, 2, 3]))
            .ShouldBe("IE set: 1 fingerprint bit indices lie outside 0..3.");
    }

    [Fact]
    public void Constant_training_labels_cannot_be_scaled() =>
        Should.Throw<ArgumentException>(() => MinMaxScaler.Fit([2.0, 2.0, 5.0], [0, 1], "IE set"))
            .Message.ShouldBe("IE set: all 2 training labels equal 2; min-max scaling needs a spread.");

    [Fact]
    public void WithoutMissing_keeps_labelled_rows_and_their_original_indices()
    {
        var (data, rows) = new LabeledFingerprints("IE set", Three, [1, double.NaN, 2]).WithoutMissing();
        rows.ShouldBe([0, 2]);
        data.Labels.ShouldBe([1.0, 2.0]);
        data.Fingerprints.Row(1).ToArray().ShouldBe([4]);
    }
}
