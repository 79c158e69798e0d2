using System.Text.Json;
using GpuSplit.Testing;
using GpuSplit.Testing.MlStandIn;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Processes;
using static GpuSplit.Planner.Tests.Service.StandInGpuBox;

namespace GpuSplit.Planner.Tests.Service;

/// <summary>
/// `planner measure --service` against the ML stand-in as a real container (restarted through the real Docker engine),
/// read through the real NVML binding and the fake NVML library, the planner a process of its own.
/// </summary>
public sealed class MeasureServiceTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Each_models_figures_come_back_from_the_table_and_a_combination_over_the_card_is_oom_and_the_container_runs_afterwards()
    {
        await using var box = await StartAsync();
        var before = await box.Worker.StateAsync();
        var file = temp.File("measurements.json");

        var run = await Measure(box, "--only", "ViT-B-32__openai,buffalo_l,PP-OCRv5_mobile",
            "--combination", "XLM-Roberta-Large-Vit-B-16Plus,buffalo_l,PP-OCRv5_mobile", "--combination-seconds", "2", "--out", file, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        var root = json.RootElement;
        Assert.Equal(GpuName, root.GetProperty("device").GetString());
        Assert.Equal(Bytes(Table.ContextMib), root.GetProperty("contextBytes").GetInt64());
        var components = root.GetProperty("components").EnumerateArray().ToList();
        Assert.Equal(6, components.Count);
        foreach (var component in components)
        {
            var key = $"{component.GetProperty("model").GetString()}/{component.GetProperty("type").GetString()}";
            var expected = Table[key];
            var share = component.GetProperty("share");
            var burst = component.GetProperty("burst");
            Assert.True(Bytes(expected.WeightsMib) == share.GetProperty("loadedBytes").GetInt64(), $"{key} weights\n{run}");
            Assert.True(Bytes(expected.PerRequestMib) == share.GetProperty("peakBytes").GetInt64() - share.GetProperty("loadedBytes").GetInt64(), $"{key} per request\n{run}");
            Assert.Equal(Bytes(expected.WeightsMib + (expected.PerRequestMib * burst.GetProperty("jobConcurrency").GetInt32())), burst.GetProperty("jobPeakBytes").GetInt64());
        }

        Assert.Equal([3, 1, 3, 3, 1, 1], components.Select(c => c.GetProperty("burst").GetProperty("jobConcurrency").GetInt32()));
        var combination = root.GetProperty("combination");
        Assert.Equal("oom", combination.GetProperty("verdict").GetString());
        Assert.Contains("Failed to allocate memory for requested buffer", combination.GetProperty("outOfMemory").GetString(), StringComparison.Ordinal);
        Assert.Equal(["XLM-Roberta-Large-Vit-B-16Plus", "buffalo_l", "PP-OCRv5_mobile"],
            combination.GetProperty("models").EnumerateArray().Select(m => m.GetString()));

        // The file: the service entry keyed by the card, with the image the figures come from.
        using var measurements = JsonDocument.Parse(File.ReadAllText(file));
        var entry = Assert.Single(measurements.RootElement.GetProperty("devices").GetProperty(GpuName).EnumerateArray());
        Assert.Equal("service", entry.GetProperty("method").GetString());
        Assert.Equal(before.Image, entry.GetProperty("image").GetString());
        Assert.Equal(6, entry.GetProperty("components").GetArrayLength());
        Assert.Equal("oom", Assert.Single(entry.GetProperty("combinations").EnumerateArray()).GetProperty("verdict").GetString());

        // Left as found: running, answering, a fresh worker holding nothing, not stuck after its out-of-memory.
        var after = await box.Worker.StateAsync();
        Assert.True(after.Running);
        Assert.True(after.StartedAt > before.StartedAt);
        Assert.True(await box.Worker.PingAsync());
        Assert.Equal("", File.ReadAllText(box.Worker.GpuProcessFile!));
        Assert.Contains("\"stuckError\":null", await Http.GetStringAsync(new Uri(box.Worker.BaseUri, "_standin/state"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_combination_whose_model_fails_to_load_is_an_error_not_an_oom()
    {
        await using var box = await StartAsync();
        var file = temp.File("measurements.json");

        // ViT-B-16__openai is in the catalog but not in the stand-in's cache: the service answers 500 "Failed to load",
        // as immich_ml does when a download fails, and nothing in the answer or the logs says out of memory.
        var run = await Measure(box, "--only", "ViT-B-32__openai", "--combination", "ViT-B-16__openai,buffalo_l",
            "--combination-seconds", "1", "--out", file);

        Assert.True(run.ExitCode == 1, run.ToString());
        var error = Assert.Single(run.ErrorLines, l => l.StartsWith("planner measure: combination: ", StringComparison.Ordinal));
        Assert.Contains("Failed to load visual model 'ViT-B-16__openai'", error, StringComparison.Ordinal);
        Assert.Contains("neither the answer nor the container's logs say out of memory", error, StringComparison.Ordinal);
        Assert.DoesNotContain("\"oom\"", File.Exists(file) ? File.ReadAllText(file) : "", StringComparison.Ordinal);
        Assert.True((await box.Worker.StateAsync()).Running);
        Assert.True(await box.Worker.PingAsync());
    }

    [Fact]
    public async Task Bad_input_is_one_line_and_a_non_zero_exit_and_the_container_keeps_running_untouched()
    {
        await using var box = await StartAsync();
        await using var other = await MlStandInContainer.StartAsync(box.Worker.Engine);
        var started = (await box.Worker.StateAsync()).StartedAt;
        var nobody = new Uri($"http://127.0.0.1:{FreePort.Next()}");

        var silent = await Measure(box, nobody);
        var wrongContainer = await Measure(box, box.Worker.BaseUri, "--container", other.Name);
        var unknownModel = await Measure(box, "--only", "ViT-B-32__openai,NoSuchModel");

        Assert.Equal(1, silent.ExitCode);
        Assert.StartsWith($"planner measure: {nobody} does not answer (", Assert.Single(silent.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(1, wrongContainer.ExitCode);
        Assert.Equal($"planner measure: container '{other.Name}' is not the ML service at {box.Worker.BaseUri}: it publishes no port and listens on {other.Port} on the host's network; --container names Immich's ML container",
            Assert.Single(wrongContainer.ErrorLines));
        Assert.Equal(2, unknownModel.ExitCode);
        Assert.Equal("planner: --only: 'NoSuchModel' is not a model of the catalog; `planner catalog` lists them", Assert.Single(unknownModel.ErrorLines));
        foreach (var container in new[] { box.Worker, other })
        {
            var state = await container.StateAsync();
            Assert.True(state.Running);
        }

        Assert.Equal(started, (await box.Worker.StateAsync()).StartedAt);
    }

    [Fact]
    public async Task A_worker_that_holds_gpu_memory_is_in_use_and_is_not_restarted_without_force()
    {
        await using var box = await StartAsync();
        var started = (await box.Worker.StateAsync()).StartedAt;
        // Immich searched a moment ago: the model is loaded and the TTL has not freed it.
        using var search = new MultipartFormDataContent
        {
            { new StringContent("""{"clip":{"textual":{"modelName":"ViT-B-32__openai","options":{"language":"en"}}}}"""), "entries" },
            { new StringContent("a dog"), "text" },
        };
        (await Http.PostAsync(new Uri(box.Worker.BaseUri, "predict"), search, TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();

        var (grpcPort, metricsPort) = (FreePort.Next(), FreePort.Next());
        await using var agent = await box.StartAgentAsync(temp.Path, grpcPort, metricsPort);
        await Waiting.UntilAsync(() => StatusAsync(grpcPort), s => s?.Gpu.Gpus.Any(g => g.Processes.Any(p => p.IsWorker)) == true, TimeSpan.FromSeconds(30),
            "the agent to see the worker on the GPU", cancellationToken: TestContext.Current.CancellationToken);

        var refused = await Measure(box, "--only", "ViT-B-32__openai");
        var refusedByAgent = await Measure(box, "--only", "ViT-B-32__openai", "--agent", $"http://127.0.0.1:{grpcPort}");

        const string inUse = "is in use: its worker holds 560 MiB of GPU memory, so it served a /predict within its model TTL; "
            + "measure when Immich's ML jobs are idle (the TTL frees it), or pass --force to restart it anyway";
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"planner measure: {box.Worker.Name} {inUse}", Assert.Single(refused.ErrorLines));
        Assert.Equal(1, refusedByAgent.ExitCode);
        Assert.Equal($"planner measure: {box.Worker.Name} {inUse} (the agent's status)", Assert.Single(refusedByAgent.ErrorLines));
        Assert.Equal(started, (await box.Worker.StateAsync()).StartedAt);

        // The owner knows better: --force restarts the busy worker and measures.
        var forced = await Measure(box, "--only", "ViT-B-32__openai", "--force", "--json");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        using var measured = JsonDocument.Parse(forced.Output);
        Assert.Equal(2, measured.RootElement.GetProperty("components").GetArrayLength());
        Assert.True((await box.Worker.StateAsync()).StartedAt > started, "--force measured without restarting the worker");
    }

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>
    /// The planner carries no libvips; the tests' own (NetVips.Native, beside this assembly) goes on its library path,
    /// as `apt install libvips42` would put one on the box's.
    /// </summary>
    private static readonly string Libvips = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");

    [Fact]
    public async Task Without_libvips_measure_service_says_in_one_line_to_pass_a_preview_or_install_it()
    {
        RequiredPart.Require(OperatingSystem.IsLinux(), "Linux (the library paths below are Linux's)");
        if (new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib", "/usr/local/lib" }.Any(d => File.Exists(Path.Combine(d, "libvips.so.42"))))
        {
            Assert.Skip("this machine has libvips installed: the planner finds it there");
        }

        var run = await PlannerProcess.RunAsync("measure", "--service", $"http://127.0.0.1:{FreePort.Next()}", "--only", "ViT-B-32__openai");

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("planner: measure --service: no preview JPEG to send: libvips could not be loaded", line, StringComparison.Ordinal);
        Assert.Contains("pass --image", line, StringComparison.Ordinal);
        Assert.Contains("apt install libvips42", line, StringComparison.Ordinal);
    }

    private Task<PlannerProcess.Result> Measure(StandInGpuBox box, params string[] args) => Measure(box, box.Worker.BaseUri, args);

    /// <summary>The planner on the box: its container and a measurements file of the test's own unless the arguments name others.</summary>
    private Task<PlannerProcess.Result> Measure(StandInGpuBox box, Uri service, params string[] args) => PlannerProcess.RunAsync(
        [
            "measure", "--service", service.ToString(), "--nvml-library", FakeNvml.LibraryPath, .. args,
            .. args.Contains("--container") ? [] : new[] { "--container", box.Worker.Name },
            .. args.Contains("--out") ? [] : new[] { "--out", temp.File("measurements.json") },
        ],
        new Dictionary<string, string>(box.Environment) { ["LD_LIBRARY_PATH"] = Libvips });
}
