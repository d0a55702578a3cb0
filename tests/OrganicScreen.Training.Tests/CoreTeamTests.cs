using System.Collections.Concurrent;
using OrganicScreen.Core;
using OrganicScreen.Training.Graph;
using OrganicScreen.Training.Tests.Graph;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Tests;

/// <summary>
/// <see cref="CoreTeam"/>: every item of every loop runs exactly once, on the caller and the helper; errors come back
/// to the caller; and a D-MPNN ensemble whose loops run on a team predicts libtorch's own bits.
/// </summary>
public class CoreTeamTests
{
    static CoreTeamTests() => TorchRuntime.Initialize();

    [Fact]
    public void Every_item_of_every_loop_runs_once_and_the_helper_takes_a_share()
    {
        using var team = new CoreTeam(2);
        team.Threads.ShouldBe(2);
        var random = new Random(5);
        // Many short loops back to back (the helper spinning between them) and some after a pause (the helper asleep).
        for (var loop = 0; loop < 3000; loop++)
        {
            if (loop % 1000 == 999) Thread.Sleep(20);
            var count = random.Next(0, 40);
            var runs = new int[count];
            team.Run(count, i => Interlocked.Increment(ref runs[i]));
            runs.ShouldAllBe(r => r == 1, $"loop {loop} of {count} items");
        }

        // Items long enough that the caller cannot take them all before the helper wakes.
        var threads = new ConcurrentDictionary<int, int>();
        team.Run(20, _ =>
        {
            threads.AddOrUpdate(Environment.CurrentManagedThreadId, 1, (_, n) => n + 1);
            Thread.Sleep(2);
        });
        threads.Values.Sum().ShouldBe(20);
        threads.Count.ShouldBe(2, "the caller and the helper each ran some items");
        threads.Keys.ShouldContain(Environment.CurrentManagedThreadId);
    }

    [Fact]
    public void A_failing_item_fails_the_loop_after_the_others_ran_and_the_team_goes_on()
    {
        using var team = new CoreTeam(2);
        var ran = 0;
        var error = Should.Throw<InvalidOperationException>(() => team.Run(50, i =>
        {
            Interlocked.Increment(ref ran);
            if (i == 17) throw new InvalidOperationException("item 17");
        }));
        error.Message.ShouldBe("item 17");
        ran.ShouldBe(50);

        var sum = 0;
        team.Run(10, i => Interlocked.Add(ref sum, i));
        sum.ShouldBe(45);
    }

    [Fact]
    public void A_loop_started_inside_an_item_runs_on_that_items_thread()
    {
        using var team = new CoreTeam(2);
        var inner = new int[8, 5];
        var innerThreads = new int[8, 5];
        var outerThreads = new int[8];
        team.Run(8, i =>
        {
            outerThreads[i] = Environment.CurrentManagedThreadId;
            team.Run(5, j => { Interlocked.Increment(ref inner[i, j]); innerThreads[i, j] = Environment.CurrentManagedThreadId; });
            Thread.Sleep(1);
        });
        for (var i = 0; i < 8; i++)
            for (var j = 0; j < 5; j++)
            {
                inner[i, j].ShouldBe(1);
                innerThreads[i, j].ShouldBe(outerThreads[i]);
            }
    }

    [Fact]
    public void A_one_thread_team_runs_on_the_caller_and_a_disposed_team_refuses()
    {
        var caller = Environment.CurrentManagedThreadId;
        using (var alone = new CoreTeam(1))
        {
            var order = new List<int>();
            alone.Run(5, i => { Environment.CurrentManagedThreadId.ShouldBe(caller); order.Add(i); });
            order.ShouldBe([0, 1, 2, 3, 4]);
        }

        var team = new CoreTeam(2, () => { });
        team.Dispose();
        team.Dispose();
        Should.Throw<ObjectDisposedException>(() => team.Run(3, _ => { }));
        Should.Throw<ArgumentOutOfRangeException>(() => new CoreTeam(0));
    }

    /// <summary>
    /// The `best` profile's shape on OCELOT (hidden 300, depth 4, bfloat16 W_h products): an ensemble's members share
    /// each batch's loops on a team, their W_h products split by rows over it, and the predictions are those of each
    /// member alone through libtorch (OpenMP, no team, no managed W_o), to the bit.
    /// </summary>
    [Fact]
    public void An_ensemble_on_a_team_predicts_libtorchs_bits()
    {
        GraphFoldModel Member(int seed)
        {
            var architecture = new DmpnnArchitecture(Hidden: 300, Depth: 4, HeadHidden: [300], Precision: DmpnnArchitecture.BFloat16);
            using var network = DmpnnNetwork.Create(architecture, 133, 4, 2, CPU, seed: (ulong)seed);
            return new GraphFoldModel(architecture, 133, 4, ["IE", "EA"],
                [new TargetScaler(TargetScaling.Standard, 7, 0.5), new TargetScaler(TargetScaling.Standard, 2, 0.4)], network.Snapshot());
        }

        var rng = new SplitMix64(41);
        // 1,300 molecules: a full graph batch of 1,000 and one of 300, each well over the row quantum per thread.
        var graphs = GraphTestData.ChempropShaped(ref rng, 1300);
        var features = new GivenFeatures(graphs.Molecules, graphs: graphs);
        var ensemble = new Ensemble([Member(1), Member(2)]);
        var alone = ensemble.Predict(features);
        using var predictor = ensemble.Predictor();
        var onTeam = predictor.Predict(features);
        predictor.TeamThreads.ShouldBe(get_num_threads() >= 2 ? get_num_threads() : 0);

        for (var t = 0; t < 2; t++)
        {
            for (var i = 0; i < graphs.Molecules; i++)
            {
                BitConverter.DoubleToInt64Bits(onTeam[t].Mean[i]).ShouldBe(BitConverter.DoubleToInt64Bits(alone[t].Mean[i]), $"target {t}, molecule {i}");
                BitConverter.DoubleToInt64Bits(onTeam[t].StandardDeviation[i]).ShouldBe(BitConverter.DoubleToInt64Bits(alone[t].StandardDeviation[i]), $"target {t}, molecule {i}");
            }
            alone[t].Mean.Distinct().Count().ShouldBeGreaterThan(graphs.Molecules / 2);
        }
    }
}
