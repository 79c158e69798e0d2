using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace GpuSplit.Planner.Agent;

/// <summary>
/// The agent's gpusplit.v1.Agent API (h2c, as the agent serves it), asked once with a deadline. An agent that keeps
/// its reads private (Agent:ReadToken) gets the token from <c>GPUSPLIT_AGENT_TOKEN</c>: an environment variable,
/// not an option, so that it stays out of the shell's history and the process list.
/// </summary>
public static class AgentClient
{
    public const string TokenVariable = "GPUSPLIT_AGENT_TOKEN";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <exception cref="AgentException">The agent does not answer, or refuses.</exception>
    public static Task<ObservedFootprints> FootprintsAsync(Uri agent, CancellationToken cancellationToken) =>
        CallAsync(agent, "footprints", client => client.GetFootprintsAsync(new GetFootprintsRequest(), Headers(), deadline: DateTime.UtcNow + Deadline, cancellationToken: cancellationToken).ResponseAsync);

    /// <exception cref="AgentException">The agent does not answer, or refuses.</exception>
    public static Task<AgentStatus> StatusAsync(Uri agent, CancellationToken cancellationToken) =>
        CallAsync(agent, "its status", client => client.GetStatusAsync(new GetStatusRequest(), Headers(), deadline: DateTime.UtcNow + Deadline, cancellationToken: cancellationToken).ResponseAsync);

    private static Metadata Headers() =>
        Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } token ? new Metadata { { "authorization", $"Bearer {token}" } } : [];

    /// <summary>The agent's field evidence from its card, as records named with the embedded catalog's models (see <see cref="AgentEvidence"/>).</summary>
    /// <exception cref="AgentException">The agent does not answer, refuses, or is too old to keep evidence.</exception>
    public static async Task<IReadOnlyList<EvidenceRecord>> EvidenceAsync(Uri agent, CancellationToken cancellationToken)
    {
        var evidence = await CallAsync(agent, "evidence",
            client => client.GetEvidenceAsync(new GetEvidenceRequest(), Headers(), deadline: DateTime.UtcNow + Deadline, cancellationToken: cancellationToken).ResponseAsync);
        return AgentEvidence.ToRecords(evidence, CatalogReader.LoadEmbedded());
    }

    private static async Task<T> CallAsync<T>(Uri agent, string what, Func<Protos.V1.Agent.AgentClient, Task<T>> call)
    {
        using var channel = GrpcChannel.ForAddress(agent);
        try
        {
            return await call(new Protos.V1.Agent.AgentClient(channel));
        }
        catch (RpcException e)
        {
            var why = e.StatusCode switch
            {
                StatusCode.Unavailable => $"does not answer ({e.Status.Detail})",
                StatusCode.DeadlineExceeded => $"did not answer within {Deadline.TotalSeconds:0} s",
                StatusCode.Unimplemented => $"is an agent too old to serve {what}",
                StatusCode.Unauthenticated => $"keeps its status private: set {TokenVariable} to its read token ({e.Status.Detail})",
                _ => $"answered {e.StatusCode}: {e.Status.Detail}",
            };
            throw new AgentException($"the agent at {agent} {why}");
        }
    }
}

/// <summary>The agent could not be asked; the message is the whole line.</summary>
public sealed class AgentException(string message) : Exception(message);
