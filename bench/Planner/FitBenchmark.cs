using System.Diagnostics;
using System.Globalization;
using GpuSplit.Planner.Catalog;
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
            last = FitPlanner.Plan(new FitRequest(catalog, 6 * ByteSize.GiB, 1, 300, 0.10, JobConcurrency.Seed, false, false, null, RuntimeCosts.Cuda));
            planTimes.Add(clock.Elapsed.TotalMilliseconds);
        }

        var publish = Directory.CreateTempSubdirectory("gpusplit-bench-planner-");
        try
        {
            await RunAsync("dotnet", ["publish", Path.Combine(Repository.Root(), "planner", "GpuSplit.Planner.csproj"), "-c", "Release", "-o", publish.FullName], cancellationToken);
            var files = publish.GetFiles("*", SearchOption.AllDirectories);
            var loadBefore = LoadAverage();
            var (plain, json, ratios) = await TimeFormsAsync(publish.FullName, cancellationToken);
            var loadAfter = LoadAverage();
            return new BenchmarkReport(
                "planner fit: in process, and the published planner as a process",
                ["step", "median ms", "p90 ms", "runs"],
                [
                    ["read and validate the catalog", Stats.Ms(Stats.Median(loadTimes)), Stats.Ms(Stats.Percentile(loadTimes, 0.9)), Count(Runs)],
                    [$"plan {last!.Candidates.Count} combinations for 6 GiB", Stats.Ms(Stats.Median(planTimes)), Stats.Ms(Stats.Percentile(planTimes, 0.9)), Count(Runs)],
                    ["`planner fit --vram 6GB` (tables) as a published process", Stats.Ms(Stats.Median(plain)), Stats.Ms(Stats.Percentile(plain, 0.9)), Count(plain.Count)],
                    ["`planner fit --vram 6GB --json` as a published process", Stats.Ms(Stats.Median(json)), Stats.Ms(Stats.Percentile(json, 0.9)), Count(json.Count)],
                ],
                [
                    "In-process medians over 200 runs in one process (the first run includes JIT compilation); the process figures include .NET start-up and are what a person waits for.",
                    string.Create(CultureInfo.InvariantCulture,
                        $"Tables against JSON, the same round: median {Stats.Median(ratios):0.00}x (range {ratios.Min():0.00}-{ratios.Max():0.00}) over {Rounds} rounds, each running both forms once, the order alternating; output to a pipe that is read and dropped."),
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
    private static async Task<(List<double> Plain, List<double> Json, List<double> Ratios)> TimeFormsAsync(string folder, CancellationToken cancellationToken)
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
        for (var round = 0; round < Rounds; round++)
        {
            double p, j;
            if (round % 2 == 0)
            {
                p = await RunAsync(planner, plainArgs, cancellationToken);
                j = await RunAsync(planner, jsonArgs, cancellationToken);
            }
            else
            {
                j = await RunAsync(planner, jsonArgs, cancellationToken);
                p = await RunAsync(planner, plainArgs, cancellationToken);
            }

            plain.Add(p);
            json.Add(j);
            ratios.Add(p / j);
        }

        return (plain, json, ratios);
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
