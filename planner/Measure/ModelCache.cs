using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Measure;

/// <summary>A model.onnx found in Immich's model cache, named by its folders.</summary>
/// <param name="Revision">The revision folder newer Immich versions put between the model and its type, if any.</param>
public sealed record CachedComponent(string Task, string Model, string? Revision, string Type, string Path)
{
    /// <summary>"ocr/PP-OCRv5_mobile/detection", as the cache's folders name it.</summary>
    public string Label => $"{Task}/{Model}/{Type}";
}

/// <summary>What a scan of the cache found, and what it had to skip.</summary>
public sealed record CacheScan(IReadOnlyList<CachedComponent> Components, IReadOnlyList<string> Warnings);

/// <summary>
/// Finds the model files in an Immich model cache: <c>&lt;task&gt;/&lt;model&gt;/&lt;type&gt;/model.onnx</c>, and
/// <c>&lt;task&gt;/&lt;model&gt;/&lt;revision&gt;/&lt;type&gt;/model.onnx</c> in newer Immich versions
/// (immich_ml/models/base.py, <c>_cache_dir_default</c>).
/// </summary>
public static class ModelCache
{
    public const string ModelFile = "model.onnx";

    /// <exception cref="DirectoryNotFoundException">The cache folder does not exist.</exception>
    public static CacheScan Scan(string root)
    {
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"the model cache '{root}' does not exist");
        }

        var warnings = new List<string>();
        var found = new List<CachedComponent>();
        foreach (var taskFolder in Folders(root))
        {
            var task = Path.GetFileName(taskFolder);
            if (!CatalogNames.TryParseTask(task, out var modelTask))
            {
                warnings.Add($"{task}/: not an Immich task folder (clip, facial-recognition, ocr); skipped");
                continue;
            }

            foreach (var modelFolder in Folders(taskFolder))
            {
                var before = found.Count;
                found.AddRange(InModelFolder(task, modelTask, modelFolder, warnings));
                if (found.Count == before)
                {
                    warnings.Add($"{task}/{Path.GetFileName(modelFolder)}/: no {ModelFile} for any {task} component; skipped");
                }
            }
        }

        return new CacheScan(found, warnings);
    }

    private static IEnumerable<CachedComponent> InModelFolder(string task, ModelTask modelTask, string modelFolder, List<string> warnings)
    {
        var model = Path.GetFileName(modelFolder);
        var types = CatalogNames.ComponentsOf(modelTask).Select(t => t.WireName()).ToList();
        var byType = new Dictionary<string, CachedComponent>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            var legacy = Path.Combine(modelFolder, type, ModelFile);
            if (File.Exists(legacy))
            {
                byType[type] = new CachedComponent(task, model, null, type, legacy);
            }
        }

        foreach (var revisionFolder in Folders(modelFolder).Where(f => !types.Contains(Path.GetFileName(f))))
        {
            var revision = Path.GetFileName(revisionFolder);
            foreach (var type in types)
            {
                var path = Path.Combine(revisionFolder, type, ModelFile);
                if (!File.Exists(path))
                {
                    continue;
                }

                // Immich reads one layout at a time (MACHINE_LEARNING_MODEL_REVISION); when a cache holds both,
                // the revision folder is the newer download.
                if (byType.TryGetValue(type, out var other))
                {
                    warnings.Add($"{task}/{model}/{type}: found in {(other.Revision is null ? "the model folder" : $"revision '{other.Revision}'")} and in revision '{revision}'; measuring revision '{revision}'");
                }

                byType[type] = new CachedComponent(task, model, revision, type, path);
            }
        }

        return types.Where(byType.ContainsKey).Select(t => byType[t]);
    }

    /// <summary>Sub-folders in a stable order; dot-folders (huggingface_hub's .cache, locks) are not models.</summary>
    private static IEnumerable<string> Folders(string parent) =>
        Directory.EnumerateDirectories(parent)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .Order(StringComparer.Ordinal);
}
