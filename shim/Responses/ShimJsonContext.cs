using System.Text.Json;
using System.Text.Json.Serialization;
using GpuSplit.Shim.Status;

namespace GpuSplit.Shim.Responses;

/// <summary>Source-generated JSON for everything the shim writes itself.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProblemBody))]
[JsonSerializable(typeof(StatusSnapshot))]
public sealed partial class ShimJsonContext : JsonSerializerContext;
