namespace OrganicScreen.Training.Tests;

public class FoldAndScalerTests
{
    [Theory]
    [InlineData(10, 2)]
    [InlineData(101, 8)]
    [InlineData(8, 8)]
    public void Every_row_is_in_exactly_one_validation_fold_and_sizes_differ_by_at_most_one(int count, int k)
    {
        var folds = Folds.Create(count, k, seed: 5);
        folds.Count.ShouldBe(k);
        folds.SelectMany(f => f.ValidationRows).Order().ShouldBe(Enumerable.Range(0, count));
        var sizes = folds.Select(f => f.ValidationRows.Length).ToList();
        (sizes.Max() - sizes.Min()).ShouldBeLessThanOrEqualTo(1);
        foreach (var f in folds)
        {
            f.TrainRows.Intersect(f.ValidationRows).ShouldBeEmpty();
            (f.TrainRows.Length + f.ValidationRows.Length).ShouldBe(count);
        }
    }

    [Fact]
    public void Assignment_is_deterministic_and_depends_on_the_seed()
    {
        Folds.Assign(500, 8, 42).ShouldBe(Folds.Assign(500, 8, 42));
        Folds.Assign(500, 8, 42).ShouldNotBe(Folds.Assign(500, 8, 43));
        // Shuffled, not blocks of consecutive rows.
        Folds.Assign(500, 8, 42).Take(16).Distinct().Count().ShouldBeGreaterThan(2);
    }

    [Fact]
    public void Fewer_rows_than_folds_is_rejected() =>
        Should.Throw<ArgumentException>(() => Folds.Assign(3, 8, 1)).Message.ShouldContain("3 rows into 8 folds");

    [Fact]
    public void Scaler_uses_training_rows_only()
    {
        double[] labels = [1, 2, 3, 4, 1000];
        var scaler = MinMaxScaler.Fit(labels, [0, 1, 2, 3], "d");
        scaler.ShouldBe(new MinMaxScaler(1, 4));
        scaler.Transform(2.5).ShouldBe(0.5);
        scaler.Inverse(0.5).ShouldBe(2.5);
    }

    [Fact]
    public void A_validation_outlier_does_not_change_the_trained_folds_scaler()
    {
        var data = TestData.Linear(rows: 40);
        var fold = Folds.Create(data.Rows, 4, 1)[0];
        var withOutlier = data with { Labels = data.Labels.ToArray() };
        withOutlier.Labels[fold.ValidationRows[0]] = 1e6;
        var settings = TestData.Quick(epochs: 2);
        var a = FoldTrainer.Train(data, fold, TestData.Small, settings);
        var b = FoldTrainer.Train(withOutlier, fold, TestData.Small, settings);
        b.Model.Scaler.ShouldBe(a.Model.Scaler);
        a.Model.Scaler.ShouldBe(MinMaxScaler.Fit(data.Labels, fold.TrainRows, "x"));
        a.Model.Scaler.Max.ShouldBeLessThan(1e6);
    }
}
