using GpuSplit.Shim.Forwarding;

namespace GpuSplit.Shim.Tests.Units;

public sealed class ReadAheadStreamTests
{
    [Fact]
    public async Task An_answer_read_in_HttpClients_small_reads_and_a_zero_byte_wait_takes_one_read_of_the_connection()
    {
        var answer = Bytes(6_000);
        var connection = new CountingStream(answer);
        var stream = new ReadAheadStream(connection);

        var head = new byte[4096];
        Assert.Equal(4096, await stream.ReadAsync(head, Ct));
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty, Ct));
        var rest = new byte[64 * 1024];
        Assert.Equal(answer.Length - 4096, await stream.ReadAsync(rest, Ct));

        Assert.Equal(new List<int> { ReadAheadStream.BufferBytes }, connection.Reads);
        Assert.Equal(answer, head.Concat(rest.Take(answer.Length - 4096)).ToArray());
    }

    [Fact]
    public async Task A_large_read_with_nothing_buffered_goes_straight_to_the_connection()
    {
        var connection = new CountingStream(Bytes(100_000));
        var stream = new ReadAheadStream(connection);

        Assert.Equal(64 * 1024, await stream.ReadAsync(new byte[64 * 1024], Ct));

        Assert.Equal(new List<int> { 64 * 1024 }, connection.Reads);
    }

    [Fact]
    public async Task Bytes_come_out_whole_and_in_order_across_many_refills_sync_and_async()
    {
        var answer = Bytes(200_000);
        var stream = new ReadAheadStream(new CountingStream(answer));
        var read = new List<byte>();
        var sizes = new[] { 1, 7, 4096, 100, 16 * 1024, 3, 20_000 };
        for (var i = 0; ; i++)
        {
            var chunk = new byte[sizes[i % sizes.Length]];
            var n = i % 2 == 0 ? await stream.ReadAsync(chunk, Ct) : stream.Read(chunk, 0, chunk.Length);
            if (n == 0)
            {
                break;
            }

            read.AddRange(chunk.AsSpan(0, n));
        }

        Assert.Equal(answer, read);
    }

    [Fact]
    public async Task Writes_go_straight_through()
    {
        var connection = new CountingStream([]);
        var stream = new ReadAheadStream(connection);

        await stream.WriteAsync("POST /predict"u8.ToArray(), Ct);
        stream.Write(" HTTP/1.1"u8);

        Assert.Equal("POST /predict HTTP/1.1"u8.ToArray(), connection.Written.ToArray());
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] Bytes(int count) => [.. Enumerable.Range(0, count).Select(i => (byte)(i * 31 % 251))];

    /// <summary>A connection whose reads return what was asked for while it lasts, each read's size noted.</summary>
    private sealed class CountingStream(byte[] incoming) : Stream
    {
        private readonly MemoryStream _incoming = new(incoming);

        public List<int> Reads { get; } = [];

        public MemoryStream Written { get; } = new();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Reads.Add(count);
            return _incoming.Read(buffer, offset, count);
        }

        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
