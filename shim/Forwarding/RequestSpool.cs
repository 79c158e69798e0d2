using Microsoft.Win32.SafeHandles;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// Keeps a copy of one background job's request body in a temporary file while it streams to a GPU box, so that
/// the job can be sent again when the box fails before answering (Immich drops a failed job for good). The body is
/// never held whole in memory: each attempt reads what is already spooled from the file, then the rest from the
/// client, writing it to the file on the way. The file is bounded by the request size limit and deleted when the
/// request ends. While the job is held, <see cref="FillAsync"/> takes the whole body into the file, so that a client
/// that goes away is noticed at once (Kestrel sees the hang-up only once it has read what came before it).
/// The client's body is read without a cancellation token (see <see cref="BodyReadProbe"/>), and by one reader at a
/// time: the fill is awaited before any attempt reads.
/// </summary>
public sealed class RequestSpool(Stream client, string directory) : IDisposable
{
    private SafeFileHandle? _file;
    private long _spooled;
    private bool _clientDone;

    /// <summary>The body from its first byte, for one attempt; only one attempt reads at a time.</summary>
    public Stream NextAttempt() => new Attempt(this);

    /// <summary>
    /// Reads the rest of the client's body into the file. Throws what the client's body throws when the client goes
    /// away (or sends too slowly, or too much); no attempt may read until it has finished.
    /// </summary>
    public async Task FillAsync()
    {
        var buffer = new byte[16 * 1024];
        while (await ReadAsync(_spooled, buffer, CancellationToken.None) > 0)
        {
        }
    }

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
            return position < _spooled || _clientDone ? 0 : await client.ReadAsync(buffer, CancellationToken.None);
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

        var read = await client.ReadAsync(buffer, CancellationToken.None);
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

    private sealed class Attempt(RequestSpool spool) : ReadOnlyBodyStream
    {
        private long _position;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await spool.ReadAsync(_position, buffer, cancellationToken);
            _position += read;
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
    }
}
