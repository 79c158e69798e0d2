using System.CommandLine;
using GpuSplit.Planner.Evidence;

namespace GpuSplit.Planner.Cli;

/// <summary>
/// The field reports `planner fit` calibrates with: the seed story's, built in; the user's `--evidence` files; and the
/// agent's, which `--agent` brings (<see cref="AgentSource"/>).
/// </summary>
internal static class EvidenceSource
{
    public static Option<FileInfo[]> Option() => new("--evidence")
    {
        Description = "A file of field reports (what a combination did on a real card: oom, unstable, works, comfortable), "
            + "added to the seed story's; repeatable. docs/memory-model.md has the format.",
    };

    public static async Task<IReadOnlyList<EvidenceEntry>> LoadAsync(FileInfo[]? files, IReadOnlyList<EvidenceEntry> agent, TextWriter error)
    {
        var entries = new List<EvidenceEntry>();
        entries.AddRange(Read(EvidenceJson.LoadEmbedded, EvidenceOrigin.Seed, "embedded evidence.json"));
        foreach (var file in files ?? [])
        {
            var read = Read(() => EvidenceJson.LoadFile(file.FullName), EvidenceOrigin.File, file.FullName);
            await error.WriteLineAsync($"planner fit: {read.Count} field report(s) from {file.FullName}");
            entries.AddRange(read);
        }

        entries.AddRange(agent);
        return entries;
    }

    private static List<EvidenceEntry> Read(Func<IReadOnlyList<EvidenceRecord>> load, EvidenceOrigin origin, string from)
    {
        try
        {
            return [.. load().Select(record => new EvidenceEntry(record, origin, from))];
        }
        catch (EvidenceException e)
        {
            throw new UsageException($"--evidence: {e.Message}");
        }
    }
}
