using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace GpuSplit.Bench.Shim;

/// <summary>What one wrk run measured. <paramref name="SocketErrors"/>: connect, read, write and timeout errors together.</summary>
public sealed record WrkResult(double P50Ms, double P99Ms, double RequestsPerSecond, long Requests, long NotOk, long SocketErrors);

/// <summary>wrk on loopback, POSTing one fixed body (an Immich /predict form) to /predict over kept-alive connections.</summary>
public static partial class Wrk
{
    /// <summary>The Lua script that posts <paramref name="bodyFile"/>, written beside it.</summary>
    public static async Task<string> ScriptAsync(string bodyFile, string contentType, CancellationToken cancellationToken)
    {
        var script = Path.ChangeExtension(bodyFile, ".lua");
        await File.WriteAllTextAsync(script, $$"""
            local file = io.open("{{bodyFile}}", "rb")
            wrk.body = file:read("*a")
            file:close()
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "{{contentType}}"
            """, cancellationToken);
        return script;
    }

    /// <param name="connections">One wrk thread per connection up to two (the machine's cores).</param>
    public static async Task<WrkResult> RunAsync(Uri target, string script, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("wrk") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            $"-t{Math.Min(connections, 2)}", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "--latency", "--timeout", "10s", "-s", script,
            new Uri(target, "/predict").ToString(),
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

        var socket = SocketErrors().Match(output);
        return new WrkResult(
            Percentile(output, "50%"),
            Percentile(output, "99%"),
            double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(Requests().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
            NotOk().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            socket.Success ? Enumerable.Range(1, 4).Sum(g => long.Parse(socket.Groups[g].Value, CultureInfo.InvariantCulture)) : 0);
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

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}
