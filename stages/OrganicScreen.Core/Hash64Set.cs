namespace OrganicScreen.Core;

/// <summary>
/// A set of 64-bit hashes with open addressing (linear probing) in one flat array: 8 bytes per slot and at most
/// 70 % full, so about 11–23 bytes per member, against ~100 for a <c>HashSet&lt;string&gt;</c> of SMILES. Used to
/// deduplicate libraries of tens of millions of molecules in bounded memory; callers hash with a
/// well-mixed function (e.g. truncated SHA-256), since probing relies on the low bits being uniform.
/// </summary>
public sealed class Hash64Set
{
    // 0 marks an empty slot; a real hash of 0 is stored as this stand-in (it can then collide with a real
    // hash equal to it, which costs 2^-64 of extra collision risk).
    private const ulong ZeroStandIn = 0x9E3779B97F4A7C15UL;
    private ulong[] slots;
    private int mask;

    public Hash64Set(int capacity = 1024)
    {
        var size = 16;
        while (size * 0.7 < capacity) size *= 2;
        slots = new ulong[size];
        mask = size - 1;
    }

    public long Count { get; private set; }

    /// <summary>Bytes held by the table.</summary>
    public long Bytes => slots.LongLength * sizeof(ulong);

    /// <summary>Adds <paramref name="hash"/>; false when it was already present.</summary>
    public bool Add(ulong hash)
    {
        if (hash == 0) hash = ZeroStandIn;
        if (Count + 1 > slots.Length * 0.7) Grow();
        return Insert(slots, mask, hash) && ++Count > 0;
    }

    private static bool Insert(ulong[] table, int mask, ulong hash)
    {
        for (var i = (int)(hash & (ulong)mask); ; i = (i + 1) & mask)
        {
            if (table[i] == hash) return false;
            if (table[i] != 0) continue;
            table[i] = hash;
            return true;
        }
    }

    private void Grow()
    {
        if (slots.Length >= 1 << 30) throw new InvalidOperationException("Hash64Set is full (2^30 slots)");
        var bigger = new ulong[slots.Length * 2];
        var biggerMask = bigger.Length - 1;
        foreach (var hash in slots)
            if (hash != 0) Insert(bigger, biggerMask, hash);
        slots = bigger;
        mask = biggerMask;
    }
}
