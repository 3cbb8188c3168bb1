// The lab's worker: it owns the wasm `Lab` (models, judge, PPO/TPPO runs), so the
// page never freezes. Messages in: {id, cmd, args}; out: {id, ok, value | error},
// and events {event, ...} while training plays.
//
// Two builds of the same library (www/builds.js): pkg/ with the WebGPU backend, and
// pkg/cpu/ with the CPU backend only (about a third of the size: no GPU kernel
// compiler) on a pool of threads. The CPU one is loaded when the CPU backend is asked
// for or the browser has no WebGPU.
import { pickBuild, startThreads } from "./builds.js";

let lib = null; // the wasm package's exports (Lab, lwp_curve, shade, ...)

// Every WebGPU device the wasm code asks for, so that its loss reaches the page
// (which then replaces this worker by one on the CPU backend), and so that the
// end-to-end test can destroy it (`loseDevice`).
const devices = [];
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    devices.push(device);
    device.lost.then((info) => postMessage({ event: "device-lost", reason: info.reason ?? "unknown", message: info.message ?? "" }));
    return device;
  };
}
// The bytes of the GPU buffers the wasm code holds: created, and neither destroyed nor
// garbage-collected (wgpu's WebGPU backend does not destroy a buffer it drops; the
// browser frees it with the JS object). The GPU side of the memory readout, which the
// soak test watches for growth (issue 16). burn's pool keeps its buffers for reuse, so
// this is what it has reserved, plus the mappable buffers (`MAP_READ`/`MAP_WRITE`:
// reads back to the CPU) not yet collected, counted apart.
const gpuBytes = { all: 0, mappable: 0 };
if (self.GPUDevice) {
  const createBuffer = GPUDevice.prototype.createBuffer;
  const destroy = GPUBuffer.prototype.destroy;
  const live = new WeakMap(); // buffer → its entry, until destroyed or collected
  const forget = (entry) => {
    if (entry.counted) { entry.counted = false; gpuBytes.all -= entry.size; if (entry.mappable) gpuBytes.mappable -= entry.size; }
  };
  const collected = new FinalizationRegistry(forget);
  GPUDevice.prototype.createBuffer = function (...args) {
    const buffer = createBuffer.apply(this, args);
    const entry = { size: buffer.size, mappable: (buffer.usage & (GPUBufferUsage.MAP_READ | GPUBufferUsage.MAP_WRITE)) !== 0, counted: true };
    live.set(buffer, entry);
    collected.register(buffer, entry);
    gpuBytes.all += entry.size;
    if (entry.mappable) gpuBytes.mappable += entry.size;
    return buffer;
  };
  GPUBuffer.prototype.destroy = function (...args) {
    const entry = live.get(this);
    if (entry) forget(entry);
    return destroy.apply(this, args);
  };
}
let wasm = null;
let lab = null;
let playing = false;
let runSeeds = []; // the seeds of the PPO and TPPO runs (start)
let stepsDone = { sentence: [], token: [] }; // iterations per mode and seed

// One round: every run (each mode, each seed) one iteration, the runs behind first, so
// that a pause part way through a round leaves the seeds at most one iteration apart
// and the next round evens them. `goOn()` is asked after each iteration (pause).
// Returns whether the round completed.
async function round(goOn) {
  if (!runSeeds.length) throw new Error("no PPO / TPPO runs: start them first");
  const target = 1 + Math.min(...stepsDone.sentence, ...stepsDone.token);
  for (const mode of ["sentence", "token"]) {
    for (const [k, seed] of runSeeds.entries()) {
      if (stepsDone[mode][k] >= target) continue;
      const value = await exclusive(() => lab.step(mode, BigInt(seed)));
      stepsDone[mode][k] += 1;
      postMessage({ event: "step", mode, seed: k, value });
      await tick(); // let "pause" in
      if (!goOn()) return false;
    }
  }
  return true;
}
let compared = []; // the pairs of the last comparison or imported compare file
let policyReady = null; // resolves once the rest is loaded (after the first view)
// Commands that need the SFT policy (or the sentence RM, or the training users) wait for it.
const NEEDS_POLICY = new Set(["generate", "start", "step", "play", "compare", "rmStart", "exportPolicy"]);
// One call into the lab at a time. On WebGPU a call awaits the GPU, and another call
// made meanwhile would find the lab borrowed (wasm-bindgen's "recursive use of an
// object"): a `score` while a training step awaits, or `set_rest` while anything does.
// Each command runs alone; `play` and `rmPlay` take their turn once per step, so
// other commands get in between steps.
let queue = Promise.resolve();
function exclusive(f) {
  const run = queue.then(f, f);
  queue = run.catch(() => {});
  return run;
}
// What the first view does not need (the SFT policy, the sentence reward model, the
// training users), fetched once: when the page has shown its first view, or as soon as
// a command needs it.
function loadPolicy() {
  if (!policyReady) {
    policyReady = Promise.all([
      cached("../pkg/models/sft.safetensors"),
      cached("../pkg/models/rm-sentence.safetensors"),
      cached("../data/train.jsonl.gz"),
      cached("../data/trec-queries.tsv"), // the gold score's corpus
    ]).then(async ([sft, rms, train, corpus]) => {
      await exclusive(() => lab.set_rest(sft, rms, train, corpus));
      postMessage({ event: "policy-ready" });
    });
    policyReady.catch((err) => postMessage({ event: "policy-error", error: String(err?.message ?? err) }));
  }
  return policyReady;
}

// Fetch through the Cache API so that a reload does not download the assets again.
// A cached copy is used only while the server's Last-Modified and Content-Length
// still match it (one HEAD request), so remade checkpoints are picked up; offline,
// the cached copy is used as it is.
async function cachedResponse(url) {
  let cache = null;
  try { cache = await caches.open("tppo-lab-v1"); } catch { /* no Cache API (e.g. file://) */ }
  const hit = cache ? await cache.match(url) : undefined;
  if (hit) {
    let fresh = true;
    try {
      const head = await fetch(url, { method: "HEAD", cache: "no-store" });
      fresh = !head.ok || ["last-modified", "content-length"].every((h) => head.headers.get(h) === hit.headers.get(h));
    } catch { /* offline */ }
    if (fresh) return hit;
  }
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  if (cache) await cache.put(url, r.clone());
  return r;
}

async function cached(url) {
  return new Uint8Array(await (await cachedResponse(url)).arrayBuffer());
}

const text = async (url) => new TextDecoder().decode(await cached(url));

// Each token of the records' outputs gets the heatmap colour of its reward (the
// library's colour scale; eq. 5 was applied with the run's α and sl when scored).
function withColours(result) {
  const paint = (rec) => {
    if (!rec?.tokens?.length) return;
    const c = lib.colours(Float32Array.from(rec.tokens.map((t) => t.reward)));
    rec.tokens.forEach((t, i) => { t.colour = c[i]; });
  };
  for (const p of result.pairs ?? []) for (const r of p.records) { paint(r.a); paint(r.b); }
  for (const r of result.records ?? []) { if (r.a) { paint(r.a); paint(r.b); } else paint(r); }
  return result;
}
const tick = () => new Promise((r) => setTimeout(r, 0));

const commands = {
  async init({ backend }) {
    const t = [performance.now()];
    const { dir, gpu, asked, build } = pickBuild(backend);
    lib = await import(dir + "tppo.js");
    // The wasm module through the Cache API too (a Response, so it still compiles while streaming).
    wasm = await lib.default({ module_or_path: await cachedResponse(new URL(dir + "tppo_bg.wasm", import.meta.url).href) });
    // The thread pool starts while the assets download; the lab needs it (Lab.create).
    const pool = startThreads(lib);
    t.push(performance.now());
    // What the first view (token rewards) needs; the SFT policy, the sentence reward
    // model and the training users follow while the user reads it (`policyReady`). The
    // checkpoints are the f16 copies in pkg/models (scripts/compact.py), widened to f32 on load.
    const [tok, vec, vocab, stats, labeler, interests, users, rmt] = await Promise.all([
      cached("../data/tokenizer.json"),
      cached("../data/glove-6b-50d.safetensors"),
      text("../data/glove-6b-50d-vocab.txt"),
      cached("../data/judge-stats.bin.gz"), // the judge's statistics; the training users come later
      text("../data/labeler.json"),
      text("../data/interests.json"),
      cached("../data/eval.jsonl"),
      cached("../pkg/models/rm-token.safetensors"),
    ]);
    const threads = await pool;
    t.push(performance.now());
    lab = await lib.Lab.create(asked, tok, vec, vocab, stats, labeler, interests, users, rmt);
    t.push(performance.now());
    // Where the start-up time went (ms): the wasm module, the assets (and the thread pool), the lab (judge, models).
    const timings = { wasm: t[1] - t[0], assets: t[2] - t[1], lab: t[3] - t[2] };
    return { backend: lab.backend(), users: lab.users(), timings, build, threads };
  },
  user: ({ index }) => lab.user(index),
  lwp: ({ alpha, sl, n }) => Array.from(lib.lwp_curve(alpha, sl, n)),
  // Eq. 5 and the heatmap's colours, from the library.
  shade: ({ margins, alpha, sl }) => lib.shade(Float32Array.from(margins), alpha, sl),
  colours: ({ rewards }) => lib.colours(Float32Array.from(rewards)),
  score: ({ index, response, alpha, sl }) => lab.score(index, response, alpha, sl),
  generate: ({ model, index, temperature, seed }) => lab.generate(model, index, temperature, BigInt(seed)),
  credit: ({ index }) => lab.credit(index),
  // PPO and TPPO, each with `seeds` seeds: settings.seed, settings.seed + 1, ….
  start({ settings, seeds }) {
    const most = lib.limits().max_seeds;
    if (!(Number.isInteger(seeds) && seeds >= 1 && seeds <= most)) throw new Error(`seeds: expected 1 to ${most} runs per mode, found ${seeds}`);
    lab.clear_runs();
    runSeeds = Array.from({ length: seeds }, (_, k) => Number(settings.seed) + k);
    stepsDone = { sentence: runSeeds.map(() => 0), token: runSeeds.map(() => 0) };
    for (const mode of ["sentence", "token"]) {
      for (const seed of runSeeds) lab.start(mode, { ...settings, seed });
    }
    return true;
  },
  async step() {
    await round(() => true);
    return true;
  },
  async play({ iters }) {
    playing = true;
    let done = 0;
    while (playing && done < iters) {
      if (await round(() => playing)) done += 1;
    }
    playing = false;
    postMessage({ event: "paused" });
    return done;
  },
  pause() { playing = false; return true; },
  async rmStart({ settings }) {
    const got = lab.rm_start(settings);
    // The models before any step: the curves start at step 0.
    const evals_ = await lab.rm_eval();
    postMessage({ event: "rm", value: evals_.map((e) => ({ ...e, train_loss: null })) });
    return got;
  },
  async rmPlay({ steps, evals }) {
    playing = true;
    let done = 0;
    while (playing && done < evals) {
      const [losses, evals_] = await exclusive(async () => [await lab.rm_step(steps), await lab.rm_eval()]);
      postMessage({ event: "rm", value: losses.map((l, i) => ({ ...l, eval: evals_[i].eval })) });
      await tick();
      done += 1;
    }
    playing = false;
    postMessage({ event: "rm-paused" });
    return done;
  },
  async compare({ n }) {
    const got = withColours(await lab.compare(n));
    compared = got.pairs.filter((p) => p.summary);
    return got;
  },
  import({ name, bytes }) {
    const got = withColours(lab.import_jsonl(name, new Uint8Array(bytes)));
    compared = got.kind === "compare" ? [{ pair: name, records: got.records, summary: got.summary }] : [];
    return got;
  },
  // The workbench's slices of the last comparison (the library's W/T/L, intervals, κ).
  slices({ spec }) {
    if (!compared.length) throw new Error("compare the models (or import a compare file) first; an outputs file has no pairs to slice");
    return lib.slices(compared, spec);
  },
  // The same as a self-contained static HTML page (the library's template).
  comparisonHtml({ spec }) {
    if (!compared.length) throw new Error("compare the models (or import a compare file) first");
    return lib.comparison_html(compared, spec);
  },
  limits: () => lib.limits(),
  defaults: () => lib.defaults(),
  presets: () => lib.presets(),
  // Lemma 3.1's toy: the library's PPO pieces on a six-action problem (milliseconds).
  lemma: ({ settings }) => lib.lemma(settings),
  loadPolicy() { loadPolicy().catch(() => {}); return true; },
  exportPolicy: ({ model }) => lab.export_policy(model),
  loseDevice() {
    for (const d of devices) d.destroy();
    return devices.length;
  },
  // The worker's wasm memory, and its GPU buffers' bytes (null on the CPU backend).
  // `collect` (the soak test, in a browser started with --js-flags=--expose-gc) collects
  // garbage first, so that buffers waiting for collection are not read as growth; the
  // page's own readout every 2 s shows what the browser holds.
  memory({ collect }) {
    if (collect) self.gc?.();
    const gpu = devices.length > 0;
    return { wasm: wasm ? wasm.memory.buffer.byteLength : 0, gpu: gpu ? gpuBytes.all : null, gpuMappable: gpu ? gpuBytes.mappable : null };
  },
  // Every URL this worker fetched (the page's end-to-end test checks they are all same-origin).
  resources: () => performance.getEntriesByType("resource").map((e) => e.name),
};

// Commands that take their own turns (`play`, `rmPlay`: one per step) or do not call
// the lab (so "pause" is never queued behind a step).
const OWN_TURNS = new Set(["play", "step", "rmPlay", "pause", "memory", "loseDevice", "loadPolicy"]);

onmessage = async (e) => {
  const { id, cmd, args } = e.data;
  try {
    if (!commands[cmd]) throw new Error(`unknown command ${cmd}`);
    if (!["init", "memory", "pause", "resources", "loseDevice"].includes(cmd) && !lab) throw new Error("the lab is still loading");
    if (NEEDS_POLICY.has(cmd)) await loadPolicy();
    const run = () => commands[cmd](args ?? {});
    const value = await (OWN_TURNS.has(cmd) ? run() : exclusive(run));
    postMessage({ id, ok: true, value });
  } catch (err) {
    postMessage({ id, ok: false, error: String(err?.message ?? err) });
  }
};
