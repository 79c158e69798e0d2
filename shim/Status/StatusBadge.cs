using System.Globalization;
using System.Security;

namespace GpuSplit.Shim.Status;

/// <summary>
/// <c>GET /status.svg</c>: a badge for a homelab dashboard, e.g. "GPU host: asleep · ML jobs held", coloured
/// by what happens to ML jobs (green flowing, amber held, red failing).
/// </summary>
public static class StatusBadge
{
    // Average advance of an 11 px sans-serif glyph; close enough to size the badge without font metrics.
    private const double CharWidth = 6.4;

    public static string Render(StatusSnapshot snapshot)
    {
        var text = SecurityElement.Escape(snapshot.Badge);
        var colour = snapshot.Jobs.State switch
        {
            "flowing" => "#2e7d32",
            "held" => "#b26a00",
            "failing" => "#c62828",
            _ => "#6b6b6b",
        };
        var width = (int)Math.Ceiling((snapshot.Badge.Length * CharWidth) + 16);
        var middle = (width / 2.0).ToString("0.#", CultureInfo.InvariantCulture);
        return $"""
            <svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{text}">
              <title>{text}</title>
              <rect width="{width}" height="20" rx="3" fill="{colour}"/>
              <text x="{middle}" y="14" fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">{text}</text>
            </svg>
            """;
    }
}
