using System.Diagnostics;
using System.Reflection;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Testing.Shim;

/// <summary>
/// The shim as a program to run, as it ships: on Linux the Native AOT executable that NativePrograms.targets publishes
/// after the build into artifacts/native/shim/ (a test project that runs it references shim/ with NativeName="shim");
/// elsewhere the built shim.dll run by this machine's dotnet.
/// </summary>
public static class ShimProgram
{
    public static string BuildDirectory { get; } = typeof(ShimProgram).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ShimDirectory").Value!;

    private static ShippedProgram Program { get; } = new("shim", "shim/GpuSplit.Shim.csproj",
        typeof(ShimProgram).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ShimNativeDirectory").Value!,
        BuildDirectory);

    /// <summary>
    /// A power ledger of this shim's own (<c>Shim:Power:LedgerFile</c>): shims of other tests must not resume queues or
    /// press "Missing" for what this one paused or lost. Given first, so a test's own value wins.
    /// </summary>
    public static string LedgerArgument() =>
        $"--Shim:Power:LedgerFile={Path.Combine(Path.GetTempPath(), "gpusplit-tests", $"shim-power-{Guid.NewGuid():N}.json")}";

    /// <summary>
    /// <c>shim ARGS</c> (a ledger of its own first), run from its own folder so that its appsettings.json applies.
    /// </summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args) => StartInfo(args, withLedger: true);

    /// <summary><c>shim ARGS</c> exactly, for tests of the program's own start-up.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, bool withLedger)
    {
        var info = Program.StartInfo();
        if (withLedger)
        {
            info.ArgumentList.Add(LedgerArgument());
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }
}
