using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace GpuSplit.Planner.Catalog;

/// <summary>
/// Reads and validates models.json. Validation is strict because every figure feeds an out-of-memory verdict:
/// a typo must stop the planner with the entry named, not quietly shrink a footprint.
/// </summary>
public static class CatalogReader
{
    public const string EmbeddedName = "GpuSplit.models.json";

    public static ModelCatalog LoadEmbedded()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(EmbeddedName)
            ?? throw new CatalogException("the embedded catalog is missing from this build of the planner");
        return Read(stream, "embedded models.json");
    }

    public static ModelCatalog LoadFile(string path)
    {
        if (Directory.Exists(path))
        {
            // Opening a folder fails as "access denied" on Linux, which would send the user after permissions.
            throw new CatalogException($"{path}: is a folder, not a file");
        }

        FileStream stream;
        try
        {
            stream = File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CatalogException($"{path}: cannot read the catalog ({e.Message})", e);
        }

        using (stream)
        {
            return Read(stream, path);
        }
    }

    public static ModelCatalog Read(Stream json, string origin)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new CatalogException($"{origin}: not valid JSON (line {e.LineNumber + 1}: {FirstSentence(e.Message)})", e);
        }

        using (document)
        {
            return new Parser(origin).Catalog(document.RootElement);
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }

    private sealed class Parser(string origin)
    {
        private Dictionary<string, CatalogSource> sources = new(StringComparer.Ordinal);

        public ModelCatalog Catalog(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error("the top level must be an object with \"models\"");
            }

            sources = Sources(root);
            if (!root.TryGetProperty("models", out var models) || models.ValueKind != JsonValueKind.Array)
            {
                throw Error("\"models\" must be an array");
            }

            var parsed = new List<CatalogModel>();
            var index = 0;
            foreach (var model in models.EnumerateArray())
            {
                var entry = Model(model, index++);
                if (parsed.Any(m => string.Equals(m.Name, entry.Name, StringComparison.OrdinalIgnoreCase)))
                {
                    throw Error($"model '{entry.Name}' appears twice");
                }

                parsed.Add(entry);
            }

            return new ModelCatalog(parsed, sources);
        }

        private Dictionary<string, CatalogSource> Sources(JsonElement root)
        {
            var result = new Dictionary<string, CatalogSource>(StringComparer.Ordinal);
            if (!root.TryGetProperty("sources", out var element))
            {
                return result;
            }

            if (element.ValueKind != JsonValueKind.Object)
            {
                throw Error("\"sources\" must be an object of id: {title, url}");
            }

            foreach (var source in element.EnumerateObject())
            {
                var title = OptionalString(source.Value, "title") ?? throw Error($"source '{source.Name}' has no title");
                result[source.Name] = new CatalogSource(source.Name, title, OptionalString(source.Value, "url"));
            }

            return result;
        }

        private CatalogModel Model(JsonElement model, int index)
        {
            var name = OptionalString(model, "name");
            if (string.IsNullOrWhiteSpace(name))
            {
                throw Error($"model #{index + 1} has no name");
            }

            var where = $"model '{name}'";
            var taskText = OptionalString(model, "task");
            if (!CatalogNames.TryParseTask(taskText, out var task))
            {
                throw Error($"{where}: unknown task '{taskText}' (expected clip, facial-recognition or ocr)");
            }

            var multilingual = model.TryGetProperty("multilingual", out var m) && m.ValueKind == JsonValueKind.True;
            Quality? quality = null;
            if (model.TryGetProperty("quality", out var q))
            {
                var metric = OptionalString(q, "metric") ?? throw Error($"{where}: quality has no metric");
                quality = new Quality(metric, FigureOf(q, $"{where} quality"));
            }

            if (!model.TryGetProperty("components", out var components) || components.ValueKind != JsonValueKind.Array)
            {
                throw Error($"{where}: \"components\" must be an array");
            }

            var measured = Measured(model, where);
            var parsed = new List<CatalogComponent>();
            foreach (var component in components.EnumerateArray())
            {
                var entry = Component(component, task, where);
                if (parsed.Any(c => c.Type == entry.Type))
                {
                    throw Error($"{where}: component '{entry.Type.WireName()}' appears twice");
                }

                parsed.Add(entry with { Measured = measured.GetValueOrDefault(entry.Type, new Dictionary<string, MeasuredFootprint>()) });
            }

            var missing = CatalogNames.ComponentsOf(task).Where(t => parsed.All(c => c.Type != t)).Select(t => t.WireName()).ToList();
            if (missing.Count > 0)
            {
                throw Error($"{where}: a {task.WireName()} model needs components {string.Join(" and ", missing)}");
            }

            return new CatalogModel(name, task, multilingual, quality, parsed);
        }

        private CatalogComponent Component(JsonElement component, ModelTask task, string model)
        {
            var typeText = OptionalString(component, "type");
            if (!CatalogNames.TryParseComponent(typeText, out var type) || !CatalogNames.ComponentsOf(task).Contains(type))
            {
                throw Error($"{model}: component type '{typeText}' does not belong to a {task.WireName()} model");
            }

            var where = $"{model} component '{typeText}'";
            var fileBytes = RequiredFigure(component, "fileBytes", where);
            return new CatalogComponent(
                type,
                fileBytes,
                OptionalFigure(component, "parameters", where),
                Input(component, where),
                OptionalFigure(component, "activationBytes", where));
        }

        private InputSpec? Input(JsonElement component, string where)
        {
            if (!component.TryGetProperty("input", out var input))
            {
                return null;
            }

            if (!input.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array)
            {
                throw Error($"{where}: input.shape must be an array of dimensions");
            }

            var dimensions = new List<long>();
            foreach (var dimension in shape.EnumerateArray())
            {
                if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt64(out var value) || value <= 0)
                {
                    throw Error($"{where}: input.shape has a dimension that is not a positive whole number ({dimension.GetRawText()})");
                }

                dimensions.Add(value);
            }

            var batch = input.TryGetProperty("batch", out var b) && b.TryGetInt32(out var n) ? n : 0;
            if (batch <= 0)
            {
                throw Error($"{where}: input.batch must be a positive whole number");
            }

            var source = OptionalString(input, "source") ?? throw Error($"{where}: input has no source");
            CheckSource(source, $"{where} input");
            return new InputSpec(dimensions, batch, source, OptionalString(input, "note")) { Varying = Varying(input, dimensions, where) };
        }

        private VaryingDimension? Varying(JsonElement input, List<long> shape, string where)
        {
            // "varies": { "axis": 3, "from": 736, "step": 32 }: the axis takes every value from..shape[axis].
            if (!input.TryGetProperty("varies", out var varies))
            {
                return null;
            }

            var axis = (int)NonNegativeLong(varies, "axis", $"{where} input.varies");
            var from = NonNegativeLong(varies, "from", $"{where} input.varies");
            var step = NonNegativeLong(varies, "step", $"{where} input.varies");
            if (axis >= shape.Count || step == 0 || from == 0 || from > shape[axis])
            {
                throw Error($"{where}: input.varies must name an axis of the shape, a step above zero, and a start between 1 and that axis' size");
            }

            return new VaryingDimension(axis, from, step);
        }

        private Dictionary<ComponentType, Dictionary<string, MeasuredFootprint>> Measured(JsonElement model, string where)
        {
            // footprints.measured: { "<gpu name>": { "method": ..., "source": ..., "components": { "<type>": { weightsBytes, peakBytes } } } }
            var result = new Dictionary<ComponentType, Dictionary<string, MeasuredFootprint>>();
            if (!model.TryGetProperty("footprints", out var footprints) || !footprints.TryGetProperty("measured", out var measured))
            {
                return result;
            }

            foreach (var gpu in measured.EnumerateObject())
            {
                var method = OptionalString(gpu.Value, "method") ?? throw Error($"{where}: measured figures for '{gpu.Name}' name no method");
                var source = OptionalString(gpu.Value, "source");
                if (!gpu.Value.TryGetProperty("components", out var components))
                {
                    throw Error($"{where}: measured figures for '{gpu.Name}' have no components");
                }

                foreach (var component in components.EnumerateObject())
                {
                    if (!CatalogNames.TryParseComponent(component.Name, out var type))
                    {
                        throw Error($"{where}: measured component '{component.Name}' is not a component type");
                    }

                    var context = $"{where} measured '{gpu.Name}' {component.Name}";
                    var figure = new MeasuredFootprint(
                        NonNegativeLong(component.Value, "weightsBytes", context),
                        NonNegativeLong(component.Value, "peakBytes", context),
                        method,
                        source);
                    if (!result.TryGetValue(type, out var byGpu))
                    {
                        result[type] = byGpu = new Dictionary<string, MeasuredFootprint>(StringComparer.Ordinal);
                    }

                    byGpu[gpu.Name] = figure;
                }
            }

            return result;
        }

        private long NonNegativeLong(JsonElement element, string property, string where)
        {
            if (!element.TryGetProperty(property, out var value) || !value.TryGetInt64(out var number) || number < 0)
            {
                throw Error($"{where}: {property} must be a non-negative whole number");
            }

            return number;
        }

        private Figure RequiredFigure(JsonElement parent, string property, string where) =>
            OptionalFigure(parent, property, where) ?? throw Error($"{where}: {property} is missing");

        private Figure? OptionalFigure(JsonElement parent, string property, string where) =>
            parent.TryGetProperty(property, out var element) ? FigureOf(element, $"{where} {property}") : null;

        private Figure FigureOf(JsonElement element, string where)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Number)
            {
                throw Error($"{where}: must be an object with a numeric \"value\" and its \"source\"");
            }

            var number = value.GetDouble();
            if (number < 0 || double.IsNaN(number) || double.IsInfinity(number))
            {
                throw Error($"{where}: {number.ToString(CultureInfo.InvariantCulture)} is negative or not a number");
            }

            var source = OptionalString(element, "source") ?? throw Error($"{where}: has no source");
            CheckSource(source, where);
            var derivation = OptionalString(element, "derivation");
            if (source == Figure.Derived && string.IsNullOrWhiteSpace(derivation))
            {
                throw Error($"{where}: a derived figure must say how in \"derivation\"");
            }

            var note = OptionalString(element, "note");
            if (source == Figure.Unverified && string.IsNullOrWhiteSpace(note))
            {
                throw Error($"{where}: an unverified figure must say what it is in \"note\"");
            }

            return new Figure(number, source, derivation, note);
        }

        private void CheckSource(string source, string where)
        {
            if (source is not (Figure.Derived or Figure.Unverified) && !sources.ContainsKey(source))
            {
                throw Error($"{where}: source '{source}' is not listed in \"sources\"");
            }
        }

        private static string? OptionalString(JsonElement element, string property) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;

        private CatalogException Error(string message) => new($"{origin}: {message}");
    }
}
