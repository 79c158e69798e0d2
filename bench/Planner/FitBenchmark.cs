using System.Diagnostics;
using System.Globalization;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Bench.Planner;

/// <summary>`planner fit` over the whole embedded catalog: how long planning takes, in process and as a command.</summary>
public sealed class FitBenchmark : IBenchmark
{
    private const int Runs = 200;

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

        var process = await TimeCommandAsync(cancellationToken);
        return new BenchmarkReport(
            "planner fit over the embedded catalog",
            ["step", "median ms", "p90 ms", "runs"],
            [
                ["read and validate the catalog", Stats.Ms(Stats.Median(loadTimes)), Stats.Ms(Stats.Percentile(loadTimes, 0.9)), Runs.ToString(CultureInfo.InvariantCulture)],
                [$"read the seed's field reports, calibrate and plan {last!.Candidates.Count} combinations for 6 GiB", Stats.Ms(Stats.Median(planTimes)), Stats.Ms(Stats.Percentile(planTimes, 0.9)), Runs.ToString(CultureInfo.InvariantCulture)],
                ["`planner fit --vram 6GB --json` as a process", Stats.Ms(Stats.Median(process)), Stats.Ms(Stats.Percentile(process, 0.9)), process.Count.ToString(CultureInfo.InvariantCulture)],
            ],
            [
                "In-process medians over 200 runs in one process (the first run includes JIT compilation); the process figure includes .NET start-up and is what a person waits for.",
                $"Plan chosen: {last.Plan?.Combination.ToString() ?? "none"} ({last.Plan?.Verdict.WireName() ?? "-"}).",
            ]);
    }

    private static async Task<List<double>> TimeCommandAsync(CancellationToken cancellationToken)
    {
        var planner = Path.Combine(AppContext.BaseDirectory, "planner.dll");
        var times = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { planner, "fit", "--vram", "6GB", "--json" })
            {
                start.ArgumentList.Add(argument);
            }

            var clock = Stopwatch.StartNew();
            using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the planner");
            await process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return times;
    }
}
