using GpuSplit.Testing.Processes;

namespace GpuSplit.Testing.Grpc;

/// <summary>
/// grpc.health.v1.Health/Check from Debian's python3-grpcio, a gRPC implementation that shares no code with .NET's:
/// raw bytes in, raw bytes out. The answer is the reply in hex ("0801" is SERVING, "0802" NOT_SERVING) or
/// "error CODE".
/// </summary>
public static class PythonGrpcHealth
{
    public const string Python = "/usr/bin/python3";
    public const string Serving = "0801";
    public const string NotServing = "0802";

    private const string Script = """
        import sys, grpc
        target, service = sys.argv[1], sys.argv[2].encode()
        request = b"" if not service else bytes([0x0A, len(service)]) + service
        channel = grpc.insecure_channel(target)
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        try:
            print(check(request, timeout=5).hex())
        except grpc.RpcError as error:
            print("error", error.code().name)
        """;

    public static async Task<bool> AvailableAsync() =>
        File.Exists(Python) && (await Command.RunAsync(Python, ["-c", "import grpc"], TimeSpan.FromSeconds(30))).Ok;

    /// <summary>Calls Check on <paramref name="target"/> (host:port) for <paramref name="service"/> ("" is the whole server).</summary>
    public static async Task<string> CheckAsync(string target, string service = "")
    {
        RequiredPart.Require(await AvailableAsync(), "python3-grpcio for /usr/bin/python3");
        var result = await Command.RunAsync(Python, ["-c", Script, target, service], TimeSpan.FromSeconds(30));
        if (!result.Ok)
        {
            throw new InvalidOperationException($"the python gRPC client failed: {result.Describe()}");
        }

        return result.Stdout.Trim();
    }
}
