using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Immich;
using GpuSplit.Shim.Status;
using GpuSplit.Shim.Upstreams;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Power;

/// <summary>Registers the power loop and its parts: Wake-on-LAN, the Immich API client, the policies, and their options.</summary>
public static class PowerServices
{
    /// <summary>Every problem with the power settings, each naming its key; empty when they can work.</summary>
    public static IReadOnlyList<string> Check(IConfiguration configuration)
    {
        var failures = new List<string>();
        Collect(new WakeOptionsValidator().Validate(null, configuration.GetSection(WakeOnLanOptions.Section).Get<WakeOnLanOptions>() ?? new()), failures);
        Collect(new PowerOptionsValidator().Validate(null, configuration.GetSection(PowerOptions.Section).Get<PowerOptions>() ?? new()), failures);
        Collect(new ImmichOptionsValidator().Validate(null, configuration.GetSection(ImmichOptions.Section).Get<ImmichOptions>() ?? new()), failures);
        return failures;
    }

    public static IServiceCollection AddPower(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WakeOnLanOptions>().Bind(configuration.GetSection(WakeOnLanOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WakeOnLanOptions>, WakeOptionsValidator>();
        services.AddOptions<PowerOptions>().Bind(configuration.GetSection(PowerOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PowerOptions>, PowerOptionsValidator>();
        services.AddOptions<ImmichOptions>().Bind(configuration.GetSection(ImmichOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ImmichOptions>, ImmichOptionsValidator>();

        services.AddSingleton<IWakeOnLan, WakeOnLanSender>();
        services.AddHttpClient<IImmichApi, ImmichApiClient>()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) });

        services.AddSingleton<PowerSignals>();
        services.AddSingleton<IJournalObserver>(sp => sp.GetRequiredService<PowerSignals>());
        services.AddSingleton<IUpstreamObserver>(sp => sp.GetRequiredService<PowerSignals>());
        services.AddSingleton<IPowerInputs, ShimPowerInputs>();
        services.AddSingleton<IAgentPower, GrpcAgentPower>();
        services.AddSingleton(sp => new IntakeJournal(
            sp.GetRequiredService<IOptions<PowerOptions>>().Value.EffectiveLedgerFile, sp.GetRequiredService<ShimJournal>(), sp.GetRequiredService<ILogger<IntakeJournal>>()));
        services.AddHostedService(sp => sp.GetRequiredService<IntakeJournal>());
        services.AddSingleton(sp => new PowerLedger(
            sp.GetRequiredService<IOptions<PowerOptions>>().Value.EffectiveLedgerFile, sp.GetRequiredService<ILogger<PowerLedger>>()));
        // The queues are paused when a held job could no longer wait: after the shim's hold limit.
        services.AddSingleton<IQueuePausePolicy>(sp => new QueuePausePolicy(
            sp.GetRequiredService<IOptions<ShimOptions>>().Value.HoldLimit, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<PowerLedger>()));
        services.AddSingleton<IMissingPolicy>(sp => new MissingPolicy(sp.GetRequiredService<PowerLedger>()));
        services.AddSingleton<PowerLoop>();
        services.AddHostedService(sp => sp.GetRequiredService<PowerLoop>());
        return services;
    }

    private static void Collect(ValidateOptionsResult result, List<string> failures)
    {
        if (result.Failed)
        {
            failures.AddRange(result.Failures);
        }
    }
}
