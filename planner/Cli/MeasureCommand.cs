using System.CommandLine;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Cli;

/// <summary>
/// `planner measure --models DIR`: each model of an Immich model cache loaded and run the way Immich does, with
/// the memory it really takes on this device; the figures merge into the measurements file `planner fit` reads.
/// `planner measure --service URL`: the same through Immich's own ML container (<see cref="ServiceMeasureCommand"/>).
/// --models needs ONNX Runtime, which only planner-measure (measure/) carries: there this command is the whole program.
/// </summary>
internal static class MeasureCommand
{
    /// <summary>Some component (or an --only name) could not be measured; the others were.</summary>
    public const int SomeFailed = 1;

    private const string Description = "Measure the real memory footprint of Immich's models on this GPU: through Immich's own ML container (--service), or in this process from a model cache (--models, planner-measure only).";

    /// <summary>`planner measure`: <paramref name="inProcess"/> is null in the planner, which carries no ONNX Runtime.</summary>
    public static Command Create(IInProcessMeasurer? inProcess) => Configure(new Command("measure", Description), inProcess);

    /// <summary>planner-measure: the same command as a program of its own, with ONNX Runtime for --models.</summary>
    public static RootCommand CreateRoot(IInProcessMeasurer inProcess) => Configure(new RootCommand(Description), inProcess);

    private static T Configure<T>(T command, IInProcessMeasurer? inProcess)
        where T : Command
    {
        var models = new Option<string?>("--models") { Description = "Immich's model cache folder (MACHINE_LEARNING_CACHE_FOLDER, /cache in the container): measure in this process." };
        var service = new Option<string?>("--service") { Description = "Immich's ML service (http://127.0.0.1:3003): measure through its own container, on the GPU box." };
        var container = new Option<string>("--container") { Description = "--service: the ML container's name.", DefaultValueFactory = _ => "immich_machine_learning" };
        var combination = new Option<string?>("--combination") { Description = "--service: models to load and run together, CLIP,FACES[,OCR], or none (default: the measured models, one per job)." };
        var concurrency = new Option<string?>("--concurrency") { Description = $"--service: Immich job concurrency for bursts and the combination (default {JobConcurrency.Seed})." };
        var combinationSeconds = new Option<int>("--combination-seconds") { Description = "--service: how long the combination runs every job at once.", DefaultValueFactory = _ => 30 };
        var image = new Option<FileInfo?>("--image") { Description = "--service: a JPEG to send instead of the generated 1920x1440 preview (a photo with faces and text exercises recognition)." };
        var docker = new Option<string?>("--docker") { Description = "--service: the Docker engine (default DOCKER_HOST, else the platform's socket or pipe)." };
        var force = new Option<bool>("--force") { Description = "--service: measure even though the worker holds GPU memory (Immich is using it); it is restarted." };
        var agent = new Option<string?>("--agent") { Description = "--service: ask the agent (http://127.0.0.1:3004) whether the worker is in use, instead of NVML." };
        var device = new Option<string>("--device") { Description = "cuda:N (VRAM through NVML) or cpu (this process's private memory).", DefaultValueFactory = _ => "cuda:0" };
        var only = new Option<string[]>("--only") { Description = "Measure only these models (PP-OCRv5_mobile) or components (PP-OCRv5_mobile/detection), comma-separated.", AllowMultipleArgumentsPerToken = true };
        var ortLibrary = new Option<string?>("--ort-library") { Description = "Use this libonnxruntime instead of the bundled one (1.31 or later; e.g. a build with sm_61 for a GTX 1060)." };
        var nvmlLibrary = new Option<string?>("--nvml-library") { Description = "The NVML library to read the GPU with (default libnvidia-ml.so.1, nvml.dll on Windows)." };
        var sizes = new Option<bool>("--sizes") { Description = "--models: also feed each component whose input varies (OCR detection) every size Immich sends, in one session, and show what its arena keeps (the ratchet)." };
        var output = new Option<string?>("--out") { Description = $"The measurements file to merge into (default {MeasurementsFile.DefaultName} next to the catalog)." };
        var catalog = CatalogSource.Option();
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON document instead of a table." };
        foreach (var option in new Option[]
        {
            models, service, container, device, only, combination, concurrency, combinationSeconds, image, docker, force, agent, ortLibrary, nvmlLibrary, sizes, output,
            catalog, json,
        })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parsed, cancellationToken) =>
        {
            var error = parsed.InvocationConfiguration.Error;
            var catalogFile = parsed.GetValue(catalog);
            var path = parsed.GetValue(output) ?? MeasurementsFile.DefaultPath(catalogFile);
            if ((parsed.GetValue(models) is null) == (parsed.GetValue(service) is null))
            {
                throw new UsageException("measure takes --models DIR (in this process) or --service URL (through Immich's ML container), one of them");
            }

            if (parsed.GetValue(service) is { } url)
            {
                var wrong = new Option[] { device, ortLibrary, sizes }.FirstOrDefault(o => parsed.GetResult(o) is { Implicit: false });
                return wrong is not null
                    ? throw new UsageException($"{wrong.Name} is for --models; the service runs its own runtime on its own GPU")
                    : await ServiceMeasureCommand.RunAsync(
                        new ServiceArguments(url, parsed.GetValue(container)!, parsed.GetValue(only), parsed.GetValue(combination), parsed.GetValue(concurrency),
                            parsed.GetValue(image), parsed.GetValue(combinationSeconds), parsed.GetValue(docker), parsed.GetValue(nvmlLibrary),
                            parsed.GetValue(agent), parsed.GetValue(force), path, parsed.GetValue(json)),
                        CatalogSource.Load(catalogFile), parsed.InvocationConfiguration.Output, error, cancellationToken);
            }

            var serviceOnly = new Option[] { container, combination, concurrency, combinationSeconds, image, docker, force, agent }
                .FirstOrDefault(o => parsed.GetResult(o) is { Implicit: false });
            if (serviceOnly is not null)
            {
                throw new UsageException($"{serviceOnly.Name} goes with --service");
            }

            if (inProcess is null)
            {
                throw new UsageException(
                    "measure --models loads the models in ONNX Runtime, which the planner leaves out to stay small: run planner-measure --models DIR "
                    + "(from a clone: dotnet run --project measure -c Release -- --models DIR; docs/measure.md)");
            }

            var target = Device(parsed.GetValue(device));
            var plan = Plan(parsed.GetValue(models)!, CatalogSource.Load(catalogFile), parsed.GetValue(only));
            foreach (var warning in plan.Warnings)
            {
                await error.WriteLineAsync($"planner measure: warning: {warning}");
            }

            if (plan.Targets.Count == 0)
            {
                var reasons = plan.Failures.Count > 0 ? plan.Failures : [new MeasureFailure("--models", "no model of the catalog was found in this cache")];
                foreach (var failure in reasons)
                {
                    await error.WriteLineAsync($"planner measure: {failure.Message}");
                }

                return SomeFailed;
            }

            var progress = MeasureProgress.For(parsed.InvocationConfiguration.Output, error, parsed.GetValue(json));
            MeasureRun run;
            IReadOnlyList<SizeSweep> sweeps;
            try
            {
                (run, sweeps) = inProcess.Run(target, plan, parsed.GetValue(ortLibrary), parsed.GetValue(nvmlLibrary), parsed.GetValue(sizes), progress, cancellationToken);
            }
            catch (MeasureException e)
            {
                await error.WriteLineAsync($"planner measure: {e.Message}");
                return SomeFailed;
            }

            string? written = null;
            if (run.Components.Count > 0)
            {
                try
                {
                    MeasurementsFile.Merge(path, run);
                    written = path;
                }
                catch (MeasureException e)
                {
                    // The figures are still shown; only the file could not take them.
                    run = run with { Failures = [.. run.Failures, new MeasureFailure(path, e.Message)] };
                }
            }

            foreach (var failure in run.Failures)
            {
                await error.WriteLineAsync($"planner measure: {failure.Message}");
            }

            if (parsed.GetValue(json))
            {
                await MeasureReport.WriteJsonAsync(run, sweeps, plan.Warnings, written, parsed.InvocationConfiguration.Output, cancellationToken);
            }
            else
            {
                MeasureReport.Write(run, sweeps, written, Terminal.For(parsed.InvocationConfiguration.Output));
            }

            return run.Failures.Count > 0 ? SomeFailed : 0;
        });
        return command;
    }

    private static MeasurePlan Plan(string modelsFolder, ModelCatalog catalog, string[]? only)
    {
        CacheScan scan;
        try
        {
            scan = ModelCache.Scan(modelsFolder);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--models: {e.Message}");
        }

        var names = only?.SelectMany(o => o.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        return CatalogMatch.Match(scan, catalog, names is { Count: > 0 } ? names : null);
    }

    private static MeasureDevice Device(string? text) =>
        MeasureDevice.TryParse(text, out var device) ? device : throw new UsageException($"--device: '{text}' is not a device; use cpu or cuda:0 (cuda:1, ...)");
}
