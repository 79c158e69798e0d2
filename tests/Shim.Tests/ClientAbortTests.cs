using System.Net;
using System.Net.Sockets;
using System.Text;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Shim.Tests;

/// <summary>
/// A client that goes away is its own outcome: not a lost job, not a rejected request, not the box's failure; and the
/// shim's log has no Kestrel exception for it (two readers of one request body pipe).
/// </summary>
public sealed class ClientAbortTests
{
    // Larger than Kestrel's request buffer (128 KiB), so most of it waits in the sockets unless the shim reads it.
    private static readonly byte[] LargeImage = RandomImage(1024 * 1024);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_client_that_hangs_up_before_its_form_start_arrived_is_not_rejected()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");
        var form = Form(LargeImage);

        using (var client = await UploadAsync(shim, form, sendBytes: 20))
        {
        }

        await WaitForAbortAsync(shim, "unclassified", "before-forwarding");
        await AssertNothingLostAndTheNextJobGoesAsync(shim, box);
    }

    [Fact]
    public async Task A_client_that_hangs_up_mid_upload_while_forwarded_is_not_lost_and_its_box_stays_online()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");
        var form = Form(LargeImage);

        using (var client = await UploadAsync(shim, form, sendBytes: form.Length / 2))
        {
            await shim.WaitForStatusAsync(s => s.GetProperty("upstreams")[0].GetProperty("inFlight").GetInt32() == 1, "the job forwarded");
        }

        await WaitForAbortAsync(shim, "face-detection", "mid-upload");
        Assert.Equal("online", (await shim.StatusAsync()).GetProperty("upstreams")[0].GetProperty("state").GetString());
        Assert.Equal(0, await shim.MetricAsync("""shim_forwarded_total{upstream="gpu-box-0",outcome="client-gone"}"""));
        await AssertNothingLostAndTheNextJobGoesAsync(shim, box);
    }

    [Fact]
    public async Task A_client_that_hangs_up_after_its_body_reached_the_box_is_counted_forwarded_there_not_lost()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");
        box.Ml.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        using (var client = await UploadAsync(shim, Form(PreviewJpeg.Small()), sendBytes: int.MaxValue))
        {
            // The box has the whole job and works on it.
            await Waiting.UntilAsync(() => Task.FromResult(box.Ml.Calls.Count), n => n == 1, TimeSpan.FromSeconds(30), "the box to receive the job",
                cancellationToken: Ct);
        }

        await WaitForAbortAsync(shim, "face-detection", "after-upload");
        Assert.Equal(1, await shim.MetricAsync("""shim_forwarded_total{upstream="gpu-box-0",outcome="client-gone"}"""));
        Assert.Equal("online", (await shim.StatusAsync()).GetProperty("upstreams")[0].GetProperty("state").GetString());
        box.Ml.Gate.SetResult();
        box.Ml.Gate = null;
        await AssertNothingLostAndTheNextJobGoesAsync(shim, box);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_held_client_that_hangs_up_frees_its_slot_at_once_and_is_never_forwarded(bool wholeBody)
    {
        // Asleep: neither its agent nor its ML service answers (an answering ML service would be forwarded to).
        await using var asleep = new AsleepBox();
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints]);
        await shim.WaitForStateAsync(0, "asleep");
        var form = Form(LargeImage);

        using (var client = await UploadAsync(shim, form, sendBytes: wholeBody ? int.MaxValue : form.Length / 2))
        {
            await shim.WaitForHeldAsync(1);
        }

        // Before: the slot stayed taken until the box came back, then the job went to it and was counted lost.
        await shim.WaitForHeldAsync(0);
        await WaitForAbortAsync(shim, "face-detection", "held");

        var box = await asleep.WakeAsync();
        await shim.WaitForStateAsync(0, "online");
        await AssertNothingLostAndTheNextJobGoesAsync(shim, box);
        Assert.Single(box.Ml.Calls);
    }

    private static async Task AssertNothingLostAndTheNextJobGoesAsync(ShimUnderTest shim, GpuBox box) =>
        await AssertNothingLostAndTheNextJobGoesAsync(shim, box.Ml);

    private static async Task AssertNothingLostAndTheNextJobGoesAsync(ShimUnderTest shim, MlStandIn ml)
    {
        using var next = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small(2)), Ct);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var totals = (await shim.StatusAsync()).GetProperty("totals");
        Assert.Equal(0, totals.GetProperty("lost").GetInt64());
        Assert.Equal(0, totals.GetProperty("rejected").GetInt64());
        Assert.Equal(1, totals.GetProperty("clientAborts").GetInt64());
        Assert.Contains(ml.Calls, c => c.Entries == ImmichPredictRequest.Entries(JobKind.Ocr));

        // Stopping waits for every connection's processing to end, Kestrel's drain of the body included.
        await shim.DisposeAsync();
        Assert.Empty(shim.Logs.KestrelErrors);
        Assert.DoesNotContain(shim.Logs.Entries, e => e.ToString().Contains("Reading is already in progress", StringComparison.Ordinal));
    }

    private static async Task WaitForAbortAsync(ShimUnderTest shim, string kind, string stage)
    {
        await shim.WaitForStatusAsync(s => s.GetProperty("totals").GetProperty("clientAborts").GetInt64() == 1, $"a {kind} client abort ({stage})");
        Assert.Equal(1, await shim.MetricAsync($$"""shim_client_aborts_total{kind="{{kind}}",stage="{{stage}}"}"""));
    }

    /// <summary>A raw client that sends the head and the first <paramref name="sendBytes"/> of the body, then waits; disposing it hangs up.</summary>
    private static async Task<Socket> UploadAsync(ShimUnderTest shim, byte[] form, int sendBytes)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, shim.BaseAddress.Port, Ct);
        var head = $"POST /predict HTTP/1.1\r\nHost: shim\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {form.Length}\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, Ct);
        // Not awaited: most of a large body waits in the socket until the shim reads it.
        _ = socket.SendAsync(form.AsMemory(0, Math.Min(sendBytes, form.Length)), SocketFlags.None, Ct).AsTask();
        return socket;
    }

    private static byte[] Form(byte[] image) =>
        ImmichPredictRequest.FormBytes("b", ImmichPredictRequest.Entries(JobKind.FaceDetection), image, null);

    private static byte[] RandomImage(int length)
    {
        var image = new byte[length];
        new Random(16).NextBytes(image);
        return image;
    }
}
