using System.Security.Cryptography;
using System.Text;
using GpuSplit.Agent.Hosting;
using Grpc.Core;

namespace GpuSplit.Agent.Grpc;

/// <summary>
/// The checks on a call's <c>authorization</c> header. Calls that change anything are refused outright when no
/// token is configured (an agent reachable on the LAN must not restart containers for anyone); reads are open
/// unless a read token is configured. The header must be <c>Bearer</c> (any case, as HTTP allows for the scheme),
/// one space and the token byte for byte: no trimming, so a token with a stray space or in another case is wrong.
/// </summary>
public static class BearerToken
{
    private const string Scheme = "Bearer ";

    public static void Demand(ServerCallContext context, string? configured, string operation)
    {
        if (string.IsNullOrEmpty(configured))
        {
            throw new RpcException(new global::Grpc.Core.Status(StatusCode.PermissionDenied,
                $"{operation} is disabled: no token is configured on the agent (set Agent__Token)"));
        }

        if (!Matches(Presented(context), configured))
        {
            throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unauthenticated,
                $"{operation} needs the agent's token: authorization: Bearer <token>"));
        }
    }

    /// <summary>A read-only call: open unless <see cref="AgentOptions.ReadToken"/> is set; then it or the control token.</summary>
    public static void DemandRead(ServerCallContext context, AgentOptions options, string operation)
    {
        if (string.IsNullOrEmpty(options.ReadToken))
        {
            return;
        }

        var presented = Presented(context);
        // Both compared every time (| not ||), so the answer's timing does not tell which token was close.
        if (!(Matches(presented, options.ReadToken) | (!string.IsNullOrEmpty(options.Token) && Matches(presented, options.Token))))
        {
            throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unauthenticated,
                $"{operation} needs the agent's read token (Agent__ReadToken) or its token: authorization: Bearer <token>"));
        }
    }

    private static string? Presented(ServerCallContext context) =>
        context.RequestHeaders.GetValue("authorization") is { } header && header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            ? header[Scheme.Length..]
            : null;

    /// <summary>
    /// In constant time: the SHA-256 digests are compared, so neither a length nor a first differing byte shows. No
    /// header is compared as an empty token, which never matches: a configured token is never empty.
    /// </summary>
    private static bool Matches(string? presented, string configured) =>
        CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented ?? "")),
            SHA256.HashData(Encoding.UTF8.GetBytes(configured)));
}
