using GpuSplit.Planner.Agent;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;
using GpuSplit.Testing.Agent;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Processes;
using GpuSplit.Testing.Shim;
using static GpuSplit.Planner.Tests.Service.StandInGpuBox;

namespace GpuSplit.Planner.Tests.Service;

/// <summary>
/// The agent's field evidence end to end: the agent, a real process, watches the stand-in container through Docker and
/// the fake NVML; the stand-in prints ONNX Runtime's CUDA out-of-memory, the agent restarts it and keeps an `oom` record
/// of the models it held, bounded and across an agent restart; a worker that serves for the configured time becomes
/// `works` (here `comfortable`); `AgentClient.EvidenceAsync` reads them as the planner's records.
/// </summary>
public sealed class AgentEvidenceTests : IDisposable
{
    private const string NewRun = "footprint: a new run of ";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Each_cuda_out_of_memory_restart_is_an_oom_record_of_the_loaded_models_kept_bounded_across_an_agent_restart()
    {
        await using var box = await StartAsync();
        var grpcPort = FreePort.Next();
        string[] settings =
        [
            "--Agent:Evidence:MaxRecords=2",
            "--Agent:Evidence:Concurrency:SmartSearch=3", "--Agent:Evidence:Concurrency:FaceDetection=3", "--Agent:Evidence:Concurrency:Ocr=1",
        ];
        var agent = await box.StartAgentAsync(temp.Path, grpcPort, FreePort.Next(), settings);
        var url = new Uri($"http://127.0.0.1:{grpcPort}");
        try
        {
            // Three runs of the worker, each ended by a CUDA out-of-memory: CLIP and faces, CLIP alone, CLIP and faces.
            string[][] rounds = [[VisualEntries, FacesEntries], [VisualEntries], [VisualEntries, FacesEntries]];
            for (var round = 0; round < rounds.Length; round++)
            {
                // The agent must have seen this run start empty, so that it knows every model the run loads; and it serves.
                await NewRunSeenAsync(agent, round + 1);
                await Waiting.UntilAsync(() => StatusAsync(grpcPort), s => s is { Serving: true } && s.Worker.RestartCount == round, Bound,
                    $"the worker to serve after {round} restarts; agent:\n{agent.Output}", cancellationToken: TestContext.Current.CancellationToken);
                foreach (var entries in rounds[round])
                {
                    await box.PredictAsync(entries);
                }

                await box.Worker.ControlAsync("cuda-oom");
                await Waiting.UntilAsync(() => AgentClient.EvidenceAsync(url, TestContext.Current.CancellationToken),
                    records => records.Count == Math.Min(round + 1, 2) && (round < 2 || records[^1].FacialRecognition is not null),
                    Bound, $"the oom record of round {round + 1}; agent:\n{agent.Output}", cancellationToken: TestContext.Current.CancellationToken);
            }

            var kept = await AgentClient.EvidenceAsync(url, TestContext.Current.CancellationToken);

            // Bounded at 2: the first round's record went first.
            Assert.Equal(2, kept.Count);
            Assert.Equal(new string?[] { null, "buffalo_l" }, kept.Select(r => r.FacialRecognition));
            foreach (var record in kept)
            {
                Assert.Equal((GpuName, 6144L, 1, new JobConcurrency(3, 3, 1), "ViT-B-32__openai", (string?)null, EvidenceOutcome.Oom),
                    (record.Gpu, record.VramMiB, record.Workers, record.Concurrency, record.Clip, record.Ocr, record.Outcome));
                Assert.Matches(@"^agent \S+: CUDA out-of-memory restart at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$", record.Source);
            }

            await agent.DisposeAsync();
            agent = await box.StartAgentAsync(temp.Path, grpcPort, FreePort.Next(), settings);
            Assert.Equal(kept, await AgentClient.EvidenceAsync(url, TestContext.Current.CancellationToken));
        }
        finally
        {
            await agent.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_worker_that_serves_its_models_for_the_configured_time_is_a_works_record_again_when_it_loads_more()
    {
        await using var box = await StartAsync();
        var grpcPort = FreePort.Next();
        await using var agent = await box.StartAgentAsync(temp.Path, grpcPort, FreePort.Next(), ["--Agent:Evidence:WorksAfter=00:00:02"]);
        var url = new Uri($"http://127.0.0.1:{grpcPort}");
        await NewRunSeenAsync(agent, 1);

        await box.PredictAsync(VisualEntries);
        var first = await Waiting.UntilAsync(() => AgentClient.EvidenceAsync(url, TestContext.Current.CancellationToken), r => r.Count >= 1, Bound,
            $"a works record; agent:\n{agent.Output}", cancellationToken: TestContext.Current.CancellationToken);
        await box.PredictAsync(FacesEntries);
        var second = await Waiting.UntilAsync(() => AgentClient.EvidenceAsync(url, TestContext.Current.CancellationToken), r => r.Count >= 2, Bound,
            $"a second works record once faces loaded; agent:\n{agent.Output}", cancellationToken: TestContext.Current.CancellationToken);

        // 700 MiB, then 1,030 MiB of 6,144: a quarter of the card stayed free. The concurrency was not configured: unknown.
        Assert.Equal(("ViT-B-32__openai", (string?)null, EvidenceOutcome.Comfortable, (JobConcurrency?)null), (first[0].Clip, first[0].FacialRecognition, first[0].Outcome, first[0].Concurrency));
        Assert.Equal(("ViT-B-32__openai", "buffalo_l", EvidenceOutcome.Comfortable), (second[1].Clip, second[1].FacialRecognition, second[1].Outcome));
        Assert.Contains("served for 00:00:02 without a CUDA out-of-memory, peak 700 of 6144 MiB", first[0].Source, StringComparison.Ordinal);
        Assert.Contains("peak 1030 of 6144 MiB", second[1].Source, StringComparison.Ordinal);
        Assert.Equal(2, second.Count);
    }

    [Fact]
    public async Task An_agent_without_evidence_is_one_clear_line()
    {
        await using var old = await TestAgent.StartAsync(TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<AgentException>(() => AgentClient.EvidenceAsync(old.Address, TestContext.Current.CancellationToken));

        Assert.Equal($"the agent at {old.Address} is an agent too old to serve evidence", error.Message);
    }

    /// <summary>Waits for the agent to have seen <paramref name="runs"/> runs of the worker begin (its learner logs each).</summary>
    private static Task NewRunSeenAsync(AgentProcess agent, int runs) =>
        Waiting.UntilAsync(() => Task.FromResult(agent.Output), o => o.Split(NewRun).Length - 1 >= runs, Bound,
            $"the agent to see run {runs} of the worker; agent:\n{agent.Output}", cancellationToken: TestContext.Current.CancellationToken);
}
