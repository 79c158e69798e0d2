using System.Diagnostics;
using System.Reflection;
using System.Text;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Testing.Agent;

/// <summary>
/// The agent as a real process, as it ships: on Linux the Native AOT executable that NativePrograms.targets publishes
/// after the build into artifacts/native/agent/ (a project that runs it references agent/ with NativeName="agent");
/// elsewhere the built agent.dll run by this machine's dotnet; or any agent executable. Its output is captured;
/// disposing kills it. For tests of the program itself: exit codes, one-line errors, the health port as an outside
/// client sees it.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AgentProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The agent's build output; a test project that uses this class references agent/ so that it is built.</summary>
    public static string BuildDirectory { get; } = typeof(AgentProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "AgentDirectory").Value!;

    /// <summary>
    /// The agent started in its folder (where its appsettings.json lies), before its own arguments: the native executable
    /// on Linux, otherwise this machine's dotnet with agent.dll. Throws when that is not built.
    /// </summary>
    public static ProcessStartInfo StartInfo() => Program.StartInfo();

    private static ShippedProgram Program { get; } = new("agent", "agent/GpuSplit.Agent.csproj",
        typeof(AgentProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "AgentNativeDirectory").Value!,
        BuildDirectory);

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts the agent. <paramref name="executable"/> null: the agent of <see cref="StartInfo"/>; otherwise that file (a
    /// publish of a test's own). Configuration goes in as <c>Agent__...</c> variables.
    /// </summary>
    public static AgentProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? executable = null)
    {
        var info = executable is null ? StartInfo() : new ProcessStartInfo(executable);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = Path.GetTempPath();
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return new AgentProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start the agent"));
    }

    /// <summary>Waits for the process to exit on its own; throws with its output when it does not within <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the agent did not exit within {timeout.TotalSeconds} s; output:\n{Output}");
        }

        // The asynchronous readers may still hold the last lines.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Waits until the output contains <paramref name="text"/>.</summary>
    public Task WaitForOutputAsync(string text, TimeSpan timeout) =>
        Waiting.UntilAsync(() => Task.FromResult(Output), o => o.Contains(text, StringComparison.Ordinal) || HasExited, timeout,
            $"the agent to print '{text}'").ContinueWith(t =>
        {
            if (!Output.Contains(text, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"the agent exited or timed out before printing '{text}'; output:\n{Output}", t.Exception);
            }
        }, TaskScheduler.Default);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
