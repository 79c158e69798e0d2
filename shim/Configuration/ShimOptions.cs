namespace GpuSplit.Shim.Configuration;

/// <summary>Everything the shim is told through <c>appsettings.json</c> and <c>Shim__...</c> variables.</summary>
public sealed class ShimOptions
{
    public const string Section = "Shim";

    /// <summary>The GPU boxes: each an ML service and the agent that watches it.</summary>
    public List<UpstreamOptions> Upstreams { get; set; } = [];

    /// <summary>
    /// How long a background job may wait for a GPU box. Immich (Node's fetch) gives up on response
    /// headers after 300 s, so the default leaves room for the inference itself.
    /// </summary>
    public TimeSpan HoldLimit { get; set; } = TimeSpan.FromSeconds(240);

    /// <summary>How many background jobs may wait at once; 0 turns holding off.</summary>
    public int MaxHeldRequests { get; set; } = 64;

    /// <summary>The <c>Retry-After</c> a refused search query carries.</summary>
    public TimeSpan SearchRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Connect timeout towards an ML service (the seed's <c>proxy_connect_timeout 3s</c>).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Longest silence from an ML service once connected (the seed's <c>proxy_read_timeout 300s</c>).</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// Where background jobs' request bodies are kept while they are forwarded, so that a job whose box fails before
    /// answering can be sent again, once <see cref="SpoolMemoryBytes"/> is spent. One file per such job, at most
    /// <see cref="MaxRequestBodyBytes"/> each, deleted when the request ends.
    /// </summary>
    public string SpoolDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "gpusplit-shim");

    /// <summary>
    /// Memory all background jobs' bodies may take together while they are forwarded or held (8 MiB: a few dozen Immich
    /// previews); past it a job's body goes on in a file in <see cref="SpoolDirectory"/>. 0 keeps every body in a file.
    /// </summary>
    public long SpoolMemoryBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>Largest request body accepted, like the ML service's own spool limit.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    public AgentWatchOptions AgentWatch { get; set; } = new();

    /// <summary>Where search queries go while no GPU box serves; image work never goes there.</summary>
    public SearchFallbackOptions SearchFallback { get; set; } = new();

    /// <summary>Who may read the status page and the metrics.</summary>
    public StatusOptions Status { get; set; } = new();
}

/// <summary>
/// The status page, its JSON and badge, and the metrics name the GPU boxes' ML and agent URLs and what they do; by
/// default anyone who reaches the shim's port reads them.
/// </summary>
public sealed class StatusOptions
{
    /// <summary>When set, those pages answer only a request with <c>Authorization: Bearer</c> this token or <c>?token=</c> it.</summary>
    public string? Token { get; set; }
}

/// <summary>
/// An optional CPU instance of Immich's ML service on the always-on box with only the textual CLIP model preloaded
/// (<c>MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL</c>): it keeps smart search working while the GPU box sleeps.
/// </summary>
public sealed class SearchFallbackOptions
{
    /// <summary>e.g. <c>http://immich-machine-learning-cpu:3003</c>; unset: searches get a 503 while the box is away.</summary>
    public string? Url { get; set; }
}

/// <summary>One GPU box.</summary>
public sealed class UpstreamOptions
{
    /// <summary>Shown on the status page and in metrics; defaults to the ML service's host and port.</summary>
    public string? Name { get; set; }

    /// <summary>The Immich ML service on that box, e.g. <c>http://gpu-box:3003</c>.</summary>
    public string Url { get; set; } = "";

    /// <summary>That box's agent (gRPC), e.g. <c>http://gpu-box:3004</c>.</summary>
    public string Agent { get; set; } = "";

    /// <summary>Bearer token for the agent, sent with every call and never shown.</summary>
    public string? Token { get; set; }
}

/// <summary>How the agents are watched.</summary>
public sealed class AgentWatchOptions
{
    /// <summary>A box that does not accept a connection within this time counts as asleep.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// HTTP/2 ping interval on the open watch streams. A box that loses power or link sends no reset, so
    /// without pings a watch would wait forever on a dead connection.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A ping unanswered for this long ends the streams: the box is gone. With the interval, a vanished box is
    /// noticed within about 3 s; a ping on the LAN costs a few bytes.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The agent promises a status message at least every heartbeat (250 ms by default); a box whose agent misses
    /// this many in a row counts as gone, about a second after its link went down, well before the HTTP/2 ping
    /// notices. 0 relies on the pings alone.
    /// </summary>
    public int MissedHeartbeats { get; set; } = 4;

    /// <summary>First delay before reconnecting to an agent that did not answer; doubles up to the maximum.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Longest delay between reconnection attempts: a woken box is noticed within this plus one connect attempt.
    /// Retrying a sleeping box costs a few SYN packets.
    /// </summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(2);
}
