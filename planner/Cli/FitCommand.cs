using System.CommandLine;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Cli;

/// <summary>`planner fit`: which combination of Immich models fits the card, and the settings to apply.</summary>
internal static class FitCommand
{
    public const int NothingFits = 1;

    public static Command Create()
    {
        var vram = new Option<string>("--vram")
        {
            Description = "The card's memory, e.g. 6GB, 6GiB, 6144MiB, or 6144 as nvidia-smi prints it (a number without a unit is MiB). GB means GiB here: cards are sold in binary units (a 6 GB GTX 1060 has 6144 MiB).",
            Required = true,
        };
        var workers = new Option<int>("--workers") { Description = "ML worker processes (MACHINE_LEARNING_WORKERS); each has its own copy of every model.", DefaultValueFactory = _ => 1 };
        var ttl = new Option<int>("--ttl") { Description = "Model TTL in seconds (MACHINE_LEARNING_MODEL_TTL).", DefaultValueFactory = _ => 300 };
        var headroom = new Option<string>("--headroom") { Description = "Free memory to keep; less than this is 'unstable'.", DefaultValueFactory = _ => "10%" };
        var concurrency = new Option<string>("--concurrency")
        {
            Description = $"Immich job concurrency to plan for (default: the seed story's {JobConcurrency.Seed}; Immich's own defaults are {JobConcurrency.ImmichDefaults}).",
        };
        var require = new Option<string[]>("--require") { Description = "Jobs the plan must include besides smart search and faces: ocr.", AllowMultipleArgumentsPerToken = true };
        var multilingual = new Option<bool>("--multilingual") { Description = "Only CLIP models that understand search queries in many languages." };
        var gpu = new Option<string?>("--gpu") { Description = "GPU name whose measured figures to prefer over estimates, e.g. \"NVIDIA GeForce GTX 1060 6GB\"." };
        var catalog = CatalogSource.Option();
        var measurements = MeasurementsSource.Option();
        var modelFiles = ModelFilesSource.Option();
        var agent = AgentSource.Option();
        var evidence = EvidenceSource.Option();
        var json = new Option<bool>("--json") { Description = "Print one JSON document (stable field names) instead of tables." };

        var command = new Command("fit", "Pick the best Immich models that fit the card, and print the settings to apply.")
        {
            vram, workers, ttl, headroom, concurrency, require, multilingual, gpu, catalog, measurements, modelFiles, agent, evidence, json,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var output = parsed.InvocationConfiguration.Output;
            var error = parsed.InvocationConfiguration.Error;
            var (models, card, observedContext, agentEvidence) = await AgentSource.ApplyAsync(CatalogSource.Load(parsed.GetValue(catalog)), parsed.GetValue(agent),
                parsed.GetValue(gpu), error, cancellationToken);
            (models, var measured, var measuredContext) = await MeasurementsSource.ApplyAsync(models, parsed.GetValue(measurements), parsed.GetValue(catalog),
                card, error);
            models = await ModelFilesSource.ApplyAsync(models, parsed.GetValue(modelFiles), error);
            var request = new FitRequest(
                models,
                Size(parsed.GetValue(vram)),
                Positive(parsed.GetValue(workers), "--workers"),
                Positive(parsed.GetValue(ttl), "--ttl"),
                Headroom(parsed.GetValue(headroom)),
                Concurrency(parsed.GetValue(concurrency)),
                RequireOcr(parsed.GetValue(require) ?? []),
                parsed.GetValue(multilingual),
                card,
                // The card's own worker in production first, then a measurement on it, then the estimate.
                RuntimeCosts.Cuda.WithContext(observedContext ?? measuredContext))
            {
                MeasuredCombinations = measured,
                Evidence = await EvidenceSource.LoadAsync(parsed.GetValue(evidence), agentEvidence, error),
            };
            var result = FitPlanner.Plan(request);
            if (parsed.GetValue(json))
            {
                await FitJson.WriteAsync(result, output, cancellationToken);
            }
            else
            {
                FitReport.Write(result, Terminal.For(output));
            }

            if (result.Plan is null && result.SmallestBudgetThatFits is { } smallest)
            {
                await parsed.InvocationConfiguration.Error.WriteLineAsync(
                    $"planner: nothing fits in {ByteSize.FormatMiB(request.BudgetBytes)}; the smallest card that would take a plan has {ByteSize.FormatMiB(smallest)}");
            }

            return result.Plan is null ? NothingFits : 0;
        });
        return command;
    }

    private static long Size(string? text) =>
        ByteSize.TryParse(text, out var bytes, out var error) ? bytes : throw new UsageException($"--vram: {error}");

    private static int Positive(int value, string option) =>
        value >= 1 ? value : throw new UsageException($"{option} must be 1 or more, not {value}");

    private static double Headroom(string? text) =>
        Percent.TryParse(text, out var share, out var error) ? share : throw new UsageException($"--headroom: {error}");

    private static JobConcurrency Concurrency(string? text) =>
        JobConcurrency.TryParse(text, JobConcurrency.Seed, out var result, out var error) ? result : throw new UsageException($"--concurrency: {error}");

    private static bool RequireOcr(IEnumerable<string> values)
    {
        var requireOcr = false;
        foreach (var value in values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            requireOcr |= value switch
            {
                "ocr" => true,
                "clip" or "smart-search" or "face" or "faces" or "facial-recognition" => false,
                _ => throw new UsageException($"--require: unknown job '{value}'; smart search and faces are always planned, 'ocr' can be required"),
            };
        }

        return requireOcr;
    }
}
