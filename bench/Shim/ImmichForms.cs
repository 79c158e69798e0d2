using GpuSplit.Planner.Service;
using GpuSplit.Testing.Immich;

namespace GpuSplit.Bench.Shim;

/// <summary>The /predict bodies the load runs send, byte for byte as Immich builds them, written to files for wrk.</summary>
public static class ImmichForms
{
    /// <summary>A real JPEG of about 100 KB (896×672 at quality 80), the preview size the load goals are stated for.</summary>
    public static byte[] Image { get; } = PreviewJpeg.Encode(896, 672, quality: 80, seed: 1);

    public static HttpRequestMessage ImageJob() => ImmichPredictRequest.Job(JobKind.SmartSearch, Image);

    public static HttpRequestMessage Search() => ImmichPredictRequest.Search("a red bicycle by the sea");

    /// <summary>Writes the request's body to <paramref name="folder"/>/<paramref name="name"/>.form; returns its path and Content-Type.</summary>
    public static async Task<(string Path, string ContentType)> WriteAsync(DirectoryInfo folder, string name, HttpRequestMessage predict, CancellationToken ct)
    {
        using var request = predict;
        var path = System.IO.Path.Combine(folder.FullName, name + ".form");
        await File.WriteAllBytesAsync(path, await request.Content!.ReadAsByteArrayAsync(ct), ct);
        return (path, request.Content.Headers.ContentType!.ToString());
    }
}
