using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace GpuSplit.Bench.Shim;

/// <summary>What one wrk run measured.</summary>
public sealed record WrkResult(double P50Ms, double P99Ms, double RequestsPerSecond, long Requests, long NotOk);

/// <summary>wrk on loopback, POSTing one fixed body (an Immich /predict form) over kept-alive connections.</summary>
public static partial class Wrk
{
    public static async Task<WrkResult> RunAsync(Uri target, string bodyFile, string contentType, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        var script = Path.ChangeExtension(bodyFile, ".lua");
        await File.WriteAllTextAsync(script, $$"""
            local file = io.open("{{bodyFile}}", "rb")
            wrk.body = file:read("*a")
            file:close()
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "{{contentType}}"
            """, cancellationToken);
        var start = new ProcessStartInfo("wrk") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "-t2", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "--latency", "--timeout", "10s", "-s", script, new Uri(target, "/predict").ToString(),
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var wrk = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start");
        var output = await wrk.StandardOutput.ReadToEndAsync(cancellationToken);
        await wrk.WaitForExitAsync(cancellationToken);
        if (wrk.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk failed: {await wrk.StandardError.ReadToEndAsync(cancellationToken)}");
        }

        return new WrkResult(
            Percentile(output, "50%"),
            Percentile(output, "99%"),
            double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(Requests().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
            NotOk().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
    }

    private static double Percentile(string output, string label)
    {
        var match = Regex.Match(output, $@"^\s+{Regex.Escape(label)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "us" => value / 1000,
            "s" => value * 1000,
            _ => value,
        };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex Requests();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NotOk();
}
