using System.CommandLine;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Cli;

/// <summary>`--measurements FILE`: what `planner measure` recorded, merged into the catalog for `planner fit --gpu`.</summary>
internal static class MeasurementsSource
{
    public static Option<FileInfo?> Option() => new("--measurements")
    {
        Description = $"Measured footprints to prefer over estimates for --gpu (default: {MeasurementsFile.DefaultName} next to the catalog, if there is one).",
    };

    /// <summary>
    /// The catalog with the file's figures in it, the combinations the file's service runs measured, the worker's
    /// context measured on --gpu, and a line on standard error saying what --gpu gets from it.
    /// </summary>
    public static async Task<(ModelCatalog Catalog, IReadOnlyList<MeasuredCombination> Combinations, FigureContext? Context)> ApplyAsync(ModelCatalog catalog, FileInfo? file,
        FileInfo? catalogFile, string? gpu, TextWriter error)
    {
        if (file is not null && Directory.Exists(file.FullName))
        {
            throw new UsageException($"--measurements: '{file.FullName}' is a folder, not a file");
        }

        if (file is { Exists: false })
        {
            throw new UsageException($"--measurements: '{file.FullName}' does not exist");
        }

        var path = file?.FullName ?? MeasurementsFile.DefaultPath(catalogFile);
        if (!File.Exists(path))
        {
            return (catalog, [], null);
        }

        MeasurementsDocument measurements;
        try
        {
            measurements = MeasurementsFile.Load(path);
        }
        catch (MeasureException e)
        {
            throw new UsageException($"--measurements: {e.Message}");
        }

        var combinations = MeasuredFigures.Combinations(measurements);
        if (gpu is not null)
        {
            var devices = MeasuredFigures.Devices(measurements);
            var ran = combinations.Count(c => c.Device == gpu);
            await error.WriteLineAsync(devices.Contains(gpu)
                ? $"planner fit: measured figures for '{gpu}' from {path}; components without one are estimated"
                    + (ran == 0 ? string.Empty : $"; {ran} combination(s) measured through Immich's ML service give their own verdicts with 1 worker")
                : $"planner fit: {path} has no figures for '{gpu}' (it has: {(devices.Count == 0 ? "none" : string.Join(", ", devices.Select(d => $"'{d}'")))}); every figure is an estimate");
        }

        return (MeasuredFigures.Apply(catalog, measurements, path), combinations, gpu is null ? null : MeasuredFigures.Context(measurements, gpu, path));
    }
}
