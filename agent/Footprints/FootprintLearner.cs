using GpuSplit.Agent.Status;
using GpuSplit.MlService.Logs;

namespace GpuSplit.Agent.Footprints;

/// <summary>
/// Learns the models' GPU memory from the worker in production, from two streams the agent already has: the worker's
/// log lines (Immich's <c>Loading &lt;type&gt; model '&lt;name&gt;' to memory</c> and <c>Shutting down due to inactivity.</c>)
/// with Docker's timestamps, and each GPU poll (the worker's processes' memory) with the time it was read. After a
/// <c>Loading</c> line the worker's growth, once its memory has grown past where it was at the line and then held for
/// three readings, is the component's; lines printed before that load together (a face model's detection and
/// recognition: one request loads one, runs it, and loads the other). The highest reading until the next load or unload is the worker's peak with that set of models.
/// Everything is placed by time, not by arrival: a line may reach the agent after the GPU reading that shows its load.
/// </summary>
public sealed partial class FootprintLearner(FootprintStore store, TimeProvider time, ILogger<FootprintLearner> logger) : IDisposable
{
    private const int ReadingsKept = 64;

    /// <summary>
    /// Equal readings in a row that make memory settled. Two polls can fall inside one session's creation (detection
    /// allocated, recognition's session still building); three at the default 1 s poll mean 2 s without a change.
    /// </summary>
    private const int SettleReadings = 3;

    private readonly Lock _gate = new();
    private readonly Queue<Reading> _recent = new();
    private readonly List<(LoggedComponent Component, DateTimeOffset At)> _early = [];
    private Life? _life;
    private Open? _open;
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

    /// <summary>
    /// The components the worker's current run has loaded and still holds, in the order they loaded; null when no run is
    /// known, or the agent joined one that already held memory and cannot know all it holds.
    /// </summary>
    public IReadOnlyList<LoggedComponent>? Loaded
    {
        get
        {
            lock (_gate)
            {
                return _life is { SetKnown: true } life ? life.Loaded : null;
            }
        }
    }

    /// <summary>One line of the worker's output, printed at <paramref name="at"/> (Docker's timestamp).</summary>
    public void OnLogLine(string text, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (MlLogLines.IsInactivityShutdown(text))
            {
                Close(at);
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

            var component = new LoggedComponent(line.Model, line.Type);
            if (_life is not { } life || _gpu is null || ReadingAt(at) is not { } before)
            {
                // No GPU reading of this run of the worker yet (the agent has just started, or the container): the
                // first one tells whether the load started from nothing.
                if (_early.Count < ReadingsKept)
                {
                    _early.Add((component, at));
                }

                return;
            }

            if (_open is { } loading && loading.SettledBy(at) is null)
            {
                loading.Add(component, at, before.Bytes);
            }
            else
            {
                Close(at);
                _open = new Open(at, _gpu, [component], life.SetKnown ? [.. life.Loaded] : null, before.Bytes);
                // Readings taken after the line was printed and before it arrived are this load's.
                _open.Readings.AddRange(_recent.Where(r => r.At > at));
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
            var now = time.GetUtcNow();
            if (container is not { Running: true })
            {
                Close(now);
                _life = null;
                _recent.Clear();
                _early.Clear();
                return;
            }

            var bytes = view.Devices.SelectMany(d => d.Processes).Where(p => p.IsWorker).Sum(p => (long)p.UsedMemoryBytes);
            _gpu = view.Devices.FirstOrDefault(d => d.Processes.Any(p => p.IsWorker))?.Name ?? _gpu ?? view.Devices.FirstOrDefault()?.Name;
            if (_life is not { } life || life.Id != container.Id || life.StartedAt != container.StartedAt)
            {
                // A new run of the container: whatever was loaded is gone. Joined mid-run, the agent cannot know what is loaded.
                LogNewRun(logger, container.Name, bytes / (1024 * 1024));
                Close(now);
                _recent.Clear();
                _life = new Life(container.Id, container.StartedAt, container.Image, SetKnown: bytes == 0, Loaded: []);
            }

            var reading = new Reading(now, bytes);
            _recent.Enqueue(reading);
            if (_recent.Count > ReadingsKept)
            {
                _recent.Dequeue();
            }

            _open?.Readings.Add(reading);
            if (_open is { SettleLogged: false } open && open.SettledBy(now) is { } settled)
            {
                // From here a new Loading line starts a load of its own instead of joining this one: the point a reader
                // of the Debug log (and the test that learns a table) needs to see.
                open.SettleLogged = true;
                LogSettled(logger, string.Join(" + ", open.Components), settled / (1024 * 1024));
            }

            TakeEarlyLines(reading);
        }
    }

    /// <summary>
    /// Lines that came before this run's first reading. A worker's memory only grows after its load's line, so if the
    /// worker holds nothing at the first reading it held nothing at the lines either: the load starts from zero.
    /// Otherwise what it held before them cannot be told, and they are dropped.
    /// </summary>
    private void TakeEarlyLines(Reading first)
    {
        if (_early.Count == 0 || _life is not { } life || _gpu is null)
        {
            return;
        }

        if (first.Bytes == 0 && life.Loaded.Count == 0 && _open is null)
        {
            _open = new Open(_early[0].At, _gpu, [_early[0].Component], life.SetKnown ? [] : null, 0);
            foreach (var (component, at) in _early.Skip(1))
            {
                _open.Add(component, at, 0);
            }

            _open.Readings.Add(first);
            _life = life with { Loaded = [.. _early.Select(e => e.Component)] };
        }
        else
        {
            LogUnattributed(logger, string.Join(" + ", _early.Select(e => e.Component)));
        }

        _early.Clear();
    }

    /// <summary>Keeps a settled load whose peak is still open, so an agent restart does not lose it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            Close(time.GetUtcNow());
        }
    }

    /// <summary>The last reading taken at or before <paramref name="at"/>; the oldest one kept when all are later.</summary>
    private Reading? ReadingAt(DateTimeOffset at) => _recent.LastOrDefault(r => r.At <= at) ?? _recent.FirstOrDefault();

    /// <summary>Ends the open load at <paramref name="at"/>: readings taken after that belong to what comes next.</summary>
    private void Close(DateTimeOffset at)
    {
        if (_open is not { } open || _life is not { } life)
        {
            _open = null;
            return;
        }

        _open = null;
        if (open.SettledBy(at) is not { } settled)
        {
            // Memory never settled after the line (the worker went away, or the GPU could not be read): no figure.
            LogUnsettled(logger, string.Join(" + ", open.Components), string.Join(", ", open.Readings.Select(r => r.Bytes / (1024 * 1024))));
            return;
        }

        var peak = open.Readings.Where(r => r.At <= at).Select(r => r.Bytes).Append(open.Before).Max();
        store.Add(new FootprintObservation(open.At, at, open.Gpu, life.Image, [.. open.Components], open.LoadedBefore, open.Before == 0,
            open.Before, settled, peak));
        LogObserved(logger, string.Join(" + ", open.Components), (settled - open.Before) / (1024 * 1024), peak / (1024 * 1024));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Components} loaded before the agent first read a worker that already held memory; not attributed")]
    private static partial void LogUnattributed(ILogger logger, string components);

    [LoggerMessage(Level = LogLevel.Debug, Message = "footprint: a new run of {Container}, its worker holding {MiB} MiB")]
    private static partial void LogNewRun(ILogger logger, string container, long miB);

    [LoggerMessage(Level = LogLevel.Debug, Message = "footprint: {Components} never settled (readings {Readings} MiB); not kept")]
    private static partial void LogUnsettled(ILogger logger, string components, string readings);

    [LoggerMessage(Level = LogLevel.Debug, Message = "footprint: {Components} settled at {MiB} MiB")]
    private static partial void LogSettled(ILogger logger, string components, long miB);

    [LoggerMessage(Level = LogLevel.Information, Message = "footprint: {Components} added {GrowthMiB} MiB to the worker; its peak until the next load was {PeakMiB} MiB")]
    private static partial void LogObserved(ILogger logger, string components, long growthMiB, long peakMiB);

    private sealed record Reading(DateTimeOffset At, long Bytes);

    private sealed record Life(string Id, DateTimeOffset? StartedAt, string Image, bool SetKnown, IReadOnlyList<LoggedComponent> Loaded);

    private sealed class Open(DateTimeOffset at, string gpu, List<LoggedComponent> components, IReadOnlyList<LoggedComponent>? loadedBefore, long before)
    {
        private DateTimeOffset _lastLine = at;
        private long _atLastLine = before;

        public DateTimeOffset At { get; } = at;

        public string Gpu { get; } = gpu;

        public List<LoggedComponent> Components { get; } = components;

        public IReadOnlyList<LoggedComponent>? LoadedBefore { get; } = loadedBefore;

        public long Before { get; } = before;

        /// <summary>The readings taken after the first line, in order.</summary>
        public List<Reading> Readings { get; } = [];

        /// <summary>Whether the settle was logged; another component loading in time opens the question again.</summary>
        public bool SettleLogged { get; set; }

        /// <summary>Another component that loads before this one settled: memory must now grow past <paramref name="level"/>.</summary>
        public void Add(LoggedComponent component, DateTimeOffset at, long level)
        {
            Components.Add(component);
            SettleLogged = false;
            _lastLine = at;
            _atLastLine = level;
        }

        /// <summary>
        /// Where memory settled by <paramref name="until"/>: after the last line, above where it was then, the same
        /// reading <see cref="SettleReadings"/> times in a row. A load that has not allocated yet leaves memory where
        /// it was, which is not settling.
        /// </summary>
        public long? SettledBy(DateTimeOffset until)
        {
            var (value, run) = (-1L, 0);
            foreach (var reading in Readings.Where(r => r.At > _lastLine && r.At <= until))
            {
                (value, run) = reading.Bytes == value ? (value, run + 1) : (reading.Bytes, 1);
                if (run == SettleReadings && value > _atLastLine)
                {
                    return value;
                }
            }

            return null;
        }
    }
}
