namespace GpuSplit.Agent.Hosting;

/// <summary>Configuration the agent cannot run with; its message is the one line printed before exiting with code 2.</summary>
public sealed class AgentConfigurationException : Exception
{
    public AgentConfigurationException(string message)
        : base(message)
    {
    }

    public AgentConfigurationException()
    {
    }

    public AgentConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
