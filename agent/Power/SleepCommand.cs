using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Power;

/// <summary>
/// Runs <see cref="SleepOptions.Command"/> directly (no shell, so no quoting surprises), within its timeout, and
/// reports a non-zero exit with what the command printed, so "Access denied" from systemd reaches the status.
/// </summary>
public sealed partial class SleepCommand(IOptions<SleepOptions> options, ILogger<SleepCommand> logger) : ISleepCommand
{
    private const int MaxOutputChars = 400;
    private readonly SleepOptions _options = options.Value;

    public async Task<SleepCommandResult> RunAsync(CancellationToken cancellationToken)
    {
        if (!_options.Configured)
        {
            return new SleepCommandResult(null, "no sleep command is configured (Agent__Sleep__Command)");
        }

        var start = new ProcessStartInfo(_options.Command!)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in _options.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var commandLine = string.Join(' ', [_options.Command, .. _options.Arguments]);
        LogRunning(logger, commandLine);
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return Failed(commandLine, null, $"cannot run '{_options.Command}': {e.Message}");
        }

        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            return cancellationToken.IsCancellationRequested
                ? Failed(commandLine, null, "cancelled: the agent is stopping")
                : Failed(commandLine, null, $"did not finish within {_options.Timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s and was stopped");
        }

        if (process.ExitCode != 0)
        {
            var said = Trim(await errors) is { Length: > 0 } e ? e : Trim(await output);
            return Failed(commandLine, process.ExitCode, said.Length > 0 ? $"exit code {process.ExitCode}: {said}" : $"exit code {process.ExitCode}");
        }

        LogDone(logger, commandLine);
        return new SleepCommandResult(0, null);
    }

    private SleepCommandResult Failed(string commandLine, int? exitCode, string error)
    {
        LogFailed(logger, commandLine, error);
        return new SleepCommandResult(exitCode, $"{commandLine}: {error}");
    }

    private static string Trim(string text)
    {
        var line = string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= MaxOutputChars ? line : line[..MaxOutputChars] + "...";
    }

    [LoggerMessage(EventId = 800, Level = LogLevel.Warning, Message = "Putting the box to sleep: {CommandLine}")]
    private static partial void LogRunning(ILogger logger, string commandLine);

    [LoggerMessage(EventId = 801, Level = LogLevel.Information, Message = "Sleep command finished: {CommandLine}")]
    private static partial void LogDone(ILogger logger, string commandLine);

    [LoggerMessage(EventId = 802, Level = LogLevel.Error, Message = "Sleep command failed, the box stays awake: {CommandLine}: {Error}")]
    private static partial void LogFailed(ILogger logger, string commandLine, string error);
}
