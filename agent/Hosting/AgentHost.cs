using GpuSplit.Agent.Docker;
using GpuSplit.Agent.Evidence;
using GpuSplit.Agent.Footprints;
using GpuSplit.Agent.Gpu;
using GpuSplit.Agent.Grpc;
using GpuSplit.Agent.Health;
using GpuSplit.Agent.Metrics;
using GpuSplit.Agent.Power;
using GpuSplit.Agent.Status;
using GpuSplit.Agent.Watchdog;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Prometheus;

namespace GpuSplit.Agent.Hosting;

/// <summary>
/// Builds the agent: the same host for the program and for tests, which may swap services (a fake clock) through
/// <c>configure</c> before the host is built.
/// </summary>
public static class AgentHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // --urls is taken here, not by the web host: its endpoints need their protocols (see Listeners).
        var (hostArgs, urlsArgument) = Listeners.TakeUrlsArgument(args);
        // No reloading of appsettings.json: its watcher is a thread that wakes on every change in the content root (the
        // working folder), and the agent reads its options once. Given first, so an operator's own value wins.
        hostArgs = ["--hostBuilder:reloadConfigOnChange=false", .. hostArgs];
        // The slim builder: no IIS integration, HTTPS defaults or hosting-startup scanning, which an h2c daemon never uses
        // and whose assemblies it would load and keep mapped (about 3 MiB resident).
        var builder = WebApplication.CreateSlimBuilder(hostArgs);
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff ";
            console.UseUtcTimestamp = true;
        });
        // The agent's own lines say what happened and why; per-request and per-check chatter would bury them.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        builder.Logging.AddFilter("Microsoft.Extensions.Http", LogLevel.Warning);
        // A failed start (a port in use) is reported by Program in one line; the host's own report is a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);

        var grpcUrls = Listeners.Parse(urlsArgument ?? builder.Configuration["urls"] ?? Listeners.DefaultGrpcUrls, "--urls");
        var metricsText = builder.Configuration[$"{AgentOptions.Section}:Metrics:Url"] ?? new MetricsOptions().Url;
        var metricsUrl = Listeners.Parse(metricsText, "Agent:Metrics:Url").FirstOrDefault();
        builder.WebHost.ConfigureKestrel(kestrel => Listeners.Configure(kestrel, grpcUrls, metricsUrl));

        CheckConfiguration(builder.Configuration.GetSection(AgentOptions.Section));

        var services = builder.Services;
        services.AddOptions<AgentOptions>().Bind(builder.Configuration.GetSection(AgentOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>();
        services.AddSingleton(TimeProvider.System);

        services.AddSingleton<AgentState>();
        services.AddSingleton<WorkerSignals>();

        services.AddSingleton<DockerClientProvider>();
        services.AddSingleton<IWorkerRuntime, DockerWorkerRuntime>();
        services.AddSingleton<ContainerNames>();
        services.AddSingleton<WorkerLogFollower>();
        services.AddHostedService<WorkerWatcher>();

        // Order matters: the first verdict wins, and a card that cannot run the image must never be restarted.
        services.AddSingleton<IFailurePolicy, OperatorRestartPolicy>();
        services.AddSingleton<IFailurePolicy, GpuUnsupportedLogPolicy>();
        services.AddSingleton<IFailurePolicy, CudaOomLogPolicy>();
        services.AddSingleton<IFailurePolicy, HostOomKilledPolicy>();
        services.AddSingleton<IFailurePolicy, ExitedPolicy>();
        services.AddSingleton<IFailurePolicy, VramExhaustedPolicy>();
        services.AddSingleton<CrashLoopGuard>();
        services.AddHostedService<WorkerWatchdog>();

        services.AddSingleton<IGpuReader>(provider => GpuReaders.Create(provider.GetRequiredService<IOptions<AgentOptions>>().Value.Gpu));
        services.AddSingleton<VramPressure>();
        services.AddHostedService<GpuWatcher>();

        // One GET a second: the per-request log scopes of HttpClientFactory would cost more than the request. The hosted
        // service is the typed client itself: AddHostedService<PingProbe>() would be built with the default HttpClient,
        // loggers and all (a profile showed their scopes on every ping).
        services.AddHttpClient<PingProbe>().RemoveAllLoggers();
        services.AddHostedService(provider => provider.GetRequiredService<PingProbe>());

        services.AddGrpc();
        services.AddGrpcHealthChecks(health =>
        {
            foreach (var service in ServingStatusPush.Services)
            {
                health.Services.Map(service, _ => true);
            }
        }).AddCheck<WorkerHealthCheck>(WorkerHealthCheck.Name);
        // Watch streams follow the status cache, which ServingStatusPush keeps current on every change. The library's
        // periodic publisher would write it too, from readings taken a moment earlier: it could put back a state
        // that has just ended.
        services.RemoveAll<IHealthCheckPublisher>();
        services.AddHostedService<ServingStatusPush>();

        services.AddSingleton<AgentMetrics>();

        services.AddSingleton(provider => Options.Create(provider.GetRequiredService<IOptions<AgentOptions>>().Value.Sleep));
        services.AddSingleton<ISleepRefusalPolicy, SleepRefusalPolicy>();
        services.AddSingleton<ISleepCommand, SleepCommand>();
        services.AddSingleton<IPowerStatusSink, AgentPowerStatus>();
        services.AddSingleton<SleepCoordinator>();

        services.AddSingleton<FootprintStore>();
        services.AddSingleton<FootprintLearner>();
        services.AddSingleton<EvidenceRecorder>();

        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapGrpcService<AgentService>();
        app.MapGrpcHealthChecksService();
        if (metricsUrl is not null)
        {
            app.MapMetrics("/metrics", app.Services.GetRequiredService<AgentMetrics>().Registry)
                .RequireHost($"*:{metricsUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        return app;
    }

    /// <summary>Binds and validates once before anything starts, so a bad value is one line and exit code 2, not a stack trace.</summary>
    private static void CheckConfiguration(IConfigurationSection section)
    {
        AgentOptions options;
        try
        {
            options = section.Get<AgentOptions>() ?? new AgentOptions();
        }
        catch (InvalidOperationException error)
        {
            throw new AgentConfigurationException(error.InnerException is { } inner ? $"{error.Message} {inner.Message}" : error.Message);
        }

        var result = new AgentOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new AgentConfigurationException("invalid configuration: " + string.Join("; ", result.Failures));
        }
    }
}
