using System.Text;

namespace GpuSplit.Bench;

/// <summary>
/// bench/RESULTS.md: one section per benchmark between markers, so running one benchmark replaces its own
/// figures and keeps everyone else's.
/// </summary>
public static class ResultsFile
{
    private const string Header = "# Benchmark results\n\nFigures written by `dotnet pwsh build.ps1 bench` (or the command in each section). Each section says what produced it.\n";

    public static void Update(string path, string name, BenchmarkReport report, string command, string machine, DateTimeOffset when)
    {
        var existing = File.Exists(path) ? File.ReadAllText(path) : Header;
        var begin = $"<!-- bench:{name} -->";
        var end = $"<!-- /bench:{name} -->";
        var section = new StringBuilder()
            .AppendLine(begin)
            .Append("## ").AppendLine(report.Title)
            .AppendLine()
            .Append("Command: `").Append(command).AppendLine("`  ")
            .Append("Machine: ").Append(machine).AppendLine("  ")
            .Append("Run: ").AppendLine(when.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture))
            .AppendLine()
            .Append(report.ToMarkdown())
            .Append(end)
            .ToString();
        var start = existing.IndexOf(begin, StringComparison.Ordinal);
        var stop = existing.IndexOf(end, StringComparison.Ordinal);
        var updated = start >= 0 && stop > start
            ? existing[..start] + section + existing[(stop + end.Length)..]
            : existing.TrimEnd() + "\n\n" + section + "\n";
        File.WriteAllText(path, updated);
    }
}
