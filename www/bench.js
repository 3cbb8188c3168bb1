// Runs the library's benchmark in this page and prints its table (textContent only).
import init, { bench } from "../pkg/tppo.js";

const q = new URLSearchParams(location.search);
const n = (k, d) => Number(q.get(k) ?? d);
const out = document.getElementById("out");
try {
  await init();
  const r = await bench(q.get("backend") ?? "auto", n("batch", 8), n("prompt", 128), n("new", 16), n("reps", 2));
  out.textContent = r.rows.map((x) => `${x.backend.padEnd(40)} ${x.workload.padEnd(40)} ${x.ms.toFixed(1).padStart(10)} ms ${x.tokens_per_s ? x.tokens_per_s.toFixed(0) + " tok/s" : ""}`).join("\n");
  document.body.dataset.result = JSON.stringify(r);
  document.body.dataset.done = "1";
} catch (e) {
  out.textContent = String(e?.message ?? e);
  document.body.dataset.done = "error";
}
