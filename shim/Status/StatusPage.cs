using System.Net;
using System.Text.Json;
using GpuSplit.Shim.Responses;

namespace GpuSplit.Shim.Status;

/// <summary>
/// <c>GET /status</c>: a small page a person reads. The snapshot travels inside the page as JSON and a short
/// script renders it, then refreshes it from <c>status.json</c> every few seconds; the headline is also in the
/// HTML for a browser without scripts. Everything from the agents is set as text, never as markup.
/// </summary>
public static class StatusPage
{
    /// <param name="linkQuery">The query the page's links and refreshes keep (the status token given as <c>?token=</c>), or empty.</param>
    public static string Render(StatusSnapshot snapshot, string linkQuery = "") =>
        Template
            .Replace("{{KEEP}}", WebUtility.HtmlEncode(linkQuery), StringComparison.Ordinal)
            .Replace("{{JOBS}}", snapshot.Jobs.State, StringComparison.Ordinal)
            .Replace("{{HEADLINE}}", WebUtility.HtmlEncode(snapshot.Badge), StringComparison.Ordinal)
            // The serializer escapes <, > and &, so the JSON cannot close the script element.
            .Replace("{{DATA}}", JsonSerializer.Serialize(snapshot, ShimJsonContext.Default.StatusSnapshot), StringComparison.Ordinal);

    private const string Template = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>GpuSplit: GPU host status</title>
        <style>
          body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #f5f5f7; }
          main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem; }
          h1 { font-size: 1.5rem; margin: 0 0 .25rem; padding: .6rem .9rem; border-radius: .5rem; color: #fff; background: #6b6b6b; }
          body[data-jobs="flowing"] h1 { background: #2e7d32; }
          body[data-jobs="held"] h1 { background: #b26a00; }
          body[data-jobs="failing"] h1 { background: #c62828; }
          section { background: #fff; border-radius: .5rem; padding: .75rem 1rem; margin: .75rem 0; }
          h2 { font-size: 1.1rem; margin: 0 0 .4rem; }
          p { margin: .2rem 0; }
          .muted { color: #6b6b6b; font-size: .9em; }
          ol { margin: 0; padding-left: 1.2rem; }
          time { font-variant-numeric: tabular-nums; }
        </style>
        </head>
        <body data-jobs="{{JOBS}}">
        <main>
          <h1 id="headline">{{HEADLINE}}</h1>
          <p class="muted" id="updated"></p>
          <section id="jobs"></section>
          <div id="boxes"></div>
          <section id="power"></section>
          <section><h2>Recent events</h2><ol id="events"></ol></section>
          <p class="muted">The same as data: <a href="status.json{{KEEP}}">status.json</a> · badge: <a href="status.svg{{KEEP}}">status.svg</a> · <a href="metrics{{KEEP}}">metrics</a></p>
          <noscript><p>This page fills in with JavaScript; <a href="status.json{{KEEP}}">status.json</a> has everything.</p></noscript>
        </main>
        <script id="status-data" type="application/json">{{DATA}}</script>
        <script>
        "use strict";
        const GiB = 1024 ** 3;
        const gib = bytes => (bytes / GiB).toFixed(1) + " GiB";
        function ago(iso) {
          const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
          if (s < 60) return s + " s ago";
          if (s < 3600) return Math.floor(s / 60) + " min ago";
          if (s < 86400) return Math.floor(s / 3600) + " h ago";
          return Math.floor(s / 86400) + " d ago";
        }
        function add(parent, tag, text, className) {
          const node = document.createElement(tag);
          if (text !== undefined) node.textContent = text;
          if (className) node.className = className;
          parent.appendChild(node);
          return node;
        }
        function when(parent, iso) {
          const node = add(parent, "time", new Date(iso).toLocaleTimeString() + " (" + ago(iso) + ")");
          node.dateTime = iso;
          return node;
        }
        function render(s) {
          document.body.dataset.jobs = s.jobs.state;
          document.getElementById("headline").textContent = s.badge;
          document.getElementById("updated").textContent = "Updated " + new Date(s.generatedAt).toLocaleTimeString() +
            (s.acceptingWork ? " · accepting ML work" : " · not accepting ML work");

          const jobs = document.getElementById("jobs");
          jobs.replaceChildren();
          add(jobs, "h2", s.jobs.text);
          const hold = s.hold;
          add(jobs, "p", hold.capacity > 0
            ? "Held now: " + hold.held + " of at most " + hold.capacity + " (each waits up to " + hold.limitSeconds + " s)"
            : "Holding is off: background jobs fail while the GPU host is away");
          const t = s.totals;
          add(jobs, "p", "Forwarded: " + t.forwarded + " · held: " + t.held + " · released: " + t.released +
            " · replayed: " + t.replayed +
            " · lost: " + t.lost + " · searches refused: " + t.searchesRefused + " · rejected: " + t.rejected +
            " · clients gone: " + t.clientAborts);

          const boxes = document.getElementById("boxes");
          boxes.replaceChildren();
          for (const u of s.upstreams) {
            const box = add(boxes, "section");
            box.dataset.state = u.state;
            add(box, "h2", u.name + ": " + u.state);
            add(box, "p", u.reason);
            when(add(box, "p", "Since "), u.since);
            if (u.gpus.length === 0) add(box, "p", "VRAM: not reported (the agent is not answering)", "muted");
            for (const g of u.gpus) {
              add(box, "p", "VRAM in use: " + gib(g.memoryUsedBytes) + " of " + gib(g.memoryTotalBytes) +
                " (" + gib(g.memoryFreeBytes) + " free) on GPU " + g.index + ", " + g.name);
            }
            if (u.worker) {
              add(box, "p", "ML worker " + u.worker.container + ": " + u.worker.state + ", restarted " + u.worker.restarts + " times" +
                (u.worker.lastFailure ? "; last failure: " + u.worker.lastFailure : ""));
            }
            add(box, "p", "In flight: " + u.inFlight + " · ML service " + u.url + " · agent " + u.agent, "muted");
          }

          const power = document.getElementById("power");
          power.replaceChildren();
          add(power, "h2", "Power");
          const p = s.power;
          for (const b of p.boxes) {
            add(power, "p", b.name + ": " + b.wakeText).dataset.wake = b.wake;
            if (b.lastPacketAt) {
              const line = add(power, "p", "Last magic packet: ", "muted");
              when(line, b.lastPacketAt);
              if (b.lastPacketError) line.append(" (not sent: " + b.lastPacketError + ")");
            }
            if (b.sleep) add(power, "p", b.name + " sleep: " + b.sleep, "muted");
          }
          add(power, "p", p.immichApi === "on"
            ? "Immich ML queues (smartSearch, faceDetection, ocr): " + (p.backlog ?? "?") + " jobs to do"
            : p.immichApi);
          if (p.pausedQueues.length > 0) {
            when(add(power, "p", "Paused by the shim while the GPU host is away: " + p.pausedQueues.join(", ") + ", since "), p.pausedSince);
          }
          for (const l of p.lost) {
            const line = add(power, "p", "Lost " + l.count + " " + l.queue + " job(s) since ");
            when(line, l.since);
            line.append("; \u201cMissing\u201d is pressed for them once the GPU host serves again");
          }

          const events = document.getElementById("events");
          events.replaceChildren();
          if (s.events.length === 0) add(events, "li", "Nothing yet since the shim started.");
          for (const e of s.events) {
            const item = add(events, "li");
            when(item, e.at);
            item.append(" " + e.text);
          }
        }
        render(JSON.parse(document.getElementById("status-data").textContent));
        setInterval(async () => {
          try {
            const response = await fetch("status.json" + location.search, { cache: "no-store" });
            if (response.ok) render(await response.json());
          } catch {
            document.getElementById("updated").textContent = "The shim does not answer; showing its last report.";
          }
        }, 5000);
        </script>
        </body>
        </html>
        """;
}
