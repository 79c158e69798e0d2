using GpuSplit.Planner.Measure;

namespace GpuSplit.Planner.Tests.Measure;

public sealed class ModelCacheTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Finds_models_at_both_depths_and_names_what_it_skips()
    {
        Touch("clip", "ViT-B-32__openai", "visual");
        Touch("clip", "ViT-B-32__openai", "textual");
        Touch("facial-recognition", "buffalo_l", "main", "detection");
        Touch("facial-recognition", "buffalo_l", "main", "recognition");
        Touch("ocr", "PP-OCRv5_mobile", "detection");
        Directory.CreateDirectory(temp.File("ocr", "half-downloaded", "detection"));
        Directory.CreateDirectory(temp.File("huggingface"));
        Directory.CreateDirectory(temp.File(".locks", "clip"));

        var scan = ModelCache.Scan(temp.Path);

        Assert.Equal(
            ["clip/ViT-B-32__openai/visual", "clip/ViT-B-32__openai/textual", "facial-recognition/buffalo_l/detection", "facial-recognition/buffalo_l/recognition", "ocr/PP-OCRv5_mobile/detection"],
            scan.Components.Select(c => c.Label));
        Assert.Equal([null, null, "main", "main", null], scan.Components.Select(c => c.Revision));
        Assert.All(scan.Components, c => Assert.True(File.Exists(c.Path)));
        Assert.Equal(
            [
                "huggingface/: not an Immich task folder (clip, facial-recognition, ocr); skipped",
                "ocr/half-downloaded/: no model.onnx for any ocr component; skipped",
            ],
            scan.Warnings);
    }

    [Fact]
    public void A_component_at_both_depths_is_measured_from_its_revision_folder_with_a_warning()
    {
        Touch("ocr", "PP-OCRv5_mobile", "recognition");
        var revision = Touch("ocr", "PP-OCRv5_mobile", "v2", "recognition");

        var scan = ModelCache.Scan(temp.Path);

        Assert.Equal(revision, Assert.Single(scan.Components).Path);
        Assert.Contains("found in the model folder and in revision 'v2'", Assert.Single(scan.Warnings));
    }

    [Fact]
    public void A_missing_cache_is_an_error()
    {
        var error = Assert.Throws<DirectoryNotFoundException>(() => ModelCache.Scan(temp.File("absent")));

        Assert.Contains("does not exist", error.Message);
    }

    private string Touch(params string[] folders)
    {
        var path = temp.File([.. folders, "model.onnx"]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [1]);
        return path;
    }
}
