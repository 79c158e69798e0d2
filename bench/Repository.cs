namespace GpuSplit.Bench;

/// <summary>The clone the benchmark runs from: where its models, projects and RESULTS.md are.</summary>
internal static class Repository
{
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GpuSplit.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no GpuSplit.slnx above {AppContext.BaseDirectory}");
    }
}
