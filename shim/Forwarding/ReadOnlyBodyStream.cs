namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// A request body as the forwarder reads it: forward-only, read-only, of unknown length. Subclasses say only how a read
/// is served (<see cref="Stream.ReadAsync(Memory{byte}, CancellationToken)"/> and <see cref="Stream.Read(byte[], int, int)"/>).
/// </summary>
public abstract class ReadOnlyBodyStream : ForwardOnlyStream
{
    public override bool CanRead => true;

    public override bool CanWrite => false;

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
