using System.Runtime.InteropServices;
using System.Text;
using OrganicScreen.Core;

namespace OrganicScreen.Chem.Tests;

/// <summary>Redirecting fds 1 and 2 affects the whole process, so nothing else may run meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessStdioCollection
{
    public const string Name = "process stdio";
}

/// <summary>
/// RDKit logs to std::cerr/std::cout by default. Console.SetError would not see native writes, so this
/// points file descriptors 1 and 2 at a temp file while RDKit works and checks the file stays empty.
/// A canary written through write(2) proves the capture itself works.
/// </summary>
[Collection(ProcessStdioCollection.Name)]
public sealed partial class ConsoleSilenceTests
{
    private const string Libc = "libc.so.6";

    [LibraryImport(Libc, EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);

    [LibraryImport(Libc, EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int fd, int target);

    [LibraryImport(Libc, EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "fflush")]
    private static partial int FFlush(nint stream);

    [LibraryImport(Libc, EntryPoint = "write")]
    private static unsafe partial nint Write(int fd, byte* buffer, nint count);

    private static unsafe void WriteRaw(int fd, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* p = bytes) Write(fd, p, bytes.Length);
    }

    /// <summary>Runs <paramref name="action"/> with stdout and stderr (fds 1, 2) captured; returns what was written.</summary>
    private static string CaptureStdio(Action action)
    {
        var path = Path.GetTempFileName();
        try
        {
            // libstdc++ streams are synced with C stdio, whose stdout buffer must be flushed before
            // switching fds (and after the action, or buffered text would escape the capture).
            FFlush(0);
            int savedOut = Dup(1), savedErr = Dup(2);
            (savedOut >= 0 && savedErr >= 0).ShouldBeTrue("dup failed");
            try
            {
                using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite))
                {
                    var fd = (int)file.SafeFileHandle.DangerousGetHandle();
                    Dup2(fd, 1).ShouldBe(1);
                    Dup2(fd, 2).ShouldBe(2);
                    try
                    {
                        action();
                    }
                    finally
                    {
                        FFlush(0);
                        Dup2(savedOut, 1);
                        Dup2(savedErr, 2);
                    }
                }
            }
            finally
            {
                Close(savedOut);
                Close(savedErr);
            }
            return File.ReadAllText(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Capture_sees_native_writes_to_stderr_and_stdout()
    {
        CaptureStdio(() =>
        {
            WriteRaw(2, "err-canary;");
            WriteRaw(1, "out-canary;");
        }).ShouldBe("err-canary;out-canary;");
    }

    [Fact]
    public void Rdkit_writes_nothing_to_stdout_or_stderr()
    {
        // Syntax errors, valence and kekulisation failures are logged by RDKit; explicit-H and
        // isotope inputs trigger its warning/info logs. Fresh instance and threads included.
        string[] noisy =
        [
            "C1CC", "CC(C", "[Xx]", "Q", "C[N+](C)(C)(C)C", "c1cccc1", "c1ccccc", "C=C=C=", "",
            "[H][H]", "[H]", "[2H]C([2H])([2H])[2H]", "C[H]", "F/C=C/F", "[C@H](F)(Cl)Br", "OC(=O)C[N+](C)(C)C.[Cl-]",
        ];
        var output = CaptureStdio(() =>
        {
            var rdkit = new Rdkit();
            foreach (var smiles in noisy)
            {
                rdkit.Parse(smiles);
                try
                {
                    rdkit.Fingerprint(smiles, new FingerprintSpec(2, 2048));
                }
                catch (InvalidSmilesException)
                {
                    // expected for the invalid ones; only the console matters here
                }
            }
            var many = Enumerable.Repeat(noisy, 50).SelectMany(s => s).ToList();
            rdkit.Featurize(many, EcfpOracle.Specs, threads: 2);
            rdkit.Graphs(many, threads: 2);
            rdkit.Featurize(EcfpOracle.Load().Select(r => r.Smiles).ToList(), EcfpOracle.Specs, threads: 2);
            rdkit.Descriptors(many, threads: 2);
            foreach (var smiles in noisy.Where(s => rdkit.Parse(s).IsValid)) rdkit.DepictSvg(smiles);
            // An SD record RDKit cannot sanitise (neutral N with valence 4) and one with a bad counts line.
            var records = rdkit.ReadSdf(new MemoryStream(Encoding.UTF8.GetBytes(BrokenSdf))).ToList();
            records.Count.ShouldBe(3);
            records.ShouldAllBe(r => !r.IsValid);
        });
        output.ShouldBeEmpty();
    }

    private const string BrokenSdf = """
        pentavalent
             RDKit          2D

          4  3  0  0  0  0  0  0  0  0999 V2000
           -1.2990   -0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            0.0000    0.0000    0.0000 N   0  0  0  0  0  0  0  0  0  0  0  0
            1.2990   -0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            0.0000    1.5000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
          1  2  1  0
          2  3  2  0
          2  4  1  0
        M  END
        $$$$
        garbage
        not a molblock
        $$$$
        truncated
             RDKit          2D

          4  3  0  0  0  0  0  0  0  0999 V2000
        $$$$

        """;
}
