using GpuSplit.Shim.Forwarding;

namespace GpuSplit.Shim.Tests.Units;

public sealed class BoxConnectionStreamTests
{
    [Fact]
    public async Task An_answer_read_in_HttpClients_small_reads_and_a_zero_byte_wait_takes_one_read_of_the_connection()
    {
        var answer = Bytes(6_000);
        var connection = new CountingStream(answer);
        var stream = new BoxConnectionStream(connection);

        var head = new byte[4096];
        Assert.Equal(4096, await stream.ReadAsync(head, Ct));
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty, Ct));
        var rest = new byte[64 * 1024];
        Assert.Equal(answer.Length - 4096, await stream.ReadAsync(rest, Ct));

        Assert.Equal(new List<int> { BoxConnectionStream.BufferBytes }, connection.Reads);
        Assert.Equal(answer, head.Concat(rest.Take(answer.Length - 4096)).ToArray());
    }

    [Fact]
    public async Task A_large_read_with_nothing_buffered_goes_straight_to_the_connection()
    {
        var connection = new CountingStream(Bytes(100_000));
        var stream = new BoxConnectionStream(connection);

        Assert.Equal(64 * 1024, await stream.ReadAsync(new byte[64 * 1024], Ct));

        Assert.Equal(new List<int> { 64 * 1024 }, connection.Reads);
    }

    [Fact]
    public async Task Bytes_come_out_whole_and_in_order_across_many_refills_sync_and_async()
    {
        var answer = Bytes(200_000);
        var stream = new BoxConnectionStream(new CountingStream(answer));
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
    public async Task Writes_go_straight_through_unless_a_body_is_said_to_follow()
    {
        var connection = new CountingStream([]);
        var stream = new BoxConnectionStream(connection);

        await stream.WriteAsync(Head, Ct);
        stream.Write(" HTTP/1.1"u8);

        Assert.Equal([Head, " HTTP/1.1"u8.ToArray()], connection.Writes);
    }

    [Fact]
    public async Task A_head_held_for_its_body_leaves_with_the_bodys_first_bytes_in_one_write_and_only_that_head_is_held()
    {
        var connection = new CountingStream([]);
        var stream = new BoxConnectionStream(connection);
        var body = Bytes(400);

        BoxConnectionStream.HoldHeadForBody();
        await stream.WriteAsync(Head, Ct);
        Assert.Empty(connection.Writes);
        await stream.WriteAsync(body, Ct);
        await stream.WriteAsync(body, Ct);

        Assert.Equal([[.. Head, .. body], body], connection.Writes);
    }

    [Fact]
    public async Task A_large_body_fills_the_held_heads_send_and_the_rest_follows_whole()
    {
        var connection = new CountingStream([]);
        var stream = new BoxConnectionStream(connection);
        var body = Bytes(20_000);

        BoxConnectionStream.HoldHeadForBody();
        await stream.WriteAsync(Head, Ct);
        await stream.WriteAsync(body, Ct);

        Assert.Equal([BoxConnectionStream.HeldBytes, Head.Length + body.Length - BoxConnectionStream.HeldBytes], connection.Writes.Select(w => w.Length));
        Assert.Equal([.. Head, .. body], connection.Writes.SelectMany(w => w));
    }

    [Fact]
    public async Task A_head_too_large_to_hold_goes_at_once_and_the_write_after_it_is_not_held_either()
    {
        // Held, the body's write (its last, when it fits HttpClient's buffer) would wait for a write that never comes.
        var connection = new CountingStream([]);
        var stream = new BoxConnectionStream(connection);
        byte[] head = [.. Bytes(BoxConnectionStream.HeldBytes - 3), .. "\r\n\r\n"u8];

        BoxConnectionStream.HoldHeadForBody();
        await stream.WriteAsync(head, Ct);
        await stream.WriteAsync(Head, Ct);

        Assert.Equal([head, Head], connection.Writes);
    }

    [Fact]
    public async Task A_first_write_that_does_not_end_a_head_carries_body_bytes_and_goes_at_once()
    {
        var connection = new CountingStream([]);
        var stream = new BoxConnectionStream(connection);
        byte[] whole = [.. Head, .. Bytes(400)];

        BoxConnectionStream.HoldHeadForBody();
        await stream.WriteAsync(whole, Ct);

        Assert.Equal([whole], connection.Writes);
    }

    [Fact]
    public async Task A_flush_sends_a_held_head()
    {
        var connection = new CountingStream([]);
        var stream = new BoxConnectionStream(connection);

        BoxConnectionStream.HoldHeadForBody();
        await stream.WriteAsync(Head, Ct);
        await stream.FlushAsync(Ct);

        Assert.Equal([Head], connection.Writes);
    }

    [Fact]
    public async Task The_word_to_hold_stays_in_the_flow_that_gave_it()
    {
        var connection = new CountingStream([]);
        var stream = new BoxConnectionStream(connection);

        await Task.Run(BoxConnectionStream.HoldHeadForBody, Ct);
        await stream.WriteAsync(Head, Ct);

        Assert.Equal([Head], connection.Writes);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] Head => "POST /predict HTTP/1.1\r\nContent-Length: 400\r\n\r\n"u8.ToArray();

    private static byte[] Bytes(int count) => [.. Enumerable.Range(0, count).Select(i => (byte)(i * 31 % 251))];

    /// <summary>A connection whose reads return what was asked for while it lasts, each read's size noted.</summary>
    private sealed class CountingStream(byte[] incoming) : ForwardOnlyStream
    {
        private readonly MemoryStream _incoming = new(incoming);

        public List<int> Reads { get; } = [];

        public List<byte[]> Writes { get; } = [];

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override int Read(byte[] buffer, int offset, int count)
        {
            Reads.Add(count);
            return _incoming.Read(buffer, offset, count);
        }

        public override void Write(byte[] buffer, int offset, int count) => Writes.Add(buffer.AsSpan(offset, count).ToArray());

        public override void Flush()
        {
        }
    }
}
