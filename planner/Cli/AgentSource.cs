using System.CommandLine;
using GpuSplit.Planner.Agent;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Cli;

/// <summary>`--agent URL`: what the GPU box's agent observed Immich's worker take in production, for `planner fit`.</summary>
internal static class AgentSource
{
    public static Option<string?> Option() => new("--agent")
    {
        Description = "The GPU box's agent (http://gpu-box:3004): use the footprints it observed in production, for its GPU (or --gpu).",
    };

    /// <summary>
    /// The catalog with the agent's observations in it, the GPU they are for, the worker's context the agent learned
    /// there, the agent's field reports (its out-of-memory restarts and workers that held), and a line on standard
    /// error saying so.
    /// </summary>
    public static async Task<(ModelCatalog Catalog, string? Gpu, FigureContext? Context, IReadOnlyList<EvidenceEntry> Evidence)> ApplyAsync(ModelCatalog catalog,
        string? agent, string? gpu, TextWriter error, CancellationToken cancellationToken)
    {
        if (agent is null)
        {
            return (catalog, gpu, null, []);
        }

        var url = Uri.TryCreate(agent, UriKind.Absolute, out var parsed) && (parsed.Scheme == Uri.UriSchemeHttp || parsed.Scheme == Uri.UriSchemeHttps)
            ? parsed
            : throw new UsageException($"--agent: '{agent}' is not an http:// URL; give the agent's gRPC address, e.g. http://gpu-box:3004");
        Protos.V1.ObservedFootprints footprints;
        IReadOnlyList<EvidenceRecord> records;
        try
        {
            footprints = await AgentClient.FootprintsAsync(url, cancellationToken);
            records = await AgentClient.EvidenceAsync(url, cancellationToken);
        }
        catch (AgentException e)
        {
            throw new UsageException($"--agent: {e.Message}");
        }

        List<EvidenceEntry> evidence = [.. records.Select(record => new EvidenceEntry(record, EvidenceOrigin.Agent, $"agent {url}"))];
        var gpus = ObservedFigures.Gpus(footprints);
        var chosen = gpu ?? (gpus.Count == 1 ? gpus[0] : null);
        if (chosen is null)
        {
            await error.WriteLineAsync(gpus.Count == 0
                ? $"planner fit: the agent at {url} has observed no model load yet; no figure is observed"
                : $"planner fit: the agent at {url} observed several GPUs ({string.Join(", ", gpus.Select(g => $"'{g}'"))}); name one with --gpu");
            return (catalog, gpu, null, evidence);
        }

        var applied = ObservedFigures.Apply(catalog, footprints, chosen, $"agent {url}", out var used);
        var context = ObservedFigures.Context(footprints, chosen, $"agent {url}");
        await error.WriteLineAsync(used > 0
            ? $"planner fit: observed figures for '{chosen}' from the agent at {url} ({used} components, {ObservedFigures.Image(footprints, chosen)}): their weights"
                + (context is null ? "" : " and the worker's CUDA context") + "; per request stays as measured or estimated"
            : $"planner fit: the agent at {url} has observed nothing for '{chosen}' (it has: {(gpus.Count == 0 ? "none" : string.Join(", ", gpus.Select(g => $"'{g}'")))})");
        return (applied, chosen, context, evidence);
    }
}
