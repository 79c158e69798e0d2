using GpuSplit.Agent.Docker;
using GpuSplit.MlService.Docker;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using GpuSplit.Agent.Watchdog;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Tests;

/// <summary>The log policies against lines as ONNX Runtime and Immich print them, and the log stream's timestamps.</summary>
public sealed class LogClassificationTests
{
    private static readonly IFailurePolicy[] Policies =
    [
        new OperatorRestartPolicy(), new GpuUnsupportedLogPolicy(), new CudaOomLogPolicy(), new HostOomKilledPolicy(), new ExitedPolicy(),
        new VramExhaustedPolicy(Options.Create(new AgentOptions())),
    ];

    [Theory]
    // Immich issue 31675 (buffalo_l recognition at concurrency 8).
    [InlineData("[E:onnxruntime:Default, cuda_call.cc:118 CudaCall] CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED ; GPU=0 ; hostname=f0c1 ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=173 ; expr=cublasCreate(&cublas_handle_);", FailureKind.CudaOom, FailureAction.Restart)]
    [InlineData("onnxruntime.capi.onnxruntime_pybind11_state.RuntimeException: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running FusedConv node. Name:'Conv_0' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 52428800", FailureKind.CudaOom, FailureAction.Restart)]
    [InlineData("CUDA failure 2: out of memory ; GPU=0 ; hostname=gpubox ; file=cuda_allocator.cc ; line=47 ; expr=cudaMalloc((void**)&p, size);", FailureKind.CudaOom, FailureAction.Restart)]
    [InlineData("2026-11-25 02:46:32.370 [E:onnxruntime:, bfc_arena.cc:311 onnxruntime::BFCArena::Extend] Available memory of 0 is smaller than requested bytes of 102760448", FailureKind.CudaOom, FailureAction.Restart)]
    [InlineData("RuntimeError: CUDA error: cudaErrorMemoryAllocation", FailureKind.CudaOom, FailureAction.Restart)]
    [InlineData("[E:onnxruntime:Default, cuda_call.cc:118 CudaCall] CUDA failure 209: no kernel image is available for execution on the device ; GPU=0", FailureKind.GpuUnsupported, FailureAction.NeverRestart)]
    [InlineData("RuntimeError: CUDA error: cudaErrorNoKernelImageForDevice", FailureKind.GpuUnsupported, FailureAction.NeverRestart)]
    public void Failure_lines_are_classified(string line, FailureKind kind, FailureAction action)
    {
        var verdict = Classify(new LogLine(line, DateTimeOffset.UnixEpoch));

        Assert.NotNull(verdict);
        Assert.Equal(kind, verdict.Kind);
        Assert.Equal(action, verdict.Action);
    }

    [Theory]
    [InlineData("[11/25/25 02:46:32] INFO     Loading visual model 'ViT-B-32__openai' to memory")]
    [InlineData("[11/25/25 02:46:40] INFO     Shutting down due to inactivity.")]
    [InlineData("INFO:     127.0.0.1:50000 - \"POST /predict HTTP/1.1\" 200 OK")]
    // gunicorn's arbiter after the kernel killed a worker child for host memory: it starts a new worker itself.
    [InlineData("[2026-11-25 02:46:41 +0000] [8] [ERROR] Worker (pid:9) was sent SIGKILL! Perhaps out of memory?")]
    public void Ordinary_lines_are_not_failures(string line) =>
        Assert.Null(Classify(new LogLine(line, DateTimeOffset.UnixEpoch)));

    [Fact]
    public void A_long_line_is_quoted_around_the_words_that_matter()
    {
        var line = new string('x', 600) + " Failed to allocate memory for requested buffer of size 1024 " + new string('y', 600);

        var verdict = Classify(new LogLine(line, DateTimeOffset.UnixEpoch))!;

        Assert.Contains("Failed to allocate memory for requested buffer", verdict.Reason, StringComparison.Ordinal);
        Assert.True(verdict.Reason.Length < 400, verdict.Reason);
    }

    [Fact]
    public void A_stop_someone_asked_for_is_not_a_failure_but_an_exit_and_an_OOM_kill_are()
    {
        var exited = new WorkerInspection("id", "ml", "img", false, "exited", false, 1, null, null, false);

        Assert.Null(Classify(new ContainerStopped(exited, DateTimeOffset.UnixEpoch, KilledOnRequest: true)));
        Assert.Equal(FailureKind.Exited, Classify(new ContainerStopped(exited, DateTimeOffset.UnixEpoch, false))!.Kind);
        Assert.Equal(FailureKind.HostOomKilled,
            Classify(new ContainerStopped(exited with { OomKilled = true, ExitCode = 137 }, DateTimeOffset.UnixEpoch, false))!.Kind);
    }

    [Theory]
    [InlineData("2025-11-25T02:46:32.370012878Z hello", 1764038792370012878L, "hello")]
    [InlineData("2025-11-25T02:46:32.37Z a b", 1764038792370000000L, "a b")]
    [InlineData("2025-11-25T02:46:32Z ", 1764038792000000000L, "")]
    public void Docker_log_timestamps_keep_every_nanosecond(string line, long nanoseconds, string text)
    {
        Assert.True(LogTimestamp.TryParseLine(line, out var stamp, out var message));
        Assert.Equal(nanoseconds, stamp);
        Assert.Equal(text, message);
        Assert.Equal(nanoseconds, LogTimestamp.FromTime(LogTimestamp.ToTime(nanoseconds)) / 100 * 100 + nanoseconds % 100);
    }

    [Theory]
    [InlineData("no timestamp here")]
    [InlineData("2025-11-25 02:46:32Z text")]
    [InlineData("2025-11-25T02:46:32.1234567890Z too many digits")]
    public void Lines_without_a_Docker_timestamp_are_rejected(string line) =>
        Assert.False(LogTimestamp.TryParseLine(line, out _, out _));

    [Fact]
    public void The_since_parameter_is_seconds_dot_nanoseconds() =>
        Assert.Equal("1764038792.000000078", LogTimestamp.ToSinceParameter(1764038792000000078L));

    private static FailureVerdict? Classify(WorkerSignal signal) =>
        Policies.Select(p => p.Classify(signal)).FirstOrDefault(v => v is not null);
}
