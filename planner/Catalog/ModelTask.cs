namespace GpuSplit.Planner.Catalog;

/// <summary>The three Immich ML tasks a GPU box serves; the wire names are Immich's own.</summary>
public enum ModelTask
{
    Clip,
    FacialRecognition,
    Ocr,
}

/// <summary>The component files of a model, named as Immich names the folders of its model cache.</summary>
public enum ComponentType
{
    Visual,
    Textual,
    Detection,
    Recognition,
}

public static class CatalogNames
{
    public static string WireName(this ModelTask task) => task switch
    {
        ModelTask.Clip => "clip",
        ModelTask.FacialRecognition => "facial-recognition",
        ModelTask.Ocr => "ocr",
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, null),
    };

    public static string WireName(this ComponentType type) => type switch
    {
        ComponentType.Visual => "visual",
        ComponentType.Textual => "textual",
        ComponentType.Detection => "detection",
        ComponentType.Recognition => "recognition",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParseTask(string? text, out ModelTask task) => TryParse(text, WireName, out task);

    public static bool TryParseComponent(string? text, out ComponentType type) => TryParse(text, WireName, out type);

    private static bool TryParse<T>(string? text, Func<T, string> wireName, out T value)
        where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (wireName(candidate) == text)
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>Which component types a task's model is made of.</summary>
    public static IReadOnlyList<ComponentType> ComponentsOf(ModelTask task) => task switch
    {
        ModelTask.Clip => [ComponentType.Visual, ComponentType.Textual],
        _ => [ComponentType.Detection, ComponentType.Recognition],
    };
}
