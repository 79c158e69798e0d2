using System.Threading.Channels;

namespace GpuSplit.Agent.Watchdog;

/// <summary>
/// The watchdog's inbox. Everything that may lead to a restart goes through it, so decisions are taken one at a
/// time, in order, by one loop.
/// </summary>
public sealed class WorkerSignals
{
    private readonly Channel<WorkerSignal> _channel = Channel.CreateUnbounded<WorkerSignal>(new UnboundedChannelOptions { SingleReader = true });

    public void Post(WorkerSignal signal) => _channel.Writer.TryWrite(signal);

    public IAsyncEnumerable<WorkerSignal> ReadAllAsync(CancellationToken cancellationToken) => _channel.Reader.ReadAllAsync(cancellationToken);
}
