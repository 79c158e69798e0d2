using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Forwarding;
using GpuSplit.Shim.Responses;
using GpuSplit.Shim.Status;
using GpuSplit.Shim.Upstreams;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Admission;

/// <summary>
/// Carries one classified request through the admission decision until it is answered: forwarded, held
/// and then forwarded the moment a box serves, or refused with a 503 that says why. Nothing here answers
/// 2xx itself: only a GPU box's answer is ever a success.
/// </summary>
public sealed class AdmissionGate(
    IAdmissionPolicy policy,
    UpstreamRegistry upstreams,
    HoldQueue holds,
    UpstreamForwarder forwarder,
    ShimJournal journal,
    IOptions<ShimOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime)
{
    private readonly ShimOptions _settings = options.Value;

    // Only a user's search query goes there: image work would melt the always-on box's CPU.
    private readonly Uri? _fallback = string.IsNullOrEmpty(options.Value.SearchFallback.Url) ? null : new Uri(options.Value.SearchFallback.Url);

    public async Task AdmitAsync(HttpContext context, MlRequestKind kind)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        DateTimeOffset? heldSince = null;
        var holding = false;
        try
        {
            while (true)
            {
                // Taken before deciding, so a change between the decision and the wait still wakes us.
                var changed = upstreams.WhenChanged;
                switch (policy.Decide(kind, upstreams.All))
                {
                    case AdmissionDecision.Forward forward:
                        if (holding)
                        {
                            holds.Leave();
                            holding = false;
                        }

                        var outcome = await forwarder.ForwardAsync(context, forward.Upstream);
                        if (outcome.Result == ForwardResult.NotConnected)
                        {
                            forward.Upstream.MarkUnreachable($"its ML service at {forward.Upstream.Url.Authority} took no connection ({outcome.Detail})");
                            continue;
                        }

                        journal.Forwarded(kind, forward.Upstream, outcome, time.GetUtcNow() - heldSince);
                        return;

                    case AdmissionDecision.Refuse refuse:
                        if (kind == MlRequestKind.Search && _fallback is { } fallback)
                        {
                            var answered = await forwarder.ForwardAsync(context, fallback);
                            if (answered.Result != ForwardResult.NotConnected)
                            {
                                journal.SearchFallback(kind, fallback, answered);
                                return;
                            }

                            journal.SearchFallbackUnreachable(fallback, answered.Detail);
                        }

                        await RefuseAsync(context, kind, refuse.Cause.State,
                            new ProblemBody(
                                refuse.Lasting ? "gpu-host-unusable" : "gpu-host-unavailable",
                                refuse.Lasting
                                    ? $"GPU host {refuse.Cause.State}: {refuse.Cause.Reason}; waiting will not help, an operator must act"
                                    : $"GPU host {refuse.Cause.State}: {refuse.Cause.Reason}; smart search works again when it is back",
                                refuse.Cause.State,
                                refuse.Lasting ? null : (int)Math.Ceiling(_settings.SearchRetryAfter.TotalSeconds)),
                            heldSince);
                        return;

                    case AdmissionDecision.Hold hold:
                        if (!holding)
                        {
                            if (!holds.TryEnter())
                            {
                                await RefuseAsync(context, kind, "hold-full", new ProblemBody("hold-full",
                                    holds.Capacity == 0
                                        ? $"GPU host {hold.Cause.State} and holding is off (Shim:MaxHeldRequests is 0); the job was not done"
                                        : $"GPU host {hold.Cause.State} and {holds.Capacity} jobs are already waiting for it; the job was not done",
                                    hold.Cause.State), heldSince);
                                return;
                            }

                            holding = true;
                        }

                        if (heldSince is null)
                        {
                            heldSince = time.GetUtcNow();
                            journal.Held(kind, hold.Cause);
                        }

                        var remaining = heldSince.Value + _settings.HoldLimit - time.GetUtcNow();
                        try
                        {
                            if (remaining <= TimeSpan.Zero)
                            {
                                throw new TimeoutException();
                            }

                            await changed.WaitAsync(remaining, time, stop.Token);
                        }
                        catch (TimeoutException)
                        {
                            await RefuseAsync(context, kind, "hold-timeout", new ProblemBody("hold-timeout",
                                $"held {_settings.HoldLimit.TotalSeconds:0} s waiting for a GPU host ({hold.Cause.State}: {hold.Cause.Reason}); the job was not done",
                                hold.Cause.State), heldSince);
                            return;
                        }

                        break;
                }
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            journal.Abandoned(kind, time.GetUtcNow() - heldSince);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            await RefuseAsync(context, kind, "shim-stopping",
                new ProblemBody("shim-stopping", "the shim is shutting down; the job was not done"), heldSince);
        }
        finally
        {
            if (holding)
            {
                holds.Leave();
            }
        }
    }

    private Task RefuseAsync(HttpContext context, MlRequestKind kind, string reason, ProblemBody body, DateTimeOffset? heldSince)
    {
        journal.Refused(kind, reason, body.Detail, time.GetUtcNow() - heldSince);
        return ProblemResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, body);
    }
}
