using GpuSplit.Agent.Status;
using GpuSplit.MlService.Logs;

namespace GpuSplit.Agent.Footprints;

/// <summary>
/// Learns the models' GPU memory from the worker in production, from two streams the agent already has: the worker's
/// log lines (Immich's <c>Loading &lt;type&gt; model '&lt;name&gt;' to memory</c> and <c>Shutting down due to inactivity.</c>)
/// and each GPU poll (the worker's processes' memory). After a <c>Loading</c> line the worker's growth, once its memory
/// settles (two equal readings above where it was), is the component's; lines that come before it settles load
/// together (a face model's detection and recognition). The highest reading until the next load or unload is the
/// worker's peak with that set of models. Events are taken in the order they arrive: a load's memory comes after
/// its line (the session is created after it is printed), and lines arrive within milliseconds.
/// </summary>
public sealed partial class FootprintLearner(FootprintStore store, TimeProvider time, ILogger<FootprintLearner> logger) : IDisposable
{
    private readonly Lock _gate = new();
    private Life? _life;
    private Open? _open;
    private long? _lastBytes;
    private string? _gpu;
    private (int Version, FootprintSummary Summary)? _summary;

    public FootprintSummary Summary
    {
        get
        {
            var version = store.Version;
            lock (_gate)
            {
                if (_summary is not { } cached || cached.Version != version)
                {
                    _summary = cached = (version, FootprintSummary.From(store.Observations));
                }

                return cached.Summary;
            }
        }
    }

    public void OnLogLine(string text)
    {
        lock (_gate)
        {
            if (MlLogLines.IsInactivityShutdown(text))
            {
                Close();
                if (_life is not null)
                {
                    // The TTL ended the worker process: nothing is loaded any more, and the set is known again.
                    _life = _life with { Loaded = [], SetKnown = true };
                }

                return;
            }

            if (!MlLogLines.TryParseModelLoad(text, out var line))
            {
                return;
            }

            if (_life is not { } life || _lastBytes is not { } bytes || _gpu is null)
            {
                // No GPU reading of this worker yet: nothing to measure the load against.
                LogUnattributed(logger, line.ToString());
                return;
            }

            var component = new LoggedComponent(line.Model, line.Type);
            if (_open is { Settled: null } loading)
            {
                loading.Components.Add(component);
            }
            else
            {
                Close();
                _open = new Open(time.GetUtcNow(), _gpu, [component], life.SetKnown ? [.. life.Loaded] : null, bytes);
            }

            _life = life with { Loaded = [.. life.Loaded, component] };
        }
    }

    /// <summary>One GPU poll: the worker container as Docker last described it, and the cards with their processes.</summary>
    public void OnGpu(WorkerInspection? container, GpuView view)
    {
        if (!view.Available)
        {
            return;
        }

        lock (_gate)
        {
            if (container is not { Running: true })
            {
                Close();
                (_life, _lastBytes) = (null, null);
                return;
            }

            var bytes = view.Devices.SelectMany(d => d.Processes).Where(p => p.IsWorker).Sum(p => (long)p.UsedMemoryBytes);
            _gpu = view.Devices.FirstOrDefault(d => d.Processes.Any(p => p.IsWorker))?.Name ?? _gpu ?? view.Devices.FirstOrDefault()?.Name;
            if (_life is not { } life || life.Id != container.Id || life.StartedAt != container.StartedAt)
            {
                // A new run of the container: whatever was loaded is gone. Joined mid-run, the agent cannot know what is loaded.
                Close();
                _life = new Life(container.Id, container.StartedAt, container.Image, SetKnown: bytes == 0, Loaded: []);
            }

            _lastBytes = bytes;
            if (_open is { } open)
            {
                open.Peak = Math.Max(open.Peak, bytes);
                if (open.Settled is null && bytes > open.Before && open.Previous == bytes)
                {
                    open.Settled = bytes;
                }

                open.Previous = bytes;
            }
        }
    }

    /// <summary>Keeps a settled load whose peak is still open, so an agent restart does not lose it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            Close();
        }
    }

    private void Close()
    {
        if (_open is not { } open || _life is not { } life)
        {
            _open = null;
            return;
        }

        _open = null;
        if (open.Settled is not { } settled)
        {
            // Memory never settled after the line (the worker went away, or the GPU could not be read): no figure.
            return;
        }

        store.Add(new FootprintObservation(open.At, time.GetUtcNow(), open.Gpu, life.Image, [.. open.Components], open.LoadedBefore, open.Before == 0,
            open.Before, settled, open.Peak));
        LogObserved(logger, string.Join(" + ", open.Components), (settled - open.Before) / (1024 * 1024), open.Peak / (1024 * 1024));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Component} loaded before the worker's GPU memory was read; not attributed")]
    private static partial void LogUnattributed(ILogger logger, string component);

    [LoggerMessage(Level = LogLevel.Information, Message = "footprint: {Components} added {GrowthMiB} MiB to the worker; its peak until the next load was {PeakMiB} MiB")]
    private static partial void LogObserved(ILogger logger, string components, long growthMiB, long peakMiB);

    private sealed record Life(string Id, DateTimeOffset? StartedAt, string Image, bool SetKnown, IReadOnlyList<LoggedComponent> Loaded);

    private sealed class Open(DateTimeOffset at, string gpu, List<LoggedComponent> components, IReadOnlyList<LoggedComponent>? loadedBefore, long before)
    {
        public DateTimeOffset At { get; } = at;

        public string Gpu { get; } = gpu;

        public List<LoggedComponent> Components { get; } = components;

        public IReadOnlyList<LoggedComponent>? LoadedBefore { get; } = loadedBefore;

        public long Before { get; } = before;

        public long Peak { get; set; } = before;

        public long? Previous { get; set; }

        public long? Settled { get; set; }
    }
}
