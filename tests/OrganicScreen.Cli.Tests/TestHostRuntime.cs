using System.Runtime.CompilerServices;
using OrganicScreen.Training;

namespace OrganicScreen.Tests;

internal static class TestHostRuntime
{
    /// <summary>
    /// The Cli and Pipeline test hosts (this file is linked into both) train and screen in one process, tests side by
    /// side. libtorch is set up for training before any test runs, whichever comes first: a prediction-only process
    /// hands freed heap pages back during library screens, which is unsafe next to a training (see ShippedModel's
    /// releasesFreeMemory).
    /// </summary>
#pragma warning disable CA2255 // A test assembly is the host's entry here, not a library others load.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize() => TorchRuntime.Initialize();
}
