using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace GpuSplit.Bench.Shim;

/// <summary>Resident memory in bytes: all of it, and the private anonymous part.</summary>
public readonly record struct Resident(long Total, long Private)
{
    public static Resident Max(Resident a, Resident b) => new(Math.Max(a.Total, b.Total), Math.Max(a.Private, b.Private));

    public override string ToString() =>
        $"{(Total / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture)} MiB ({(Private / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture)} MiB private)";
}

/// <summary>Small helpers for the processes and ports this benchmark starts on loopback.</summary>
public static class LocalProcesses
{
    public static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, program)));

    /// <summary>
    /// Resident memory of a process (with its children: nginx's workers), from /proc: all of it, and the private
    /// anonymous part. The rest is mapped files (the runtime, libraries) that the page cache shares.
    /// </summary>
    public static Resident Memory(int pid, bool withChildren = false)
    {
        var all = Tree(pid, withChildren).Select(p => new Resident(Kib(p, "VmRSS:") * 1024, Kib(p, "RssAnon:") * 1024)).ToList();
        return new Resident(all.Sum(r => r.Total), all.Sum(r => r.Private));
    }

    /// <summary>
    /// CPU time a process (all its threads) and, with <paramref name="withChildren"/>, its live children have used so
    /// far: utime + stime from /proc/PID/stat, in clock ticks of 10 ms.
    /// </summary>
    public static TimeSpan CpuTime(int pid, bool withChildren = false) =>
        TimeSpan.FromMilliseconds(Tree(pid, withChildren).Sum(p => Ticks(p)) * 1000.0 / TicksPerSecond);

    /// <summary>The machine's 1-minute load average (/proc/loadavg): how many tasks wanted a core.</summary>
    public static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    public static async Task WaitForPortAsync(int port, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    // USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)).
    private const double TicksPerSecond = 100;

    private static IEnumerable<int> Tree(int pid, bool withChildren) => withChildren
        ? Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var p) ? p : -1)
            .Where(p => p == pid || (p > 0 && ParentOf(p) == pid))
            .ToList()
        : [pid];

    private static long Ticks(int pid)
    {
        try
        {
            // The command name (field 2) may hold spaces; the fields after its closing bracket are fixed: utime and
            // stime are the 12th and 13th after it.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static long Kib(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static int ParentOf(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal));
            return line is null ? -1 : int.Parse(line[5..].Trim(), CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
