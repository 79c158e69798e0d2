using System.Runtime.InteropServices;
using GpuSplit.Bench;
using GpuSplit.Bench.Agent;
using GpuSplit.Bench.EndToEnd;
using GpuSplit.Bench.Planner;
using GpuSplit.Bench.Shim;

// Usage: bench NAME... | all [--results FILE]. With no name (or --help) it lists the benchmarks and runs none:
// several take minutes and start real daemons, so running every one is asked for by name (`all`).
IBenchmark[] all = [new FitBenchmark(), new MeasureBenchmark(), new AgentBenchmark(), new ShimBenchmark(), new ShimMemoryBenchmark(withAgent: true), new ShimMemoryBenchmark(withAgent: false), new ShimAvailabilityBenchmark(), new BehaviourTableBenchmark()];

var names = new List<string>();
string? results = null;
var help = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--results" when i + 1 < args.Length:
            results = args[++i];
            break;
        case "--help" or "-h" or "-?":
            help = true;
            break;
        default:
            names.Add(args[i]);
            break;
    }
}

if (help || names.Count == 0)
{
    Console.WriteLine("Usage: bench NAME... [--results FILE]   (NAME `all` runs every benchmark)");
    Console.WriteLine("Benchmarks:");
    foreach (var benchmark in all)
    {
        Console.WriteLine($"  {benchmark.Name}");
    }

    Console.WriteLine("--results FILE keeps each benchmark's figures in FILE (bench/RESULTS.md) under its name.");
    return help ? 0 : 2;
}

var unknown = names.Where(n => n != "all" && all.All(b => b.Name != n)).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"bench: unknown benchmark {string.Join(", ", unknown)}; known: {string.Join(", ", all.Select(b => b.Name))}, all");
    return 2;
}

var machine = $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
var failed = 0;
foreach (var benchmark in all.Where(b => names.Contains("all") || names.Contains(b.Name)))
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
