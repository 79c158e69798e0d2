using System.Diagnostics;
using System.Globalization;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Bench.Planner;

/// <summary>
/// `planner fit` over the whole embedded catalog: how long planning takes in process, and what a person waits for:
/// the published planner as a process, plain tables against `--json`, and how large that publish is.
/// </summary>
public sealed class FitBenchmark : IBenchmark
{
    private const int Runs = 200;
    private const int Rounds = 20;

    public string Name => "planner-fit";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        var loadTimes = new List<double>();
        var planTimes = new List<double>();
        FitResult? last = null;
        for (var i = 0; i < Runs; i++)
        {
            var clock = Stopwatch.StartNew();
            var catalog = CatalogReader.LoadEmbedded();
            loadTimes.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();

            // As `planner fit` plans: the seed story's field reports read and calibrating every estimate.
            var evidence = EvidenceJson.LoadEmbedded().Select(record => new EvidenceEntry(record, EvidenceOrigin.Seed, "embedded evidence.json")).ToList();
            last = FitPlanner.Plan(new FitRequest(catalog, 6 * ByteSize.GiB, 1, 300, 0.10, JobConcurrency.Seed, false, false, null, RuntimeCosts.Cuda) { Evidence = evidence });
            planTimes.Add(clock.Elapsed.TotalMilliseconds);
        }

        var publish = Directory.CreateTempSubdirectory("gpusplit-bench-planner-");
        try
        {
            await RunAsync("dotnet", ["publish", Path.Combine(Repository.Root(), "planner", "GpuSplit.Planner.csproj"), "-c", "Release", "-o", publish.FullName], cancellationToken);
            var files = publish.GetFiles("*", SearchOption.AllDirectories);
            var loadBefore = LoadAverage();
            var (plain, json, ratios, cpu) = await TimeFormsAsync(publish.FullName, cancellationToken);
            var loadAfter = LoadAverage();
            return new BenchmarkReport(
                "planner fit: in process, and the published planner as a process",
                ["step", "median ms", "p90 ms", "runs"],
                [
                    ["read and validate the catalog", Stats.Ms(Stats.Median(loadTimes)), Stats.Ms(Stats.Percentile(loadTimes, 0.9)), Count(Runs)],
                    [$"read the seed's field reports, calibrate and plan {last!.Candidates.Count} combinations for 6 GiB", Stats.Ms(Stats.Median(planTimes)), Stats.Ms(Stats.Percentile(planTimes, 0.9)), Count(Runs)],
                    ["`planner fit --vram 6GB` (tables) as a published process", Stats.Ms(Stats.Median(plain)), Stats.Ms(Stats.Percentile(plain, 0.9)), Count(plain.Count)],
                    ["`planner fit --vram 6GB --json` as a published process", Stats.Ms(Stats.Median(json)), Stats.Ms(Stats.Percentile(json, 0.9)), Count(json.Count)],
                    ["CPU time (user + system) of `planner fit --vram 6GB`", Stats.Ms(Stats.Median(cpu.Plain)), Stats.Ms(Stats.Percentile(cpu.Plain, 0.9)), Count(cpu.Plain.Count)],
                    ["CPU time (user + system) of `planner fit --vram 6GB --json`", Stats.Ms(Stats.Median(cpu.Json)), Stats.Ms(Stats.Percentile(cpu.Json, 0.9)), Count(cpu.Json.Count)],
                ],
                [
                    "In-process medians over 200 runs in one process (the first run includes JIT compilation); the process figures include .NET start-up and are what a person waits for.",
                    string.Create(CultureInfo.InvariantCulture,
                        $"Tables against JSON, the same round: wall time median {Stats.Median(ratios):0.00}x (range {ratios.Min():0.00}-{ratios.Max():0.00}), CPU time {Stats.Median(cpu.Plain) / Stats.Median(cpu.Json):0.00}x (medians), over {Rounds} rounds, each running both forms once, the order alternating; output to a pipe that is read and dropped. On a loaded machine the wall time is mostly waiting for a core; the CPU time (the children's user + system time from /proc/self/stat, 10 ms ticks) is what the process itself costs."),
                    string.Create(CultureInfo.InvariantCulture,
                        $"Published with `dotnet publish planner -c Release` (framework-dependent, no runtime identifier): {files.Sum(f => f.Length) / 1e6:0.0} MB in {files.Length} files; run through its apphost."),
                    $"Load average (1, 5, 15 min) before the process runs: {loadBefore}; after: {loadAfter}.",
                    $"Plan chosen: {last.Plan?.Combination.ToString() ?? "none"} ({last.Plan?.Verdict.WireName() ?? "-"}).",
                ]);
        }
        finally
        {
            publish.Delete(recursive: true);
        }
    }

    /// <summary>Both forms once a round, the order alternating, so that the machine's load falls on both alike.</summary>
    private static async Task<(List<double> Plain, List<double> Json, List<double> Ratios, (List<double> Plain, List<double> Json) Cpu)> TimeFormsAsync(
        string folder, CancellationToken cancellationToken)
    {
        var planner = Path.Combine(folder, OperatingSystem.IsWindows() ? "planner.exe" : "planner");
        string[] plainArgs = ["fit", "--vram", "6GB"];
        string[] jsonArgs = ["fit", "--vram", "6GB", "--json"];

        // One of each first, unmeasured: the files are in the page cache for every measured run.
        await RunAsync(planner, plainArgs, cancellationToken);
        await RunAsync(planner, jsonArgs, cancellationToken);
        var plain = new List<double>();
        var json = new List<double>();
        var ratios = new List<double>();
        var plainCpu = new List<double>();
        var jsonCpu = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            double p, j;
            if (round % 2 == 0)
            {
                p = await TimedAsync(plainArgs, plainCpu);
                j = await TimedAsync(jsonArgs, jsonCpu);
            }
            else
            {
                j = await TimedAsync(jsonArgs, jsonCpu);
                p = await TimedAsync(plainArgs, plainCpu);
            }

            plain.Add(p);
            json.Add(j);
            ratios.Add(p / j);
        }

        return (plain, json, ratios, (plainCpu, jsonCpu));

        async Task<double> TimedAsync(string[] args, List<double> cpu)
        {
            var before = ChildrenCpuMilliseconds();
            var wall = await RunAsync(planner, args, cancellationToken);
            cpu.Add(ChildrenCpuMilliseconds() - before);
            return wall;
        }
    }

    /// <summary>User + system time of this process's finished children (cutime and cstime, in 10 ms ticks).</summary>
    private static double ChildrenCpuMilliseconds()
    {
        if (!File.Exists("/proc/self/stat"))
        {
            return double.NaN;
        }

        var fields = File.ReadAllText("/proc/self/stat").Split(')')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // After the command's closing parenthesis the state is field 3; cutime and cstime are fields 16 and 17.
        return (long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) * 10.0;
    }

    /// <summary>Runs a command to its end and returns its wall time in milliseconds; a failure stops the benchmark.</summary>
    private static async Task<double> RunAsync(string file, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var elapsed = clock.Elapsed.TotalMilliseconds;
        return process.ExitCode == 0
            ? elapsed
            : throw new InvalidOperationException($"{file} {string.Join(' ', start.ArgumentList)} failed (exit {process.ExitCode}): {await error}");
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "not known on this system";

    private static string Count(int runs) => runs.ToString(CultureInfo.InvariantCulture);
}
