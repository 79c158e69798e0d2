using System.Text.Json.Nodes;
using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Tests.Catalog;

public sealed class CatalogReaderTests
{
    [Fact]
    public void Embedded_catalog_has_every_model_the_issue_names_with_sourced_figures()
    {
        var catalog = CatalogReader.LoadEmbedded();
        string[] required =
        [
            "ViT-B-32__openai", "ViT-B-16__openai", "ViT-L-14__openai", "XLM-Roberta-Base-ViT-B-32__laion5b_s13b_b90k",
            "XLM-Roberta-Large-Vit-B-16Plus", "nllb-clip-base-siglip__v1", "ViT-B-16-SigLIP2__webli",
            "buffalo_s", "buffalo_m", "buffalo_l", "antelopev2", "PP-OCRv5_mobile", "PP-OCRv5_server",
        ];
        foreach (var name in required)
        {
            var model = catalog.Find(name);
            Assert.True(model is not null, $"{name} is missing from models.json");
            Assert.All(model.Components, c => Assert.True(c.FileBytes.Value > 0, $"{name} {c.Type} has no file size"));
        }

        // Immich publishes recall for every CLIP model it lists; the M-CLIP model and fg-clip2-base are not in that table.
        Assert.All(catalog.ForTask(ModelTask.Clip).Where(m => m.Name is not ("XLM-Roberta-Large-Vit-B-16Plus" or "fg-clip2-base")), clip => Assert.NotNull(clip.Quality));
        Assert.Contains(catalog.ForTask(ModelTask.Clip), clip => clip.Multilingual);
        Assert.Contains(catalog.ForTask(ModelTask.Clip), clip => !clip.Multilingual);
    }

    [Fact]
    public void Reads_components_inputs_and_the_varying_dimension()
    {
        var input = new JsonObject
        {
            ["shape"] = new JsonArray(1, 3, 736, 1312),
            ["batch"] = 1,
            ["source"] = "test",
            ["varies"] = new JsonObject { ["axis"] = 3, ["from"] = 736, ["step"] = 32 },
        };
        var catalog = TestCatalog.Read(TestCatalog.Document(
            TestCatalog.Model("ocr-x", "ocr", null, TestCatalog.Component("detection", 5_000_000, 1_000, input), TestCatalog.Component("recognition", 16_000_000))));

        var detection = catalog.Find("ocr-x")!.Component(ComponentType.Detection)!;
        Assert.Equal([1L, 3, 736, 1312], detection.Input!.Shape);
        Assert.Equal(new VaryingDimension(3, 736, 32), detection.Input.Varying);
        Assert.Equal(5_000_000, detection.FileBytes.Bytes);
        Assert.Equal("derived", detection.ActivationBytes!.Source);
    }

    [Fact]
    public void Bad_json_is_an_error_with_the_line()
    {
        var error = Assert.Throws<CatalogException>(() => TestCatalog.Read("{ \"models\": [ { \"name\": \"x\", } \n oops ]"));
        Assert.StartsWith("test.json: not valid JSON (line ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_task_names_the_model()
    {
        var error = Assert.Throws<CatalogException>(() => TestCatalog.Read(TestCatalog.Document(
            TestCatalog.Model("weird", "colorize", null, TestCatalog.Component("visual", 1)))));
        Assert.Equal("test.json: model 'weird': unknown task 'colorize' (expected clip, facial-recognition or ocr)", error.Message);
    }

    [Fact]
    public void Negative_size_names_the_model_and_component()
    {
        var error = Assert.Throws<CatalogException>(() => TestCatalog.Read(TestCatalog.Document(
            TestCatalog.Model("neg", "ocr", null, TestCatalog.Component("detection", -5), TestCatalog.Component("recognition", 1)))));
        Assert.Contains("model 'neg' component 'detection' fileBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("negative", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_figure_without_a_listed_source_is_refused()
    {
        var component = TestCatalog.Component("detection", 5);
        component["fileBytes"]!["source"] = "a-blog-somewhere";
        var error = Assert.Throws<CatalogException>(() => TestCatalog.Read(TestCatalog.Document(
            TestCatalog.Model("unsourced", "ocr", null, component, TestCatalog.Component("recognition", 1)))));
        Assert.Contains("source 'a-blog-somewhere' is not listed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_derived_figure_must_say_how()
    {
        var component = TestCatalog.Component("detection", 5, activationBytes: 10);
        component["activationBytes"]!.AsObject().Remove("derivation");
        var error = Assert.Throws<CatalogException>(() => TestCatalog.Read(TestCatalog.Document(
            TestCatalog.Model("underived", "ocr", null, component, TestCatalog.Component("recognition", 1)))));
        Assert.Contains("must say how", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_missing_a_component_of_its_task_is_refused()
    {
        var error = Assert.Throws<CatalogException>(() => TestCatalog.Read(TestCatalog.Document(
            TestCatalog.Model("half-clip", "clip", 50, TestCatalog.Component("visual", 1)))));
        Assert.Contains("model 'half-clip': a clip model needs components textual", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_component_of_another_task_is_refused()
    {
        var error = Assert.Throws<CatalogException>(() => TestCatalog.Read(TestCatalog.Document(
            TestCatalog.Model("mixed", "ocr", null, TestCatalog.Component("visual", 1), TestCatalog.Component("recognition", 1)))));
        Assert.Contains("component type 'visual' does not belong to a ocr model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_models_are_refused()
    {
        var model = TestCatalog.Model("twice", "ocr", null, TestCatalog.Component("detection", 1), TestCatalog.Component("recognition", 1));
        var error = Assert.Throws<CatalogException>(() => TestCatalog.Read(TestCatalog.Document(model, (JsonObject)model.DeepClone())));
        Assert.Contains("model 'twice' appears twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Measured_footprints_are_read_per_gpu_and_component()
    {
        var model = TestCatalog.Model("m", "ocr", null, TestCatalog.Component("detection", 5), TestCatalog.Component("recognition", 1));
        model["footprints"] = JsonNode.Parse("""
            { "measured": { "NVIDIA GeForce GTX 1060 6GB": { "method": "in-process", "components": { "detection": { "weightsBytes": 6, "peakBytes": 900 } } } } }
            """);
        var detection = TestCatalog.Read(TestCatalog.Document(model)).Find("m")!.Component(ComponentType.Detection)!;
        Assert.Equal(new MeasuredFootprint(6, 900, "in-process"), detection.Measured["NVIDIA GeForce GTX 1060 6GB"]);
    }
}
