using System.Globalization;
using System.Text;
using GpuSplit.Agent.Hosting;
using GpuSplit.Protos.V1;
using GpuSplit.Testing.MlStandIn;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Processes;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GpuSplit.Agent.Tests;

/// <summary>
/// The agent's real host (Kestrel on a free loopback port, real Docker client, real gRPC) started in the test
/// process, so a test can give it a fake clock. Its log lines are kept for assertions and failure messages.
/// </summary>
public sealed class AgentUnderTest : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LogSink _logs;
    private readonly GrpcChannel _channel;

    private AgentUnderTest(WebApplication app, LogSink logs, int port, int metricsPort)
    {
        _app = app;
        _logs = logs;
        Port = port;
        MetricsPort = metricsPort;
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        Client = new Protos.V1.Agent.AgentClient(_channel);
        Health = new global::Grpc.Health.V1.Health.HealthClient(_channel);
    }

    public int Port { get; }

    public int MetricsPort { get; }

    /// <summary>host:port, as grpc clients outside .NET take it.</summary>
    public string Target => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public Protos.V1.Agent.AgentClient Client { get; }

    public global::Grpc.Health.V1.Health.HealthClient Health { get; }

    public string Logs => _logs.Text;

    /// <summary>An agent watching <paramref name="worker"/> (its name and its /ping URL), plus <paramref name="settings"/>.</summary>
    public static Task<AgentUnderTest> StartAsync(MlStandInContainer worker, IReadOnlyDictionary<string, string>? settings = null,
        TimeProvider? time = null) =>
        StartAsync(worker.Name, worker.BaseUri, settings, time);

    public static async Task<AgentUnderTest> StartAsync(string container, Uri workerUrl, IReadOnlyDictionary<string, string>? settings = null,
        TimeProvider? time = null)
    {
        var port = FreePort.Next();
        var metricsPort = FreePort.Next();
        var all = new Dictionary<string, string>
        {
            ["Agent:Worker:Container"] = container,
            ["Agent:Worker:Url"] = workerUrl.ToString(),
            ["Agent:Metrics:Url"] = $"http://127.0.0.1:{metricsPort.ToString(CultureInfo.InvariantCulture)}",
            // No card here: the GPU is exercised through the fake NVML library where a test asks for it.
            ["Agent:Gpu:Enabled"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }

        string[] args = ["--urls", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", .. all.Select(kv => $"--{kv.Key}={kv.Value}")];
        var logs = new LogSink();
        var app = AgentHost.Build(args, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new AgentUnderTest(app, logs, port, metricsPort);
    }

    public async Task<AgentStatus> StatusAsync() => await Client.GetStatusAsync(new GetStatusRequest());

    /// <summary>Polls GetStatus until <paramref name="condition"/> holds; the timeout message shows the last status and the agent's log.</summary>
    public async Task<AgentStatus> WaitForAsync(Func<AgentStatus, bool> condition, TimeSpan timeout, string what)
    {
        try
        {
            return await Waiting.UntilAsync(StatusAsync, condition, timeout, what);
        }
        catch (TimeoutException timedOut)
        {
            throw new TimeoutException($"{timedOut.Message}\nagent log:\n{Logs}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private sealed class LogSink : ILoggerProvider
    {
        private readonly StringBuilder _text = new();

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private void Append(string line)
        {
            lock (_text)
            {
                _text.AppendLine(line);
            }
        }

        private sealed class Logger(LogSink sink, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    sink.Append($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}");
                }
            }
        }
    }
}
