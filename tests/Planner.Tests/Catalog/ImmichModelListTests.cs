using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Tests.Catalog;

/// <summary>
/// The catalog follows the model list of Immich's machine-learning service (ImmichModels/, copied from the version it
/// names): a name Immich does not accept would plan a model Immich refuses, and a face or OCR model it accepts but the
/// catalog lacks could not be planned or measured.
/// </summary>
public sealed class ImmichModelListTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Catalog", "ImmichModels");

    [Fact]
    public void Every_catalog_model_is_one_immich_accepts_for_the_same_job()
    {
        var immich = ImmichList();
        Assert.All(CatalogReader.LoadEmbedded().Models, model =>
        {
            Assert.True(immich.TryGetValue(model.Name, out var task), $"{model.Name} is not on Immich's list");
            Assert.Equal(task, model.Task.WireName());
        });
    }

    [Fact]
    public void Every_model_immich_accepts_is_in_the_catalog_or_listed_as_not_carried_yet()
    {
        var catalog = CatalogReader.LoadEmbedded().Models.Select(m => m.Name).ToHashSet();
        var notCarried = Names(File.ReadLines(Path.Combine(Folder, "not-in-catalog.txt"))).ToList();
        var immich = ImmichList();

        Assert.Equal(immich.Keys.Where(n => !catalog.Contains(n)).Order(StringComparer.Ordinal), notCarried.Order(StringComparer.Ordinal));
        // Every face and OCR model is carried: the list of what is not is CLIP's alone.
        Assert.All(notCarried, name => Assert.Equal("clip", immich[name]));
    }

    /// <summary>Name to task, from the sections of the copied list (<c>[_PADDLE_MODELS ocr]</c>, then one name a line).</summary>
    private static Dictionary<string, string> ImmichList()
    {
        var list = new Dictionary<string, string>(StringComparer.Ordinal);
        string? task = null;
        foreach (var line in Names(File.ReadLines(Path.Combine(Folder, "immich-ml-constants-093617f5.txt"))))
        {
            if (line.StartsWith('['))
            {
                task = line.Trim('[', ']').Split(' ')[1];
            }
            else
            {
                list.Add(line, task ?? throw new InvalidDataException($"{line} comes before any section"));
            }
        }

        return list;
    }

    private static IEnumerable<string> Names(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));
}
