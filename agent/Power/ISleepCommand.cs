namespace GpuSplit.Agent.Power;

/// <summary>Runs the configured sleep command.</summary>
public interface ISleepCommand
{
    /// <summary>Never throws for a failing command: the result says what happened.</summary>
    Task<SleepCommandResult> RunAsync(CancellationToken cancellationToken);
}

/// <param name="Error">Null when the command ran and exited with 0.</param>
public sealed record SleepCommandResult(int? ExitCode, string? Error)
{
    public bool Succeeded => Error is null;
}
