using GpuSplit.Agent.Footprints;
using GpuSplit.Agent.Grpc;
using GpuSplit.Agent.Status;
using Prometheus;

namespace GpuSplit.Agent.Metrics;

/// <summary>
/// Prometheus figures, set from the current snapshot at each scrape. GPU figures keep the names, units and labels of
/// NVIDIA's dcgm-exporter (DCGM_FI_DEV_*, labels gpu, UUID, modelName), so its Grafana dashboards work unchanged;
/// the worker's figures are gpusplit_*. One registry per agent host, not the process-wide default.
/// </summary>
public sealed class AgentMetrics
{
    private const double Mib = 1024 * 1024;
    private static readonly string[] GpuLabels = ["gpu", "UUID", "modelName"];

    private readonly AgentState _state;
    private readonly Gauge _fbUsed;
    private readonly Gauge _fbFree;
    private readonly Gauge _fbTotal;
    private readonly Gauge _gpuUtil;
    private readonly Gauge _memCopyUtil;
    private readonly Gauge _temperature;
    private readonly Gauge _power;
    private readonly Gauge _contention;
    private readonly Gauge _workerMemory;
    private readonly Gauge _gpuAvailable;
    private readonly Gauge _serving;
    private readonly Gauge _pingOk;
    private readonly Gauge _workerState;
    private readonly Counter _restarts;
    private readonly Gauge _lastFailure;
    private readonly FootprintLearner _footprints;
    private readonly Gauge _footprintLoad;
    private readonly Gauge _footprintContext;
    private readonly Gauge _footprintSetPeak;
    private readonly Gauge _footprintObservations;
    private HashSet<string[]> _gpuLabelSets = new(new LabelComparer());

    public AgentMetrics(AgentState state, FootprintLearner footprints)
    {
        _state = state;
        _footprints = footprints;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _fbUsed = factory.CreateGauge("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", GpuLabels);
        _fbFree = factory.CreateGauge("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", GpuLabels);
        _fbTotal = factory.CreateGauge("DCGM_FI_DEV_FB_TOTAL", "Framebuffer memory total (in MiB).", GpuLabels);
        _gpuUtil = factory.CreateGauge("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", GpuLabels);
        _memCopyUtil = factory.CreateGauge("DCGM_FI_DEV_MEM_COPY_UTIL", "Memory utilization (in %).", GpuLabels);
        _temperature = factory.CreateGauge("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", GpuLabels);
        _power = factory.CreateGauge("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", GpuLabels);
        _contention = factory.CreateGauge("gpusplit_gpu_contention_bytes", "GPU memory held by processes that are not the ML worker.", GpuLabels);
        _workerMemory = factory.CreateGauge("gpusplit_gpu_worker_memory_bytes", "GPU memory held by the ML worker's processes.", GpuLabels);
        _gpuAvailable = factory.CreateGauge("gpusplit_gpu_available", "1 when NVML can be read.");
        _serving = factory.CreateGauge("gpusplit_worker_serving", "1 when the worker runs, answers /ping and the GPU is not exhausted.");
        _pingOk = factory.CreateGauge("gpusplit_worker_ping_ok", "1 when the worker answers /ping.");
        _workerState = factory.CreateGauge("gpusplit_worker_state", "1 for the worker's current state.", "state");
        _restarts = factory.CreateCounter("gpusplit_worker_restarts_total", "Restarts the agent performed.");
        _lastFailure = factory.CreateGauge("gpusplit_worker_last_failure_timestamp_seconds", "When the last failure of each class happened.", "class");
        _footprintLoad = factory.CreateGauge("gpusplit_footprint_load_bytes",
            "GPU memory the worker grew by when these model components loaded (weights and the loading request), learned from its logs and NVML.",
            "gpu", "image", "components");
        _footprintContext = factory.CreateGauge("gpusplit_footprint_context_bytes", "The ML worker's CUDA context, learned from first loads.", "gpu", "image");
        _footprintSetPeak = factory.CreateGauge("gpusplit_footprint_set_peak_bytes", "The worker's highest GPU memory with exactly these components loaded.",
            "gpu", "image", "components");
        _footprintObservations = factory.CreateGauge("gpusplit_footprint_observations", "Footprint observations kept in the agent's data folder.");
        Registry.AddBeforeCollectCallback(Refresh);
    }

    public CollectorRegistry Registry { get; }

    private void Refresh()
    {
        var snapshot = _state.Current;
        var facts = snapshot.Facts;
        var seen = new HashSet<string[]>(new LabelComparer());
        foreach (var gpu in facts.Gpu.Devices)
        {
            string[] labels = [gpu.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), gpu.Uuid, gpu.Name];
            seen.Add(labels);
            _fbUsed.WithLabels(labels).Set(gpu.MemoryUsedBytes / Mib);
            _fbFree.WithLabels(labels).Set(gpu.MemoryFreeBytes / Mib);
            _fbTotal.WithLabels(labels).Set(gpu.MemoryTotalBytes / Mib);
            _gpuUtil.WithLabels(labels).Set(gpu.UtilizationPercent);
            _memCopyUtil.WithLabels(labels).Set(gpu.MemoryUtilizationPercent);
            _temperature.WithLabels(labels).Set(gpu.TemperatureCelsius);
            _power.WithLabels(labels).Set(gpu.PowerMilliwatts / 1000.0);
            _contention.WithLabels(labels).Set(gpu.ContentionBytes);
            _workerMemory.WithLabels(labels).Set(gpu.Processes.Where(p => p.IsWorker).Sum(p => (double)p.UsedMemoryBytes));
        }

        // A GPU that vanished (NVML lost, card removed) must not keep reporting its last figures.
        foreach (var gone in _gpuLabelSets.Where(l => !seen.Contains(l)))
        {
            foreach (var gauge in new[] { _fbUsed, _fbFree, _fbTotal, _gpuUtil, _memCopyUtil, _temperature, _power, _contention, _workerMemory })
            {
                gauge.RemoveLabelled(gone);
            }
        }

        _gpuLabelSets = seen;
        _gpuAvailable.Set(facts.Gpu.Available ? 1 : 0);
        _serving.Set(snapshot.Serving ? 1 : 0);
        _pingOk.Set(facts.PingOk ? 1 : 0);
        foreach (var phase in Enum.GetValues<WorkerPhase>())
        {
            _workerState.WithLabels(StateLabel(phase)).Set(phase == snapshot.Phase ? 1 : 0);
        }

        RefreshFootprints();
        _restarts.IncTo(facts.RestartCount);
        if (facts.LastFailure is { } failure)
        {
            _lastFailure.WithLabels(StateLabel(StatusMapper.ToProto(failure.Kind))).Set(failure.At.ToUnixTimeMilliseconds() / 1000.0);
        }
    }

    private void RefreshFootprints()
    {
        var summary = _footprints.Summary;
        var seen = new Dictionary<Gauge, HashSet<string[]>>
        {
            [_footprintLoad] = new(new LabelComparer()),
            [_footprintContext] = new(new LabelComparer()),
            [_footprintSetPeak] = new(new LabelComparer()),
        };
        void Set(Gauge gauge, double value, params string[] labels)
        {
            seen[gauge].Add(labels);
            gauge.WithLabels(labels).Set(value);
        }

        foreach (var load in summary.Loads)
        {
            Set(_footprintLoad, load.LoadBytes, load.Gpu, load.Image, string.Join('+', load.Components));
        }

        foreach (var context in summary.Contexts)
        {
            Set(_footprintContext, context.Bytes, context.Gpu, context.Image);
        }

        foreach (var set in summary.Sets)
        {
            Set(_footprintSetPeak, set.PeakBytes, set.Gpu, set.Image, string.Join('+', set.Components));
        }

        // The file keeps the newest observations only: a figure whose observations all aged out goes too.
        foreach (var (gauge, labels) in seen)
        {
            foreach (var gone in gauge.GetAllLabelValues().Where(l => !labels.Contains(l)).ToList())
            {
                gauge.RemoveLabelled(gone);
            }
        }

        _footprintObservations.Set(summary.Observations);
    }

    private static string StateLabel(WorkerPhase phase) => StateLabel(StatusMapper.ToProto(phase));

    // WORKER_STATE_CRASH_LOOPING -> crash-looping: the words of docs/agent.md.
    private static string StateLabel(Enum protoValue)
    {
        var name = protoValue.ToString();
        return string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
    }

    private sealed class LabelComparer : IEqualityComparer<string[]>
    {
        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.SequenceEqual(y);

        public int GetHashCode(string[] obj) => string.Join('\0', obj).GetHashCode(StringComparison.Ordinal);
    }
}
