namespace GpuSplit.Planner.Cli;

/// <summary>Bad input from the person at the keyboard: printed as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
