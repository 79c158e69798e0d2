using System.Globalization;
using System.Text.Json;
using GpuSplit.Planner.Service;
using GpuSplit.Protos.V1;
using GpuSplit.Testing;
using GpuSplit.Testing.Agent;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Processes;
using Grpc.Net.Client;
using static GpuSplit.Planner.Tests.Service.StandInGpuBox;

namespace GpuSplit.Planner.Tests.Service;

/// <summary>
/// The agent, a real process watching the stand-in container through Docker and the fake NVML, learns the table's
/// footprints from Immich's log lines and the worker's memory; they survive an agent restart; `planner fit --agent`
/// uses them and says so.
/// </summary>
public sealed class AgentFootprintsTests : IDisposable
{
    private const string Visual = VisualEntries;
    private const string Faces = FacesEntries;
    // The loads as the agent's log names them (agent/Footprints/FootprintLearner.cs).
    private const string VisualLoad = "ViT-B-32__openai/visual";
    private const string FacesLoad = "buffalo_l/detection + buffalo_l/recognition";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task The_agent_learns_the_tables_footprints_keeps_them_across_a_restart_and_fit_uses_them()
    {
        // A TTL of 2 s, so that the worker unloads between the two rounds, like Immich's after MACHINE_LEARNING_MODEL_TTL.
        await using var box = await StartAsync(Table with { TtlSeconds = 2 }, predictDelayMs: 1000);
        var (grpcPort, metricsPort) = (FreePort.Next(), FreePort.Next());
        var agent = await box.StartAgentAsync(temp.Path, grpcPort, metricsPort);
        try
        {
            // A fresh worker: CLIP first (its first load brings the CUDA context), then faces; it unloads; then the other way round.
            await PredictAsync(box, agent, Visual, VisualLoad, time: 1);
            await PredictAsync(box, agent, Faces, FacesLoad, time: 1);
            await UnloadedAsync(box, agent, grpcPort);
            await PredictAsync(box, agent, Faces, FacesLoad, time: 2);
            await PredictAsync(box, agent, Visual, VisualLoad, time: 2);
            await UnloadedAsync(box, agent, grpcPort);

            var learned = await FootprintsAsync(grpcPort);
            Assert.True(Expected(learned), $"{learned}\nagent:\n{agent.Output}");
            var metrics = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"), TestContext.Current.CancellationToken);
            Assert.Contains(string.Create(CultureInfo.InvariantCulture,
                $"gpusplit_footprint_context_bytes{{gpu=\"{GpuName}\",image=\"{learned.Contexts[0].Image}\"}} {Bytes(Table.ContextMib)}"), metrics, StringComparison.Ordinal);

            await agent.DisposeAsync();
            agent = await box.StartAgentAsync(temp.Path, grpcPort, metricsPort);
            Assert.Equal(learned, await FootprintsAsync(grpcPort));

            var fit = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--agent", $"http://127.0.0.1:{grpcPort}", "--json");

            Assert.True(fit.ExitCode == 0, fit.ToString());
            Assert.Contains($"planner fit: observed figures for '{GpuName}' from the agent at http://127.0.0.1:{grpcPort}/ (3 components, ", fit.Error, StringComparison.Ordinal);
            Assert.Contains("their weights and the worker's CUDA context; per request stays as measured or estimated", fit.Error, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(fit.Output);
            var candidate = json.RootElement.GetProperty("candidates").EnumerateArray()
                .First(c => c.GetProperty("clip").GetString() == "ViT-B-32__openai" && c.GetProperty("facialRecognition").GetString() == "buffalo_l");
            // The context the agent learned replaces the estimate's 274 MiB, and says so.
            var terms = candidate.GetProperty("terms");
            Assert.Equal((Table.ContextMib, "observed"), (terms.GetProperty("contextMiB").GetInt32(), terms.GetProperty("contextSource").GetString()));
            var components = candidate.GetProperty("components").EnumerateArray().ToList();
            var visual = components.Single(c => c.GetProperty("type").GetString() == "visual");
            Assert.Equal(("observed", "estimate"), (visual.GetProperty("source").GetString(), visual.GetProperty("activationsSource").GetString()));
            // The observed load is the weights and one request: fit's weights plus one request in flight give it back.
            Assert.InRange(OneRequestMiB(visual), 399, 401);
            var faces = components.Where(c => c.GetProperty("task").GetString() == "facial-recognition").ToList();
            Assert.All(faces, f => Assert.Equal("observed", f.GetProperty("source").GetString()));
            Assert.InRange(faces.Sum(OneRequestMiB), 328, 332);
            Assert.Equal("estimate", components.Single(c => c.GetProperty("type").GetString() == "textual").GetProperty("source").GetString());
        }
        finally
        {
            await agent.DisposeAsync();
        }
    }

    /// <summary>The table: CLIP visual 340 + 60, faces 20 + 100 and 170 + 40 loaded together, the context 300; and the worker's peaks.</summary>
    private static bool Expected(ObservedFootprints learned)
    {
        var loads = learned.Loads.ToDictionary(l => string.Join('+', l.Components.Select(c => $"{c.Model}/{c.Type}")), l => (l.LoadBytes, l.Loads));
        var sets = learned.Sets.ToDictionary(s => string.Join('+', s.Components.Select(c => $"{c.Model}/{c.Type}")), s => s.PeakBytes);
        return loads.Count == 2
            && loads["ViT-B-32__openai/visual"] == ((ulong)Bytes(400), 2u)
            && loads["buffalo_l/detection+buffalo_l/recognition"] == ((ulong)Bytes(330), 2u)
            && learned.Contexts.Single().Bytes == (ulong)Bytes(Table.ContextMib) && learned.Contexts[0].Gpu == GpuName
            && sets.Count == 3
            && sets["ViT-B-32__openai/visual"] == (ulong)Bytes(700)
            && sets["buffalo_l/detection+buffalo_l/recognition"] == (ulong)Bytes(630)
            && sets["ViT-B-32__openai/visual+buffalo_l/detection+buffalo_l/recognition"] == (ulong)Bytes(1030)
            && learned.Observations == 4;
    }

    private static double OneRequestMiB(JsonElement component) =>
        component.GetProperty("weightsMiB").GetDouble() + (component.GetProperty("activationsMiB").GetDouble() / component.GetProperty("concurrency").GetInt32());

    private static async Task<ObservedFootprints> FootprintsAsync(int port)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        return await new Protos.V1.Agent.AgentClient(channel).GetFootprintsAsync(new GetFootprintsRequest(), cancellationToken: TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// One job's request as Immich sends it, then the agent's word (its Debug log) that the worker's memory settled after
    /// <paramref name="load"/> loaded, for the <paramref name="time"/>th time: a next request's load is then one of its
    /// own. A fixed pause here merged two loads on a busy machine, where the polls came late.
    /// </summary>
    private static async Task PredictAsync(StandInGpuBox box, AgentProcess agent, string entries, string load, int time)
    {
        await box.PredictAsync(entries);
        var line = $"footprint: {load} settled at ";
        await Waiting.UntilAsync(() => Task.FromResult(agent.Output.Split(line).Length - 1), count => count >= time, Bound,
            $"the agent to log \"{line}\" {time} time(s); agent:\n{agent.Output}");
    }

    /// <summary>Waits for the TTL to end the worker's models and for the agent to read the worker holding nothing.</summary>
    private static async Task UnloadedAsync(StandInGpuBox box, AgentProcess agent, int grpcPort)
    {
        await Waiting.UntilAsync(() => Task.FromResult(File.ReadAllText(box.Worker.GpuProcessFile!)), text => text.Length == 0, Bound,
            $"the stand-in's TTL to unload its models; agent:\n{agent.Output}");
        // The status shows a reading only once the learner holds it (agent/Gpu/GpuWatcher.cs).
        await Waiting.UntilAsync(() => StatusAsync(grpcPort), s => s?.Gpu.Gpus.SelectMany(g => g.Processes).Where(p => p.IsWorker).Sum(p => (long)p.UsedMemoryBytes) == 0,
            Bound, $"the agent to read the worker holding nothing; agent:\n{agent.Output}");
    }
}
