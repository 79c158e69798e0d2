using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;
using Spectre.Console;

namespace GpuSplit.Planner.Cli;

/// <summary>`planner catalog`: every model the planner knows, with each component's footprint and sources.</summary>
internal static class CatalogCommand
{
    public static Command Create()
    {
        var catalog = CatalogSource.Option();
        var json = new Option<bool>("--json") { Description = "Print the catalog with footprints as JSON." };
        var command = new Command("catalog", "List the models the planner knows and each component's footprint.") { catalog, json };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var models = CatalogSource.Load(parsed.GetValue(catalog));
            var output = parsed.InvocationConfiguration.Output;
            if (parsed.GetValue(json))
            {
                await output.WriteLineAsync(Json(models).ToJsonString(new JsonSerializerOptions { WriteIndented = true }).AsMemory(), cancellationToken);
            }
            else
            {
                Terminal.For(output).Write(Table(models));
            }

            return 0;
        });
        return command;
    }

    private static Table Table(ModelCatalog catalog)
    {
        var table = new Table().AddColumns("Model", "Task", "Quality", "Component", "File MiB", "Params (M)", "Input × batch", "Per request MiB", "Ratchet MiB", "Measured on");
        foreach (var model in catalog.Models)
        {
            foreach (var component in model.Components)
            {
                var load = ComponentLoads.For(model, component, gpu: null, RuntimeCosts.Cuda);
                table.AddRow(
                    Markup.Escape(model.Name),
                    model.Task.WireName() + (model.Multilingual ? ", multilingual" : string.Empty),
                    model.Quality is { } q ? q.Figure.Value.ToString("0.##", CultureInfo.InvariantCulture) : "-",
                    component.Type.WireName(),
                    Mib(component.FileBytes.Bytes),
                    component.Parameters is { } p ? (p.Value / 1e6).ToString("0.##", CultureInfo.InvariantCulture) : "-",
                    component.Input is { } input ? $"[[{string.Join(",", input.Shape)}]] × {input.Batch}" : "-",
                    Mib(load.PerRequestBytes),
                    Mib(load.RatchetBytes),
                    component.Measured.Count == 0 ? "-" : Markup.Escape(string.Join(", ", component.Measured.Keys)));
            }
        }

        return table;
    }

    private static JsonObject Json(ModelCatalog catalog)
    {
        var models = new JsonArray();
        foreach (var model in catalog.Models)
        {
            var components = new JsonArray();
            foreach (var component in model.Components)
            {
                var load = ComponentLoads.For(model, component, gpu: null, RuntimeCosts.Cuda);
                var measured = new JsonObject();
                foreach (var (gpu, figure) in component.Measured)
                {
                    measured[gpu] = new JsonObject { ["weightsBytes"] = figure.WeightsBytes, ["peakBytes"] = figure.PeakBytes, ["method"] = figure.Method };
                }

                components.Add(new JsonObject
                {
                    ["type"] = component.Type.WireName(),
                    ["fileBytes"] = component.FileBytes.Bytes,
                    ["parameters"] = component.Parameters?.Value,
                    ["input"] = component.Input is { } input ? new JsonObject { ["shape"] = new JsonArray([.. input.Shape.Select(d => (JsonNode)d)]), ["batch"] = input.Batch } : null,
                    ["estimate"] = new JsonObject { ["weightsBytes"] = load.WeightsBytes, ["perRequestBytes"] = load.PerRequestBytes, ["ratchetBytes"] = load.RatchetBytes },
                    ["measured"] = measured,
                });
            }

            models.Add(new JsonObject
            {
                ["name"] = model.Name,
                ["task"] = model.Task.WireName(),
                ["multilingual"] = model.Multilingual,
                ["quality"] = model.Quality is { } q ? new JsonObject { ["metric"] = q.Metric, ["value"] = q.Figure.Value } : null,
                ["components"] = components,
            });
        }

        return new JsonObject { ["models"] = models };
    }

    private static string Mib(long bytes) => ByteSize.ToMiB(bytes).ToString("N0", CultureInfo.InvariantCulture);
}
