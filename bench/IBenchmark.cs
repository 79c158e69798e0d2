namespace GpuSplit.Bench;

/// <summary>One benchmark: it runs, and returns a table of figures that says how they were produced.</summary>
public interface IBenchmark
{
    /// <summary>Short name used on the command line and as the RESULTS.md section key.</summary>
    string Name { get; }

    Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken);
}
