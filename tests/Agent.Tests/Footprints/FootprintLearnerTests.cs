using GpuSplit.Agent.Footprints;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GpuSplit.Agent.Tests.Footprints;

/// <summary>The learner over the lines Immich prints and the readings NVML gives, in the order the agent gets them.</summary>
public sealed class FootprintLearnerTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private const string Gpu = "NVIDIA GeForce GTX 1060 6GB";
    private const string Image = "ghcr.io/immich-app/immich-machine-learning:v1.135.3-cuda";
    private static readonly WorkerInspection Worker = new("c0ffee", "immich_machine_learning", Image, true, "running", false, 0,
        new DateTimeOffset(2026, 11, 25, 8, 0, 0, TimeSpan.Zero), null, false);

    private readonly string _folder = Directory.CreateTempSubdirectory("gpusplit-footprints-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_load_into_a_worker_on_the_gpu_is_its_growth_once_memory_settles_and_the_peak_belongs_to_the_set()
    {
        var learner = Learner();
        Read(learner, 0);
        learner.OnLogLine("[11/25/26 09:00:00] INFO     Loading visual model 'ViT-B-32__openai' to memory", _time.GetUtcNow());
        Read(learner, 0, 700, 700, 700);
        learner.OnLogLine("[11/25/26 09:00:05] INFO     Loading textual model 'ViT-B-32__openai' to", _time.GetUtcNow());
        Read(learner, 700, 960, 980, 980, 980, 1100, 1000);
        learner.OnLogLine("[11/25/26 09:10:00] INFO     Shutting down due to inactivity.", _time.GetUtcNow());

        var observations = Store().Observations;
        Assert.Equal(2, observations.Count);
        Assert.Equal((true, 0L, 700 * MiB, 700 * MiB), (observations[0].FirstOnGpu, observations[0].BeforeBytes, observations[0].SettledBytes, observations[0].PeakBytes));
        Assert.Equal([], observations[0].LoadedBefore!);
        var textual = observations[1];
        Assert.Equal([new LoggedComponent("ViT-B-32__openai", "textual")], textual.Components);
        Assert.Equal([new LoggedComponent("ViT-B-32__openai", "visual")], textual.LoadedBefore!);
        Assert.Equal((false, 280 * MiB, 1100 * MiB), (textual.FirstOnGpu, textual.GrowthBytes, textual.PeakBytes));

        var summary = learner.Summary;
        // The textual model was loaded into a worker on the GPU: its growth is its own. The visual one came first.
        var load = Assert.Single(summary.Loads);
        Assert.Equal(("ViT-B-32__openai/textual", 280 * MiB), (string.Join('+', load.Components), load.LoadBytes));
        Assert.Empty(summary.Contexts);
        Assert.Equal([(1, 700 * MiB), (2, 1100 * MiB)], summary.Sets.OrderBy(s => s.Components.Count).Select(s => (s.Components.Count, s.PeakBytes)));
    }

    [Fact]
    public void The_context_is_learned_from_a_load_seen_both_first_and_later_and_taken_off_first_loads()
    {
        var learner = Learner();
        Read(learner, 0);
        Load(learner, "visual", "ViT-B-32__openai", 0, 700);          // first: context 300 + 400
        Load(learner, "detection", "buffalo_l", 700, 820);            // into a worker on the GPU: 120
        learner.OnLogLine("INFO     Shutting down due to inactivity.", _time.GetUtcNow());
        Read(learner, 0);
        Load(learner, "detection", "buffalo_l", 0, 420);              // first: context 300 + 120
        learner.OnLogLine("INFO     Shutting down due to inactivity.", _time.GetUtcNow());

        var summary = learner.Summary;
        Assert.Equal(300 * MiB, Assert.Single(summary.Contexts).Bytes);
        Assert.Equal(
            [("ViT-B-32__openai/visual", 400 * MiB, 1), ("buffalo_l/detection", 120 * MiB, 2)],
            summary.Loads.Select(l => (string.Join('+', l.Components), l.LoadBytes, l.Loads)).OrderBy(l => l.Item1, StringComparer.Ordinal));
    }

    [Fact]
    public void Lines_that_come_before_memory_settles_loaded_together()
    {
        var learner = Learner();
        Read(learner, 500);
        learner.OnLogLine("Loading detection model 'buffalo_l' to memory", _time.GetUtcNow());
        Read(learner, 500, 520, 520);
        learner.OnLogLine("Loading recognition model 'buffalo_l' to memory", _time.GetUtcNow());
        Read(learner, 690, 830, 830, 830);
        learner.OnLogLine("Shutting down due to inactivity.", _time.GetUtcNow());

        var observation = Assert.Single(Store().Observations);
        Assert.Equal(["buffalo_l/detection", "buffalo_l/recognition"], observation.Components.Select(c => c.ToString()));
        Assert.Equal(330 * MiB, observation.GrowthBytes);
        // The agent joined a worker that already held memory: what else was loaded is unknown, so no set.
        Assert.Null(observation.LoadedBefore);
        Assert.Empty(learner.Summary.Sets);
    }

    [Fact]
    public void The_settle_is_logged_once_per_load_and_again_when_a_component_joined_in_time()
    {
        var logger = new FakeLogger<FootprintLearner>();
        var learner = new FootprintLearner(Store(), _time, logger);
        Read(learner, 0);
        learner.OnLogLine("Loading visual model 'ViT-B-32__openai' to memory", _time.GetUtcNow());
        Read(learner, 700, 700, 700, 700);
        learner.OnLogLine("Loading detection model 'buffalo_l' to memory", _time.GetUtcNow());
        Read(learner, 720);
        var recognitionPrinted = _time.GetUtcNow();
        Read(learner, 720, 720);
        // Printed before detection's memory settled, arriving after it was logged settled: recognition joins the load,
        // which must settle anew.
        learner.OnLogLine("Loading recognition model 'buffalo_l' to memory", recognitionPrinted);
        Read(learner, 930, 930, 930, 930);

        Assert.Equal(
            [
                "footprint: ViT-B-32__openai/visual settled at 700 MiB",
                "footprint: buffalo_l/detection settled at 720 MiB",
                "footprint: buffalo_l/detection + buffalo_l/recognition settled at 930 MiB",
            ],
            logger.Collector.GetSnapshot().Where(r => r.Message.Contains(" settled at ", StringComparison.Ordinal)).Select(r => r.Message));
    }

    [Fact]
    public void Lines_are_placed_by_when_they_were_printed_not_when_they_arrived()
    {
        var learner = Learner();
        Read(learner, 0);
        // The log stream lags behind the GPU polls: both loads' memory is read before their lines arrive.
        var visualPrinted = _time.GetUtcNow();
        Read(learner, 0, 700, 700, 700);
        learner.OnLogLine("Loading visual model 'ViT-B-32__openai' to memory", visualPrinted);
        var detectionPrinted = _time.GetUtcNow();
        Read(learner, 720);
        var recognitionPrinted = _time.GetUtcNow();
        // Recognition's session is still being created: detection alone, twice; then both.
        Read(learner, 720, 720, 930, 930, 930);
        learner.OnLogLine("Loading detection model 'buffalo_l' to memory", detectionPrinted);
        learner.OnLogLine("Loading recognition model 'buffalo_l' to memory", recognitionPrinted);
        var shutdown = _time.GetUtcNow();
        Read(learner, 0);
        learner.OnLogLine("Shutting down due to inactivity.", shutdown);

        var observations = Store().Observations;
        Assert.Equal(
            [("ViT-B-32__openai/visual", 0L, 700 * MiB, 700 * MiB), ("buffalo_l/detection+buffalo_l/recognition", 700 * MiB, 230 * MiB, 930 * MiB)],
            observations.Select(o => (string.Join('+', o.Components), o.BeforeBytes, o.GrowthBytes, o.PeakBytes)));
    }

    [Fact]
    public void A_line_before_the_first_reading_starts_from_zero_when_the_worker_then_holds_nothing()
    {
        var learner = Learner();
        // The agent has just started: the worker's first line comes before the agent's first reading of it.
        learner.OnLogLine("Loading visual model 'ViT-B-32__openai' to memory", _time.GetUtcNow());
        Read(learner, 0, 700, 700, 700);
        learner.OnLogLine("Shutting down due to inactivity.", _time.GetUtcNow());
        // The container stops and runs again; its first line comes before the agent reads it, and that first reading
        // finds memory held already: what the worker held before the line cannot be told.
        learner.OnGpu(Worker with { Running = false }, View(0));
        var restarted = Worker with { StartedAt = Worker.StartedAt!.Value.AddMinutes(5) };
        learner.OnLogLine("Loading textual model 'ViT-B-32__openai' to memory", _time.GetUtcNow());
        Read(learner, restarted, 250, 260, 260, 260);
        learner.OnLogLine("Shutting down due to inactivity.", _time.GetUtcNow());

        var observation = Assert.Single(Store().Observations);
        Assert.Equal(("ViT-B-32__openai/visual", true, 700 * MiB), (string.Join('+', observation.Components), observation.FirstOnGpu, observation.GrowthBytes));
        Assert.Equal([], observation.LoadedBefore!);
    }

    [Fact]
    public void A_load_whose_memory_never_settles_is_not_an_observation_and_a_restarted_container_is_a_new_worker()
    {
        var learner = Learner();
        Read(learner, 0);
        learner.OnLogLine("Loading visual model 'ViT-B-32__openai' to memory", _time.GetUtcNow());
        Read(learner, 0, 300, 650, 650);
        var restarted = Worker with { StartedAt = Worker.StartedAt!.Value.AddMinutes(5) };
        Read(learner, restarted, 0);
        learner.OnLogLine("Loading visual model 'ViT-B-32__openai' to memory", _time.GetUtcNow());
        Read(learner, restarted, 700, 700, 700);
        learner.OnGpu(restarted with { Running = false }, View(0));

        var observation = Assert.Single(Store().Observations);
        Assert.Equal((true, 700 * MiB), (observation.FirstOnGpu, observation.GrowthBytes));
    }

    [Fact]
    public void The_file_survives_a_restart_keeps_the_newest_and_a_damaged_one_is_not_fatal()
    {
        var learner = Learner(max: 3);
        Read(learner, 0);
        for (var i = 1; i <= 5; i++)
        {
            Load(learner, "visual", $"model-{i}", (i - 1) * 100, i * 100);
        }

        learner.Dispose();

        var again = Store(max: 3).Observations;
        Assert.Equal(["model-3", "model-4", "model-5"], again.Select(o => o.Components[0].Model));
        Assert.Equal(["model-3/visual", "model-4/visual", "model-5/visual"], Learner(max: 3).Summary.Loads.Select(l => l.Components[0].ToString()));

        File.WriteAllText(Path.Combine(_folder, FootprintStore.FileName), "{ \"schemaVersion\": 1, \"observations\": [ {");
        Assert.Empty(Store().Observations);
    }

    private FootprintLearner Learner(int max = 1000) => new(Store(max), _time, NullLogger<FootprintLearner>.Instance);

    private FootprintStore Store(int max = 1000) => new(
        Options.Create(new AgentOptions { DataFolder = _folder, Footprints = new FootprintOptions { MaxObservations = max } }),
        NullLogger<FootprintStore>.Instance);

    private void Load(FootprintLearner learner, string type, string model, long beforeMiB, long afterMiB)
    {
        learner.OnLogLine($"[11/25/26 09:00:00] INFO     Loading {type} model '{model}' to memory", _time.GetUtcNow());
        Read(learner, beforeMiB, afterMiB, afterMiB, afterMiB);
    }

    private void Read(FootprintLearner learner, params long[] workerMiB) => Read(learner, Worker, workerMiB);

    private void Read(FootprintLearner learner, WorkerInspection container, params long[] workerMiB)
    {
        foreach (var mib in workerMiB)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            learner.OnGpu(container, View(mib));
        }
    }

    private static GpuView View(long workerMiB) => new(true, null,
    [
        new GpuDeviceView(0, Gpu, "GPU-1", 6144UL * 1024 * 1024, (ulong)(workerMiB * MiB), 0, 0, 0, 40, 30_000, 6, 1,
            workerMiB == 0 ? [] : [new GpuProcessView(4242, (ulong)(workerMiB * MiB), Worker.Id, Worker.Name, IsWorker: true)]),
    ], null);
}
