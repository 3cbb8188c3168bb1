// Runs the library's benchmark in a Web Worker (www/bench-worker.js), so the page never
// freezes, and prints its table (textContent only). The ticking clock shows the page
// stays responsive; the browser test checks that it ticks while the bench runs.
import { isolated } from "./isolation.js";

const q = new URLSearchParams(location.search);
const n = (k, d) => Number(q.get(k) ?? d);
const out = document.getElementById("out");
const clock = document.getElementById("clock");
const t0 = performance.now();
let ticks = 0;
const timer = setInterval(() => {
  ticks += 1;
  clock.textContent = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  document.body.dataset.ticks = String(ticks);
}, 200);
// On the static site, first the service worker's one reload (www/isolation.js).
await isolated((text) => { out.textContent = text; });
const worker = new Worker(new URL("./bench-worker.js", import.meta.url), { type: "module" });
worker.onmessage = (e) => {
  clearInterval(timer);
  if (e.data.ok) {
    const r = e.data.value;
    out.textContent = r.rows.map((x) => `${x.backend.padEnd(40)} ${x.workload.padEnd(40)} ${x.ms.toFixed(1).padStart(10)} ms ${x.tokens_per_s ? x.tokens_per_s.toFixed(0) + " tok/s" : ""}${x.dispatches != null ? ` ${x.dispatches.toFixed(0)} dispatches` : ""}`).join("\n");
    document.body.dataset.result = JSON.stringify(r);
    document.body.dataset.done = "1";
  } else {
    out.textContent = e.data.error;
    document.body.dataset.done = "error";
  }
};
worker.postMessage({ backend: q.get("backend") ?? "auto", batch: n("batch", 8), prompt: n("prompt", 128), newTokens: n("new", 16), reps: n("reps", 2), only: q.get("only") ?? "", threads: q.get("threads") ? n("threads", 0) : undefined });
