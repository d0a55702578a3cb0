using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace OrganicScreen.Training;

/// <summary>
/// The calling thread and one helper thread per other core, sharing the items of one loop at a time (an item goes
/// to whichever thread asks first). Prediction runs thousands of short loops per batch (a D-MPNN network: its
/// message-passing blocks, its W_h products split by rows, its W_o product, for each of 16 networks), and on this
/// VM a sleeping thread runs 0.2-0.5 ms after it is woken (`perf sched latency`: thread-pool workers 0.19 ms on
/// average over 20,000 wake-ups in a 3,000-molecule screen, OpenMP's 0.5 ms), so with <c>Parallel.For</c> and
/// OpenMP each loop left a core idle for part of its length: about 1.7 of the 2 cores were busy. The helpers here
/// spin for <see cref="Spin"/> after a loop, yielding the core to any other runnable thread now and then, so that
/// the next loop finds them awake; past that they sleep, so a team costs nothing between screens' batches.
/// </summary>
public sealed class CoreTeam : IDisposable
{
    /// <summary>How long a helper waits awake for the next loop: longer than the gaps between a network's loops.</summary>
    public static readonly TimeSpan Spin = TimeSpan.FromMilliseconds(1);

    sealed class Loop(int count, Action<int> body)
    {
        public readonly int Count = count;
        public readonly Action<int> Body = body;
        public int Next;
        public int Done;
        public Exception? Error;

        /// <summary>Takes items until none is left.</summary>
        public void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref Next) - 1) < Count)
            {
                try { Body(i); }
                catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                Interlocked.Increment(ref Done);
            }
        }
    }

    private readonly Thread[] helpers;
    private readonly SemaphoreSlim wake = new(0);
    private readonly Action? helperStart;
    private static readonly long SpinTicks = (long)(Spin.TotalSeconds * Stopwatch.Frequency);
    private Loop? loop;
    private int generation;
    private int sleeping;
    private int running;
    private volatile bool disposed;

    /// <param name="threads">Threads in all, the caller's included (1: every loop runs on the caller).</param>
    /// <param name="helperStart">Runs first on each helper thread (e.g. its OpenMP limit).</param>
    public CoreTeam(int threads, Action? helperStart = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        this.helperStart = helperStart;
        helpers = new Thread[threads - 1];
        for (var i = 0; i < helpers.Length; i++)
        {
            helpers[i] = new Thread(Help) { IsBackground = true, Name = $"CoreTeam helper {i + 1}" };
            helpers[i].Start();
        }
    }

    /// <summary>Threads in all, the caller's included.</summary>
    public int Threads => helpers.Length + 1;

    /// <summary>
    /// Runs <paramref name="body"/> for 0 … <paramref name="count"/> - 1, each once, on the caller and the helpers;
    /// returns when all have run, rethrowing the first exception. One loop at a time: a loop started while another
    /// runs (from another thread, or from inside an item) runs on its caller alone.
    /// </summary>
    public void Run(int count, Action<int> body)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (count <= 0) return;
        if (helpers.Length == 0 || count == 1 || Interlocked.Exchange(ref running, 1) == 1)
        {
            for (var i = 0; i < count; i++) body(i);
            return;
        }

        try { Share(count, body); }
        finally { Volatile.Write(ref running, 0); }
    }

    void Share(int count, Action<int> body)
    {
        var current = new Loop(count, body);
        Volatile.Write(ref loop, current);
        // Full fences on both sides (here and in Help): a helper either sees the new generation before it sleeps
        // or is counted as sleeping when this reads the count, so no wake-up is lost.
        Interlocked.Increment(ref generation);
        if (Volatile.Read(ref sleeping) > 0) wake.Release(helpers.Length);
        current.Work();
        var wait = new SpinWait();
        while (Volatile.Read(ref current.Done) < current.Count) wait.SpinOnce(sleep1Threshold: -1);
        if (current.Error is { } error) ExceptionDispatchInfo.Capture(error).Throw();
    }

    void Help()
    {
        helperStart?.Invoke();
        var seen = 0;
        while (true)
        {
            var since = Stopwatch.GetTimestamp();
            var spins = 0;
            while (Volatile.Read(ref generation) == seen && !disposed)
            {
                if (Stopwatch.GetTimestamp() - since < SpinTicks)
                {
                    Thread.SpinWait(20);
                    // Now and then give the core to a runnable thread (OpenMP's, the GC's) rather than spin over it.
                    if (++spins % 64 == 0) Thread.Yield();
                    continue;
                }

                Interlocked.Increment(ref sleeping);
                if (Volatile.Read(ref generation) == seen && !disposed) wake.Wait();
                Interlocked.Decrement(ref sleeping);
                since = Stopwatch.GetTimestamp();
            }

            if (disposed) return;
            // The loop is published before the generation, so this is that generation's loop or a later one; a
            // loop whose items are all taken costs one increment.
            seen = Volatile.Read(ref generation);
            Volatile.Read(ref loop)?.Work();
        }
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (helpers.Length > 0) wake.Release(helpers.Length);
        foreach (var helper in helpers) helper.Join();
        wake.Dispose();
    }
}
