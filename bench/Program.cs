using System.Runtime.InteropServices;
using GpuSplit.Bench;
using GpuSplit.Bench.Agent;
using GpuSplit.Bench.EndToEnd;
using GpuSplit.Bench.Planner;
using GpuSplit.Bench.Shim;

// Usage: bench [NAME ...] [--results FILE]. With no names, every benchmark runs.
IBenchmark[] all = [new FitBenchmark(), new MeasureBenchmark(), new AgentBenchmark(), new ShimBenchmark(), new ShimMemoryBenchmark(withAgent: true), new ShimMemoryBenchmark(withAgent: false), new ShimAvailabilityBenchmark(), new BehaviourTableBenchmark()];

var names = new List<string>();
string? results = null;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--results" && i + 1 < args.Length)
    {
        results = args[++i];
    }
    else
    {
        names.Add(args[i]);
    }
}

var unknown = names.Where(n => all.All(b => b.Name != n)).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"bench: unknown benchmark {string.Join(", ", unknown)}; known: {string.Join(", ", all.Select(b => b.Name))}");
    return 2;
}

var machine = $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
var failed = 0;
foreach (var benchmark in all.Where(b => names.Count == 0 || names.Contains(b.Name)))
{
    BenchmarkReport report;
    try
    {
        report = await benchmark.RunAsync(CancellationToken.None);
    }
    catch (Exception e)
    {
        // A benchmark whose real part is missing (Docker, nginx, a model) says so in one line; the others still run.
        Console.Error.WriteLine($"bench: {benchmark.Name}: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
        failed++;
        continue;
    }

    Console.WriteLine(report.ToConsole());
    if (results is not null)
    {
        ResultsFile.Update(results, benchmark.Name, report, $"dotnet run --project bench -c Release -- {benchmark.Name}", machine, DateTimeOffset.UtcNow);
    }
}

return failed == 0 ? 0 : 1;
