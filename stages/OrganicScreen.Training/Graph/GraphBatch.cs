using System.Runtime.InteropServices;
using OrganicScreen.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Graph;

/// <summary>
/// Consecutive molecules of a <see cref="GraphBatch"/>: atoms [AtomStart, AtomEnd) and undirected bonds
/// [BondStart, BondEnd), i.e. directed bonds [2·BondStart, 2·BondEnd). No bond joins two blocks.
/// </summary>
internal readonly record struct GraphBlock(int AtomStart, int AtomEnd, int BondStart, int BondEnd)
{
    public int DirectedStart => 2 * BondStart;
    public int DirectedEnd => 2 * BondEnd;
    public int DirectedBonds => DirectedEnd - DirectedStart;
}

/// <summary>
/// A mini-batch of molecules as the tensors the D-MPNN's forward pass indexes with. Atoms and bonds of all
/// molecules are numbered batch-globally, molecule after molecule. Undirected bond j becomes directed bonds 2j
/// (begin→end) and 2j+1 (end→begin), so <see cref="Reverse"/> pairs them and <see cref="BondOfDirected"/> is e/2.
/// The tensor formulation (CUDA, dropout) indexes with those tensors; the CPU's fused message passing relies on
/// the layout itself (reverse = e ^ 1, bond = e / 2) and reads the managed copies below.
/// Built once per batch with plain loops over the flat arrays, written straight into tensor memory.
/// </summary>
public sealed class GraphBatch : IDisposable
{
    public int Molecules { get; }
    public int Atoms { get; }
    /// <summary>Undirected bonds.</summary>
    public int Bonds { get; }
    public int DirectedBonds => 2 * Bonds;

    /// <summary>[Atoms, AtomFeatureCount].</summary>
    public Tensor AtomFeatures { get; }
    /// <summary>[Bonds, BondFeatureCount], one row per undirected bond (both directions share it).</summary>
    public Tensor BondFeatures { get; }
    /// <summary>[DirectedBonds] atom a of directed bond a→b.</summary>
    public Tensor Source { get; }
    /// <summary>[DirectedBonds] atom b of directed bond a→b.</summary>
    public Tensor Target { get; }
    /// <summary>[DirectedBonds] index of b→a.</summary>
    public Tensor Reverse { get; }
    /// <summary>[DirectedBonds] undirected bond of each directed bond (row of <see cref="BondFeatures"/>).</summary>
    public Tensor BondOfDirected { get; }
    /// <summary>[Atoms] molecule (0..Molecules−1) of each atom, for the readout's index_add.</summary>
    public Tensor AtomMolecule { get; }
    /// <summary>[Molecules, 1] float atom counts, for the mean readout.</summary>
    public Tensor AtomCounts { get; }

    /// <summary>Atom a of each directed bond a→b (the CPU kernels' copy of <see cref="Source"/>).</summary>
    internal int[] DirectedSource { get; }
    /// <summary>Atom b of each directed bond a→b.</summary>
    internal int[] DirectedTarget { get; }
    /// <summary>
    /// Directed bonds grouped by target atom, ascending within an atom: those ending at atom a are
    /// <c>Incoming[IncomingOffsets[a]..IncomingOffsets[a+1]]</c>. Their reverses (index ^ 1) are the bonds leaving a.
    /// </summary>
    internal int[] Incoming { get; }
    internal int[] IncomingOffsets { get; }
    /// <summary>Consecutive molecules grouped into blocks that the CPU message passing processes independently.</summary>
    internal IReadOnlyList<GraphBlock> Blocks { get; }

    /// <summary>
    /// <see cref="AtomFeatures"/> by rows of non-zero entries (one-hot groups and the scaled mass: about 8 of 133), built
    /// on first use (prediction's sparse atom products; an ensemble's members share it) and never for training batches.
    /// Not thread-safe: read it before the work fans out.
    /// </summary>
    internal SparseRows AtomFeatureRows => atomFeatureRows ??= SparseRows.Of(AtomFeatures);

    SparseRows? atomFeatureRows;

    /// <summary>
    /// The threads a prediction on the CPU shares this batch's loops between (its owner's, not the batch's: set by the
    /// predictor that made the batch, which also holds its own thread to one OpenMP thread while the batch runs, as
    /// the team's helpers are); null: <c>Parallel.For</c> and OpenMP, as in training.
    /// </summary>
    internal CoreTeam? Team { get; set; }

    GraphBatch(int molecules, int atoms, int bonds, Tensor atomFeatures, Tensor bondFeatures, Tensor source, Tensor target,
        Tensor reverse, Tensor bondOfDirected, Tensor atomMolecule, Tensor atomCounts, int[] directedSource, int[] directedTarget,
        int[] incoming, int[] incomingOffsets, IReadOnlyList<GraphBlock> blocks)
    {
        Molecules = molecules; Atoms = atoms; Bonds = bonds;
        AtomFeatures = atomFeatures; BondFeatures = bondFeatures; Source = source; Target = target; Reverse = reverse;
        BondOfDirected = bondOfDirected; AtomMolecule = atomMolecule; AtomCounts = atomCounts;
        DirectedSource = directedSource; DirectedTarget = directedTarget; Incoming = incoming; IncomingOffsets = incomingOffsets;
        Blocks = blocks;
    }

    /// <summary>
    /// Directed bonds per block: about 300 KB per [rows, 300] float tensor, so a block's message-passing rows stay
    /// in a core's 2 MB L2 cache from one step to the next (a whole 50-molecule batch is ~3 MB per tensor).
    /// </summary>
    internal const int BlockDirectedBonds = 256;

    public static GraphBatch Create(MolecularGraphs graphs, Device device) =>
        Create(graphs, Enumerable.Range(0, graphs.Molecules).ToArray(), device);

    /// <summary>Molecules <paramref name="molecules"/> of <paramref name="graphs"/>, in that order.</summary>
    public static GraphBatch Create(MolecularGraphs graphs, ReadOnlySpan<int> molecules, Device device)
    {
        var g = graphs;
        if (molecules.Length == 0) throw new ArgumentException("A graph batch needs at least one molecule.");
        int atoms = 0, bonds = 0;
        foreach (var m in molecules)
        {
            if ((uint)m >= (uint)g.Molecules) throw new ArgumentOutOfRangeException(nameof(molecules), m, $"The graphs hold {g.Molecules} molecules.");
            atoms += g.Atoms(m);
            bonds += g.Bonds(m);
        }
        int fa = g.AtomFeatureCount, fb = g.BondFeatureCount, directed = 2 * bonds;
        var atomFeatures = empty([atoms, fa], ScalarType.Float32);
        var bondFeatures = empty([bonds, fb], ScalarType.Float32);
        var source = empty([directed], ScalarType.Int64);
        var target = empty([directed], ScalarType.Int64);
        var reverse = empty([directed], ScalarType.Int64);
        var bondOf = empty([directed], ScalarType.Int64);
        var atomMolecule = empty([atoms], ScalarType.Int64);
        var atomCounts = empty([molecules.Length, 1], ScalarType.Float32);
        var blocks = new List<GraphBlock>();
        var directedSource = new int[directed];
        var directedTarget = new int[directed];
        {
            var af = Floats(atomFeatures);
            var bf = Floats(bondFeatures);
            var src = Longs(source);
            var dst = Longs(target);
            var rev = Longs(reverse);
            var of = Longs(bondOf);
            var mol = Longs(atomMolecule);
            var counts = Floats(atomCounts);
            int atomAt = 0, bondAt = 0, blockAtom = 0, blockBond = 0;
            for (var i = 0; i < molecules.Length; i++)
            {
                var m = molecules[i];
                int n = g.Atoms(m), nb = g.Bonds(m);
                g.AtomFeatures.AsSpan(g.AtomOffsets[m] * fa, n * fa).CopyTo(af.Slice(atomAt * fa));
                g.BondFeatures.AsSpan(g.BondOffsets[m] * fb, nb * fb).CopyTo(bf.Slice(bondAt * fb));
                mol.Slice(atomAt, n).Fill(i);
                counts[i] = n;
                for (var b = 0; b < nb; b++)
                {
                    var j = bondAt + b;
                    long a0 = atomAt + g.BondAtoms[2 * (g.BondOffsets[m] + b)];
                    long a1 = atomAt + g.BondAtoms[2 * (g.BondOffsets[m] + b) + 1];
                    src[2 * j] = a0; dst[2 * j] = a1; rev[2 * j] = 2 * j + 1; of[2 * j] = j;
                    src[2 * j + 1] = a1; dst[2 * j + 1] = a0; rev[2 * j + 1] = 2 * j; of[2 * j + 1] = j;
                    directedSource[2 * j] = directedTarget[2 * j + 1] = (int)a0;
                    directedSource[2 * j + 1] = directedTarget[2 * j] = (int)a1;
                }
                atomAt += n;
                bondAt += nb;
                if (2 * (bondAt - blockBond) >= BlockDirectedBonds || i == molecules.Length - 1)
                {
                    blocks.Add(new GraphBlock(blockAtom, atomAt, blockBond, bondAt));
                    (blockAtom, blockBond) = (atomAt, bondAt);
                }
            }
        }
        // Counting sort by target atom; bonds are visited in ascending order, so each atom's list is ascending.
        var incomingOffsets = new int[atoms + 1];
        foreach (var b in directedTarget) incomingOffsets[b + 1]++;
        for (var a = 0; a < atoms; a++) incomingOffsets[a + 1] += incomingOffsets[a];
        var incoming = new int[directed];
        var fill = incomingOffsets[..^1];
        for (var e = 0; e < directed; e++) incoming[fill[directedTarget[e]]++] = e;
        return new GraphBatch(molecules.Length, atoms, bonds, To(atomFeatures, device), To(bondFeatures, device), To(source, device),
            To(target, device), To(reverse, device), To(bondOf, device), To(atomMolecule, device), To(atomCounts, device),
            directedSource, directedTarget, incoming, incomingOffsets, blocks);
    }

    static Span<float> Floats(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);

    /// <summary>A CPU matrix by rows of non-zero entries: row r's are <c>Columns[Offsets[r]..Offsets[r+1]]</c>, ascending, with their values.</summary>
    internal sealed record SparseRows(int[] Offsets, int[] Columns, float[] Values)
    {
        public static SparseRows Of(Tensor matrix)
        {
            if (matrix.device_type != DeviceType.CPU || matrix.dim() != 2 || !matrix.is_contiguous())
                throw new ArgumentException("Sparse rows are read from a contiguous CPU matrix.", nameof(matrix));
            int rows = (int)matrix.shape[0], width = (int)matrix.shape[1];
            var values = Floats(matrix);
            var offsets = new int[rows + 1];
            var columns = new List<int>(rows * 8);
            var nonZero = new List<float>(rows * 8);
            for (var r = 0; r < rows; r++)
            {
                for (var k = 0; k < width; k++)
                {
                    if (values[r * width + k] == 0) continue;
                    columns.Add(k);
                    nonZero.Add(values[r * width + k]);
                }
                offsets[r + 1] = columns.Count;
            }
            return new SparseRows(offsets, [.. columns], [.. nonZero]);
        }
    }

    static Span<long> Longs(Tensor t) => MemoryMarshal.Cast<byte, long>(t.bytes);

    static Tensor To(Tensor cpu, Device device)
    {
        if (device.type == DeviceType.CPU) return cpu;
        var moved = cpu.to(device);
        cpu.Dispose();
        return moved;
    }

    public void Dispose()
    {
        AtomFeatures.Dispose();
        BondFeatures.Dispose();
        Source.Dispose();
        Target.Dispose();
        Reverse.Dispose();
        BondOfDirected.Dispose();
        AtomMolecule.Dispose();
        AtomCounts.Dispose();
    }
}
