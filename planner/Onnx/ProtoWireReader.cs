namespace GpuSplit.Planner.Onnx;

/// <summary>The protobuf wire types (protobuf.dev, "Encoding").</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// Reads protobuf's wire format from a seekable stream, field by field. Length-delimited fields the
/// caller does not need are skipped by seeking: a model's weights (hundreds of megabytes of
/// <c>raw_data</c>) are never read into memory just to be counted, which a generated parser would do.
/// </summary>
internal sealed class ProtoWireReader(Stream stream, string fileName)
{
    public long Position => stream.Position;

    public long Length { get; } = stream.Length;

    /// <summary>Reads the next field's tag, or returns false at <paramref name="end"/>.</summary>
    public bool TryReadTag(long end, out int field, out WireType type)
    {
        if (stream.Position >= end)
        {
            field = 0;
            type = default;
            return false;
        }

        var at = stream.Position;
        var tag = ReadVarint(end);
        field = (int)(tag >> 3);
        type = (WireType)(tag & 7);
        if (field <= 0 || type is WireType.StartGroup or WireType.EndGroup || (int)type > 5)
        {
            throw Corrupt($"an invalid field tag {tag} at byte {at}");
        }

        return true;
    }

    public ulong ReadVarint(long end)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte(end);
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw Corrupt($"a varint longer than 10 bytes at byte {stream.Position}");
    }

    /// <summary>Reads a length prefix and checks that the field fits inside <paramref name="end"/>.</summary>
    public long ReadLength(long end)
    {
        var at = stream.Position;
        var length = ReadVarint(end);
        if (length > (ulong)(end - stream.Position))
        {
            throw stream.Position + (long)Math.Min(length, long.MaxValue / 2) > Length
                ? Truncated($"a field at byte {at} declares {length} bytes but the file ends {Length - stream.Position} bytes later")
                : Corrupt($"a field at byte {at} declares {length} bytes, more than its enclosing message holds");
        }

        return (long)length;
    }

    /// <summary>
    /// The largest field read into memory. Only names, value types, operator sets and external data entries are read
    /// (bytes to kilobytes); weights are skipped. A length within the file can still be as large as the file.
    /// </summary>
    public const int MaxReadBytes = 16 * 1024 * 1024;

    public byte[] ReadBytes(long length)
    {
        if (length > MaxReadBytes)
        {
            throw Corrupt($"a name or type field of {length} bytes at byte {stream.Position}, more than the {MaxReadBytes >> 20} MiB one may take");
        }

        var buffer = new byte[length];
        stream.ReadExactly(buffer);
        return buffer;
    }

    public void SkipBytes(long length) => stream.Seek(length, SeekOrigin.Current);

    /// <summary>Counts the varints in a packed field of <paramref name="length"/> bytes, reading it in chunks.</summary>
    public long CountVarints(long length)
    {
        Span<byte> chunk = stackalloc byte[4096];
        long count = 0;
        for (var left = length; left > 0;)
        {
            var part = chunk[..(int)Math.Min(left, chunk.Length)];
            stream.ReadExactly(part);
            foreach (var b in part)
            {
                count += (b & 0x80) == 0 ? 1 : 0;
            }

            left -= part.Length;
        }

        return count;
    }

    /// <summary>Skips the value of a field whose tag was just read.</summary>
    public void Skip(WireType type, long end)
    {
        switch (type)
        {
            case WireType.Varint:
                ReadVarint(end);
                break;
            case WireType.Fixed64:
                SkipFixed(8, end);
                break;
            case WireType.Fixed32:
                SkipFixed(4, end);
                break;
            case WireType.LengthDelimited:
                SkipBytes(ReadLength(end));
                break;
            default:
                throw Corrupt($"an unsupported wire type {type} at byte {stream.Position}");
        }
    }

    public OnnxFormatException Truncated(string what) =>
        new($"{fileName}: truncated ONNX file: {what}");

    public OnnxFormatException Corrupt(string what) =>
        new($"{fileName}: not a valid ONNX model: {what}");

    private void SkipFixed(int size, long end)
    {
        if (end - stream.Position < size)
        {
            throw end >= Length ? Truncated($"the file ends inside a field at byte {stream.Position}")
                : Corrupt($"a fixed-size field at byte {stream.Position} crosses the end of its message");
        }

        SkipBytes(size);
    }

    private byte ReadByte(long end)
    {
        if (stream.Position >= end)
        {
            throw end >= Length ? Truncated($"the file ends inside a field at byte {stream.Position}")
                : Corrupt($"a varint at byte {stream.Position} crosses the end of its message");
        }

        var b = stream.ReadByte();
        return b < 0 ? throw Truncated($"the file ends inside a field at byte {stream.Position}") : (byte)b;
    }
}
