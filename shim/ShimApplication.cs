using GpuSplit.Shim.Admission;
using GpuSplit.Shim.Buffers;
using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Forwarding;
using GpuSplit.Shim.Power;
using GpuSplit.Shim.Safety;
using GpuSplit.Shim.Status;
using GpuSplit.Shim.Upstreams;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim;

/// <summary>Wires the shim together; used by <c>Program</c> and by tests that start real instances.</summary>
public static class ShimApplication
{
    /// <summary>Immich's ML port: the shim takes the ML service's place.</summary>
    public const string DefaultUrls = "http://0.0.0.0:3003";

    /// <summary>The runtime's socket engine as the shim runs it (set by Program): completions inline, on one thread.</summary>
    public static IReadOnlyList<(string Name, string Value)> SocketEngineSettings { get; } =
    [
        ("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1"),
        ("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", "1"),
    ];

    /// <param name="configure">Lets a test replace services (a fake clock) before the application is built.</param>
    /// <exception cref="ShimConfigurationException">The configuration cannot work; the message says which key.</exception>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // No reloading of appsettings.json: the shim reads its options once, and the watcher is a thread woken by every
        // change in its folder. Given first, so an operator's own value wins.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false", .. args],
            ContentRootPath = AppContext.BaseDirectory,
        });
        var section = builder.Configuration.GetSection(ShimOptions.Section);
        var options = section.Get<ShimOptions>() ?? new ShimOptions();
        var validation = new ShimOptionsValidator().Validate(null, options);
        IReadOnlyList<string> failures = [.. validation.Failed ? validation.Failures : [], .. PowerServices.Check(builder.Configuration)];
        if (failures.Count > 0)
        {
            throw new ShimConfigurationException(string.Join("; ", failures));
        }

        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrls);
        }

        builder.WebHost.ConfigureKestrel(kestrel => KestrelLimits.Apply(kestrel, options));
        // A lone request otherwise hops between the socket engine's thread, Kestrel's I/O queue and the thread pool's
        // workers several times, each hop a futex wake on a box whose system calls are most of the proxy's cost; nothing
        // on the request path blocks (the spool and the intake journal write to the page cache). Program turns on the
        // socket engine's half of it (docs/shim.md, "Resources").
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        // A start-up failure (the port taken) is reported by Program in one line, not as the host's stack trace;
        // the watchers log their own failures.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        var services = builder.Services;
        services.AddOptions<ShimOptions>().Bind(section);
        services.AddSingleton<IValidateOptions<ShimOptions>, ShimOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.Replace(ServiceDescriptor.Singleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>());

        services.AddSingleton<IUpstreamHealthPolicy, AgentHealthPolicy>();
        services.AddSingleton<UpstreamRegistry>();
        services.AddSingleton<ReconnectBackoff>();
        for (var i = 0; i < options.Upstreams.Count; i++)
        {
            var index = i;
            services.AddSingleton<IHostedService>(sp => new AgentWatcher(
                sp.GetRequiredService<UpstreamRegistry>().All[index],
                sp.GetRequiredService<ReconnectBackoff>(),
                options.AgentWatch,
                sp.GetRequiredService<ILoggerFactory>()));
            services.AddSingleton<IHostedService>(sp => new MlWatcher(
                sp.GetRequiredService<UpstreamRegistry>().All[index],
                options.AgentWatch,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<MlWatcher>>()));
        }

        services.AddSingleton<RequestClassifier>();
        services.AddSingleton<IUpstreamSelector, LeastBusySelector>();
        services.AddSingleton<IAdmissionPolicy, HealthGatedAdmission>();
        services.AddSingleton<HoldQueue>();
        services.AddSingleton<AdmissionGate>();
        services.AddSingleton<ITransientFailurePolicy, TransientFailurePolicy>();
        services.AddHttpForwarder();
        services.AddSingleton<UpstreamForwarder>();
        services.AddSingleton<SpoolMemory>();

        services.AddSingleton<ShimMetrics>();
        services.AddSingleton<RepeatedEventLog>();
        services.AddSingleton<MetricsSampler>();
        services.AddSingleton<ShimJournal>();
        services.AddSingleton<IUpstreamObserver>(sp => sp.GetRequiredService<ShimJournal>());
        services.AddSingleton<StatusReport>();
        services.AddPower(builder.Configuration);

        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<RequestTargetGuard>();
        if (!string.IsNullOrEmpty(options.Status.Token))
        {
            app.UseMiddleware<StatusAccessGuard>();
        }

        app.UseMiddleware<BodySizeGuard>();
        app.MapMlApi();
        app.MapShimStatus();
        return app;
    }
}

/// <summary>The configuration cannot work; the message is one line naming the key to fix.</summary>
public sealed class ShimConfigurationException(string message) : Exception(message);
