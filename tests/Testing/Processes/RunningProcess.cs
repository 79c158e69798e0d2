using System.Diagnostics;

namespace GpuSplit.Testing.Processes;

/// <summary>
/// A long-running program of a test (the shim on the host, the agent on a GPU box via GpuBoxHost.StartProcess):
/// its output lines are kept so a test can wait for one and show them all when it fails. Disposing kills it with
/// its children.
/// </summary>
public sealed class RunningProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private int? _exitCodeAfterDispose;

    private RunningProcess(Process process, string label)
    {
        _process = process;
        Label = label;
    }

    public string Label { get; }

    public int Id => _process.Id;

    public bool HasExited => _exitCodeAfterDispose is not null || _process.HasExited;

    public int ExitCode => _exitCodeAfterDispose ?? _process.ExitCode;

    /// <summary>Everything it printed so far, stdout and stderr interleaved as they arrived.</summary>
    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>Starts <paramref name="info"/> with its output captured; <paramref name="label"/> names it in messages.</summary>
    public static RunningProcess Start(ProcessStartInfo info, string label)
    {
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var box = new RunningProcess(process, label);
        process.OutputDataReceived += (_, e) => box.Add(e.Data);
        process.ErrorDataReceived += (_, e) => box.Add(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {label}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return box;
    }

    /// <summary>Waits until a line contains <paramref name="text"/>; throws with the output so far when it exits or <paramref name="timeout"/> passes.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Label} exited with {_process.ExitCode} before printing '{text}':\n{Output}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{Label} did not print '{text}' within {timeout.TotalSeconds:0.#} s:\n{Output}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_exitCodeAfterDispose is not null)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(deadline.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        catch (OperationCanceledException)
        {
            // Still there after SIGKILL and 10 s: the rig's destroy kills everything left in the namespace.
        }
        finally
        {
            _exitCodeAfterDispose = _process.HasExited ? _process.ExitCode : -1;
            _process.Dispose();
        }
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
        }
    }
}
