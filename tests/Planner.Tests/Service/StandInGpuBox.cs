using System.Net.Http.Headers;
using GpuSplit.Planner.Service;
using GpuSplit.Protos.V1;
using GpuSplit.Testing;
using GpuSplit.Testing.Agent;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.MlStandIn;
using GpuSplit.Testing.Processes;
using Grpc.Net.Client;

namespace GpuSplit.Planner.Tests.Service;

/// <summary>
/// A GPU box made of real parts: the ML stand-in as a container with a footprint table (its worker's memory written as
/// a fake-NVML process line with its host pid), and the fake NVML's state for child processes: one GTX 1060 whose used
/// memory is the sum of its processes. The planner and the agent run as processes of their own against it.
/// </summary>
internal sealed class StandInGpuBox : IAsyncDisposable
{
    public const string GpuName = "NVIDIA GeForce GTX 1060 6GB";
    public const long MiB = 1024 * 1024;

    /// <summary>Immich's `entries` for a smart-search job's image (CLIP visual) and a face-detection job.</summary>
    public const string VisualEntries = """{"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}""";

    public const string FacesEntries = """{"facial-recognition":{"detection":{"modelName":"buffalo_l","options":{"minScore":0.7}},"recognition":{"modelName":"buffalo_l"}}}""";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly byte[] Jpeg = PreviewJpeg.Encode(96, 72, quality: 80, seed: 3);

    /// <summary>MiB, like a 1060's real figures in spirit; the last model is too big to run at concurrency 3 with the others.</summary>
    public static readonly StandInGpu Table = new()
    {
        ContextMib = 300,
        Components = new Dictionary<string, StandInFootprint>
        {
            ["ViT-B-32__openai/visual"] = new(340, 60),
            ["ViT-B-32__openai/textual"] = new(250, 10),
            ["buffalo_l/detection"] = new(20, 100),
            ["buffalo_l/recognition"] = new(170, 40),
            ["PP-OCRv5_mobile/detection"] = new(10, 500),
            ["PP-OCRv5_mobile/recognition"] = new(16, 60),
            ["XLM-Roberta-Large-Vit-B-16Plus/visual"] = new(1500, 700),
            ["XLM-Roberta-Large-Vit-B-16Plus/textual"] = new(1100, 20),
        },
    };

    private StandInGpuBox(MlStandInContainer worker, FakeNvml nvml)
    {
        Worker = worker;
        Nvml = nvml;
    }

    public MlStandInContainer Worker { get; }

    public FakeNvml Nvml { get; }

    /// <summary>FAKE_NVML_STATE, for the planner and the agent.</summary>
    public IReadOnlyDictionary<string, string> Environment => Nvml.Environment;

    /// <param name="predictDelayMs">How long each request runs: long enough that a burst's requests are all in flight at once, also on a busy machine.</param>
    public static async Task<StandInGpuBox> StartAsync(StandInGpu? gpu = null, int predictDelayMs = 400)
    {
        var engine = await DockerEngine.MachineAsync();
        var worker = await MlStandInContainer.StartAsync(engine, new MlStandInOptions { Gpu = gpu ?? Table, PredictDelayMs = predictDelayMs });
        try
        {
            await worker.WaitForPingAsync(TimeSpan.FromSeconds(60));
            var nvml = FakeNvml.ForChildProcess(new FakeNvmlState
            {
                Devices = [new FakeGpu { UsedIsSumOfProcesses = true }],
                Includes = [worker.GpuProcessFile!],
            });
            return new StandInGpuBox(worker, nvml);
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
    }

    public static long Bytes(long mib) => mib * MiB;

    /// <summary>One job's request as Immich sends it; it must succeed.</summary>
    public async Task PredictAsync(string entries)
    {
        using var form = new MultipartFormDataContent { { new StringContent(entries), "entries" } };
        var image = new ByteArrayContent(Jpeg);
        image.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(image, "image", "blob");
        using var response = await Http.PostAsync(new Uri(Worker.BaseUri, "predict"), form, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    /// <summary>
    /// The agent as a process of its own watching the stand-in through Docker and the fake NVML (polling every 150 ms),
    /// keeping what it learns in <paramref name="dataFolder"/>, with <paramref name="settings"/> (<c>--Agent:...=...</c>)
    /// added; returned once it serves with the GPU read.
    /// </summary>
    public async Task<AgentProcess> StartAgentAsync(string dataFolder, int grpcPort, int metricsPort, IEnumerable<string>? settings = null)
    {
        var agent = AgentProcess.Start(
        [
            "--urls", $"http://127.0.0.1:{grpcPort}",
            $"--Agent:Worker:Container={Worker.Name}",
            $"--Agent:Worker:Url={Worker.BaseUri}",
            $"--Agent:Metrics:Url=http://127.0.0.1:{metricsPort}",
            "--Agent:Gpu:Enabled=true",
            $"--Agent:Gpu:NvmlLibrary={FakeNvml.LibraryPath}",
            "--Agent:PollInterval=00:00:00.150",
            $"--Agent:DataFolder={dataFolder}",
            // What the learner makes of each line and reading, in the output a failing test shows.
            "--Logging:LogLevel:GpuSplit.Agent.Footprints=Debug",
            .. settings ?? [],
        ], Environment);
        try
        {
            await Waiting.UntilAsync(() => StatusAsync(grpcPort), s => s is { Serving: true, Gpu.Available: true } || agent.HasExited, TimeSpan.FromSeconds(30),
                "the agent to serve with the GPU read");
            return agent.HasExited ? throw new InvalidOperationException($"the agent exited with code {agent.ExitCode}:\n{agent.Output}") : agent;
        }
        catch (TimeoutException timedOut)
        {
            await agent.DisposeAsync();
            throw new TimeoutException($"{timedOut.Message}\nagent:\n{agent.Output}", timedOut);
        }
    }

    public static async Task<AgentStatus?> StatusAsync(int port)
    {
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            return await new Protos.V1.Agent.AgentClient(channel).GetStatusAsync(new GetStatusRequest(), cancellationToken: TestContext.Current.CancellationToken);
        }
        catch (Grpc.Core.RpcException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Nvml.Dispose();
        await Worker.DisposeAsync();
    }
}
