using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Testing.Immich;

/// <summary>How the load driver behaves; the defaults are Immich's.</summary>
public sealed record LoadOptions(Uri MachineLearningUrl)
{
    /// <summary>Workers per queue (<c>job.&lt;queue&gt;.concurrency</c>): Immich's defaults 2/2/1, the seed's 3/3/1.</summary>
    public JobConcurrency Concurrency { get; init; } = JobConcurrency.ImmichDefaults;

    /// <summary>
    /// A search query is sent every interval, each on its own (people searching; one waiting for an answer does not
    /// hold back the next); null: none.
    /// </summary>
    public TimeSpan? SearchInterval { get; init; }

    public string SearchQuery { get; init; } = "a dog on the beach";

    /// <summary>The preview JPEG every job sends.</summary>
    public byte[] PreviewJpeg { get; init; } = Planner.Service.PreviewJpeg.Default;

    /// <summary>Node's fetch (undici): 10 s to connect.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Node's fetch (undici): 300 s for the answer's headers; Immich sets no timeout of its own on /predict.</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(300);
}

/// <summary>One ML job as Immich's job service ends it: completed, or failed and dropped for good.</summary>
public sealed record JobOutcome(JobKind Kind, int Asset, TimeSpan Started, TimeSpan Ended, int? Status, string? Error)
{
    public bool Completed => Error is null;

    public TimeSpan Latency => Ended - Started;
}

/// <summary>One smart-search query: what the person saw and how long they waited.</summary>
public sealed record SearchOutcome(TimeSpan Sent, TimeSpan Answered, int? Status, string? Error)
{
    public bool Answered200 => Status == 200 && Error is null;

    public TimeSpan Wait => Answered - Sent;
}

/// <summary>
/// Immich's microservices process as the ML service sees it: a queue per job kind worked by a fixed number of
/// workers, each job one <c>POST /predict</c> (<see cref="ImmichPredictRequest"/>) on a kept-alive connection
/// pool like Node's fetch; a failed job (non-2xx, unreadable answer, connection error) is dropped, never retried
/// (server/src/services/job.service.ts); plus a trickle of smart-search queries. Every outcome is recorded on
/// one clock (<see cref="Now"/>) so a test can line them up with what it did to the GPU box.
/// </summary>
public sealed class MicroservicesLoad : IAsyncDisposable
{
    private static readonly JobKind[] Kinds = Enum.GetValues<JobKind>();

    private readonly LoadOptions _options;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly HttpClient _http;
    private readonly Dictionary<JobKind, Channel<int>> _queues;
    private readonly ConcurrentQueue<JobOutcome> _jobs = new();
    private readonly ConcurrentQueue<SearchOutcome> _searches = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _workers = [];
    private int _enqueued;
    private int _finished;
    private int _nextAsset;

    public MicroservicesLoad(LoadOptions options, TimeProvider? time = null)
    {
        _options = options;
        _time = time ?? TimeProvider.System;
        _start = _time.GetTimestamp();
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout,
            // undici keeps an idle connection 4 s.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(4),
            // Sends undici's "accept-encoding: gzip, deflate" and reads such answers as it does.
            AutomaticDecompression = System.Net.DecompressionMethods.GZip | System.Net.DecompressionMethods.Deflate,
            UseProxy = false,
        })
        {
            BaseAddress = options.MachineLearningUrl,
            Timeout = options.ResponseTimeout,
        };
        // The headers Node's fetch (undici) adds to every request.
        _http.DefaultRequestHeaders.Accept.ParseAdd("*/*");
        _http.DefaultRequestHeaders.AcceptLanguage.ParseAdd("*");
        _http.DefaultRequestHeaders.Add("sec-fetch-mode", "cors");
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("node");
        _queues = Kinds.ToDictionary(k => k, _ => Channel.CreateUnbounded<int>());
        foreach (var kind in Kinds)
        {
            for (var i = 0; i < Workers(kind); i++)
            {
                _workers.Add(Task.Run(() => WorkAsync(kind, _stop.Token)));
            }
        }

        if (options.SearchInterval is { } interval)
        {
            _workers.Add(Task.Run(() => SearchAsync(interval, _stop.Token)));
        }
    }

    /// <summary>Time since the driver started: the clock of every outcome.</summary>
    public TimeSpan Now => _time.GetElapsedTime(_start);

    public IReadOnlyList<JobOutcome> Jobs => [.. _jobs];

    public IReadOnlyList<SearchOutcome> Searches => [.. _searches];

    /// <summary>Jobs queued or running that have not ended yet.</summary>
    public int Pending => Volatile.Read(ref _enqueued) - Volatile.Read(ref _finished);

    /// <summary>New assets arrive (uploads): each queues one job of every kind, like Immich after thumbnail generation.</summary>
    public void AddAssets(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var asset = Interlocked.Increment(ref _nextAsset);
            foreach (var kind in Kinds)
            {
                Interlocked.Increment(ref _enqueued);
                _queues[kind].Writer.TryWrite(asset);
            }
        }
    }

    /// <summary>Waits until every queued job has ended (completed or dropped); false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitUntilDrainedAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = Now + timeout;
        while (Pending > 0)
        {
            if (Now >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellationToken);
        }

        return true;
    }

    /// <summary>The first job that completed at or after <paramref name="since"/>, if any.</summary>
    public JobOutcome? FirstCompletedAfter(TimeSpan since) =>
        Jobs.Where(j => j.Completed && j.Ended >= since).MinBy(j => j.Ended);

    public int Completed(JobKind kind) => Jobs.Count(j => j.Kind == kind && j.Completed);

    public int Lost(JobKind kind) => Jobs.Count(j => j.Kind == kind && !j.Completed);

    public int Lost() => Jobs.Count(j => !j.Completed);

    /// <summary>Stops the workers; jobs still queued or in flight stay <see cref="Pending"/>, not lost.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var queue in _queues.Values)
        {
            queue.Writer.TryComplete();
        }

        try
        {
            await Task.WhenAll(_workers).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // A worker stuck past cancellation must not hang a test's teardown.
        }

        _http.Dispose();
        _stop.Dispose();
    }

    private int Workers(JobKind kind) => kind switch
    {
        JobKind.SmartSearch => _options.Concurrency.SmartSearch,
        JobKind.FaceDetection => _options.Concurrency.FaceDetection,
        _ => _options.Concurrency.Ocr,
    };

    private async Task WorkAsync(JobKind kind, CancellationToken stop)
    {
        try
        {
            await foreach (var asset in _queues[kind].Reader.ReadAllAsync(stop))
            {
                var started = Now;
                var (status, error) = await PredictAsync(ImmichPredictRequest.ForJob(kind, _options.PreviewJpeg), ImmichPredictRequest.ResultKey(kind), stop);
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                _jobs.Enqueue(new JobOutcome(kind, asset, started, Now, status, error));
                Interlocked.Increment(ref _finished);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task SearchAsync(TimeSpan interval, CancellationToken stop)
    {
        var searches = new List<Task>();
        try
        {
            using var timer = new PeriodicTimer(interval, _time);
            do
            {
                searches.Add(SearchOnceAsync(stop));
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        await Task.WhenAll(searches);
    }

    private async Task SearchOnceAsync(CancellationToken stop)
    {
        var sent = Now;
        try
        {
            var (status, error) = await PredictAsync(ImmichPredictRequest.ForSearch(_options.SearchQuery), "clip", stop);
            _searches.Enqueue(new SearchOutcome(sent, Now, status, error));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Still waiting when the driver stopped: no outcome to count.
        }
    }

    // Immich: `if (response.ok) return response.json()`; anything else, or an exception, fails the request.
    private async Task<(int? Status, string? Error)> PredictAsync(MultipartFormDataContent form, string resultKey, CancellationToken stop)
    {
        using (form)
        {
            try
            {
                using var response = await _http.PostAsync("predict", form, stop);
                var status = (int)response.StatusCode;
                var body = await response.Content.ReadAsStringAsync(stop);
                if (!response.IsSuccessStatusCode)
                {
                    return (status, $"status {status}");
                }

                using var json = JsonDocument.Parse(body);
                return json.RootElement.TryGetProperty(resultKey, out _) ? (status, null) : (status, $"no '{resultKey}' in the answer");
            }
            catch (HttpRequestException e)
            {
                return (null, e.Message);
            }
            catch (JsonException e)
            {
                return (200, "unreadable answer: " + e.Message);
            }
            catch (TaskCanceledException e) when (!stop.IsCancellationRequested)
            {
                return (null, "timed out: " + e.Message);
            }
        }
    }
}
