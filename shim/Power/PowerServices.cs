using GpuSplit.Shim.Immich;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Power;

/// <summary>Registers the power loop's parts: Wake-on-LAN, the Immich API client and their options, checked at start-up.</summary>
public static class PowerServices
{
    public static IServiceCollection AddPower(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WakeOnLanOptions>().Bind(configuration.GetSection(WakeOnLanOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WakeOnLanOptions>, WakeOptionsValidator>();
        services.AddOptions<PowerOptions>().Bind(configuration.GetSection(PowerOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PowerOptions>, PowerOptionsValidator>();
        services.AddOptions<ImmichOptions>().Bind(configuration.GetSection(ImmichOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ImmichOptions>, ImmichOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IWakeOnLan, WakeOnLanSender>();
        services.AddHttpClient<IImmichApi, ImmichApiClient>()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) });
        return services;
    }
}
