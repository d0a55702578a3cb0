using System.IO.Compression;
using System.Text;
using OrganicScreen.Pipeline.Sharding;

namespace OrganicScreen.Pipeline.Tests;

/// <summary>Shard planning and reading: the lines and line numbers StreamReader gives, whatever the cut.</summary>
public sealed class LibraryShardsTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("os-shards-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static List<string> StreamReaderLines(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines;
    }

    // \n, \r\n, a lone \r, empty lines, a non-ASCII character, a mid-file U+FEFF, no final terminator.
    private static readonly string[] Tricky =
    [
        "\uFEFFCCO\r\nc1ccccc1\n\nC1CC\rO=C=O\r\n\r\n",
        "\uFEFF",
        "",
        "only line",
        "a\nb\n",
        "a\r\rb\r\n\u00e9\n\uFEFFmid\nlast",
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Any_cut_reads_back_the_lines_StreamReader_reads(int which)
    {
        var path = Write("lib.smi", Encoding.UTF8.GetBytes(Tricky[which]));
        var expected = StreamReaderLines(path);
        for (var shards = 1; shards <= 8; shards++)
        {
            var plan = LibraryShards.Plan(path, shards);
            plan.Sum(s => s.Lines).ShouldBe(expected.Count);
            plan.Count.ShouldBe(Math.Max(1, Math.Min(shards, expected.Count)));
            var lines = plan.SelectMany(s =>
            {
                var read = LibraryShards.ReadLines(path, s).ToList();
                read.Count.ShouldBe((int)s.Lines, $"shard {s.Index} of {shards}");
                return read;
            }).ToList();
            lines.ShouldBe(expected, $"{shards} shards");
            plan.Select(s => s.FirstLine).ShouldBe(plan.Select(s => plan.Where(p => p.Index < s.Index).Sum(p => p.Lines)));
            plan.Sum(s => s.Bytes).ShouldBe(new FileInfo(path).Length);
        }
    }

    [Fact]
    public void Shards_align_to_whole_batches_and_gzip_shards_like_plain_text()
    {
        var text = string.Concat(Enumerable.Range(0, 1000).Select(i => $"C{new string('C', i % 7)}O {i}\n"));
        var plain = Write("lib.smi", Encoding.UTF8.GetBytes(text));
        using (var gz = new GZipStream(File.Create(Path.Combine(folder, "lib.smi.gz")), CompressionLevel.Fastest)) gz.Write(Encoding.UTF8.GetBytes(text));
        var zipped = Path.Combine(folder, "lib.smi.gz");

        var plan = LibraryShards.Plan(plain, 3, alignLines: 128);
        plan.Select(s => s.FirstLine).ShouldBe([0, 256, 640]);            // 8 batches of 128 (the last short): 2 + 3 + 3
        plan.Select(s => s.Lines).ShouldBe([256, 384, 360]);
        LibraryShards.Plan(zipped, 3, alignLines: 128).ShouldBe(plan);      // same offsets and hashes: they are of the text
        LibraryShards.ReadLines(zipped, plan[1]).ShouldBe(LibraryShards.ReadLines(plain, plan[1]));
        LibraryShards.Plan(plain, 50, alignLines: 128).Count.ShouldBe(8);   // no more shards than batches
    }

    [Fact]
    public void A_library_changed_after_planning_is_refused()
    {
        var path = Write("lib.smi", Encoding.UTF8.GetBytes("CCO\nCCN\nCCC\nCCCl\n"));
        var plan = LibraryShards.Plan(path, 2);
        File.WriteAllText(path, "CCO\nCCN\nCCC\nCCBr\n");
        LibraryShards.ReadLines(path, plan[0]).ToList().ShouldBe(["CCO", "CCN"]);
        Should.Throw<InvalidDataException>(() => LibraryShards.ReadLines(path, plan[1]).ToList()).Message.ShouldContain("changed since it was split");
    }

    [Fact]
    public void Utf16_libraries_are_refused_with_the_reason()
    {
        var path = Write("lib.smi", Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("CCO\n")).ToArray());
        Should.Throw<FormatException>(() => LibraryShards.Plan(path, 2)).Message.ShouldContain("UTF-8");
    }

    [Fact]
    public void Slurm_array_specs_compress_runs()
    {
        SlurmExecutor.ArraySpec([0, 1, 2, 5, 7, 8]).ShouldBe("0-2,5,7-8");
        SlurmExecutor.ArraySpec([3]).ShouldBe("3");
    }
}
