using System.Globalization;
using GpuSplit.MlStandIn.Control;

namespace GpuSplit.MlStandIn.Gpu;

/// <summary>One model component a request uses, in the order the worker runs them.</summary>
public sealed record ModelComponent(string Task, string Type, string Model)
{
    public string Key => $"{Model}/{Type}";
}

/// <summary>
/// The stand-in's worker on a pretend GPU, after its footprint table (STANDIN_FOOTPRINTS). Like immich_ml with ONNX
/// Runtime's CUDA provider: a component loads at its first request (the log line first, then the session's time,
/// then its weights; the worker's first load also brings the CUDA context); each component's arena keeps the most
/// requests it ever had in flight at once (arenas never give memory back); an allocation beyond the card is a CUDA
/// out-of-memory (ONNX Runtime's line, and the worker fails every request until restarted, Immich issue 11979);
/// after MACHINE_LEARNING_MODEL_TTL seconds without a /predict the worker shuts down and everything is freed.
/// The worker's memory is written as a fake-NVML process line (see <c>include</c> in fake_nvml.c) carrying this
/// process's pid, which is the host's pid when the container runs with <c>--pid host</c>.
/// </summary>
public sealed class GpuWorker
{
    private readonly Lock _gate = new();
    private readonly FootprintTable? _table;
    private readonly StandInState _state;
    private readonly Dictionary<string, Task<string?>> _loads = new(StringComparer.Ordinal);
    private readonly HashSet<string> _loaded = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _arenas = new(StringComparer.Ordinal);
    private bool _onGpu;
    private long _lastPredict;

    public GpuWorker(StandInState state, IConfiguration configuration)
    {
        _state = state;
        var text = configuration["STANDIN_FOOTPRINTS"];
        if (!string.IsNullOrWhiteSpace(text))
        {
            if (!FootprintTable.TryParse(text, out var table, out var error))
            {
                throw new InvalidOperationException($"STANDIN_FOOTPRINTS: {error}");
            }

            _table = table;
        }

        CardBytes = Long(configuration["STANDIN_CARD_MIB"], 6144) * 1024 * 1024;
        LoadDelay = TimeSpan.FromMilliseconds(Long(configuration["STANDIN_LOAD_DELAY_MS"], 0));
        Ttl = TimeSpan.FromSeconds(Long(configuration["MACHINE_LEARNING_MODEL_TTL"], 300));
        TtlPoll = TimeSpan.FromSeconds(Math.Max(1, Long(configuration["MACHINE_LEARNING_MODEL_TTL_POLL_S"], 10)));
        ProcessFile = configuration["STANDIN_NVML_PROCESS_FILE"];
        WriteProcessFile();
    }

    /// <summary>False without a footprint table: /predict answers without touching the pretend GPU.</summary>
    public bool Enabled => _table is not null;

    public long CardBytes { get; }

    public TimeSpan LoadDelay { get; }

    /// <summary>MACHINE_LEARNING_MODEL_TTL (seconds, 0: never); MACHINE_LEARNING_MODEL_TTL_POLL_S how often it is checked.</summary>
    public TimeSpan Ttl { get; }

    public TimeSpan TtlPoll { get; }

    public string? ProcessFile { get; }

    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return BytesLocked();
            }
        }
    }

    public IReadOnlyList<string> Loaded
    {
        get
        {
            lock (_gate)
            {
                return [.. _loaded.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Loads <paramref name="component"/> unless it is; null when ready, otherwise the error /predict answers with.</summary>
    public Task<string?> LoadAsync(ModelComponent component)
    {
        lock (_gate)
        {
            Volatile.Write(ref _lastPredict, Environment.TickCount64);
            if (_loaded.Contains(component.Key))
            {
                return Task.FromResult<string?>(null);
            }

            if (!_table!.Components.ContainsKey(component.Key))
            {
                // immich_ml would try to download it from Hugging Face, and fail.
                return Task.FromResult<string?>($"Failed to load {component.Type} model '{component.Model}'");
            }

            // Like immich_ml's model cache: one load per model, the other requests wait for it.
            if (!_loads.TryGetValue(component.Key, out var load))
            {
                _loads[component.Key] = load = LoadOnceAsync(component);
            }

            return load;
        }
    }

    /// <summary>Takes each component's memory for one request in flight; null when it fits, otherwise the error.</summary>
    public string? BeginRun(IReadOnlyList<ModelComponent> components)
    {
        lock (_gate)
        {
            foreach (var component in components)
            {
                _inFlight[component.Key] = _inFlight.GetValueOrDefault(component.Key) + 1;
            }

            var before = new Dictionary<string, long>(_arenas, StringComparer.Ordinal);
            foreach (var component in components)
            {
                var wanted = _inFlight[component.Key] * _table!.Components[component.Key].PerRequestBytes;
                _arenas[component.Key] = Math.Max(_arenas.GetValueOrDefault(component.Key), wanted);
            }

            if (BytesLocked() > CardBytes)
            {
                var asked = BytesLocked() - CardBytes;
                _arenas.Clear();
                foreach (var (key, bytes) in before)
                {
                    _arenas[key] = bytes;
                }

                EndRunLocked(components);
                return OutOfMemory(asked);
            }

            WriteProcessFile();
            return null;
        }
    }

    public void EndRun(IReadOnlyList<ModelComponent> components)
    {
        lock (_gate)
        {
            EndRunLocked(components);
        }
    }

    /// <summary>immich_ml's idle shutdown: after the TTL without a /predict, the worker process ends and frees everything.</summary>
    public void RecycleIfIdle()
    {
        lock (_gate)
        {
            if (Ttl <= TimeSpan.Zero || _loaded.Count == 0 || _inFlight.Values.Any(n => n > 0)
                || Environment.TickCount64 - Volatile.Read(ref _lastPredict) < Ttl.TotalMilliseconds)
            {
                return;
            }

            Log("INFO", "Shutting down due to inactivity.");
            _loaded.Clear();
            _loads.Clear();
            _arenas.Clear();
            _onGpu = false;
            WriteProcessFile();
        }
    }

    public void ProcessEnded()
    {
        lock (_gate)
        {
            _onGpu = false;
            WriteProcessFile();
        }
    }

    private async Task<string?> LoadOnceAsync(ModelComponent component)
    {
        var footprint = _table!.Components[component.Key];
        Log("INFO", $"Loading {component.Type} model '{component.Model}' to memory");
        await Task.Delay(LoadDelay);
        lock (_gate)
        {
            var added = footprint.WeightsBytes + (_onGpu ? 0 : _table.ContextBytes);
            if (BytesLocked() + added > CardBytes)
            {
                _loads.Remove(component.Key);
                return OutOfMemory(added);
            }

            _onGpu = true;
            _loaded.Add(component.Key);
            WriteProcessFile();
            return null;
        }
    }

    private void EndRunLocked(IReadOnlyList<ModelComponent> components)
    {
        foreach (var component in components)
        {
            _inFlight[component.Key]--;
        }
    }

    private long BytesLocked() =>
        !_onGpu ? 0 : _table!.ContextBytes + _loaded.Sum(key => _table.Components[key].WeightsBytes) + _arenas.Values.Sum();

    // ONNX Runtime's BFC arena line, as immich_ml logs it; the worker then stays broken until restarted.
    private string OutOfMemory(long bytes)
    {
        var line = "[E:onnxruntime:, sequential_executor.cc:516 ExecuteKernel] Non-zero status code returned while running Conv node. "
            + "Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal"
            + string.Create(CultureInfo.InvariantCulture, $"(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size {bytes}");
        Console.Error.WriteLine(line);
        Console.Error.Flush();
        _state.StuckError = line;
        return line;
    }

    private void WriteProcessFile()
    {
        if (ProcessFile is null)
        {
            return;
        }

        var bytes = BytesLocked();
        var text = bytes > 0 ? string.Create(CultureInfo.InvariantCulture, $"process device=0 pid={Environment.ProcessId} used={bytes}\n") : "";
        // Written aside and renamed: the fake NVML reads it at every call and must never see half a line.
        var temporary = $"{ProcessFile}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, ProcessFile, overwrite: true);
    }

    // immich_ml's console format (rich), as `docker logs` shows it.
    private static void Log(string level, string message)
    {
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.UtcNow:MM/dd/yy HH:mm:ss}] {level,-8} {message}"));
        Console.Out.Flush();
    }

    private static long Long(string? text, long fallback) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
