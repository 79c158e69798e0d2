namespace GpuSplit.Agent.Footprints;

/// <summary>The loads of one component (or of components that load together), on one card with one image.</summary>
/// <param name="LoadBytes">The median growth, without the worker's CUDA context.</param>
public sealed record LoadFootprint(string Gpu, string Image, IReadOnlyList<LoggedComponent> Components, long LoadBytes, int Loads, DateTimeOffset LastSeen);

/// <summary>The worker's CUDA context on one card with one image.</summary>
public sealed record ContextFootprint(string Gpu, string Image, long Bytes, int LearnedFrom);

/// <summary>The worker's highest memory while exactly <see cref="Components"/> were loaded.</summary>
public sealed record SetFootprint(string Gpu, string Image, IReadOnlyList<LoggedComponent> Components, long PeakBytes, int Observations, DateTimeOffset LastSeen);

/// <summary>
/// What the observations add up to. A load into a worker already on the GPU is the load itself; a worker's first load
/// also carries its CUDA context, which is learned from loads seen both ways (the median of the differences) and then
/// subtracted from loads only ever seen first. Medians, so that one odd reading does not move a figure.
/// </summary>
public sealed record FootprintSummary(
    IReadOnlyList<LoadFootprint> Loads,
    IReadOnlyList<ContextFootprint> Contexts,
    IReadOnlyList<SetFootprint> Sets,
    int Observations,
    DateTimeOffset? Oldest)
{
    public static FootprintSummary From(IReadOnlyList<FootprintObservation> observations)
    {
        var loads = new List<LoadFootprint>();
        var contexts = new List<ContextFootprint>();
        foreach (var card in observations.GroupBy(o => (o.Gpu, o.Image)))
        {
            var byLoad = card.GroupBy(o => Key(o.Components)).ToList();
            var differences = byLoad
                .Where(g => g.Any(o => o.FirstOnGpu) && g.Any(o => !o.FirstOnGpu))
                .Select(g => Median(g.Where(o => o.FirstOnGpu).Select(o => o.GrowthBytes)) - Median(g.Where(o => !o.FirstOnGpu).Select(o => o.GrowthBytes)))
                .ToList();
            long? context = differences.Count > 0 ? Math.Max(0, Median(differences)) : null;
            if (context is { } bytes)
            {
                contexts.Add(new ContextFootprint(card.Key.Gpu, card.Key.Image, bytes, differences.Count));
            }

            foreach (var load in byLoad)
            {
                var exact = load.Where(o => !o.FirstOnGpu).Select(o => o.GrowthBytes).ToList();
                var growth = exact.Count > 0 ? Median(exact)
                    : context is { } c ? Math.Max(0, Median(load.Select(o => o.GrowthBytes)) - c)
                    : (long?)null;
                if (growth is { } known)
                {
                    loads.Add(new LoadFootprint(card.Key.Gpu, card.Key.Image, load.First().Components.Order().ToList(), known, load.Count(), load.Max(o => o.At)));
                }
            }
        }

        var sets = observations
            .Where(o => o.LoadedBefore is not null)
            .GroupBy(o => (o.Gpu, o.Image, Set: Key(o.LoadedBefore!.Concat(o.Components))))
            .Select(g => new SetFootprint(g.Key.Gpu, g.Key.Image, g.First().LoadedBefore!.Concat(g.First().Components).Distinct().Order().ToList(),
                g.Max(o => o.PeakBytes), g.Count(), g.Max(o => o.Until)))
            .ToList();
        return new FootprintSummary(loads, contexts, sets, observations.Count, observations.Count > 0 ? observations.Min(o => o.At) : null);
    }

    private static string Key(IEnumerable<LoggedComponent> components) => string.Join('+', components.Distinct().Order());

    private static long Median(IEnumerable<long> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
