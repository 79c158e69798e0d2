using GpuSplit.Agent.Docker;
using GpuSplit.Agent.Evidence;
using GpuSplit.Agent.Footprints;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using GpuSplit.Agent.Watchdog;
using GpuSplit.MlService.Docker;
using GpuSplit.Nvml;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Gpu;

/// <summary>
/// Reads the GPUs every poll interval, tells the worker's processes from the others (the worker's host pids come from
/// Docker; other processes' containers from their cgroup), watches for a card that stays full, and gives each reading
/// to the footprint learner and then to the evidence recorder.
/// </summary>
public sealed partial class GpuWatcher(
    IGpuReader reader,
    IWorkerRuntime worker,
    ContainerNames names,
    VramPressure pressure,
    WorkerSignals signals,
    FootprintLearner footprints,
    EvidenceRecorder evidence,
    AgentState state,
    TimeProvider time,
    IOptions<AgentOptions> options,
    ILogger<GpuWatcher> logger) : BackgroundService
{
    private (string Id, DateTimeOffset? StartedAt)? _workerPidsKey;
    private IReadOnlySet<uint> _workerPids = new HashSet<uint>();
    private HashSet<uint> _knownGpuPids = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval, time);
        try
        {
            do
            {
                try
                {
                    await PollAsync(stoppingToken);
                }
                catch (Exception error) when (!stoppingToken.IsCancellationRequested)
                {
                    // One bad reading must not end the GPU watch for the agent's life.
                    LogPollFailed(logger, error);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        var facts = state.Current.Facts;
        GpuView view;
        try
        {
            var devices = reader.Read();
            var mapped = new List<GpuDeviceView>(devices.Count);
            var gpuPids = devices.SelectMany(d => d.Processes).Select(p => p.Pid).ToList();
            var workerPids = gpuPids.Count > 0 && facts.Container is { Running: true } container
                ? await WorkerPidsAsync(container, gpuPids, cancellationToken)
                : new HashSet<uint>();
            foreach (var device in devices)
            {
                var processes = new List<GpuProcessView>(device.Processes.Count);
                foreach (var process in device.Processes)
                {
                    processes.Add(await DescribeAsync(process, workerPids, facts.Container, cancellationToken));
                }

                // Figures NVML does not support on this card read as 0, as nvidia-smi shows them as N/A.
                mapped.Add(new GpuDeviceView((uint)device.Index, device.Name, device.Uuid, device.Memory.TotalBytes, device.Memory.UsedBytes,
                    device.Memory.FreeBytes, device.Utilization?.GpuPercent ?? 0, device.Utilization?.MemoryPercent ?? 0,
                    device.TemperatureCelsius ?? 0, device.PowerMilliwatts ?? 0, device.ComputeCapability.Major, device.ComputeCapability.Minor,
                    processes));
            }

            var workerServing = facts is { DockerError: null, Restarting: false, PingOk: true, Container.Running: true };
            var exhausted = pressure.Observe(time.GetUtcNow(), mapped, workerServing, out var isNew);
            if (isNew && exhausted is not null)
            {
                signals.Post(new VramExhausted(exhausted, time.GetUtcNow()));
            }

            view = new GpuView(true, null, mapped, exhausted);
        }
        catch (GpuUnavailableException unavailable)
        {
            view = new GpuView(false, unavailable.Message, [], null);
        }

        if (view.UnavailableReason != state.Current.Facts.Gpu.UnavailableReason && view.UnavailableReason is { } reason)
        {
            LogUnavailable(logger, reason);
        }

        footprints.OnGpu(facts.Container, view);
        evidence.OnGpu(facts.Container, view);
        // Last, so that a reading a status shows is one the learner and the evidence already hold.
        state.Update(f => f with { Gpu = view });
    }

    private async Task<IReadOnlySet<uint>> WorkerPidsAsync(WorkerInspection container, IEnumerable<uint> gpuPids, CancellationToken cancellationToken)
    {
        // `docker top` makes the engine run ps: ask again only when the container restarted or a new pid uses the GPU.
        var key = (container.Id, container.StartedAt);
        if (_workerPidsKey == key && gpuPids.All(_knownGpuPids.Contains))
        {
            return _workerPids;
        }

        try
        {
            _workerPids = await worker.ProcessIdsAsync(cancellationToken);
            _workerPidsKey = key;
            _knownGpuPids = [.. gpuPids];
            return _workerPids;
        }
        catch (Exception error) when (DockerErrors.IsUnavailable(error))
        {
            return new HashSet<uint>();
        }
    }

    private async Task<GpuProcessView> DescribeAsync(GpuProcess process, IReadOnlySet<uint> workerPids, WorkerInspection? container,
        CancellationToken cancellationToken)
    {
        var id = workerPids.Contains(process.Pid) ? container?.Id : CgroupContainerIds.Read(process.Pid);
        if (id is not null && id == container?.Id)
        {
            return new GpuProcessView(process.Pid, UsedBytes(process), container.Id, container.Name, IsWorker: true);
        }

        string? name = null;
        if (id is not null)
        {
            try
            {
                name = await names.NameOfAsync(id, cancellationToken);
            }
            catch (Exception error) when (DockerErrors.IsUnavailable(error))
            {
                // The name is a courtesy; the memory figure is what matters.
            }
        }

        return new GpuProcessView(process.Pid, UsedBytes(process), id, name, IsWorker: false);
    }

    // Windows (WDDM) cannot tell a process's memory: counted as 0, so contention reads low there, never high.
    private static ulong UsedBytes(GpuProcess process) => process.UsedMemoryBytes ?? 0;

    [LoggerMessage(Level = LogLevel.Error, Message = "reading the GPUs failed; trying again at the next poll")]
    private static partial void LogPollFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GPU figures unavailable: {Reason}; the worker is still watched and restarted")]
    private static partial void LogUnavailable(ILogger logger, string reason);
}
