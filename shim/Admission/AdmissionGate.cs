using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Forwarding;
using GpuSplit.Shim.Power;
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
    SpoolMemory spoolMemory,
    ShimJournal journal,
    IntakeJournal intake,
    IOptions<ShimOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime)
{
    private readonly ShimOptions _settings = options.Value;

    // Only a user's search query goes there: image work would melt the always-on box's CPU.
    private readonly Uri? _fallback = string.IsNullOrEmpty(options.Value.SearchFallback.Url) ? null : new Uri(options.Value.SearchFallback.Url);

    public async Task AdmitAsync(HttpContext context, MlRequestKind kind)
    {
        // Made when the job is first held: a request forwarded at once (nearly all of them) needs no linked source.
        CancellationTokenSource? stop = null;
        // The limit counts from arrival: a job sent again after its box failed has already spent some of Immich's 300 s.
        var deadline = time.GetUtcNow() + _settings.HoldLimit;
        DateTimeOffset? heldSince = null;
        var holding = false;
        Task? filling = null;
        // Written down until answered: a shim killed now counts it lost when it starts again.
        var taken = kind.IsInteractive() ? 0 : intake.TakeIn(kind);
        // Background jobs only: a search is never sent twice, a person is waiting for it.
        using var spool = kind.IsInteractive() ? null : new RequestSpool(context.Request.Body, _settings.SpoolDirectory, spoolMemory);
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

                        if (filling is not null)
                        {
                            // The whole body goes into the spool first: one reader of the client's body at a time.
                            await filling;
                            filling = null;
                        }

                        var outcome = await forwarder.ForwardAsync(context, forward.Upstream, spool);
                        switch (outcome.Result)
                        {
                            case ForwardResult.ClientGone:
                                journal.ClientGone(kind, outcome.BodySent ? ClientStages.AfterUpload : ClientStages.MidUpload,
                                    outcome.BodySent ? forward.Upstream : null, time.GetUtcNow() - heldSince);
                                ClientHangUp.Close(context);
                                return;
                            case ForwardResult.Rejected:
                                journal.Rejected(new RequestProblem(outcome.StatusCode, "bad-body", outcome.Detail ?? ""));
                                return;
                            case not ForwardResult.NotDone:
                                journal.Forwarded(kind, forward.Upstream, outcome, time.GetUtcNow() - heldSince);
                                return;
                        }

                        var failed = MarkFailed(forward.Upstream, outcome);
                        if (spool is not null)
                        {
                            journal.Replaying(kind, forward.Upstream, outcome.Reason!, outcome.Detail ?? "");
                        }
                        else if (outcome.BodyTouched)
                        {
                            // Part of the query went to the box and is gone: say so now rather than send a 502.
                            await RefuseAsync(context, kind, failed.State,
                                new ProblemBody("gpu-host-unavailable", $"GPU host {failed.State}: {failed.Reason}; try again shortly", failed.State,
                                    (int)Math.Ceiling(_settings.SearchRetryAfter.TotalSeconds)),
                                heldSince);
                            return;
                        }

                        continue;

                    case AdmissionDecision.Refuse refuse:
                        if (kind == MlRequestKind.Search && _fallback is { } fallback)
                        {
                            var answered = await forwarder.ForwardAsync(context, fallback);
                            if (answered.Result == ForwardResult.ClientGone)
                            {
                                journal.ClientGone(kind, answered.BodySent ? ClientStages.AfterUpload : ClientStages.MidUpload, null, null);
                                ClientHangUp.Close(context);
                                return;
                            }

                            if (answered.Result == ForwardResult.Rejected)
                            {
                                journal.Rejected(new RequestProblem(answered.StatusCode, "bad-body", answered.Detail ?? ""));
                                return;
                            }

                            if (answered.Result != ForwardResult.NotDone)
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

                        // A held job's body is taken into its spool meanwhile: Kestrel notices a client that hangs up only
                        // once it has read what the client sent before, and the hold slot is then freed at once.
                        filling ??= spool?.FillAsync();
                        var remaining = deadline - time.GetUtcNow();
                        try
                        {
                            if (remaining <= TimeSpan.Zero)
                            {
                                throw new TimeoutException();
                            }

                            stop ??= CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
                            var waiting = changed.WaitAsync(remaining, time, stop.Token);
                            if (filling is { IsCompleted: false })
                            {
                                await Task.WhenAny(waiting, filling);
                            }

                            if (filling is { IsFaulted: true })
                            {
                                // The client went away (or broke a limit) while held: rethrown below, handled as a hang-up.
                                await stop.CancelAsync();
                                await filling;
                            }

                            await waiting;
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
            journal.ClientGone(kind, heldSince is null ? ClientStages.BeforeForwarding : ClientStages.Held, null, time.GetUtcNow() - heldSince);
            ClientHangUp.Close(context);
        }

        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            await RefuseAsync(context, kind, "shim-stopping",
                new ProblemBody("shim-stopping", "the shim is shutting down; the job was not done"), heldSince);
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException && ClientHangUp.Is(e))
        {
            // Taking the held job's body into its spool failed: the client hung up.
            journal.ClientGone(kind, ClientStages.Held, null, time.GetUtcNow() - heldSince);
            ClientHangUp.Close(context);
        }
        catch (BadHttpRequestException e)
        {
            // Its body broke a limit (too large, too slow) while held.
            journal.Rejected(new RequestProblem(e.StatusCode, "bad-body", e.Message));
            if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = e.StatusCode;
            }
        }
        finally
        {
            intake.Answered(taken);
            if (holding)
            {
                holds.Leave();
            }

            if (filling is { IsCompleted: false })
            {
                await StopFillingAsync(context, filling);
            }

            stop?.Dispose();
        }
    }

    /// <summary>
    /// Answered (a 503) while a held client still uploads: its answer is sent and the connection closed rather than
    /// wait for the rest, and the fill ends before the request does (Kestrel drains the body after it: one reader).
    /// </summary>
    private static async Task StopFillingAsync(HttpContext context, Task filling)
    {
        if (context.Response.HasStarted)
        {
            await context.Response.CompleteAsync();
        }

        context.Abort();
        try
        {
            await filling;
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException)
        {
            // The abort's own end of the read.
        }
    }

    private static UpstreamHealth MarkFailed(Upstream upstream, ForwardOutcome outcome)
    {
        var (state, what) = outcome.Reason switch
        {
            ReplayReasons.OutOfMemory or ReplayReasons.WorkerFailed or ReplayReasons.GatewayError or ReplayReasons.EmptyAnswer =>
                (HostStates.MlFailing, $"its ML service answered {outcome.Detail}"),
            ReplayReasons.BoxGone => (HostStates.MlUnreachable, "it vanished while working on a request"),
            _ => (HostStates.MlUnreachable, $"its ML service at {upstream.Url.Authority} failed before answering ({outcome.Detail})"),
        };
        upstream.MarkFailed(state, $"{what}; passed over until its agent says serving again");
        return upstream.Health;
    }

    private Task RefuseAsync(HttpContext context, MlRequestKind kind, string reason, ProblemBody body, DateTimeOffset? heldSince)
    {
        journal.Refused(kind, reason, body.Detail, time.GetUtcNow() - heldSince);
        return ProblemResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, body);
    }
}
