using System.CommandLine;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Onnx;

namespace GpuSplit.Planner.Cli;

/// <summary>
/// `--models DIR`: an Immich model cache whose files give the exact weight bytes (static analysis, no session),
/// in place of the catalog's file sizes, for the models found there.
/// </summary>
internal static class ModelFilesSource
{
    public static Option<DirectoryInfo?> Option() => new("--models")
    {
        Description = "An Immich model cache (<task>/<model>/[<revision>/]<type>/model.onnx): weights are counted from the files found there.",
    };

    public static async Task<ModelCatalog> ApplyAsync(ModelCatalog catalog, DirectoryInfo? folder, TextWriter error)
    {
        if (folder is null)
        {
            return catalog;
        }

        if (File.Exists(folder.FullName))
        {
            throw new UsageException($"--models: '{folder.FullName}' is a file, not a folder; give the model cache folder");
        }

        CacheScan scan;
        try
        {
            scan = ModelCache.Scan(folder.FullName);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new UsageException($"--models: {e.Message}");
        }

        var plan = CatalogMatch.Match(scan, catalog, only: null);
        var counted = new Dictionary<(string Model, ComponentType Type), long>();
        foreach (var target in plan.Targets)
        {
            try
            {
                counted[(target.Model.Name, target.Component.Type)] = OnnxWeights.Count(target.Cached.Path);
            }
            catch (Exception e) when (e is OnnxFormatException or IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"planner fit: {target.Label}: {e.Message}; the catalog's file size is used instead");
            }
        }

        await error.WriteLineAsync($"planner fit: weights counted from {counted.Count} model file(s) in {folder.FullName}");
        var models = catalog.Models
            .Select(model => model with
            {
                Components = [.. model.Components.Select(c => counted.TryGetValue((model.Name, c.Type), out var bytes) ? c with { CountedWeightsBytes = bytes } : c)],
            })
            .ToList();
        return catalog with { Models = models };
    }
}
