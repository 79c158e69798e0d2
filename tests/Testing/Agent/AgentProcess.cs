using System.Diagnostics;
using System.Reflection;
using System.Text;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Testing.Agent;

/// <summary>
/// The agent as a real process (the built agent.dll run by this machine's dotnet, or any agent executable), with
/// its output captured. Disposing kills it. For tests of the program itself: exit codes, one-line errors, the health
/// port as an outside client sees it.
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
    /// Starts the agent. <paramref name="executable"/> null: <c>dotnet agent.dll</c> from <see cref="BuildDirectory"/>;
    /// otherwise that file (a self-contained publish). Configuration goes in as <c>Agent__...</c> variables.
    /// </summary>
    public static AgentProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? executable = null)
    {
        ProcessStartInfo info;
        if (executable is null)
        {
            var dll = Path.Combine(BuildDirectory, "agent.dll");
            if (!File.Exists(dll))
            {
                throw new InvalidOperationException($"{dll} is not built: reference agent/GpuSplit.Agent.csproj from the test project");
            }

            info = new ProcessStartInfo(Path.Combine(MlStandIn.MlStandInApp.DotnetRoot, "dotnet"));
            info.ArgumentList.Add(dll);
        }
        else
        {
            info = new ProcessStartInfo(executable);
        }

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
