namespace GpuSplit.Agent.Footprints;

/// <summary>A model component as Immich's log line names it.</summary>
public sealed record LoggedComponent(string Model, string Type) : IComparable<LoggedComponent>
{
    public int CompareTo(LoggedComponent? other) => other is null ? 1 : string.CompareOrdinal(ToString(), other.ToString());

    public override string ToString() => $"{Model}/{Type}";
}

/// <summary>
/// One load the agent watched: the worker's GPU memory just before the first <c>Loading</c> line, once it settled
/// after it (two equal readings above it), and the highest until the next load or unload. What the file keeps.
/// </summary>
/// <param name="Components">What loaded before memory settled: one component, or a face model's two.</param>
/// <param name="LoadedBefore">The components already loaded in this worker; null when the agent joined a worker that
/// already held memory and cannot know what.</param>
/// <param name="FirstOnGpu">The worker held no GPU memory before: the growth includes its CUDA context.</param>
public sealed record FootprintObservation(
    DateTimeOffset At,
    DateTimeOffset Until,
    string Gpu,
    string Image,
    IReadOnlyList<LoggedComponent> Components,
    IReadOnlyList<LoggedComponent>? LoadedBefore,
    bool FirstOnGpu,
    long BeforeBytes,
    long SettledBytes,
    long PeakBytes)
{
    /// <summary>The weights and the loading request's arena (and the context, on a first load).</summary>
    public long GrowthBytes => SettledBytes - BeforeBytes;
}
