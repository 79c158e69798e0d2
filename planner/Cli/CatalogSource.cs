using System.CommandLine;
using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Cli;

/// <summary>The `--catalog FILE` option every command that reads the catalog shares.</summary>
internal static class CatalogSource
{
    public static Option<FileInfo?> Option() => new("--catalog")
    {
        Description = "Use this catalog instead of the one built into the planner (models.json format).",
    };

    public static ModelCatalog Load(FileInfo? file) =>
        file is null ? CatalogReader.LoadEmbedded() : CatalogReader.LoadFile(file.FullName);
}
