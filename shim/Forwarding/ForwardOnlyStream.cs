namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// A stream read or written once, front to back, as request bodies, responses and connections are: it has no length,
/// no position and no seeking. Subclasses say which way the bytes go.
/// </summary>
public abstract class ForwardOnlyStream : Stream
{
    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
