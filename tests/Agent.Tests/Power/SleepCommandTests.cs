using GpuSplit.Agent.Power;
using GpuSplit.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Tests.Power;

/// <summary>The sleep command as a real process: a script that leaves a marker where a real box would suspend.</summary>
public sealed class SleepCommandTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("gpusplit-sleep-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Runs_the_command_with_its_arguments_and_reports_success()
    {
        var marker = Path.Combine(_folder.FullName, "slept");
        var script = Script("printf '%s|' \"$@\" > \"$1\"");

        var result = await Run(new SleepOptions { Command = script, Arguments = [marker, "suspend", "two words"] });

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"{marker}|suspend|two words|", await File.ReadAllTextAsync(marker, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_failing_command_reports_its_exit_code_and_what_it_said()
    {
        var script = Script("echo 'Failed to suspend system via logind: Access denied' >&2\nexit 1");

        var result = await Run(new SleepOptions { Command = script });

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"{script}: exit code 1: Failed to suspend system via logind: Access denied", result.Error);
    }

    [Fact]
    public async Task A_command_that_does_not_exist_is_a_result()
    {
        var missing = Path.Combine(_folder.FullName, "no-such-command");

        var result = await Run(new SleepOptions { Command = missing, Arguments = ["suspend"] });

        Assert.Null(result.ExitCode);
        Assert.StartsWith($"{missing} suspend: cannot run '{missing}': ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_that_hangs_is_stopped_at_the_timeout()
    {
        var marker = Path.Combine(_folder.FullName, "finished");
        var script = Script($"sleep 30\ntouch '{marker}'");

        var result = await Run(new SleepOptions { Command = script, Timeout = TimeSpan.FromMilliseconds(300) });

        Assert.Equal($"{script}: did not finish within 0.3 s and was stopped", result.Error);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Without_a_command_nothing_runs()
    {
        var result = await Run(new SleepOptions());

        Assert.Equal("no sleep command is configured (Agent__Sleep__Command)", result.Error);
    }

    private string Script(string body)
    {
        RequiredPart.Require(!OperatingSystem.IsWindows() && File.Exists("/bin/sh"), "/bin/sh (runs the test's sleep script)");
        var path = Path.Combine(_folder.FullName, $"sleep-{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    private static Task<SleepCommandResult> Run(SleepOptions options) =>
        new SleepCommand(Options.Create(options), NullLogger<SleepCommand>.Instance).RunAsync(TestContext.Current.CancellationToken);
}
