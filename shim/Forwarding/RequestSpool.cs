using Microsoft.Win32.SafeHandles;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// Keeps a copy of one background job's request body while it streams to a GPU box, so that the job can be sent again
/// when the box fails before answering (Immich drops a failed job for good). Each attempt reads what is already spooled,
/// then the rest from the client, keeping it on the way: in chunks of <see cref="SpoolMemory"/> while its budget lasts,
/// then in a temporary file (bounded by the request size limit, deleted when the request ends). While the job is held,
/// <see cref="FillAsync"/> takes the whole body in, so that a client that goes away is noticed at once (Kestrel sees
/// the hang-up only once it has read what came before it). The client's body is read without a cancellation token (see
/// <see cref="BodyReadProbe"/>), and by one reader at a time: the fill is awaited before any attempt reads.
/// </summary>
/// <remarks>
/// Memory first because the file cost more than the forwarding: a file opened, written in Kestrel's small reads and
/// deleted per job, each write a thread-pool hop (.NET has no asynchronous file I/O on Linux), was about a third of
/// the shim's CPU per image job (docs/shim.md, "Resources"). The file is written synchronously: a write that lands in
/// the page cache is cheaper than the hop to make it asynchronous.
/// </remarks>
public sealed class RequestSpool(Stream client, string directory, SpoolMemory memory) : IDisposable
{
    private readonly List<byte[]> _chunks = [];
    private SafeFileHandle? _file;

    // The body's first _inMemory bytes are in _chunks, the rest (up to _spooled) in the file from its offset 0.
    private long _inMemory;
    private long _spooled;
    private bool _clientDone;

    /// <summary>The body from its first byte, for one attempt; only one attempt reads at a time.</summary>
    public Stream NextAttempt() => new Attempt(this);

    /// <summary>
    /// Reads the rest of the client's body into the spool. Throws what the client's body throws when the client goes
    /// away (or sends too slowly, or too much); no attempt may read until it has finished.
    /// </summary>
    public async Task FillAsync()
    {
        var buffer = new byte[SpoolMemory.ChunkBytes];
        while (await ReadAsync(_spooled, buffer) > 0)
        {
        }
    }

    public void Dispose()
    {
        foreach (var chunk in _chunks)
        {
            memory.Return(chunk);
        }

        _chunks.Clear();
        _file?.Dispose();
        _file = null;
    }

    private async ValueTask<int> ReadAsync(long position, Memory<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            // A zero-byte read waits for data without taking any (YARP's copy does this); it is not the end.
            return position < _spooled || _clientDone ? 0 : await client.ReadAsync(buffer, CancellationToken.None);
        }

        if (position < _spooled)
        {
            return ReadSpooled(position, buffer.Span);
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

        // Bytes taken from the client must be kept, or a replay would miss them.
        Keep(buffer.Span[..read]);
        return read;
    }

    private int ReadSpooled(long position, Span<byte> buffer)
    {
        if (position < _inMemory)
        {
            var chunk = _chunks[(int)(position / SpoolMemory.ChunkBytes)];
            var offset = (int)(position % SpoolMemory.ChunkBytes);
            var length = (int)Math.Min(Math.Min(buffer.Length, SpoolMemory.ChunkBytes - offset), _inMemory - position);
            chunk.AsSpan(offset, length).CopyTo(buffer);
            return length;
        }

        var fromFile = (int)Math.Min(buffer.Length, _spooled - position);
        return RandomAccess.Read(_file!, buffer[..fromFile], position - _inMemory);
    }

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        while (_file is null && !bytes.IsEmpty)
        {
            var offset = (int)(_inMemory % SpoolMemory.ChunkBytes);
            if (offset == 0)
            {
                if (memory.TryRent() is not { } fresh)
                {
                    break;
                }

                _chunks.Add(fresh);
            }

            var length = Math.Min(bytes.Length, SpoolMemory.ChunkBytes - offset);
            bytes[..length].CopyTo(_chunks[^1].AsSpan(offset));
            bytes = bytes[length..];
            _inMemory += length;
            _spooled += length;
        }

        if (!bytes.IsEmpty)
        {
            RandomAccess.Write(File(), bytes, _spooled - _inMemory);
            _spooled += bytes.Length;
        }
    }

    private SafeFileHandle File()
    {
        if (_file is null)
        {
            Directory.CreateDirectory(directory);
            _file = System.IO.File.OpenHandle(
                Path.Combine(directory, $"job-{Guid.NewGuid():N}.spool"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None,
                FileOptions.DeleteOnClose);
        }

        return _file;
    }

    private sealed class Attempt(RequestSpool spool) : ReadOnlyBodyStream
    {
        private long _position;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await spool.ReadAsync(_position, buffer);
            _position += read;
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
    }
}
