using System.Diagnostics;
using GpuSplit.Testing.MlStandIn;

namespace GpuSplit.Testing.Processes;

/// <summary>
/// How a test starts one of the programs as it ships: on Linux the Native AOT executable that NativePrograms.targets
/// publishes after the build into artifacts/native/NAME/ (the project that runs it references it with NativeName);
/// elsewhere the built NAME.dll run by this machine's dotnet.
/// </summary>
/// <param name="Name">The program's name: its executable's and its assembly's.</param>
/// <param name="Project">Its project file, relative to the repository root, for the message when it is not built.</param>
public sealed record ShippedProgram(string Name, string Project, string NativeDirectory, string BuildDirectory)
{
    /// <summary>The program started in its folder (where its appsettings.json lies); the caller adds its own arguments.</summary>
    /// <exception cref="InvalidOperationException">It is not published (or not built).</exception>
    public ProcessStartInfo StartInfo()
    {
        if (OperatingSystem.IsLinux())
        {
            var executable = Path.Combine(NativeDirectory, Name);
            return File.Exists(executable)
                ? new ProcessStartInfo(executable) { WorkingDirectory = NativeDirectory }
                : throw new InvalidOperationException(
                    $"{executable} is not published: reference {Project} with NativeName=\"{Name}\" and import tests/Testing/NativePrograms.targets");
        }

        var dll = Path.Combine(BuildDirectory, Name + ".dll");
        return File.Exists(dll)
            ? new ProcessStartInfo(Path.Combine(MlStandInApp.DotnetRoot, "dotnet"), [dll]) { WorkingDirectory = BuildDirectory }
            : throw new InvalidOperationException($"{dll} is not built: reference {Project} from the test project");
    }
}
