using NetVips;

namespace GpuSplit.Planner.Service;

/// <summary>
/// A preview JPEG made as Immich's server makes one: libvips (Immich's server uses it through sharp), quality 80
/// (<c>image.preview.quality</c>), chroma 4:4:4 (sharp's <c>chromaSubsampling</c> for quality 80 and above), Huffman
/// tables optimised (sharp's default), baseline. The picture is synthetic but photo-like; the default is 1920×1440,
/// the size of a 4:3 photo's preview (1440 px on the short side).
/// </summary>
/// <remarks>
/// libvips is loaded when a preview is first made, not when the planner starts: the planner carries NetVips's managed
/// binding (0.2 MB) and no libvips, so that <c>planner fit</c> stays small. Tests and benchmarks get libvips from
/// NetVips.Native (tests/Testing); <c>measure --service</c> finds it on the machine (<see cref="Unavailable"/>) or
/// takes <c>--image</c> instead.
/// </remarks>
public static class PreviewJpeg
{
    // Immich's server/src/config.ts (image.preview.quality) and media.repository.ts (jpeg options), v2.3.1.
    private const int ImmichQuality = 80;

    private static readonly Lazy<byte[]> DefaultPreview = new(() => Encode(1920, 1440, ImmichQuality, seed: 1));

    /// <summary>A 1920×1440 preview (about the size of a real one), made once per process.</summary>
    public static byte[] Default => DefaultPreview.Value;

    /// <summary>Why no preview can be made here (libvips not found), or null when libvips is loaded.</summary>
    public static string? Unavailable => ModuleInitializer.VipsInitialized
        ? null
        : "libvips could not be loaded (" + (ModuleInitializer.Exception switch
        {
            // Its message lists every path probed, one a line.
            DllNotFoundException or null => "libvips.so.42, or libvips-42.dll on Windows, is not on this machine's library path",
            var other => other.Message.ReplaceLineEndings(" "),
        }) + ")";

    /// <summary>A small real preview (320×240), different for each <paramref name="seed"/>: cheap enough for every test.</summary>
    public static byte[] Small(int seed = 1) => Encode(320, 240, ImmichQuality, seed);

    /// <summary>Encodes a <paramref name="width"/>×<paramref name="height"/> picture; <paramref name="seed"/> varies its content.</summary>
    public static byte[] Encode(int width, int height, int quality, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, 65535);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, 65535);
        ArgumentOutOfRangeException.ThrowIfNotEqual(Math.Clamp(quality, 1, 100), quality);
        if (Unavailable is { } why)
        {
            throw new InvalidOperationException(why);
        }

        using var image = Image.NewFromMemory(Picture(width, height, seed), width, height, bands: 3, Enums.BandFormat.Uchar);
        return image.JpegsaveBuffer(
            q: quality,
            optimizeCoding: true,
            subsampleMode: quality >= ImmichQuality ? Enums.ForeignSubsample.Off : Enums.ForeignSubsample.On,
            keep: Enums.ForeignKeep.None);
    }

    // Sky-to-ground gradients, soft shapes and fine grain, as interleaved RGB: compresses like a photo, not like a
    // flat test card.
    private static byte[] Picture(int width, int height, int seed)
    {
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            var v = (double)y / height;
            for (var x = 0; x < width; x++)
            {
                var u = (double)x / width;
                var shape = 40 * Math.Sin((u * 7 + seed) * Math.PI) * Math.Cos((v * 5 + (seed * 0.3)) * Math.PI);
                var grain = (Hash(x, y, seed) % 25) - 12;
                var i = ((y * width) + x) * 3;
                rgb[i] = Clamp((v < 0.55 ? 90 + (120 * v) : 150 - (60 * v)) + shape + grain);
                rgb[i + 1] = Clamp((v < 0.55 ? 140 + (80 * v) : 120 - (20 * v)) + (shape * 0.6) + grain);
                rgb[i + 2] = Clamp((v < 0.55 ? 230 - (60 * v) : 70 + (10 * u)) - (shape * 0.4) + grain);
            }
        }

        return rgb;
    }

    private static byte Clamp(double value) => (byte)Math.Clamp((int)Math.Round(value), 0, 255);

    private static int Hash(int x, int y, int seed)
    {
        var h = unchecked((uint)((x * 73856093) ^ (y * 19349663) ^ (seed * 83492791)));
        h ^= h >> 13;
        h = unchecked(h * 0x5bd1e995);
        return (int)((h ^ (h >> 15)) & 0x7FFFFFFF);
    }
}
