using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace GpuSplit.Testing;

/// <summary>
/// The fake NVML library (fake_nvml.c, built by gcc in the test run) and a state file that drives it.
/// </summary>
/// <remarks>
/// In this process: <c>await using var nvml = await FakeNvml.StartAsync(state)</c>, then
/// <c>NvmlLibrary.Open(FakeNvml.LibraryPath)</c>. The fake has one state per process, so StartAsync holds a
/// process-wide lock until disposal: tests that use it in parallel take turns.
/// In a child process: <see cref="ForChildProcess"/>, then start the child with <see cref="Environment"/>
/// and the library path (or <see cref="LibraryDirectory"/> on LD_LIBRARY_PATH, the file is named
/// libnvidia-ml.so.1 so the default library name finds it).
/// <see cref="Update"/> replaces the state atomically; the fake reads it on every NVML call.
/// </remarks>
public sealed class FakeNvml : IDisposable, IAsyncDisposable
{
    public const string StateVariable = "FAKE_NVML_STATE";

    private const string Flags = "-shared -fPIC -O2 -fvisibility=hidden -Wall -Wextra -Werror";
    private static readonly TimeSpan CompileTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan TurnTimeout = TimeSpan.FromMinutes(2);
    private static readonly SemaphoreSlim InProcessTurn = new(1, 1);
    private static readonly Lock BuildGate = new();
    private static string? s_libraryPath;
    private static nint s_setStatePath;

    private readonly bool _inProcess;
    private int _disposed;

    private FakeNvml(string statePath, bool inProcess)
    {
        StatePath = statePath;
        _inProcess = inProcess;
    }

    /// <summary>The built fake, <c>.../libnvidia-ml.so.1</c>; builds it on first use (fails under CI, skips elsewhere, without gcc).</summary>
    public static string LibraryPath
    {
        get
        {
            lock (BuildGate)
            {
                return s_libraryPath ??= Build();
            }
        }
    }

    public static string LibraryDirectory => Path.GetDirectoryName(LibraryPath)!;

    public string StatePath { get; }

    /// <summary>The variables a child process needs for the fake to find this state.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { [StateVariable] = StatePath };

    /// <summary>Points the fake loaded in this process at <paramref name="state"/>, waiting for other tests' turns.</summary>
    public static async Task<FakeNvml> StartAsync(FakeNvmlState state, CancellationToken cancellationToken = default)
    {
        var library = LibraryPath;
        if (!await InProcessTurn.WaitAsync(TurnTimeout, cancellationToken))
        {
            throw new TimeoutException($"another test held the in-process fake NVML for {TurnTimeout}; dispose FakeNvml when done");
        }

        try
        {
            var fake = new FakeNvml(NewStatePath(), inProcess: true);
            fake.Update(state);
            SetStatePath(library, fake.StatePath);
            return fake;
        }
        catch
        {
            InProcessTurn.Release();
            throw;
        }
    }

    /// <summary>A state file for another process, which finds it through <see cref="Environment"/>.</summary>
    public static FakeNvml ForChildProcess(FakeNvmlState state)
    {
        _ = LibraryPath;
        var fake = new FakeNvml(NewStatePath(), inProcess: false);
        fake.Update(state);
        return fake;
    }

    /// <summary>Replaces the state; a reader sees the old file or the new one, never half of one.</summary>
    public void Update(FakeNvmlState state)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var temporary = $"{StatePath}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, state.ToText());
        File.Move(temporary, StatePath, overwrite: true);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_inProcess)
        {
            SetStatePath(LibraryPath, string.Empty);
            InProcessTurn.Release();
        }

        File.Delete(StatePath);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static string NewStatePath() =>
        Path.Combine(Path.GetTempPath(), $"gpusplit-fake-nvml-{Guid.NewGuid():N}.state");

    private static unsafe void SetStatePath(string library, string statePath)
    {
        if (s_setStatePath == 0)
        {
            // Same file as the binding loads, so the same handle: the library stays loaded for the process.
            s_setStatePath = NativeLibrary.GetExport(NativeLibrary.Load(library), "fake_nvml_set_state_path");
        }

        var setter = (delegate* unmanaged<byte*, void>)s_setStatePath;
        var bytes = Encoding.UTF8.GetBytes(statePath + '\0');
        fixed (byte* text = bytes)
        {
            setter(text);
        }
    }

    private static string Build()
    {
        RequiredPart.Require(OperatingSystem.IsLinux(), "Linux (the fake NVML library is a Linux shared library)");
        var gcc = FindOnPath("gcc");
        RequiredPart.Require(gcc is not null, "gcc (builds the fake NVML library)");

        var source = Path.Combine(AppContext.BaseDirectory, "FakeNvml", "fake_nvml.c");
        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"fake_nvml.c is not in the test output; reference tests/Testing from the test project", source);
        }

        // Keyed by source and flags: test projects and worktrees share built copies and never overwrite
        // a library another process has loaded.
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(File.ReadAllText(source) + Flags)))[..16];
        var directory = Path.Combine(Path.GetTempPath(), "gpusplit-fake-nvml", key);
        var library = Path.Combine(directory, "libnvidia-ml.so.1");
        if (File.Exists(library))
        {
            return library;
        }

        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $"build-{System.Environment.ProcessId}-{Guid.NewGuid():N}.so");
        var gccRun = new ProcessStartInfo(gcc!) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var flag in Flags.Split(' '))
        {
            gccRun.ArgumentList.Add(flag);
        }

        gccRun.ArgumentList.Add("-o");
        gccRun.ArgumentList.Add(temporary);
        gccRun.ArgumentList.Add(source);
        using var process = Process.Start(gccRun) ?? throw new InvalidOperationException($"could not start {gcc}");
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(CompileTimeout))
        {
            process.Kill();
            throw new TimeoutException($"gcc did not build the fake NVML library within {CompileTimeout}");
        }

        if (process.ExitCode != 0)
        {
            File.Delete(temporary);
            throw new InvalidOperationException($"gcc failed to build {source} (exit {process.ExitCode}):\n{errors.Result}{output.Result}");
        }

        // rename(2) is atomic: a parallel build of the same source simply wins or loses the race.
        File.Move(temporary, library, overwrite: true);
        return library;
    }

    private static string? FindOnPath(string program) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, program))
            .FirstOrDefault(File.Exists);
}
