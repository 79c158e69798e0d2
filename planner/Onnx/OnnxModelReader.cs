using System.Globalization;
using Google.Protobuf;
using GpuSplit.Protos.Onnx;

namespace GpuSplit.Planner.Onnx;

/// <summary>
/// Static analysis of an ONNX file: reads the graph's structure straight from the protobuf wire format
/// and sizes every weight without loading it, so a 1 GB model costs a few kilobytes of memory to inspect.
/// Field numbers are the generated ONNX messages' own constants (protos/onnx.proto).
/// </summary>
public static class OnnxModelReader
{
    /// <summary>Subgraphs (If/Loop/Scan bodies) deeper than this are treated as a corrupt file.</summary>
    private const int MaxGraphDepth = 32;

    /// <exception cref="OnnxFormatException">The file is missing, unreadable, truncated or not an ONNX model.</exception>
    public static OnnxModelInfo Read(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            // Opening a folder fails as "access denied" on Linux, which would send the user after permissions.
            throw new OnnxFormatException($"{path}: is a folder, not a file");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxFormatException($"{path}: cannot be read: {Describe(e)}");
        }

        using (stream)
        {
            try
            {
                return new Walker(path, full, stream).ReadModel();
            }
            catch (IOException e)
            {
                throw new OnnxFormatException($"{path}: cannot be read: {e.Message}");
            }
        }
    }

    private static string Describe(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };

    private sealed class Walker(string path, string fullPath, Stream stream)
    {
        private readonly ProtoWireReader reader = new(stream, path);
        private readonly string folder = System.IO.Path.GetDirectoryName(fullPath)!;
        private readonly List<OnnxOpset> opsets = [];
        private readonly List<OnnxValue> inputs = [];
        private readonly List<OnnxValue> outputs = [];
        private readonly HashSet<string> initializerNames = new(StringComparer.Ordinal);
        private readonly SortedSet<string> externalFiles = new(StringComparer.Ordinal);
        private int tensorCount;
        private long inlineBytes;
        private long externalBytes;
        private long constantBytes;

        public OnnxModelInfo ReadModel()
        {
            var end = reader.Length;
            if (end == 0)
            {
                throw reader.Truncated("the file is empty");
            }

            long irVersion = 0;
            string producerName = "", producerVersion = "";
            var sawGraph = false;
            while (reader.TryReadTag(end, out var field, out var type))
            {
                switch (field, type)
                {
                    case (ModelProto.IrVersionFieldNumber, WireType.Varint):
                        irVersion = (long)reader.ReadVarint(end);
                        break;
                    case (ModelProto.ProducerNameFieldNumber, WireType.LengthDelimited):
                        producerName = ReadString(end);
                        break;
                    case (ModelProto.ProducerVersionFieldNumber, WireType.LengthDelimited):
                        producerVersion = ReadString(end);
                        break;
                    case (ModelProto.GraphFieldNumber, WireType.LengthDelimited):
                        ReadGraph(SubEnd(end), depth: 0, isMain: true);
                        sawGraph = true;
                        break;
                    case (ModelProto.OpsetImportFieldNumber, WireType.LengthDelimited):
                        var opset = Parse(OperatorSetIdProto.Parser, end);
                        opsets.Add(new OnnxOpset(opset.Domain is "" or "ai.onnx" ? OnnxOpset.DefaultDomain : opset.Domain, opset.Version));
                        break;
                    default:
                        reader.Skip(type, end);
                        break;
                }
            }

            // ONNX writers emit fields in number order, so a file cut at a field boundary loses its
            // graph (7) or its operator sets (8) last: both are required, which catches that case too.
            if (!sawGraph)
            {
                throw reader.Corrupt("it has no graph (truncated, or not an ONNX file)");
            }

            if (opsets.Count == 0)
            {
                throw reader.Corrupt("it imports no operator set (truncated, or not an ONNX file)");
            }

            if (irVersion <= 0)
            {
                throw reader.Corrupt("it has no IR version");
            }

            return new OnnxModelInfo(
                path,
                reader.Length,
                irVersion,
                $"{producerName} {producerVersion}".Trim(),
                opsets,
                inputs.Where(i => !initializerNames.Contains(i.Name)).ToList(),
                outputs,
                new WeightSummary(tensorCount, inlineBytes, externalBytes, constantBytes, [.. externalFiles]));
        }

        private void ReadGraph(long end, int depth, bool isMain)
        {
            if (depth > MaxGraphDepth)
            {
                throw reader.Corrupt($"subgraphs nested deeper than {MaxGraphDepth}");
            }

            while (reader.TryReadTag(end, out var field, out var type))
            {
                switch (field, type)
                {
                    case (GraphProto.NodeFieldNumber, WireType.LengthDelimited):
                        ReadNode(SubEnd(end), depth);
                        break;
                    case (GraphProto.InitializerFieldNumber, WireType.LengthDelimited):
                        var initializer = ReadTensor(SubEnd(end));
                        if (isMain)
                        {
                            initializerNames.Add(initializer.Name);
                        }

                        Count(initializer, constant: false);
                        break;
                    case (GraphProto.SparseInitializerFieldNumber, WireType.LengthDelimited):
                        var sparse = ReadSparseTensor(SubEnd(end));
                        if (isMain)
                        {
                            initializerNames.Add(sparse.Name);
                        }

                        Count(sparse, constant: false);
                        break;
                    case (GraphProto.InputFieldNumber, WireType.LengthDelimited) when isMain:
                        inputs.Add(ToValue(Parse(ValueInfoProto.Parser, end)));
                        break;
                    case (GraphProto.OutputFieldNumber, WireType.LengthDelimited) when isMain:
                        outputs.Add(ToValue(Parse(ValueInfoProto.Parser, end)));
                        break;
                    default:
                        reader.Skip(type, end);
                        break;
                }
            }
        }

        private void ReadNode(long end, int depth)
        {
            while (reader.TryReadTag(end, out var field, out var type))
            {
                if (field == NodeProto.AttributeFieldNumber && type == WireType.LengthDelimited)
                {
                    ReadAttribute(SubEnd(end), depth);
                }
                else
                {
                    reader.Skip(type, end);
                }
            }
        }

        /// <summary>Tensors held by attributes (a Constant's value) are weights; graphs are subgraphs.</summary>
        private void ReadAttribute(long end, int depth)
        {
            while (reader.TryReadTag(end, out var field, out var type))
            {
                switch (field, type)
                {
                    case (AttributeProto.TFieldNumber or AttributeProto.TensorsFieldNumber, WireType.LengthDelimited):
                        Count(ReadTensor(SubEnd(end)), constant: true);
                        break;
                    case (AttributeProto.SparseTensorFieldNumber or AttributeProto.SparseTensorsFieldNumber, WireType.LengthDelimited):
                        Count(ReadSparseTensor(SubEnd(end)), constant: true);
                        break;
                    case (AttributeProto.GFieldNumber or AttributeProto.GraphsFieldNumber, WireType.LengthDelimited):
                        ReadGraph(SubEnd(end), depth + 1, isMain: false);
                        break;
                    default:
                        reader.Skip(type, end);
                        break;
                }
            }
        }

        private TensorFacts ReadTensor(long end)
        {
            var facts = new TensorFacts();
            while (reader.TryReadTag(end, out var field, out var type))
            {
                switch (field, type)
                {
                    case (TensorProto.DimsFieldNumber, WireType.Varint):
                        facts.Dims.Add((long)reader.ReadVarint(end));
                        break;
                    case (TensorProto.DimsFieldNumber, WireType.LengthDelimited):
                        var dimsEnd = SubEnd(end);
                        while (reader.Position < dimsEnd)
                        {
                            facts.Dims.Add((long)reader.ReadVarint(dimsEnd));
                        }

                        break;
                    case (TensorProto.DataTypeFieldNumber, WireType.Varint):
                        facts.DataType = (int)reader.ReadVarint(end);
                        break;
                    case (TensorProto.NameFieldNumber, WireType.LengthDelimited):
                        facts.Name = ReadString(end);
                        break;
                    case (TensorProto.RawDataFieldNumber, WireType.LengthDelimited):
                        facts.RawBytes = reader.ReadLength(end);
                        reader.SkipBytes(facts.RawBytes.Value);
                        break;
                    case (TensorProto.FloatDataFieldNumber, WireType.LengthDelimited):
                        facts.TypedValues += FixedCount(reader.ReadLength(end), 4);
                        break;
                    case (TensorProto.DoubleDataFieldNumber, WireType.LengthDelimited):
                        facts.TypedValues += FixedCount(reader.ReadLength(end), 8);
                        break;
                    case (TensorProto.Int32DataFieldNumber or TensorProto.Int64DataFieldNumber or TensorProto.Uint64DataFieldNumber,
                        WireType.LengthDelimited):
                        facts.TypedValues += reader.CountVarints(reader.ReadLength(end));
                        break;
                    case (TensorProto.FloatDataFieldNumber or TensorProto.DoubleDataFieldNumber or TensorProto.Int32DataFieldNumber
                        or TensorProto.Int64DataFieldNumber or TensorProto.Uint64DataFieldNumber, _):
                        // Unpacked encoding: one value per tag.
                        reader.Skip(type, end);
                        facts.TypedValues++;
                        break;
                    case (TensorProto.StringDataFieldNumber, WireType.LengthDelimited):
                        var length = reader.ReadLength(end);
                        reader.SkipBytes(length);
                        facts.TypedValues++;
                        facts.StringBytes += length;
                        break;
                    case (TensorProto.ExternalDataFieldNumber, WireType.LengthDelimited):
                        var entry = Parse(StringStringEntryProto.Parser, end);
                        facts.External[entry.Key] = entry.Value;
                        break;
                    case (TensorProto.DataLocationFieldNumber, WireType.Varint):
                        facts.IsExternal = reader.ReadVarint(end) == (ulong)TensorProto.Types.DataLocation.External;
                        break;
                    default:
                        reader.Skip(type, end);
                        break;
                }
            }

            facts.Bytes = SizeOf(facts);
            return facts;
        }

        /// <summary>ONNX Runtime densifies sparse initializers at load, so they cost their dense size.</summary>
        private TensorFacts ReadSparseTensor(long end)
        {
            TensorFacts? values = null;
            var dims = new List<long>();
            while (reader.TryReadTag(end, out var field, out var type))
            {
                switch (field, type)
                {
                    case (SparseTensorProto.ValuesFieldNumber, WireType.LengthDelimited):
                        values = ReadTensor(SubEnd(end));
                        break;
                    case (SparseTensorProto.DimsFieldNumber, WireType.Varint):
                        dims.Add((long)reader.ReadVarint(end));
                        break;
                    case (SparseTensorProto.DimsFieldNumber, WireType.LengthDelimited):
                        var dimsEnd = SubEnd(end);
                        while (reader.Position < dimsEnd)
                        {
                            dims.Add((long)reader.ReadVarint(dimsEnd));
                        }

                        break;
                    default:
                        reader.Skip(type, end);
                        break;
                }
            }

            if (values is null)
            {
                throw reader.Corrupt("a sparse tensor has no values");
            }

            var dense = new TensorFacts { Name = values.Name, DataType = values.DataType };
            dense.Dims.AddRange(dims);
            dense.Bytes = BytesOf(dense, Elements(dense));
            return dense;
        }

        private long SizeOf(TensorFacts t)
        {
            var label = t.Name.Length > 0 ? $"tensor '{t.Name}'" : "an unnamed tensor";
            if (t.DataType == (int)TensorProto.Types.DataType.String)
            {
                return t.StringBytes;
            }

            if (OnnxElementType.Bits(t.DataType) == 0)
            {
                throw reader.Corrupt($"{label} has an unknown data type {t.DataType}");
            }

            var elements = Elements(t);
            var bytes = BytesOf(t, elements);
            var shape = $"[{string.Join(",", t.Dims)}] {OnnxElementType.Name(t.DataType)}";
            if (t.IsExternal)
            {
                CheckExternal(t, label, shape, bytes);
            }
            else if (t.RawBytes is { } raw)
            {
                if (raw != bytes)
                {
                    throw reader.Corrupt($"{label} holds {raw} bytes of data, its shape {shape} needs {bytes}");
                }
            }
            else
            {
                var complex = t.DataType is (int)TensorProto.Types.DataType.Complex64 or (int)TensorProto.Types.DataType.Complex128;
                var expected = complex ? elements * 2 : elements;
                if (t.TypedValues != expected)
                {
                    throw reader.Corrupt($"{label} holds {t.TypedValues} values, its shape {shape} needs {expected}");
                }
            }

            return bytes;
        }

        private void CheckExternal(TensorFacts t, string label, string shape, long bytes)
        {
            if (!t.External.TryGetValue("location", out var location) || location.Length == 0)
            {
                throw reader.Corrupt($"{label} is stored externally but names no location");
            }

            var offset = LongEntry(t, "offset", label) ?? 0;
            var length = LongEntry(t, "length", label) ?? bytes;
            if (length != bytes)
            {
                throw reader.Corrupt($"{label} declares {length} bytes of external data, its shape {shape} needs {bytes}");
            }

            var file = new FileInfo(System.IO.Path.Combine(folder, location));
            if (!file.Exists)
            {
                throw new OnnxFormatException($"{path}: the external data file '{location}' of {label} is missing");
            }

            // Compared without adding, so an offset near long.MaxValue cannot wrap around and pass.
            if (length > file.Length || offset > file.Length - length)
            {
                throw new OnnxFormatException(
                    $"{path}: the external data file '{location}' holds {file.Length} bytes, {label} needs {length} bytes from byte {offset} (truncated?)");
            }

            externalFiles.Add(location);
        }

        private long? LongEntry(TensorFacts t, string key, string label) =>
            !t.External.TryGetValue(key, out var text) ? null
            : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value
            : throw reader.Corrupt($"{label} has an invalid external data {key} '{text}'");

        private long Elements(TensorFacts t)
        {
            long elements = 1;
            foreach (var dim in t.Dims)
            {
                if (dim < 0)
                {
                    throw reader.Corrupt($"tensor '{t.Name}' has a negative dimension {dim}");
                }

                try
                {
                    elements = checked(elements * dim);
                }
                catch (OverflowException)
                {
                    throw TooLarge(t);
                }
            }

            return elements;
        }

        private long BytesOf(TensorFacts t, long elements)
        {
            try
            {
                return OnnxElementType.Bytes(t.DataType, elements);
            }
            catch (OverflowException)
            {
                throw TooLarge(t);
            }
        }

        private OnnxFormatException TooLarge(TensorFacts t) =>
            reader.Corrupt($"tensor '{t.Name}' has a shape too large to count in 64 bits [{string.Join(",", t.Dims)}]");

        private void Count(TensorFacts tensor, bool constant)
        {
            tensorCount++;
            if (constant)
            {
                constantBytes += tensor.Bytes;
            }
            else if (tensor.IsExternal)
            {
                externalBytes += tensor.Bytes;
            }
            else
            {
                inlineBytes += tensor.Bytes;
            }
        }

        private long FixedCount(long length, int size)
        {
            if (length % size != 0)
            {
                throw reader.Corrupt($"a packed field of {length} bytes at byte {reader.Position} is not a whole number of {size}-byte values");
            }

            reader.SkipBytes(length);
            return length / size;
        }

        private long SubEnd(long end) => reader.ReadLength(end) + reader.Position;

        private string ReadString(long end) => System.Text.Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadLength(end)));

        private T Parse<T>(MessageParser<T> parser, long end)
            where T : IMessage<T>
        {
            var bytes = reader.ReadBytes(reader.ReadLength(end));
            try
            {
                return parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw reader.Corrupt($"a {typeof(T).Name} ending at byte {reader.Position} does not parse ({e.Message})");
            }
        }

        private static OnnxValue ToValue(ValueInfoProto value) => value.Type?.ValueCase switch
        {
            TypeProto.ValueOneofCase.TensorType => new OnnxValue(
                value.Name,
                OnnxElementType.Name(value.Type.TensorType.ElemType),
                value.Type.TensorType.Shape?.Dim.Select(d => d.ValueCase switch
                {
                    TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => new OnnxDim(d.DimValue, null),
                    TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => new OnnxDim(null, d.DimParam),
                    _ => new OnnxDim(null, null),
                }).ToList()),
            TypeProto.ValueOneofCase.SequenceType => new OnnxValue(value.Name, "sequence", null),
            TypeProto.ValueOneofCase.MapType => new OnnxValue(value.Name, "map", null),
            TypeProto.ValueOneofCase.OptionalType => new OnnxValue(value.Name, "optional", null),
            TypeProto.ValueOneofCase.SparseTensorType => new OnnxValue(value.Name, "sparse tensor", null),
            _ => new OnnxValue(value.Name, "unknown", null),
        };
    }

    /// <summary>What one tensor's header says, gathered while its data is skipped.</summary>
    private sealed class TensorFacts
    {
        public string Name { get; set; } = "";

        public int DataType { get; set; }

        public List<long> Dims { get; } = [];

        public long? RawBytes { get; set; }

        public long TypedValues { get; set; }

        public long StringBytes { get; set; }

        public bool IsExternal { get; set; }

        public Dictionary<string, string> External { get; } = new(StringComparer.Ordinal);

        public long Bytes { get; set; }
    }
}
