using System.Buffers.Binary;

namespace GpuSplit.MlService.Predict;

/// <summary>
/// A real baseline JPEG (JFIF, YCbCr 4:4:4, Huffman tables optimised for the picture, like <c>cjpeg -optimize</c>)
/// of a synthetic photo-like picture, made without an image library: what Immich sends as <c>image</c> is the
/// asset's preview JPEG, 1440 px on the short side by default.
/// </summary>
public static class PreviewJpeg
{
    private static readonly Lazy<byte[]> DefaultPreview = new(() => Encode(1920, 1440, quality: 80, seed: 1));

    // ITU T.81 Annex K.1: the example quantisation tables, scaled by quality as libjpeg does.
    private static readonly int[] LuminanceBase =
    [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ];

    private static readonly int[] ChrominanceBase =
    [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    ];

    private static readonly int[] ZigZag = BuildZigZag();
    private static readonly double[,] Cosines = BuildCosines();

    /// <summary>A 1920×1440 preview (about the size of a real one), made once per process.</summary>
    public static byte[] Default => DefaultPreview.Value;

    /// <summary>A small real preview (320×240), different for each <paramref name="seed"/>: cheap enough for every test.</summary>
    public static byte[] Small(int seed = 1) => Encode(320, 240, quality: 80, seed);

    /// <summary>Encodes a <paramref name="width"/>×<paramref name="height"/> picture; <paramref name="seed"/> varies its content.</summary>
    public static byte[] Encode(int width, int height, int quality, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, 65535);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, 65535);
        ArgumentOutOfRangeException.ThrowIfNotEqual(Math.Clamp(quality, 1, 100), quality);

        int[][] tables = [Scale(LuminanceBase, quality), Scale(ChrominanceBase, quality)];
        var planes = Picture(width, height, seed);
        var blocksWide = (width + 7) / 8;
        var blocksHigh = (height + 7) / 8;

        // Pass 1: every block's quantised coefficients, interleaved Y, Cb, Cr per MCU as they are written.
        var blocks = new short[blocksWide * blocksHigh * 3][];
        var index = 0;
        for (var by = 0; by < blocksHigh; by++)
        {
            for (var bx = 0; bx < blocksWide; bx++)
            {
                for (var c = 0; c < 3; c++)
                {
                    blocks[index++] = Quantise(planes[c], width, height, bx, by, tables[Math.Min(c, 1)]);
                }
            }
        }

        // Pass 2: symbol statistics for the four Huffman tables (DC and AC, luminance and chrominance).
        var frequencies = new long[4][];
        for (var t = 0; t < 4; t++)
        {
            frequencies[t] = new long[257];
        }

        Entropy(blocks, (table, symbol, _, _) => frequencies[table][symbol]++);
        var codes = frequencies.Select(HuffmanTable.Optimal).ToArray();

        using var output = new MemoryStream();
        WriteHeaders(output, width, height, tables, codes);
        var bits = new BitWriter(output);
        Entropy(blocks, (table, symbol, extra, extraBits) =>
        {
            var (code, length) = codes[table].Codes[symbol];
            bits.Write(code, length);
            bits.Write(extra, extraBits);
        });
        bits.Flush();
        output.Write([0xFF, 0xD9]);
        return output.ToArray();
    }

    // Sky-to-ground gradients, soft shapes and fine grain: compresses like a photo, not like a flat test card.
    private static byte[][] Picture(int width, int height, int seed)
    {
        var planes = new[] { new byte[width * height], new byte[width * height], new byte[width * height] };
        for (var y = 0; y < height; y++)
        {
            var v = (double)y / height;
            for (var x = 0; x < width; x++)
            {
                var u = (double)x / width;
                var shape = 40 * Math.Sin((u * 7 + seed) * Math.PI) * Math.Cos((v * 5 + (seed * 0.3)) * Math.PI);
                var grain = (Hash(x, y, seed) % 25) - 12;
                var r = (v < 0.55 ? 90 + (120 * v) : 150 - (60 * v)) + shape + grain;
                var g = (v < 0.55 ? 140 + (80 * v) : 120 - (20 * v)) + (shape * 0.6) + grain;
                var b = (v < 0.55 ? 230 - (60 * v) : 70 + (10 * u)) - (shape * 0.4) + grain;
                var i = (y * width) + x;
                planes[0][i] = Clamp((0.299 * r) + (0.587 * g) + (0.114 * b));
                planes[1][i] = Clamp((-0.168736 * r) - (0.331264 * g) + (0.5 * b) + 128);
                planes[2][i] = Clamp((0.5 * r) - (0.418688 * g) - (0.081312 * b) + 128);
            }
        }

        return planes;
    }

    private static short[] Quantise(byte[] plane, int width, int height, int bx, int by, int[] table)
    {
        var samples = new double[64];
        for (var y = 0; y < 8; y++)
        {
            // Blocks past the edge repeat the last row and column, as encoders pad.
            var row = Math.Min((by * 8) + y, height - 1) * width;
            for (var x = 0; x < 8; x++)
            {
                samples[(y * 8) + x] = plane[row + Math.Min((bx * 8) + x, width - 1)] - 128.0;
            }
        }

        // Separable DCT-II: rows, then columns.
        var rows = new double[64];
        for (var y = 0; y < 8; y++)
        {
            for (var u = 0; u < 8; u++)
            {
                var sum = 0.0;
                for (var x = 0; x < 8; x++)
                {
                    sum += samples[(y * 8) + x] * Cosines[x, u];
                }

                rows[(y * 8) + u] = sum;
            }
        }

        var result = new short[64];
        for (var u = 0; u < 8; u++)
        {
            for (var v = 0; v < 8; v++)
            {
                var sum = 0.0;
                for (var y = 0; y < 8; y++)
                {
                    sum += rows[(y * 8) + u] * Cosines[y, v];
                }

                var natural = (v * 8) + u;
                result[natural] = (short)Math.Round(sum / 4 / table[natural]);
            }
        }

        return result;
    }

    /// <summary>Walks the blocks in order and reports each Huffman symbol with the extra bits that follow it.</summary>
    private static void Entropy(short[][] blocks, Action<int, int, int, int> emit)
    {
        var previousDc = new int[3];
        for (var i = 0; i < blocks.Length; i++)
        {
            var component = i % 3;
            var chroma = component == 0 ? 0 : 1;
            var block = blocks[i];
            var diff = block[0] - previousDc[component];
            previousDc[component] = block[0];
            var size = BitLength(diff);
            emit(chroma * 2, size, Extra(diff, size), size);

            var run = 0;
            for (var k = 1; k < 64; k++)
            {
                var value = block[ZigZag[k]];
                if (value == 0)
                {
                    run++;
                    continue;
                }

                for (; run > 15; run -= 16)
                {
                    emit((chroma * 2) + 1, 0xF0, 0, 0);
                }

                var bits = BitLength(value);
                emit((chroma * 2) + 1, (run << 4) | bits, Extra(value, bits), bits);
                run = 0;
            }

            if (run > 0)
            {
                emit((chroma * 2) + 1, 0x00, 0, 0);
            }
        }
    }

    private static void WriteHeaders(MemoryStream output, int width, int height, int[][] tables, HuffmanTable[] codes)
    {
        output.Write([0xFF, 0xD8]);
        Segment(output, 0xE0, [(byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);

        var dqt = new List<byte>();
        for (var t = 0; t < 2; t++)
        {
            dqt.Add((byte)t);
            dqt.AddRange(Enumerable.Range(0, 64).Select(k => (byte)tables[t][ZigZag[k]]));
        }

        Segment(output, 0xDB, [.. dqt]);

        var size = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(size, (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(size.AsSpan(2), (ushort)width);
        Segment(output, 0xC0, [8, size[0], size[1], size[2], size[3], 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);

        var dht = new List<byte>();
        foreach (var (table, classAndId) in new[] { (0, 0x00), (1, 0x10), (2, 0x01), (3, 0x11) })
        {
            dht.Add((byte)classAndId);
            dht.AddRange(codes[table].Counts);
            dht.AddRange(codes[table].Symbols);
        }

        Segment(output, 0xC4, [.. dht]);
        Segment(output, 0xDA, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
    }

    private static void Segment(MemoryStream output, byte marker, byte[] body)
    {
        output.Write([0xFF, marker, (byte)((body.Length + 2) >> 8), (byte)((body.Length + 2) & 0xFF)]);
        output.Write(body);
    }

    private static int[] Scale(int[] table, int quality)
    {
        var scale = quality < 50 ? 5000 / quality : 200 - (quality * 2);
        return [.. table.Select(q => Math.Clamp(((q * scale) + 50) / 100, 1, 255))];
    }

    private static int BitLength(int value)
    {
        var magnitude = Math.Abs(value);
        return magnitude == 0 ? 0 : 32 - int.LeadingZeroCount(magnitude);
    }

    // A negative value is sent as its one's complement in `bits` bits (T.81 F.1.2.1).
    private static int Extra(int value, int bits) => value >= 0 ? value : value + (1 << bits) - 1;

    private static byte Clamp(double value) => (byte)Math.Clamp((int)Math.Round(value), 0, 255);

    private static int Hash(int x, int y, int seed)
    {
        var h = unchecked((uint)((x * 73856093) ^ (y * 19349663) ^ (seed * 83492791)));
        h ^= h >> 13;
        h = unchecked(h * 0x5bd1e995);
        return (int)((h ^ (h >> 15)) & 0x7FFFFFFF);
    }

    private static int[] BuildZigZag()
    {
        var order = new int[64];
        var i = 0;
        for (var diagonal = 0; diagonal < 15; diagonal++)
        {
            // Even diagonals run up and to the right, odd ones down and to the left.
            for (var step = 0; step <= diagonal; step++)
            {
                var row = diagonal % 2 == 0 ? diagonal - step : step;
                var column = diagonal - row;
                if (row < 8 && column < 8)
                {
                    order[i++] = (row * 8) + column;
                }
            }
        }

        return order;
    }

    private static double[,] BuildCosines()
    {
        var table = new double[8, 8];
        for (var x = 0; x < 8; x++)
        {
            for (var u = 0; u < 8; u++)
            {
                table[x, u] = (u == 0 ? Math.Sqrt(0.5) : 1) * Math.Cos(((2 * x) + 1) * u * Math.PI / 16);
            }
        }

        return table;
    }

    private sealed class BitWriter(MemoryStream output)
    {
        private uint _buffer;
        private int _count;

        public void Write(int value, int length)
        {
            for (var i = length - 1; i >= 0; i--)
            {
                _buffer = (_buffer << 1) | (uint)((value >> i) & 1);
                if (++_count == 8)
                {
                    Emit();
                }
            }
        }

        public void Flush()
        {
            while (_count != 0)
            {
                Write(1, 1);
            }
        }

        private void Emit()
        {
            var b = (byte)_buffer;
            output.WriteByte(b);
            if (b == 0xFF)
            {
                output.WriteByte(0);
            }

            _buffer = 0;
            _count = 0;
        }
    }

    /// <summary>A Huffman table built from symbol counts, limited to 16-bit codes (T.81 Annex K.2, as libjpeg does).</summary>
    private sealed record HuffmanTable(byte[] Counts, byte[] Symbols, (int Code, int Length)[] Codes)
    {
        public static HuffmanTable Optimal(long[] frequencies)
        {
            var freq = (long[])frequencies.Clone();
            // Symbol 256 is reserved so that no real code is all ones.
            freq[256] = 1;
            var codeSize = new int[257];
            var others = Enumerable.Repeat(-1, 257).ToArray();
            while (true)
            {
                var c1 = Smallest(freq, -1);
                var c2 = Smallest(freq, c1);
                if (c2 < 0)
                {
                    break;
                }

                freq[c1] += freq[c2];
                freq[c2] = 0;
                for (codeSize[c1]++; others[c1] >= 0; codeSize[c1]++)
                {
                    c1 = others[c1];
                }

                others[c1] = c2;
                for (codeSize[c2]++; others[c2] >= 0; codeSize[c2]++)
                {
                    c2 = others[c2];
                }
            }

            var bits = new int[33];
            foreach (var size in codeSize.Where(s => s > 0))
            {
                bits[size]++;
            }

            for (var i = 32; i > 16; i--)
            {
                while (bits[i] > 0)
                {
                    var j = i - 2;
                    while (bits[j] == 0)
                    {
                        j--;
                    }

                    bits[i] -= 2;
                    bits[i - 1]++;
                    bits[j + 1] += 2;
                    bits[j]--;
                }
            }

            var longest = 16;
            while (bits[longest] == 0)
            {
                longest--;
            }

            bits[longest]--;
            var symbols = new List<byte>();
            for (var length = 1; length <= 32; length++)
            {
                symbols.AddRange(Enumerable.Range(0, 256).Where(s => codeSize[s] == length).Select(s => (byte)s));
            }

            var codes = new (int, int)[256];
            var code = 0;
            var next = 0;
            for (var length = 1; length <= 16; length++)
            {
                for (var n = 0; n < bits[length]; n++)
                {
                    codes[symbols[next++]] = (code++, length);
                }

                code <<= 1;
            }

            return new HuffmanTable([.. bits.Skip(1).Take(16).Select(b => (byte)b)], [.. symbols], codes);
        }

        // The symbol with the smallest non-zero count; the larger symbol on ties (so 256 ends up longest).
        private static int Smallest(long[] freq, int except)
        {
            var best = -1;
            var bestCount = long.MaxValue;
            for (var s = 0; s < freq.Length; s++)
            {
                if (s != except && freq[s] > 0 && freq[s] <= bestCount)
                {
                    best = s;
                    bestCount = freq[s];
                }
            }

            return best;
        }
    }
}
