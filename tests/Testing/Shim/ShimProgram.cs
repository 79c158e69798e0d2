using System.Diagnostics;
using System.Reflection;
using GpuSplit.Testing.MlStandIn;

namespace GpuSplit.Testing.Shim;

/// <summary>The built shim (shim.dll) as a program to run: a test project that uses it references shim/ so that it is built.</summary>
public static class ShimProgram
{
    public static string BuildDirectory { get; } = typeof(ShimProgram).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ShimDirectory").Value!;

    /// <summary>
    /// A power ledger of this shim's own (<c>Shim:Power:LedgerFile</c>): shims of other tests must not resume queues or
    /// press "Missing" for what this one paused or lost. Given first, so a test's own value wins.
    /// </summary>
    public static string LedgerArgument() =>
        $"--Shim:Power:LedgerFile={Path.Combine(Path.GetTempPath(), "gpusplit-tests", $"shim-power-{Guid.NewGuid():N}.json")}";

    /// <summary><c>dotnet shim.dll ARGS</c>, run from its build folder so that its appsettings.json applies.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var dll = Path.Combine(BuildDirectory, "shim.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is not built: reference shim/GpuSplit.Shim.csproj from the test project");
        }

        var info = new ProcessStartInfo(Path.Combine(MlStandInApp.DotnetRoot, "dotnet")) { WorkingDirectory = BuildDirectory };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add(LedgerArgument());
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }
}
