using System.Diagnostics;
using GpuSplit.MlService.Docker;
using GpuSplit.MlService.Logs;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Service;

/// <summary>
/// Measures models through Immich's own ML container: each model in a freshly restarted worker, loaded by the requests
/// Immich's server sends, then a burst at its job's concurrency while NVML is sampled; optionally a whole combination
/// run at once until it holds or runs out of memory. The container is restarted at the end, so it is left as found.
/// </summary>
public sealed class ServiceMeasurer(MlServiceClient service, WorkerContainer container, WorkerMemoryProbe probe, IStepProgress progress)
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(3);

    /// <summary>The headroom `planner fit` keeps by default: a measured combination with less free is unstable.</summary>
    private const double Headroom = 0.10;

    /// <summary>Refuses when the worker holds GPU memory: it served a /predict within its model TTL, so Immich is using it.</summary>
    /// <exception cref="MeasureException">The container is in use.</exception>
    public async Task CheckIdleAsync(CancellationToken cancellationToken)
    {
        probe.Watch(await container.HostPidsAsync(cancellationToken));
        var held = probe.Read().ProcessBytes;
        if (held > 0)
        {
            throw new MeasureException(InUse(container.Name, held));
        }
    }

    public static string InUse(string container, long heldBytes) =>
        $"{container} is in use: its worker holds {ByteSize.FormatMiB(heldBytes)} of GPU memory, so it served a /predict within its model TTL; "
        + "measure when Immich's ML jobs are idle (the TTL frees it), or pass --force to restart it anyway";

    public async Task<ServiceRun> RunAsync(ServicePlan plan, CancellationToken cancellationToken)
    {
        using var sampler = new PeakSampler(probe);
        var failures = new List<MeasureFailure>();
        var models = new List<ModelReadings>();
        CombinationResult? combination = null;
        var pair = ContextPair(plan.Models);
        long? secondLoad = null;
        try
        {
            if (pair is { } p)
            {
                try
                {
                    secondLoad = await progress.StepAsync($"the worker's CUDA context ({p.First.Label}, then {p.Second.Label})",
                        () => LoadAfterAnotherAsync(p, plan.Image, sampler, cancellationToken));
                }
                catch (MeasureException e)
                {
                    failures.Add(new MeasureFailure("context", $"the worker's CUDA context: {e.Message}"));
                }
            }

            foreach (var model in plan.Models)
            {
                try
                {
                    models.Add(await progress.StepAsync($"{model.Task.WireName()}/{model.Name}", () => MeasureModelAsync(model, plan, sampler, cancellationToken)));
                }
                catch (MeasureException e)
                {
                    failures.Add(new MeasureFailure(model.Name, $"{model.Name}: {e.Message}"));
                }
            }

            if (plan.Combination is { } together)
            {
                try
                {
                    combination = await progress.StepAsync($"{string.Join(" + ", together.Select(m => m.Name))} together for {plan.CombinationTime.TotalSeconds:0} s",
                        () => RunCombinationAsync(together, plan, sampler, cancellationToken));
                }
                catch (MeasureException e)
                {
                    failures.Add(new MeasureFailure("combination", $"combination: {e.Message}"));
                }
            }
        }
        finally
        {
            try
            {
                await progress.StepAsync($"restarting {container.Name} to leave it as it was found", async () =>
                {
                    await RestartAsync(CancellationToken.None);
                    return true;
                });
            }
            catch (MeasureException e)
            {
                failures.Add(new MeasureFailure(container.Name, $"{container.Name} could not be restarted at the end: {e.Message}"));
            }
        }

        // The first model's first component in its own run came with the context; loaded second, without it.
        var context = pair is { } q && secondLoad is { } without && models.FirstOrDefault(m => m.Loads[0].Step == q.Second) is { } measured
            ? Math.Max(0, measured.Loads[0].Growth - without)
            : (long?)null;
        var components = models.SelectMany(m => m.Components(context)).ToList();
        return new ServiceRun(probe.Gpu?.Name, container.Image, probe.Method, DateTimeOffset.UtcNow, context, components, combination, failures);
    }

    /// <summary>
    /// Two components that can each load alone: the second is the first step of a measured model, loaded here after
    /// the first, so its growth has no context in it. Null when there is none (one face or OCR model alone).
    /// </summary>
    private static (ServiceStep First, ServiceStep Second)? ContextPair(IReadOnlyList<CatalogModel> models)
    {
        if (models.Count >= 2)
        {
            return (ServiceJobs.StepsOf(models[1])[0], ServiceJobs.StepsOf(models[0])[0]);
        }

        if (models is [{ Task: ModelTask.Clip } clip])
        {
            var steps = ServiceJobs.StepsOf(clip);
            return (steps[1], steps[0]);
        }

        return null;
    }

    private async Task<long> LoadAfterAnotherAsync((ServiceStep First, ServiceStep Second) pair, byte[] image, PeakSampler sampler,
        CancellationToken cancellationToken)
    {
        await RestartAsync(cancellationToken);
        await PredictAsync(pair.First, image, cancellationToken);
        var between = await ReadAsync(sampler, cancellationToken);
        await PredictAsync(pair.Second, image, cancellationToken);
        return (await ReadAsync(sampler, cancellationToken)) - between;
    }

    private async Task<ModelReadings> MeasureModelAsync(CatalogModel model, ServicePlan plan, PeakSampler sampler, CancellationToken cancellationToken)
    {
        await RestartAsync(cancellationToken);
        var steps = ServiceJobs.StepsOf(model);
        var loads = new List<LoadReading>();
        var previous = await ReadAsync(sampler, cancellationToken);
        if (previous > 0)
        {
            throw new MeasureException($"the worker holds {ByteSize.FormatMiB(previous)} of GPU memory right after a restart: it preloads models "
                + "(MACHINE_LEARNING_PRELOAD__*), so a model's own memory cannot be told; measure with preloading off");
        }
        foreach (var step in steps)
        {
            var clock = Stopwatch.StartNew();
            await PredictAsync(step, plan.Image, cancellationToken);
            var after = await ReadAsync(sampler, cancellationToken);
            if (after == 0)
            {
                throw new MeasureException($"after {step.Label} loaded, no process of container '{container.Name}' holds GPU memory: "
                    + $"it is not the service at {service.Url}, or it does not run on the GPU (a CPU image, or no NVIDIA runtime)");
            }

            loads.Add(new LoadReading(step, previous, after, clock.Elapsed));
            previous = after;
        }

        // Each burst grows only its own component's arena: the ones before it already hold as many requests.
        var bursts = new List<BurstReading>();
        foreach (var step in steps)
        {
            var job = step.ConcurrencyIn(plan.Concurrency);
            var concurrency = Math.Max(2, job);
            var start = sampler.ReadNow();
            sampler.StartPhase(start);
            var clock = Stopwatch.StartNew();
            var requests = await BurstAsync(step, concurrency, plan.BurstRounds, plan.Image, cancellationToken);
            var end = sampler.ReadNow();
            var peak = sampler.Peak;
            bursts.Add(new BurstReading(concurrency, job, requests, start.ProcessBytes, Math.Max(peak.ProcessBytes, end.ProcessBytes), peak.DeviceBytes, clock.Elapsed));
        }

        return new ModelReadings(model, loads, bursts);
    }

    private async Task<int> BurstAsync(ServiceStep step, int concurrency, int rounds, byte[] image, CancellationToken cancellationToken)
    {
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            for (var round = 0; round < rounds; round++)
            {
                await PredictAsync(step, image, cancellationToken);
            }
        }));
        return concurrency * rounds;
    }

    /// <summary>
    /// Loads every model as its requests do, then runs every job at its concurrency at once until the time is up or
    /// the worker runs out of memory: an error answer, a dropped connection, or ONNX Runtime's line in the logs.
    /// </summary>
    private async Task<CombinationResult> RunCombinationAsync(IReadOnlyList<CatalogModel> models, ServicePlan plan, PeakSampler sampler,
        CancellationToken cancellationToken)
    {
        await RestartAsync(cancellationToken);
        var started = DateTimeOffset.UtcNow;
        using var stopLogs = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var logLine = WatchForOutOfMemoryAsync(started, stopLogs.Token);
        await ReadAsync(sampler, cancellationToken);
        sampler.StartPhase(sampler.ReadNow());
        FailedAnswer? failed = null;
        var requests = 0;
        foreach (var step in models.SelectMany(ServiceJobs.StepsOf))
        {
            var outcome = await service.PredictAsync(step.Request, plan.Image, cancellationToken);
            requests++;
            if (!outcome.Ok)
            {
                failed = FailedAnswer.OrThrow(step.Label, outcome);
                break;
            }
        }

        var running = DateTimeOffset.UtcNow;
        if (failed is null)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(plan.CombinationTime);
            var senders = models.SelectMany(ServiceJobs.JobsOf)
                .SelectMany(job => Enumerable.Range(0, ServiceJobs.ConcurrencyOf(job.Job, plan.Concurrency)).Select(_ => job))
                .Select(async job =>
                {
                    while (!deadline.IsCancellationRequested && Volatile.Read(ref failed) is null)
                    {
                        PredictOutcome outcome;
                        try
                        {
                            outcome = await service.PredictAsync(job.Request, plan.Image, deadline.Token);
                        }
                        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                        {
                            return;
                        }

                        Interlocked.Increment(ref requests);
                        if (!outcome.Ok)
                        {
                            Interlocked.CompareExchange(ref failed, FailedAnswer.OrThrow(job.Job.WireName(), outcome), null);
                        }
                    }
                });
            await Task.WhenAll(senders);
        }

        // The log line may trail the answer that failed; a moment for it to arrive.
        await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        await stopLogs.CancelAsync();
        var line = await logLine;
        var outOfMemory = failed?.OutOfMemory ?? (line is null ? null : $"CUDA out of memory in the container's logs: {line}");
        if (outOfMemory is null && failed is not null)
        {
            // A model that failed to load or an image it could not read is not an out-of-memory, and recording it as
            // one would make fit trust an `oom` the card never had.
            throw new MeasureException($"{failed.Description}, and neither the answer nor the container's logs say out of memory");
        }

        var peak = sampler.Peak;
        var total = probe.Gpu?.TotalBytes ?? throw new MeasureException("the worker never held GPU memory, so there is no card to compare with");
        var verdict = outOfMemory is not null ? Verdict.Oom : VerdictPolicy.Classify(peak.DeviceBytes ?? peak.ProcessBytes, total, Headroom);
        return new CombinationResult(models, plan.Concurrency, DateTimeOffset.UtcNow - running, verdict, peak.ProcessBytes, peak.DeviceBytes, total,
            requests, outOfMemory);
    }

    private async Task<string?> WatchForOutOfMemoryAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var line in container.FollowLogsAsync(since, cancellationToken))
            {
                if (MlLogLines.CudaOutOfMemory.Match(line.Text) is { } quote)
                {
                    return quote;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is Docker.DotNet.DockerApiException || DockerErrors.IsUnavailable(e))
        {
            // The container restarted (the agent's watchdog acts on the same line) or the engine hiccuped: the
            // answers still tell.
        }

        return null;
    }

    /// <summary>
    /// An answer that failed during a combination. A dropped connection (the worker died under the load) or an answer
    /// that names CUDA's out-of-memory is the combination's out-of-memory; any other server error is one only when
    /// the container's logs say so; a refused request is a fault of the measurement.
    /// </summary>
    private sealed record FailedAnswer(string Description, string? OutOfMemory)
    {
        public static FailedAnswer OrThrow(string label, PredictOutcome outcome)
        {
            if (outcome.Dropped is null && outcome.Status < 500)
            {
                throw new MeasureException($"{label}: the service refused the request: {outcome.Describe()}");
            }

            var quote = MlLogLines.CudaOutOfMemory.Match(outcome.Body);
            var description = $"{label}: {(quote is null ? outcome.Describe() : $"HTTP {outcome.Status}: {quote}")}";
            return new FailedAnswer(description, outcome.Dropped is not null || quote is not null ? description : null);
        }
    }

    private async Task PredictAsync(ServiceStep step, byte[] image, CancellationToken cancellationToken)
    {
        var outcome = await service.PredictAsync(step.Request, image, cancellationToken);
        if (!outcome.Ok)
        {
            throw new MeasureException($"{step.Label}: {outcome.Describe()}");
        }
    }

    /// <summary>Reads now; the container's pids first when NVML shows a process they do not cover (a worker spawned late).</summary>
    private async Task<long> ReadAsync(PeakSampler sampler, CancellationToken cancellationToken)
    {
        probe.Watch(await container.HostPidsAsync(cancellationToken));
        return sampler.ReadNow().ProcessBytes;
    }

    private async Task RestartAsync(CancellationToken cancellationToken)
    {
        await container.RestartAsync(cancellationToken);
        var clock = Stopwatch.StartNew();
        while (!await service.PingAsync(cancellationToken))
        {
            if (clock.Elapsed > ReadyTimeout)
            {
                throw new MeasureException($"{service.Url}/ping did not answer within {ReadyTimeout.TotalMinutes:0} min of restarting {container.Name}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        probe.Watch(await container.HostPidsAsync(cancellationToken));
    }

    private sealed record LoadReading(ServiceStep Step, long Before, long After, TimeSpan Time)
    {
        /// <summary>The weights and one request (and the context, in a worker that had none).</summary>
        public long Growth => After - Before;
    }

    private sealed record BurstReading(int Concurrency, int JobConcurrency, int Requests, long Start, long Peak, long? DevicePeak, TimeSpan Time);

    private sealed record ModelReadings(CatalogModel Model, IReadOnlyList<LoadReading> Loads, IReadOnlyList<BurstReading> Bursts)
    {
        public IEnumerable<ServiceComponent> Components(long? context)
        {
            for (var i = 0; i < Loads.Count; i++)
            {
                var load = Loads[i];
                var burst = Bursts[i];
                var perRequest = Math.Max(0, burst.Peak - burst.Start) / (burst.Concurrency - 1);
                var fresh = load.Before == 0;
                var weights = Math.Max(0, load.Growth - perRequest - (fresh ? context ?? 0 : 0));
                yield return new ServiceComponent(Model.Name, Model.Task, load.Step.Type, load.Before, load.After, burst.Peak, burst.DevicePeak,
                    weights, perRequest, burst.Concurrency, burst.JobConcurrency, burst.Requests, fresh && context is null, load.Time, burst.Time);
            }
        }
    }
}
