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

    public static bool TryParseTask(string? text, out ModelTask task)
    {
        foreach (var candidate in Enum.GetValues<ModelTask>())
        {
            if (candidate.WireName() == text)
            {
                task = candidate;
                return true;
            }
        }

        task = default;
        return false;
    }

    public static bool TryParseComponent(string? text, out ComponentType type)
    {
        foreach (var candidate in Enum.GetValues<ComponentType>())
        {
            if (candidate.WireName() == text)
            {
                type = candidate;
                return true;
            }
        }

        type = default;
        return false;
    }

    /// <summary>Which component types a task's model is made of.</summary>
    public static IReadOnlyList<ComponentType> ComponentsOf(ModelTask task) => task switch
    {
        ModelTask.Clip => [ComponentType.Visual, ComponentType.Textual],
        _ => [ComponentType.Detection, ComponentType.Recognition],
    };
}
