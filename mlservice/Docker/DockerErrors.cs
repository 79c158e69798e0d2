using System.Net.Sockets;
using Docker.DotNet;

namespace GpuSplit.MlService.Docker;

/// <summary>Tells "the engine is not there" (retry later, report DOCKER_UNAVAILABLE) from other errors.</summary>
public static class DockerErrors
{
    public static bool IsUnavailable(Exception error) => error switch
    {
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        // The client's own request timeout surfaces as a cancellation that nobody asked for.
        TaskCanceledException => true,
        DockerApiException api => (int)api.StatusCode >= 500,
        _ => error.InnerException is { } inner && IsUnavailable(inner),
    };

    /// <summary>The innermost message: "Connection refused", "No such file or directory".</summary>
    public static string Describe(Exception error)
    {
        var innermost = error;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }

        return innermost.Message;
    }
}
