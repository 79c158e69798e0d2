using System.Security.Cryptography;
using System.Text;
using Grpc.Core;

namespace GpuSplit.Agent.Grpc;

/// <summary>
/// The check for calls that change anything: refused outright when no token is configured (an agent reachable on
/// the LAN must not restart containers for anyone), and the token compared in constant time.
/// </summary>
public static class BearerToken
{
    public static void Demand(ServerCallContext context, string? configured, string operation)
    {
        if (string.IsNullOrEmpty(configured))
        {
            throw new RpcException(new global::Grpc.Core.Status(StatusCode.PermissionDenied,
                $"{operation} is disabled: no token is configured on the agent (set Agent__Token)"));
        }

        var header = context.RequestHeaders.GetValue("authorization");
        const string scheme = "Bearer ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), Encoding.UTF8.GetBytes(configured)))
        {
            throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unauthenticated,
                $"{operation} needs the agent's token: authorization: Bearer <token>"));
        }
    }
}
