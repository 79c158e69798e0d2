using System.Text.Json;
using System.Text.Json.Serialization;

namespace GpuSplit.Planner.Onnx;

/// <summary>A dimension in JSON as ONNX writes it: a number, a symbolic name, or null when unknown.</summary>
internal sealed class OnnxDimJsonConverter : JsonConverter<OnnxDim>
{
    public override OnnxDim Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Number => new OnnxDim(reader.GetInt64(), null),
        JsonTokenType.String => new OnnxDim(null, reader.GetString()),
        _ => new OnnxDim(null, null),
    };

    public override void Write(Utf8JsonWriter writer, OnnxDim value, JsonSerializerOptions options)
    {
        if (value.Value is { } number)
        {
            writer.WriteNumberValue(number);
        }
        else if (value.Param is { } name)
        {
            writer.WriteStringValue(name);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    WriteIndented = true,
    Converters = [typeof(OnnxDimJsonConverter)])]
[JsonSerializable(typeof(OnnxModelInfo))]
internal sealed partial class OnnxJsonContext : JsonSerializerContext;
