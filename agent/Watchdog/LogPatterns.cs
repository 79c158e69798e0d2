namespace GpuSplit.Agent.Watchdog;

/// <summary>Finds the first of several fragments in a log line, ignoring case, and quotes the line briefly.</summary>
public sealed class LogPatterns(params string[] fragments)
{
    private const int QuoteLength = 240;

    public bool Matches(string line) => fragments.Any(f => line.Contains(f, StringComparison.OrdinalIgnoreCase));

    public static string Quote(string line) => line.Length <= QuoteLength ? line.Trim() : line[..QuoteLength].Trim() + "…";
}
