using Prometheus;

namespace GpuSplit.Shim.Status;

/// <summary>
/// The shim's Prometheus figures, in a registry of its own (not prometheus-net's static default), so that
/// every shim instance counts only its own work.
/// </summary>
public sealed class ShimMetrics
{
    public ShimMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);
        Decisions = factory.CreateCounter("shim_decisions_total",
            "Admission decisions, by request kind, decision (forward, hold, refuse, reject) and reason.",
            "kind", "decision", "reason");
        LostJobs = factory.CreateCounter("shim_lost_jobs_total",
            "Background jobs answered with an error; Immich drops these until an admin presses Missing.",
            "kind", "reason");
        ClientAborts = factory.CreateCounter("shim_client_aborts_total",
            "Requests whose client went away before its answer was sent, by kind (unclassified before the form was read) and stage "
            + "(before-forwarding, held, mid-upload, after-upload); neither lost nor rejected, and no GPU box's failure.",
            "kind", "stage");
        Replays = factory.CreateCounter("shim_replays_total",
            "Background jobs whose GPU box failed before answering, held to be sent again from their spool, by reason.",
            "kind", "reason");
        Forwarded = factory.CreateCounter("shim_forwarded_total",
            "Requests sent to a GPU box, by box and outcome (status class, or the forwarding error).",
            "upstream", "outcome");
        HoldSeconds = factory.CreateHistogram("shim_hold_seconds",
            "How long held jobs waited before they were released to a GPU box.",
            new HistogramConfiguration { LabelNames = ["kind"], Buckets = Histogram.ExponentialBuckets(0.05, 2, 14) });
        Held = factory.CreateGauge("shim_held_requests", "Background jobs waiting for a GPU box now.");
        InFlight = factory.CreateGauge("shim_upstream_in_flight", "Requests a GPU box is working on now.", "upstream");
        Serving = factory.CreateGauge("shim_upstream_serving", "1 while work goes to the GPU box: its agent says serving, or, with the agent away, its ML service answers.", "upstream");
        State = factory.CreateGauge("shim_upstream_state", "1 for the GPU box's current state.", "upstream", "state");
        VramFree = factory.CreateGauge("shim_upstream_vram_free_bytes", "Free GPU memory the box's agent last reported.", "upstream");
        VramTotal = factory.CreateGauge("shim_upstream_vram_total_bytes", "GPU memory the box's agent last reported.", "upstream");
    }

    public CollectorRegistry Registry { get; }

    public Counter Decisions { get; }

    public Counter LostJobs { get; }

    public Counter ClientAborts { get; }

    public Counter Replays { get; }

    public Counter Forwarded { get; }

    public Histogram HoldSeconds { get; }

    public Gauge Held { get; }

    public Gauge InFlight { get; }

    public Gauge Serving { get; }

    public Gauge State { get; }

    public Gauge VramFree { get; }

    public Gauge VramTotal { get; }
}
