using System.CommandLine;
using OrganicScreen.Cli;

// TorchSharp's libtorch reads OMP_WAIT_POLICY when its OpenMP runtime starts, which is before any
// of our code could set it: the launcher scripts export it, and CliHost re-executes if it is absent.
return await CliHost.RunAsync(args);
