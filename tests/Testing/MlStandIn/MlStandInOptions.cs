namespace GpuSplit.Testing.MlStandIn;

/// <summary>How to run the ML stand-in container. Every property has a safe default.</summary>
public sealed record MlStandInOptions
{
    /// <summary>Container name; default a unique <c>gpusplit-test-…-ml-N</c>.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// IMMICH_HOST, and the address the test reaches it at: loopback by default; a GPU box's own address when the
    /// container runs on the box's engine (GpuBoxHost), so the host can reach it across the link.
    /// </summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>Port on the host network (IMMICH_PORT); default a free loopback port.</summary>
    public int? Port { get; init; }

    /// <summary>Memory limit in MiB, swap included (<c>-m</c>, <c>--memory-swap</c>): the cgroup that OOM-kills.</summary>
    public int? MemoryLimitMib { get; init; }

    /// <summary>STANDIN_ON_START: actions at start, e.g. <c>exit:3</c>, <c>no-kernel-image</c>.</summary>
    public string? OnStart { get; init; }

    /// <summary>STANDIN_START_DELAY_MS: how long it takes to answer /ping after start (like model loading).</summary>
    public int StartDelayMs { get; init; }

    /// <summary>STANDIN_PREDICT_DELAY_MS: the time each /predict takes.</summary>
    public int PredictDelayMs { get; init; }

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// A pretend GPU: models take the table's memory as they load and run, written as a fake-NVML process line
    /// (<see cref="MlStandInContainer.GpuProcessFile"/>, for <see cref="FakeNvmlState.Includes"/>). The container then
    /// runs with <c>--pid host</c>, so that the line carries the host's pid, as NVML reports it.
    /// </summary>
    public StandInGpu? Gpu { get; init; }

    /// <summary>More <c>docker create</c> arguments (e.g. <c>--restart</c>), placed before the image.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>False: only create the container (it exists, stopped, never started).</summary>
    public bool Start { get; init; } = true;
}
