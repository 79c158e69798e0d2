namespace GpuSplit.MlService.Logs;

/// <summary>
/// Finds the first of several fragments in a log line, ignoring case, and quotes the line around it; a line that
/// holds one of the <c>Unless</c> fragments is another message that only shares the words.
/// </summary>
public sealed class LogPatterns(params string[] fragments)
{
    public IReadOnlyList<string> Unless { get; init; } = [];

    private const int Before = 80;
    private const int After = 160;

    /// <summary>The quoted part of <paramref name="line"/> around the fragment found, or null when none is there.</summary>
    public string? Match(string line)
    {
        if (Unless.Any(u => line.Contains(u, StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        foreach (var fragment in fragments)
        {
            var at = line.IndexOf(fragment, StringComparison.OrdinalIgnoreCase);
            if (at >= 0)
            {
                // ONNX Runtime's lines are long and the telling words are often at the end: quote around them.
                var start = Math.Max(0, at - Before);
                var end = Math.Min(line.Length, at + fragment.Length + After);
                return (start > 0 ? "…" : "") + line[start..end].Trim() + (end < line.Length ? "…" : "");
            }
        }

        return null;
    }
}
