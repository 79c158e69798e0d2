using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GpuSplit.Agent.Hosting;

/// <summary>
/// Kestrel's endpoints: gRPC on the <c>--urls</c> addresses (default http://0.0.0.0:3004) as HTTP/2 without TLS
/// (h2c, what grpc_health_probe and the shim speak), and <c>/metrics</c> on its own HTTP/1.1 address, since a
/// cleartext endpoint cannot offer both protocols.
/// </summary>
public static class Listeners
{
    public const string DefaultGrpcUrls = "http://0.0.0.0:3004";

    public static void Configure(KestrelServerOptions kestrel, IEnumerable<Uri> grpcUrls, Uri? metricsUrl)
    {
        foreach (var url in grpcUrls)
        {
            Listen(kestrel, url, HttpProtocols.Http2);
        }

        if (metricsUrl is not null)
        {
            Listen(kestrel, metricsUrl, HttpProtocols.Http1);
        }
    }

    /// <summary>Parses <c>--urls</c>-style lists ("http://0.0.0.0:3004;http://[::]:3004"); throws a one-line error for anything else.</summary>
    public static IReadOnlyList<Uri> Parse(string? urls, string setting)
    {
        var parsed = new List<Uri>();
        foreach (var text in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Kestrel's wildcards are not valid URI hosts.
            var normalized = text.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal);
            if (!Uri.TryCreate(normalized, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttp
                || url.AbsolutePath != "/" || !normalized.TrimEnd('/').EndsWith(":" + url.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
            {
                throw new AgentConfigurationException($"{setting}: '{text}' is not an address like http://0.0.0.0:3004 (plain http, host and port, no path)");
            }

            parsed.Add(url);
        }

        return parsed;
    }

    /// <summary>Removes <c>--urls X</c> or <c>--urls=X</c> from the arguments and returns its value.</summary>
    public static (string[] Others, string? Urls) TakeUrlsArgument(string[] args)
    {
        var rest = new List<string>(args.Length);
        string? urls = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--urls" or "/urls" && i + 1 < args.Length)
            {
                urls = args[++i];
            }
            else if (args[i].StartsWith("--urls=", StringComparison.Ordinal))
            {
                urls = args[i]["--urls=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        return ([.. rest], urls);
    }

    private static void Listen(KestrelServerOptions kestrel, Uri url, HttpProtocols protocols)
    {
        Action<ListenOptions> configure = listen => listen.Protocols = protocols;
        switch (url.Host)
        {
            case "localhost":
                kestrel.ListenLocalhost(url.Port, configure);
                break;
            case "0.0.0.0":
                kestrel.ListenAnyIP(url.Port, configure);
                break;
            default:
                if (!IPAddress.TryParse(url.Host.Trim('[', ']'), out var address))
                {
                    throw new AgentConfigurationException(
                        string.Create(CultureInfo.InvariantCulture, $"cannot listen on {url}: give an IP address, 0.0.0.0 or localhost, not a host name"));
                }

                kestrel.Listen(address, url.Port, configure);
                break;
        }
    }
}
