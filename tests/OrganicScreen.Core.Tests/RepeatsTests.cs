using OrganicScreen.Core;

namespace OrganicScreen.Core.Tests;

public sealed class RepeatsTests
{
    [Fact]
    public void The_median_of_an_odd_count_is_the_middle_value_whatever_the_order()
    {
        var runs = new Repeats([9.56, 9.13, 14.2]);
        runs.Median.ShouldBe(9.56);
        runs.Min.ShouldBe(9.13);
        runs.Max.ShouldBe(14.2);
        runs.MedianIndex.ShouldBe(0);
        runs.Describe("F2", " s").ShouldBe("median 9.56 s (9.13–14.20, 3 runs)");
    }

    [Fact]
    public void The_median_of_an_even_count_is_the_mean_of_the_two_middle_values()
    {
        var runs = new Repeats([4.0, 1.0, 3.0, 100.0]);
        runs.Median.ShouldBe(3.5);
        runs.MedianIndex.ShouldBe(2, "the lower middle value, 3.0, is reported in detail");
    }

    [Fact]
    public void One_run_is_reported_as_it_is()
    {
        var runs = new Repeats([1234.6]);
        runs.Median.ShouldBe(1234.6);
        runs.Describe("N0", " molecules/s").ShouldBe("1,235 molecules/s");
    }

    [Fact]
    public void No_runs_or_a_non_finite_run_is_refused()
    {
        Should.Throw<ArgumentException>(() => new Repeats([]));
        Should.Throw<ArgumentException>(() => new Repeats([1.0, double.NaN]));
    }
}
