using System.Text;

namespace GpuSplit.Bench;

/// <summary>A benchmark's figures as a table, with notes on method and conditions.</summary>
public sealed record BenchmarkReport(string Title, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows, IReadOnlyList<string> Notes)
{
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", Columns).AppendLine(" |");
        text.Append('|').AppendJoin('|', Columns.Select(_ => "---")).AppendLine("|");
        foreach (var row in Rows)
        {
            text.Append("| ").AppendJoin(" | ", row).AppendLine(" |");
        }

        foreach (var note in Notes)
        {
            text.AppendLine().Append("- ").Append(note);
        }

        return text.ToString().TrimEnd() + Environment.NewLine;
    }

    public string ToConsole()
    {
        var widths = Columns.Select((c, i) => Math.Max(c.Length, Rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        var text = new StringBuilder().AppendLine(Title);
        text.AppendLine(string.Join("  ", Columns.Select((c, i) => c.PadRight(widths[i]))));
        foreach (var row in Rows)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))));
        }

        foreach (var note in Notes)
        {
            text.Append("  * ").AppendLine(note);
        }

        return text.ToString();
    }
}
