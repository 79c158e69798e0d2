using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GpuSplit.MlService.Docker;
using GpuSplit.Nvml;
using GpuSplit.Planner.Agent;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Service;
using GpuSplit.Planner.Units;
using GpuSplit.Protos.V1;
using Spectre.Console;

namespace GpuSplit.Planner.Cli;

/// <summary>What `planner measure --service URL` was given on the command line.</summary>
internal sealed record ServiceArguments(
    string Url,
    string Container,
    string[]? Only,
    string? Combination,
    string? Concurrency,
    FileInfo? Image,
    int CombinationSeconds,
    string? Docker,
    string? NvmlLibrary,
    string? Agent,
    bool Force,
    string Output,
    bool Json);

/// <summary>
/// `planner measure --service URL`: footprints measured through Immich's own ML container on the GPU box, with its
/// pinned runtime on the real card (issue 9: planner-measure's ONNX Runtime has no kernels for a GTX 1060).
/// </summary>
internal static class ServiceMeasureCommand
{
    /// <summary>Immich's server defaults (server/src/config.ts): what a box that never changed a setting runs.</summary>
    private static readonly string[] ImmichDefaults = ["ViT-B-32__openai", "buffalo_l", "PP-OCRv5_mobile"];

    public static async Task<int> RunAsync(ServiceArguments arguments, ModelCatalog catalog, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var url = Url(arguments.Url);
        var models = Models(arguments.Only, catalog);
        var plan = new ServicePlan(
            models,
            Combination(arguments.Combination, models, catalog),
            JobConcurrency.TryParse(arguments.Concurrency, JobConcurrency.Seed, out var concurrency, out var problem)
                ? concurrency
                : throw new UsageException($"--concurrency: {problem}"),
            arguments.CombinationSeconds is >= 1 and <= 3600
                ? TimeSpan.FromSeconds(arguments.CombinationSeconds)
                : throw new UsageException($"--combination-seconds must be 1 to 3600, not {arguments.CombinationSeconds}"),
            Image(arguments.Image));
        var docker = Docker(arguments.Docker);
        var agent = arguments.Agent is null ? null : AgentUrl(arguments.Agent);

        ServiceRun run;
        try
        {
            using var service = new MlServiceClient(url);
            await service.IdentifyAsync(cancellationToken);
            using var container = await WorkerContainer.OpenAsync(docker, arguments.Container, url, cancellationToken);
            using var nvml = OpenNvml(arguments.NvmlLibrary);
            var measurer = new ServiceMeasurer(service, container, new WorkerMemoryProbe(nvml), MeasureProgress.For(output, error, arguments.Json));
            if (!arguments.Force)
            {
                if (agent is not null)
                {
                    await CheckIdleThroughAgentAsync(agent, container.Name, cancellationToken);
                }
                else
                {
                    await measurer.CheckIdleAsync(cancellationToken);
                }
            }

            run = await measurer.RunAsync(plan, cancellationToken);
        }
        catch (MeasureException e)
        {
            await error.WriteLineAsync($"planner measure: {e.Message}");
            return MeasureCommand.SomeFailed;
        }

        string? written = null;
        if (run.Components.Count > 0 || run.Combination is not null)
        {
            try
            {
                MeasurementsFile.Merge(arguments.Output, run.ToUpdate());
                written = arguments.Output;
            }
            catch (MeasureException e)
            {
                run = run with { Failures = [.. run.Failures, new MeasureFailure(arguments.Output, e.Message)] };
            }
        }

        foreach (var failure in run.Failures)
        {
            await error.WriteLineAsync($"planner measure: {failure.Message}");
        }

        if (arguments.Json)
        {
            await output.WriteLineAsync(Json(run, url, arguments.Container, written).ToJsonString(MeasurementsJsonContext.Readable.Options).AsMemory(), cancellationToken);
        }
        else
        {
            Write(run, url, arguments.Container, written, Terminal.For(output));
        }

        return run.Failures.Count > 0 ? MeasureCommand.SomeFailed : 0;
    }

    private static void Write(ServiceRun run, Uri url, string container, string? file, IAnsiConsole console)
    {
        console.WriteLine($"Service: {url} · container {container} · {run.Image} · {run.Device ?? "no GPU seen"}");
        console.WriteLine($"Memory: {run.MemoryMethod}");
        console.WriteLine(run.ContextBytes is { } context
            ? $"Worker's CUDA context (paid once, at its first model): {ByteSize.FormatMiB(context)}"
            : "Worker's CUDA context: not measured apart (it needs two models, or a CLIP model); each model's first component includes it");
        var table = new Table().AddColumns("Component", "Weights MiB", "Per request MiB", "Burst", "At job concurrency MiB", "Worker after load MiB", "Worker peak MiB");
        foreach (var column in table.Columns.Skip(1))
        {
            column.RightAligned();
        }

        foreach (var c in run.Components)
        {
            table.AddRow(
                Markup.Escape(c.Label + (c.IncludesContext ? " (+ context)" : "")),
                MiB(c.WeightsBytes),
                MiB(c.PerRequestBytes),
                string.Create(CultureInfo.InvariantCulture, $"{c.BurstRequests} × {c.BurstConcurrency} at once"),
                string.Create(CultureInfo.InvariantCulture, $"{MiB(c.JobPeakShareBytes)} ({c.JobConcurrency})"),
                MiB(c.AfterLoadBytes),
                MiB(c.PeakBytes));
        }

        console.Write(table);
        console.WriteLine("Weights and per request: one /predict loads a component and runs it once; a burst then grows its arena by (concurrency - 1) requests, which splits the two.");
        if (run.Combination is { } combination)
        {
            var outcome = combination.OutOfMemory is { } why ? $"out of memory: {why}" : $"worker peak {ByteSize.FormatMiB(combination.PeakBytes)}";
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Combination {combination.Label} at {combination.Concurrency}, {combination.Duration.TotalSeconds:0} s, {combination.Requests} requests: {combination.Verdict.WireName()} ({outcome}; card {ByteSize.FormatMiB(combination.DeviceTotalBytes)})"));
        }

        if (file is not null)
        {
            console.WriteLine($"Merged into {file} under \"{run.Device}\" ({ServiceRun.Method}).");
        }
    }

    private static JsonObject Json(ServiceRun run, Uri url, string container, string? file) => new()
    {
        ["service"] = url.ToString(),
        ["container"] = container,
        ["device"] = run.Device,
        ["method"] = ServiceRun.Method,
        ["image"] = run.Image,
        ["memory"] = run.MemoryMethod,
        ["measuredAt"] = run.MeasuredAt,
        ["contextBytes"] = run.ContextBytes,
        ["components"] = new JsonArray([.. run.Components.Select(c =>
            JsonSerializer.SerializeToNode(ServiceEntries.Component(c, run), MeasurementsJsonContext.Readable.ComponentEntry))]),
        ["combination"] = run.Combination is { } combination
            ? JsonSerializer.SerializeToNode(ServiceEntries.Combination(combination, run), MeasurementsJsonContext.Readable.CombinationEntry)
            : null,
        ["failures"] = new JsonArray([.. run.Failures.Select(f => new JsonObject { ["component"] = f.Label, ["message"] = f.Message })]),
        ["measurementsFile"] = file,
    };

    private static string MiB(long bytes) => ByteSize.ToMiB(bytes).ToString("N0", CultureInfo.InvariantCulture);

    private static Uri Url(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            ? url
            : throw new UsageException($"--service: '{text}' is not an http:// URL; give the ML service's, e.g. http://127.0.0.1:3003");

    /// <summary>The agent's status, which knows the worker: refuses while it restarts it or the worker holds GPU memory.</summary>
    private static async Task CheckIdleThroughAgentAsync(Uri agent, string container, CancellationToken cancellationToken)
    {
        AgentStatus status;
        try
        {
            status = await AgentClient.StatusAsync(agent, cancellationToken);
        }
        catch (AgentException e)
        {
            throw new MeasureException(e.Message);
        }

        if (status.Worker.Container != container)
        {
            throw new MeasureException($"the agent at {agent} watches '{status.Worker.Container}', not '{container}'");
        }

        if (status.Worker.State != WorkerState.Running)
        {
            throw new MeasureException($"the agent at {agent} says {container} does not serve now ({status.NotServingReason}); measure when it does, or pass --force");
        }

        var held = status.Gpu.Gpus.SelectMany(g => g.Processes).Where(p => p.IsWorker).Sum(p => (long)p.UsedMemoryBytes);
        if (held > 0)
        {
            throw new MeasureException($"{ServiceMeasurer.InUse(container, held)} (the agent's status)");
        }
    }

    private static Uri AgentUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            ? url
            : throw new UsageException($"--agent: '{text}' is not an http:// URL; give the agent's gRPC address, e.g. http://127.0.0.1:3004");

    private static Uri Docker(string? text)
    {
        text ??= Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrEmpty(text))
        {
            return DockerConnection.DefaultEndpoint;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var endpoint)
            ? endpoint
            : throw new UsageException($"--docker: '{text}' is not a Docker endpoint (unix:///var/run/docker.sock, npipe://./pipe/docker_engine, tcp://host:2375)");
    }

    private static IReadOnlyList<CatalogModel> Models(string[]? only, ModelCatalog catalog)
    {
        var names = only?.SelectMany(o => o.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return [.. (names is { Count: > 0 } ? names : [.. ImmichDefaults]).Select(name => Find(name, catalog, "--only"))];
    }

    private static IReadOnlyList<CatalogModel>? Combination(string? text, IReadOnlyList<CatalogModel> models, ModelCatalog catalog)
    {
        if (string.Equals(text, "none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        // By default, the measured models together, when they make one: a model per job.
        var together = text is null
            ? models
            : [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(name => Find(name, catalog, "--combination"))];
        if (together.Select(m => m.Task).Distinct().Count() != together.Count)
        {
            return text is null ? null : throw new UsageException("--combination takes one model per job: CLIP,FACES[,OCR], or none");
        }

        return together.Count >= 2 || text is not null
            ? [.. together.OrderBy(m => m.Task)]
            : null;
    }

    private static CatalogModel Find(string name, ModelCatalog catalog, string option)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            throw new UsageException($"{option}: '{name}' is a component; the service loads and measures whole models (e.g. {name.Split('/')[0]})");
        }

        return catalog.Find(name) ?? throw new UsageException($"{option}: '{name}' is not a model of the catalog; `planner catalog` lists them");
    }

    private static byte[] Image(FileInfo? file)
    {
        if (file is null)
        {
            // libvips is found on this machine, not carried by the planner (PreviewJpeg): `fit` stays small, and a
            // machine without it measures with one of its own previews.
            return PreviewJpeg.Unavailable is { } why
                ? throw new UsageException($"measure --service: no preview JPEG to send: {why}; pass --image with a preview from your library (upload/thumbs/.../*_preview.jpeg), or install libvips (Debian and Ubuntu: apt install libvips42)")
                : PreviewJpeg.Default;
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--image: {e.Message}");
        }

        return bytes is [0xFF, 0xD8, ..]
            ? bytes
            : throw new UsageException($"--image: '{file.FullName}' is not a JPEG (Immich sends the preview JPEG)");
    }

    private static NvmlLibrary OpenNvml(string? library)
    {
        try
        {
            return NvmlLibrary.Open(library);
        }
        catch (NvmlException e)
        {
            throw new MeasureException($"NVML cannot be used ({e.Message}); the service is measured through the GPU driver's NVML, on the GPU box");
        }
    }
}
