using System.Globalization;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Testing.MlStandIn;

/// <summary>
/// The ML stand-in running as a real container: the empty image, the host's .NET and the stand-in's build output
/// bind-mounted read-only, host networking on its own port. Control it like the real thing fails
/// (<see cref="ControlAsync"/>), observe it through Docker (<see cref="StateAsync"/>). Disposing removes it.
/// </summary>
public sealed class MlStandInContainer : IAsyncDisposable
{
    private const string GpuMount = "/standin-gpu";
    private const string GpuFile = "worker.state";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string? _gpuFolder;

    private MlStandInContainer(DockerEngine engine, string name, string id, string address, int port, string? gpuFolder)
    {
        Address = address;
        _gpuFolder = gpuFolder;
        Engine = engine;
        Name = name;
        Id = id;
        Port = port;
    }

    public DockerEngine Engine { get; }

    public string Name { get; }

    public string Id { get; }

    public int Port { get; }

    /// <summary>Where it listens (<see cref="MlStandInOptions.ListenAddress"/>).</summary>
    public string Address { get; }

    /// <summary>The host path of the stand-in's fake-NVML process line (with <see cref="MlStandInOptions.Gpu"/>); absent until it starts.</summary>
    public string? GpuProcessFile => _gpuFolder is null ? null : Path.Combine(_gpuFolder, GpuFile);

    public Uri BaseUri => new($"http://{Address}:{Port.ToString(CultureInfo.InvariantCulture)}/");

    public static async Task<MlStandInContainer> StartAsync(DockerEngine engine, MlStandInOptions? options = null)
    {
        options ??= new MlStandInOptions();
        await engine.EnsureEmptyImageAsync();
        var name = options.Name ?? TestContainers.UniqueName("ml");
        var port = options.Port ?? FreePort.Next();
        List<string> args =
        [
            "create", "--name", name, .. TestContainers.LabelArgs(), "--network", "host", "--tmpfs", "/tmp",
            "-v", $"{MlStandInApp.DotnetRoot}:/dotnet:ro", "-v", $"{MlStandInApp.Directory}:/app:ro",
            "-v", "/lib:/lib:ro", "-v", "/lib64:/lib64:ro", "-v", "/usr/lib:/usr/lib:ro",
            "-e", "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1", "-e", "DOTNET_EnableDiagnostics=0",
            "-e", $"IMMICH_HOST={options.ListenAddress}", "-e", $"IMMICH_PORT={port.ToString(CultureInfo.InvariantCulture)}",
        ];
        if (options.MemoryLimitMib is { } mib)
        {
            args.AddRange(["-m", $"{mib}m", "--memory-swap", $"{mib}m"]);
        }

        AddEnv(args, "STANDIN_ON_START", options.OnStart);
        AddEnv(args, "STANDIN_START_DELAY_MS", options.StartDelayMs > 0 ? options.StartDelayMs.ToString(CultureInfo.InvariantCulture) : null);
        AddEnv(args, "STANDIN_PREDICT_DELAY_MS", options.PredictDelayMs > 0 ? options.PredictDelayMs.ToString(CultureInfo.InvariantCulture) : null);
        foreach (var (key, value) in options.Environment)
        {
            AddEnv(args, key, value);
        }

        string? gpuFolder = null;
        if (options.Gpu is { } gpu)
        {
            gpuFolder = Directory.CreateTempSubdirectory("gpusplit-standin-gpu-").FullName;
            args.AddRange(["--pid", "host", "-v", $"{gpuFolder}:{GpuMount}", "-e", $"STANDIN_NVML_PROCESS_FILE={GpuMount}/{GpuFile}"]);
            AddEnv(args, "STANDIN_FOOTPRINTS", gpu.Table);
            AddEnv(args, "STANDIN_CARD_MIB", gpu.CardMib.ToString(CultureInfo.InvariantCulture));
            AddEnv(args, "STANDIN_LOAD_DELAY_MS", gpu.LoadDelayMs.ToString(CultureInfo.InvariantCulture));
            AddEnv(args, "MACHINE_LEARNING_MODEL_TTL", gpu.TtlSeconds?.ToString(CultureInfo.InvariantCulture));
            AddEnv(args, "MACHINE_LEARNING_MODEL_TTL_POLL_S", "1");
        }

        args.AddRange(options.ExtraArgs);
        args.AddRange([DockerEngine.EmptyImage, "/dotnet/dotnet", $"/app/{MlStandInApp.Dll}"]);
        string id;
        try
        {
            id = await engine.CheckedAsync([.. args]);
        }
        catch
        {
            DeleteFolder(gpuFolder);
            throw;
        }

        var container = new MlStandInContainer(engine, name, id, options.ListenAddress, port, gpuFolder);
        if (options.Start)
        {
            try
            {
                await engine.CheckedAsync("start", name);
            }
            catch
            {
                await container.DisposeAsync();
                throw;
            }
        }

        return container;
    }

    /// <summary>Tells the stand-in to do <paramref name="action"/> (see tests/MlStandIn/README.md); returns its answer.</summary>
    public async Task<string> ControlAsync(string action, string? argument = null)
    {
        var uri = new Uri(BaseUri, $"_standin/{action}" + (argument is null ? "" : "?arg=" + Uri.EscapeDataString(argument)));
        using var response = await Http.PostAsync(uri, content: null);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"stand-in refused {action}: {(int)response.StatusCode} {body}");
        }

        return body.Trim();
    }

    public async Task<bool> PingAsync()
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(BaseUri, "ping"));
            return response.IsSuccessStatusCode && await response.Content.ReadAsStringAsync() == "pong";
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    public Task WaitForPingAsync(TimeSpan timeout) =>
        Waiting.UntilAsync(PingAsync, ok => ok, timeout, $"{Name} to answer /ping");

    public async Task<ContainerState> StateAsync() =>
        await Engine.StateAsync(Name) ?? throw new InvalidOperationException($"container {Name} no longer exists");

    public async Task<string> LogsAsync() =>
        await Engine.CliAsync("logs", Name) is { } logs ? logs.Stdout + logs.Stderr : "";

    public async ValueTask DisposeAsync()
    {
        await Engine.CliAsync("rm", "-f", Name);
        DeleteFolder(_gpuFolder);
    }

    private static void DeleteFolder(string? folder)
    {
        if (folder is not null && Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void AddEnv(List<string> args, string key, string? value)
    {
        if (value is not null)
        {
            args.AddRange(["-e", $"{key}={value}"]);
        }
    }
}
