using Microsoft.Win32.SafeHandles;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// Keeps a copy of one background job's request body in a temporary file while it streams to a GPU box, so that
/// the job can be sent again when the box fails before answering (Immich drops a failed job for good). The body is
/// never held whole in memory: each attempt reads what is already spooled from the file, then the rest from the
/// client, writing it to the file on the way. The file is bounded by the request size limit and deleted when the
/// request ends.
/// </summary>
public sealed class RequestSpool(Stream client, string directory) : IDisposable
{
    private SafeFileHandle? _file;
    private long _spooled;
    private bool _clientDone;

    /// <summary>The body from its first byte, for one attempt; only one attempt reads at a time.</summary>
    public Stream NextAttempt() => new Attempt(this);

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }

    private SafeFileHandle File()
    {
        if (_file is null)
        {
            Directory.CreateDirectory(directory);
            _file = System.IO.File.OpenHandle(
                Path.Combine(directory, $"job-{Guid.NewGuid():N}.spool"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None,
                FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        }

        return _file;
    }

    private async ValueTask<int> ReadAsync(long position, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.IsEmpty)
        {
            // A zero-byte read waits for data without taking any (YARP's copy does this); it is not the end.
            return position < _spooled || _clientDone ? 0 : await client.ReadAsync(buffer, cancellationToken);
        }

        if (position < _spooled)
        {
            var length = (int)Math.Min(buffer.Length, _spooled - position);
            return await RandomAccess.ReadAsync(File(), buffer[..length], position, cancellationToken);
        }

        if (_clientDone)
        {
            return 0;
        }

        var read = await client.ReadAsync(buffer, cancellationToken);
        if (read == 0)
        {
            _clientDone = true;
            return 0;
        }

        // Not cancellable: bytes taken from the client must reach the file, or a replay would miss them.
        await RandomAccess.WriteAsync(File(), buffer[..read], _spooled, CancellationToken.None);
        _spooled += read;
        return read;
    }

    private sealed class Attempt(RequestSpool spool) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await spool.ReadAsync(_position, buffer, cancellationToken);
            _position += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
