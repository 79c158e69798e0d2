using System.Globalization;
using GpuSplit.Agent.Footprints;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Evidence;

/// <summary>
/// Turns what the agent sees into field evidence for the planner. Every restart for a CUDA out-of-memory is an
/// <see cref="WorkerOutcome.Oom"/> record of the models the worker held then. A run of the worker that has held a set
/// of models for <see cref="EvidenceOptions.WorksAfter"/> without one is a <see cref="WorkerOutcome.Works"/> record of
/// that set at the run's peak (<see cref="WorkerOutcome.Comfortable"/> when the peak left a quarter of the card free);
/// the clock starts again whenever the run loads a model it had not loaded yet. Runs whose set the agent cannot know
/// (it joined a worker that already held memory) give no record: a part of the set would make a false `oom`.
/// </summary>
public sealed partial class EvidenceRecorder(FootprintStore store, FootprintLearner learner, TimeProvider time, IOptions<AgentOptions> options,
    ILogger<EvidenceRecorder> logger)
{
    /// <summary>The share of the card a comfortable peak leaves free (issue 13's meaning of "comfortable").</summary>
    private const double ComfortableFree = 0.25;

    private const long MiB = 1024 * 1024;

    private readonly Lock _gate = new();
    private Run? _run;
    private (string Name, long TotalBytes)? _card;

    private EvidenceOptions Settings => options.Value.Evidence;

    /// <summary>One GPU poll, after the footprint learner has taken it.</summary>
    public void OnGpu(WorkerInspection? container, GpuView view)
    {
        lock (_gate)
        {
            if (!view.Available || container is not { Running: true })
            {
                _run = null;
                return;
            }

            var card = view.Devices.FirstOrDefault(d => d.Processes.Any(p => p.IsWorker)) ?? view.Devices.FirstOrDefault();
            if (card is null)
            {
                return;
            }

            _card = (card.Name, (long)card.MemoryTotalBytes);
            var now = time.GetUtcNow();
            if (_run is not { } run || run.Id != container.Id || run.StartedAt != container.StartedAt)
            {
                _run = run = new Run(container.Id, container.StartedAt, container.Image, container.Workers, now);
            }

            run.PeakBytes = Math.Max(run.PeakBytes, view.Devices.SelectMany(d => d.Processes).Where(p => p.IsWorker).Sum(p => (long)p.UsedMemoryBytes));
            if (learner.Loaded is not { } loaded)
            {
                return;
            }

            if (loaded.Any(c => !run.Set.Contains(c)))
            {
                run.Set.UnionWith(loaded);
                run.Since = now;
                run.Recorded = false;
            }

            if (!run.Recorded && !run.Failed && run.Set.Count > 0 && now - run.Since >= Settings.WorksAfter)
            {
                run.Recorded = true;
                var outcome = run.PeakBytes <= _card.Value.TotalBytes * (1 - ComfortableFree) ? WorkerOutcome.Comfortable : WorkerOutcome.Works;
                var source = string.Create(CultureInfo.InvariantCulture,
                    $"agent {Environment.MachineName}: served for {Settings.WorksAfter} without a CUDA out-of-memory, peak {run.PeakBytes / MiB} of {_card.Value.TotalBytes / MiB} MiB, at {now:yyyy-MM-dd HH:mm:ss}Z");
                Keep(run, [.. run.Set], outcome, now, source);
            }
        }
    }

    /// <summary>The watchdog restarts the worker now for a CUDA out-of-memory; called before the restart ends what it holds.</summary>
    public void OnCudaOomRestart()
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_run is not { } run || _card is null || learner.Loaded is not { Count: > 0 } loaded)
            {
                LogNotRecorded(logger, _card is null ? "the GPU has not been read" : "the agent does not know all the models the worker held");
                return;
            }

            run.Failed = true;
            var source = string.Create(CultureInfo.InvariantCulture, $"agent {Environment.MachineName}: CUDA out-of-memory restart at {now:yyyy-MM-dd HH:mm:ss}Z");
            Keep(run, [.. loaded.Distinct().Order()], WorkerOutcome.Oom, now, source);
        }
    }

    private void Keep(Run run, IReadOnlyList<LoggedComponent> components, WorkerOutcome outcome, DateTimeOffset now, string source)
    {
        var (gpu, total) = _card!.Value;
        store.Add(new EvidenceEntry(now, gpu, total, run.Workers, Settings.Concurrency, run.Image, components, outcome, run.PeakBytes, source));
        LogRecorded(logger, outcome, string.Join(" + ", components), gpu, run.PeakBytes / MiB);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "evidence: {Outcome} for {Components} on {Gpu} (the run's peak {PeakMiB} MiB)")]
    private static partial void LogRecorded(ILogger logger, WorkerOutcome outcome, string components, string gpu, long peakMiB);

    [LoggerMessage(Level = LogLevel.Information, Message = "evidence: a CUDA out-of-memory restart is not recorded: {Reason}")]
    private static partial void LogNotRecorded(ILogger logger, string reason);

    /// <summary>One run of the worker container, as far as the evidence goes.</summary>
    private sealed class Run(string id, DateTimeOffset? startedAt, string image, int workers, DateTimeOffset since)
    {
        public string Id { get; } = id;

        public DateTimeOffset? StartedAt { get; } = startedAt;

        public string Image { get; } = image;

        public int Workers { get; } = workers;

        /// <summary>Every component the run has loaded (the TTL may have unloaded some since).</summary>
        public SortedSet<LoggedComponent> Set { get; } = [];

        /// <summary>When the set last grew: what it served is judged from here.</summary>
        public DateTimeOffset Since { get; set; } = since;

        public long PeakBytes { get; set; }

        public bool Recorded { get; set; }

        public bool Failed { get; set; }
    }
}
