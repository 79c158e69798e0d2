using System.Runtime.InteropServices;

namespace GpuSplit.MlStandIn.Control;

/// <summary>
/// Performs the failures of the real ML container, with the lines ONNX Runtime really prints, so the agent's
/// log classification is tested against the text it will meet.
/// </summary>
public sealed class FailureActions(StandInState state, IHostApplicationLifetime lifetime)
{
    // ONNX Runtime's CUDA provider and BFC arena, as they appear in immich_ml's logs (Immich issues 11979, 31675).
    public static readonly IReadOnlyDictionary<string, string> CudaOomLines = new Dictionary<string, string>
    {
        ["bfc"] = "[E:onnxruntime:, sequential_executor.cc:516 ExecuteKernel] Non-zero status code returned while running Conv node. "
            + "Name:'/visual/conv1/Conv' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 "
            + "void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) "
            + "Failed to allocate memory for requested buffer of size 102760448",
        ["cuda"] = "[E:onnxruntime:Default, cuda_call.cc:118 CudaCall] CUDA failure 2: out of memory ; GPU=0 ; hostname=gpubox ; "
            + "file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_allocator.cc ; line=47 ; expr=cudaMalloc((void**)&p, size);",
        ["cublas"] = "[E:onnxruntime:Default, cuda_call.cc:118 CudaCall] CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED ; GPU=0 ; "
            + "hostname=gpubox ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=173 ; "
            + "expr=cublasCreate(&cublas_handle_);",
    };

    public const string NoKernelImageLine =
        "[E:onnxruntime:Default, cuda_call.cc:118 CudaCall] CUDA failure 209: no kernel image is available for execution on the device ; "
        + "GPU=0 ; hostname=gpubox ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=282 ; "
        + "expr=cudaSetDevice(info_.device_id);";

    /// <summary>Runs <paramref name="action"/>; returns a line saying what was done, or null for a bad argument.</summary>
    public string? Run(StandInAction action)
    {
        switch (action.Name)
        {
            case "cuda-oom":
                var kind = action.Argument ?? "bfc";
                if (!CudaOomLines.TryGetValue(kind, out var line))
                {
                    return null;
                }

                // One failed Run shows twice in the real logs: ONNX Runtime's own line, then the Python exception
                // Immich logs with the request's error.
                PrintError(line);
                PrintError($"onnxruntime.capi.onnxruntime_pybind11_state.RuntimeException: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : {line}");
                state.StuckError = line;
                return $"printed the {kind} CUDA out-of-memory lines; /predict now fails until restart";
            case "no-kernel-image":
                PrintError(NoKernelImageLine);
                state.StuckError = NoKernelImageLine;
                return "printed the no-kernel-image line";
            case "oom-kill":
                _ = Task.Run(AllocateUntilKilled);
                return "allocating native memory until the cgroup limit kills this process";
            case "exit":
                if (!int.TryParse(action.Argument ?? "1", out var code))
                {
                    return null;
                }

                // Exit after the HTTP answer went out, so the caller learns the order was taken.
                _ = Task.Run(async () =>
                {
                    await Task.Delay(100);
                    Console.Out.Flush();
                    Environment.Exit(code);
                });
                return $"exiting with code {code}";
            case "ping-fail":
                state.PingFails = true;
                return "/ping now answers 503";
            case "ping-ok":
                state.PingFails = false;
                return "/ping answers pong again";
            case "delay":
                if (!int.TryParse(action.Argument, out var ms) || ms < 0)
                {
                    return null;
                }

                state.PredictDelay = TimeSpan.FromMilliseconds(ms);
                return $"/predict now waits {ms} ms";
            case "log":
                if (string.IsNullOrEmpty(action.Argument))
                {
                    return null;
                }

                PrintError(action.Argument);
                return "printed";
            default:
                return null;
        }
    }

    private static void PrintError(string line)
    {
        Console.Error.WriteLine(line);
        Console.Error.Flush();
    }

    // Native memory, touched page by page: the GC's heap limit (75% of the container's limit) would otherwise
    // turn this into a managed OutOfMemoryException instead of the kernel's OOM kill we want.
    private void AllocateUntilKilled()
    {
        const int chunk = 16 * 1024 * 1024;
        var held = new List<IntPtr>();
        while (!lifetime.ApplicationStopping.IsCancellationRequested)
        {
            var block = Marshal.AllocHGlobal(chunk);
            for (var offset = 0; offset < chunk; offset += 4096)
            {
                Marshal.WriteByte(block, offset, 1);
            }

            held.Add(block);
            Console.WriteLine($"holding {held.Count * 16} MiB");
        }
    }
}
