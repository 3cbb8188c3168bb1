// The page: views and controls. All work happens in the worker (www/worker.js);
// every piece of data is rendered with textContent, never as HTML.
import uPlot from "./vendor/uplot/uPlot.esm.js";
import { isolated } from "./isolation.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// ---- worker calls -----------------------------------------------------------
// The worker is replaced when its WebGPU device is lost (see `fallBackToCpu`).
let worker = null;
let nextId = 1;
const pending = new Map();
const listeners = [];
class WorkerGone extends Error {}
function spawnWorker() {
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.event) { listeners.forEach((f) => f(m)); return; }
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value); else p.reject(new Error(m.error));
  };
}
spawnWorker();
const call = (cmd, args = {}, transfer = []) => new Promise((resolve, reject) => {
  const id = nextId++;
  pending.set(id, { resolve, reject });
  worker.postMessage({ id, cmd, args }, transfer);
});

const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v; else if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
};

// ---- the URL holds the config ------------------------------------------------
// Settings, the user and the response on show, and the view: a link reproduces what a teacher shows.
const fields = { seed: "seed", seeds: "seeds", batch: "batch", lr: "lr", beta: "beta", kl: "kltarget", maxnew: "maxnew", alpha: "alpha", sl: "sl", user: "user", model: "model", response: "response" };
for (const [key, id] of Object.entries(fields)) if (params.has(key)) $(id).value = params.get(key);
if (params.has("response")) $("response").dataset.touched = "1"; // the link's response, not the user's targets
const saveUrl = () => {
  for (const [key, id] of Object.entries(fields)) params.set(key, $(id).value);
  history.replaceState(null, "", `${location.pathname}?${params}`);
};
for (const id of Object.values(fields)) $(id).addEventListener("change", saveUrl);

// ---- tabs ---------------------------------------------------------------------
const tabs = [...document.querySelectorAll('[role="tab"]')];
const show = (tab) => {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    $(t.getAttribute("aria-controls")).hidden = !on;
  }
  if (tab.id === "tab-frontier") drawFrontier();
  params.set("view", tab.id.slice(4));
  history.replaceState(null, "", `${location.pathname}?${params}`);
};
tabs.forEach((t, i) => {
  t.addEventListener("click", () => show(t));
  t.addEventListener("keydown", (e) => {
    const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (d) { const n = tabs[(i + d + tabs.length) % tabs.length]; n.focus(); show(n); }
  });
});
if (params.has("view") && $(`tab-${params.get("view")}`)) show($(`tab-${params.get("view")}`));

// ---- charts -------------------------------------------------------------------
// Every chart fills its cell of the responsive grid: uPlot draws at a fixed size, so it
// is resized with its box (a hidden view's box is 0 wide until it is shown).
function plot(opts, data, target) {
  const fit = () => Math.max(280, Math.min(target.clientWidth || opts.width, 960));
  const u = new uPlot({ ...opts, width: fit() }, data, target);
  if (opts.mode !== 2) u.root.classList.add("x-legend");
  new ResizeObserver(() => { const w = fit(); if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: opts.height }); }).observe(target);
  return u;
}
const COLORS = { sentence: "#1f77b4", token: "#d62728" };
function chart(target, title, series, yLabel, bands = BANDS) {
  const opts = {
    title, width: 420, height: 220, bands,
    scales: { x: { time: false } },
    axes: [{ label: "iteration" }, { label: yLabel }],
    series: [{ label: "iteration" }, ...series],
  };
  const u = plot(opts, [[], ...series.map(() => [])], target);
  // The bands' edges are not listed in the legend (the band says it; the sentence above names the seeds).
  u.root.querySelectorAll(".u-legend .u-series").forEach((row, i) => { if (/(lowest|highest) seed$/.test(series[i - 1]?.label ?? "")) row.style.display = "none"; });
  return u;
}
// Each seed's trailing mean over SMOOTH iterations (with a few rollouts per iteration
// one point is noisy); drawn bold, their mean over the seeds, and shaded, the band from
// the lowest seed to the highest, so that a difference inside the band is not read as
// a finding.
const SMOOTH = 5;
const both = (label) => [
  { label: `PPO ${label}`, stroke: COLORS.sentence, width: 2 },
  { label: `TPPO ${label}`, stroke: COLORS.token, width: 2 },
  { label: "PPO, lowest seed", stroke: `${COLORS.sentence}55`, width: 1 },
  { label: "PPO, highest seed", stroke: `${COLORS.sentence}55`, width: 1 },
  { label: "TPPO, lowest seed", stroke: `${COLORS.token}55`, width: 1 },
  { label: "TPPO, highest seed", stroke: `${COLORS.token}55`, width: 1 },
];
const BANDS = [{ series: [4, 3], fill: `${COLORS.sentence}22` }, { series: [6, 5], fill: `${COLORS.token}22` }];
// The trailing mean of the last k values (nulls skipped) at each point: display smoothing only.
const avg = (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
function trailing(ys, k) {
  return ys.map((_, i) => {
    const w = ys.slice(Math.max(0, i - k + 1), i + 1).filter((y) => y !== null && y !== undefined);
    return w.length ? w.reduce((a, b) => a + b, 0) / w.length : null;
  });
}
// ---- view 1: token rewards ------------------------------------------------------
let scored = null;
let lwpChart = null;

// Recolour the heatmap for the sliders' α and sl: eq. 5 and the colours come from
// the library (the worker's `shade`), the page only draws them.
async function recolor() {
  const alpha = Number($("alpha").value), sl = Number($("sl").value);
  $("alpha-v").value = alpha; $("sl-v").value = sl;
  const n = Math.max(32, scored ? scored.tokens.length : 0);
  const curve = await call("lwp", { alpha, sl, n });
  const xs = curve.map((_, i) => i + 1);
  if (!lwpChart) {
    lwpChart = plot({ title: "lwp(l), eq. 4", width: 380, height: 220, scales: { x: { time: false }, y: { range: [0, 1.05] } },
      axes: [{ label: "token position l" }, { label: "lwp" }],
      series: [{}, { label: "lwp", stroke: "#555", width: 2 }] }, [xs, curve], $("lwp-chart"));
  } else lwpChart.setData([xs, curve]);
  await drawScale();
  if (!scored) return;
  const shaded = await call("shade", { margins: scored.tokens.map((t) => t.margin), alpha, sl });
  $("tokens").replaceChildren(...scored.tokens.map((t, i) => {
    const r = shaded.rewards[i];
    const s = el("span", { text: t.text.replace(/^Ġ/, " "), title: `l=${i + 1}  P(2)−P(1)=${t.margin.toFixed(3)}  lwp=${curve[i].toFixed(3)}  r=${r.toFixed(3)}` });
    s.style.background = shaded.colours[i];
    s.dataset.reward = r.toFixed(4);
    return s;
  }));
}

// The heatmap's colour scale: the library's colours for rewards from −1 to +1.
let scaleDrawn = false;
async function drawScale() {
  if (scaleDrawn) return;
  scaleDrawn = true;
  const rewards = Array.from({ length: 11 }, (_, i) => -1 + i / 5);
  const cols = await call("colours", { rewards });
  $("token-scale").replaceChildren(
    el("span", { class: "scale-end", text: "−1 irrelevant (class 1)" }),
    ...rewards.map((r, i) => { const s = el("span", { class: "swatch", title: `r = ${r.toFixed(1)}`, "data-reward": r.toFixed(1) }); s.style.background = cols[i]; return s; }),
    el("span", { class: "scale-end", text: "+1 relevant (class 2)" }));
}

async function loadUser() {
  const index = Number($("user").value) || 0;
  const u = await call("user", { index });
  $("history").textContent = u.history.map((e) => `${e.kind.padEnd(6)} ${e.text}`).join("\n");
  if (!$("response").dataset.touched) $("response").value = u.targets.join("; ");
  await score();
}

async function score() {
  const index = Number($("user").value) || 0;
  scored = await call("score", { index, response: $("response").value, alpha: Number($("alpha").value), sl: Number($("sl").value) });
  $("sentence-score").textContent = scored.sentence_score === null
    ? "sentence reward model: loading… (its one number for the whole response follows)"
    : `sentence reward model: P(2) − P(1) = ${scored.sentence_score.toFixed(3)} (one number for the whole response)`;
  $("words").replaceChildren(...scored.words.map((w) => el("span", { class: `c${w.class}`, text: `${w.text} ${w.class}`, title: w.evidence })));
  $("verdict").textContent = `judge: sentence label ${scored.sentence} (${Math.round(100 * scored.relevant_fraction)}% of content words relevant)`;
  await recolor();
}

$("alpha").addEventListener("input", recolor);
$("sl").addEventListener("input", recolor);
$("response").addEventListener("input", () => { $("response").dataset.touched = "1"; });
$("user").addEventListener("change", () => { delete $("response").dataset.touched; loadUser().catch(fail); });
$("score").addEventListener("click", () => score().catch(fail));
$("generate").addEventListener("click", async () => {
  try {
    $("response").value = await call("generate", { model: $("model").value, index: Number($("user").value) || 0, temperature: defaults.temperature, seed: Date.now() % 100000 });
    $("response").dataset.touched = "1";
    saveUrl();
    await score();
  } catch (e) { fail(e); }
});

// ---- view 2: PPO vs TPPO --------------------------------------------------------
// Per mode: the first seed's iterations (what the other views name as "ppo"/"tppo"),
// and every seed's (the bands).
const history_ = { sentence: [], token: [] };
const seedRuns = { sentence: [], token: [] };
const clearRuns = (seeds) => {
  history_.sentence = []; history_.token = [];
  seedRuns.sentence = Array.from({ length: seeds }, () => []);
  seedRuns.token = Array.from({ length: seeds }, () => []);
};
let charts = null;
// uPlot draws no points by itself in its x-y mode (mode 2): one dot per (KL, relevance) pair.
function scatter(u, si) {
  const [xs, ys] = u.data[si];
  const dots = new Path2D();
  const r = 3 * devicePixelRatio;
  for (let k = 0; k < xs.length; k++) {
    if (xs[k] == null || ys[k] == null) continue;
    const cx = u.valToPos(xs[k], "x", true), cy = u.valToPos(ys[k], "y", true);
    dots.moveTo(cx + r, cy); dots.arc(cx, cy, r, 0, 2 * Math.PI);
  }
  return { stroke: dots, fill: dots };
}
function makeCharts() {
  // Relevance against KL, one point per iteration (Gao et al.'s reward–KL frontier).
  const frontier = plot({
    title: "frontier: rollout relevance against KL", width: 420, height: 220, mode: 2,
    scales: { x: { time: false } }, axes: [{ label: "KL to SFT (nats)" }, { label: "judge relevance" }],
    series: [{}, { label: "PPO", stroke: COLORS.sentence, fill: COLORS.sentence, paths: scatter, points: { show: false } },
      { label: "TPPO", stroke: COLORS.token, fill: COLORS.token, paths: scatter, points: { show: false } }],
  }, [null, [[], []], [[], []]], $("chart-frontier"));
  charts = {
    frontier,
    score: chart($("chart-score"), "score mean ± std (objective/scores)", [
      { label: "PPO", stroke: COLORS.sentence, width: 2 }, { label: "PPO −std", stroke: COLORS.sentence, dash: [4, 4] }, { label: "PPO +std", stroke: COLORS.sentence, dash: [4, 4] },
      { label: "TPPO", stroke: COLORS.token, width: 2 }, { label: "TPPO −std", stroke: COLORS.token, dash: [4, 4] }, { label: "TPPO +std", stroke: COLORS.token, dash: [4, 4] },
    ], "score", []),
    rel: chart($("chart-rel"), `judge relevance of the rollouts (mean of ${SMOOTH} iterations)`, both(""), "rate"),
    // The generator's truth, which no training step reads: where the judge's (and the
    // reward model's) score rises and gold does not, the run is over-optimising.
    gold: chart($("chart-gold"), `gold score of the rollouts (mean of ${SMOOTH} iterations)`, both(""), "share of queries"),
    kl: chart($("chart-kl"), "KL to SFT (objective/kl)", both(""), "nats"),
    len: chart($("chart-len"), "response length", both(""), "tokens"),
    clip: chart($("chart-clip"), "clip fraction (policy/clipfrac_avg)", both(""), "fraction"),
    time: chart($("chart-time"), "seconds per iteration (time/iteration_s)", both(""), "s"),
  };
}
// The iterations every seed of a mode has done.
const complete = (runs) => (runs.length ? Math.min(...runs.map((r) => r.length)) : 0);
function redraw() {
  const s = history_.sentence, t = history_.token;
  const n = Math.max(complete(seedRuns.sentence), complete(seedRuns.token));
  const xs = Array.from({ length: n }, (_, i) => i + 1);
  // Over a mode's seeds at each iteration every seed has reached: mean, lowest, highest.
  const over = (runs, f, smooth) => {
    const m = complete(runs);
    const per = runs.map((r) => { const v = xs.map((_, i) => (i < m ? f(r[i]) ?? null : null)); return smooth ? trailing(v, SMOOTH) : v; });
    const at = (g) => xs.map((_, i) => { const v = per.map((p) => p[i]).filter((x) => x !== null && x !== undefined); return i < m && v.length ? g(v) : null; });
    return [at((v) => v.reduce((a, b) => a + b, 0) / v.length), at((v) => Math.min(...v)), at((v) => Math.max(...v))];
  };
  const sc = (m) => m["objective/scores"], sd = (m) => m["objective/scores_std"];
  const scoreOf = (runs) => { const [mean] = over(runs, sc, false), [std] = over(runs, sd, false);
    return [mean, mean.map((v, i) => (v === null ? null : v - std[i])), mean.map((v, i) => (v === null ? null : v + std[i]))]; };
  charts.score.setData([xs, ...scoreOf(seedRuns.sentence), ...scoreOf(seedRuns.token)]);
  const pair = (f) => { const [a, alo, ahi] = over(seedRuns.sentence, f, true), [b, blo, bhi] = over(seedRuns.token, f, true); return [xs, a, b, alo, ahi, blo, bhi]; };
  charts.rel.setData(pair((m) => m["objective/judge_relevance"]));
  charts.gold.setData(pair((m) => m["objective/gold"] ?? null));
  charts.kl.setData(pair((m) => m["objective/kl"]));
  charts.len.setData(pair((m) => m["response/length"]));
  charts.clip.setData(pair((m) => m["policy/clipfrac_avg"]));
  charts.time.setData(pair((m) => m["time/iteration_s"]));
  const fr = (runs) => { const all = runs.flat(); return [all.map((m) => m["objective/kl"]), all.map((m) => m["objective/judge_relevance"])]; };
  charts.frontier.setData([null, fr(seedRuns.sentence), fr(seedRuns.token)]);
  $("view-train").dataset.points = `${complete(seedRuns.sentence)},${complete(seedRuns.token)}`;
  $("view-train").dataset.seeds = `${seedRuns.sentence.length},${seedRuns.token.length}`;
  // The last complete iteration's KL per seed (the page test reads the spread).
  const lastKl = (runs) => runs.map((r) => r[complete(runs) - 1]?.["objective/kl"]).join(" ");
  $("view-train").dataset.kl = `${lastKl(seedRuns.sentence)},${lastKl(seedRuns.token)}`;
  const k = seedRuns.sentence.length;
  const s0 = settings().seed;
  say("train-seeds", k === 1 ? `1 seed per mode (seed ${s0}): no band; set seeds to 3 or more to see how much another seed moves the curves.`
    : k ? `${k} seeds per mode (seed ${s0} to ${s0 + k - 1}): bold lines are their mean, bands the lowest to the highest seed; the credit, the rollouts and the other views show seed ${s0}.` : "");
  const lastGold = (h) => String(h.at(-1)?.["objective/gold"] ?? null);
  $("view-train").dataset.gold = `${lastGold(s)},${lastGold(t)}`;
  // Each mode's gold over every iteration and seed (the page test: a gold score that is always 0 is broken).
  const allGold = (runs) => String(avg(runs.flat().map((m) => m["objective/gold"]).filter((g) => g !== null && g !== undefined)));
  $("view-train").dataset.goldMean = `${allGold(seedRuns.sentence)},${allGold(seedRuns.token)}`;
  checkEffects();
}
// ---- where the credit goes (the paper's Fig. 1) ------------------------------------
// One fixed response (the SFT's greedy answer to the selected user) scored by each run
// as it is now: the library's rewards, values and advantages, coloured by the library.
const credit = { busy: false, again: false };
let lastCredit = null; // the last credit reply (the guided experiments' credit effects)
// Black or white text, whichever contrasts more with an rgba colour over the white page.
function ink(rgba) {
  const [r, g, b, a = 1] = rgba.match(/[\d.]+/g).map(Number);
  const lin = (c) => { const v = (255 - a * (255 - c)) / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const L = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  return (L + 0.05) / 0.05 >= 1.05 / (L + 0.05) ? "#000" : "#fff";
}
async function drawCredit() {
  if (credit.busy) { credit.again = true; return; }
  credit.busy = true;
  try {
    const index = Number($("user").value);
    const c = await call("credit", { index });
    const NAMES = { sentence: "PPO", token: "TPPO" };
    const rows = [el("tr", { class: "tokens" }, el("th", { scope: "row", text: "token" }),
      ...c.tokens.map((t) => el("td", { text: t.replace(/^Ġ/, "·") })))];
    for (const m of c.modes) {
      for (const [key, label] of [["rewards", "r"], ["values", "V"], ["advantages", "A"]]) {
        const tr = el("tr", { "data-mode": m.mode, "data-row": key, "data-gamma": String(m.gamma), "data-lam": String(m.lam) },
          el("th", { scope: "row", text: `${NAMES[m.mode]} ${label}` }));
        m.credit[key].forEach((v, i) => {
          const td = el("td", { text: v.toFixed(2), title: `${NAMES[m.mode]} ${label}(${c.tokens[i]}) = ${v.toFixed(4)}`, "data-v": String(v) });
          td.style.background = m.colours[key][i];
          td.style.color = ink(m.colours[key][i]);
          tr.append(td);
        });
        rows.push(tr);
      }
    }
    $("credit").replaceChildren(...rows);
    $("credit").dataset.iters = c.modes.map((m) => `${m.mode}:${m.iter}`).join(",");
    lastCredit = c;
    checkEffects();
    say("credit-status", `user ${index}: "${c.response}"; ` + c.modes.map((m) => `${NAMES[m.mode]} after ${m.iter} iterations (β ${m.kl_coef.toFixed(3)}, score ${m.credit.score.toFixed(3)})`).join("; "));
  } catch (e) {
    sayError("credit-status", e);
  } finally {
    credit.busy = false;
    if (credit.again) { credit.again = false; drawCredit(); }
  }
}
$("user").addEventListener("change", () => { if (started) drawCredit(); });

listeners.push((m) => {
  if (m.event === "step") {
    if (m.mode === "token" && m.seed === 0 && !$("view-train").hidden) drawCredit();
    seedRuns[m.mode][m.seed]?.push(m.value.metrics);
    if (m.seed !== 0) { redraw(); return; }
    history_[m.mode].push(m.value.metrics);
    $(`samples-${m.mode}`).replaceChildren(...m.value.samples.map((s) => el("li", { text: s || "(empty)" })));
    const it = m.value.metrics;
    say("train-status", `${m.mode === "token" ? "TPPO" : "PPO"} iteration ${it.iter}: score ${it["objective/scores"].toFixed(3)}, KL ${it["objective/kl"].toFixed(3)} (β ${it["objective/kl_coef"].toFixed(3)}), ${it["time/iteration_s"].toFixed(1)} s`);
    redraw();
  } else if (m.event === "paused") {
    $("play").disabled = false; $("pause").disabled = true;
  }
});
let started = false;
// The form as the lab's RunSettings (an empty or bad field is the library's error to report).
const settings = () => ({ seed: Number($("seed").value), batch_size: Number($("batch").value), max_new: Number($("maxnew").value),
  lr: Number($("lr").value), kl_coef: Number($("beta").value), kl_target: Number($("kltarget").value) > 0 ? Number($("kltarget").value) : null,
  alpha: Number($("alpha").value), sl: Number($("sl").value) });
async function ensureStarted() {
  if (started) return;
  const seeds = Number($("seeds").value);
  await call("start", { settings: settings(), seeds });
  clearRuns(seeds);
  started = true;
}
$("play").addEventListener("click", async () => {
  try {
    await ensureStarted();
    $("play").disabled = true; $("pause").disabled = false;
    await call("play", { iters: 1000 });
  } catch (e) { fail(e); }
});
$("pause").addEventListener("click", () => call("pause"));
// Training pauses while the tab is hidden (no work nobody sees) and resumes when it is shown.
let pausedByHiding = false;
document.addEventListener("visibilitychange", () => {
  if (document.hidden && !$("pause").disabled) {
    pausedByHiding = true;
    call("pause");
    say("train-status", "paused while the tab is hidden");
  } else if (!document.hidden && pausedByHiding) {
    pausedByHiding = false;
    $("play").click();
  }
});
$("step").addEventListener("click", async () => { try { await ensureStarted(); await call("step"); } catch (e) { fail(e); } });
$("reset").addEventListener("click", async () => {
  await call("pause");
  started = false;
  clearRuns(0);
  redraw();
  $("samples-sentence").replaceChildren(); $("samples-token").replaceChildren(); $("credit").replaceChildren();
  say("train-status", "reset: the next play starts from the SFT policy");
});

// ---- guided experiments (issue 32, item 4) ------------------------------------------
// The library's presets (src/web/presets.rs): each fills the forms, opens its view, says
// what to watch and checks its effects live — a number of the runs against the preset's
// threshold, "reached at iteration k" once it passes. `?preset=ID` is its link.
let presets = [];
let guided = null; // the preset on show
let guidedAt = null; // when its run started (ms), for "reached after s"
let reached = []; // per effect: {iter, seconds} once it passed, else null
let lemmaReport = null;
// The bold line's last value: the mean over seeds of each seed's mean of its last SMOOTH iterations.
const lastMean = (runs, key) => {
  const m = complete(runs);
  return m ? avg(runs.map((r) => avg(r.slice(Math.max(0, m - SMOOTH), m).map((x) => x[key]))).filter((v) => v !== null)) : null;
};
const firstMean = (runs, key) => (complete(runs) ? avg(runs.map((r) => r[0][key])) : null);
// An effect's value now: {value, n (the tokens, for AllTokens), iter} or null.
function measure(w) {
  if (w.kind === "metric") {
    const runs = seedRuns[w.mode] ?? [];
    const now = lastMean(runs, w.key);
    return now === null ? null : { value: now, first: firstMean(runs, w.key), iter: complete(runs) };
  }
  if (w.kind === "lemmaKl") {
    if (!lemmaReport) return null;
    return { value: lemmaReport.kl_to_star.at(-1), iter: lemmaReport.kl_to_star.length - 1 };
  }
  const m = lastCredit?.modes.find((x) => x.mode === w.mode);
  if (!m) return null;
  const value = w.kind === "rmTokens" ? m.rm_tokens : m.credit.advantages.filter((a) => a !== 0).length;
  return { value, n: lastCredit.tokens.length, iter: m.iter };
}
function passes(t, got) {
  const v = t.kind === "rise" ? got.value - got.first : got.value;
  if (t.kind === "allTokens") return got.value === got.n;
  return t.kind === "atMost" ? v <= t.value : v >= t.value;
}
function checkEffects() {
  if (!guided || guidedAt === null) return;
  const items = guided.effects.map((e, i) => {
    const got = measure(e.what);
    if (got && !reached[i] && passes(e.test, got)) {
      // The Lemma's toy runs at once: it reached its effect at the first iteration that passed.
      const iter = e.what.kind === "lemmaKl" ? lemmaReport.kl_to_star.findIndex((k) => passes(e.test, { value: k })) : got.iter;
      reached[i] = { iter, seconds: (performance.now() - guidedAt) / 1000 };
    }
    const now = !got ? "not measured yet"
      : got.n !== undefined ? `now ${got.value} of ${got.n} tokens`
      : e.test.kind === "rise" ? `now ${got.first.toFixed(2)} → ${got.value.toFixed(2)}`
      : `now ${got.value.toPrecision(3)}`;
    const when = reached[i] ? `reached at iteration ${reached[i].iter}, ${reached[i].seconds.toFixed(1)} s after run` : "not reached";
    return el("li", { text: `${e.text}: ${now}; ${when}`, "data-reached": reached[i] ? "1" : "0", "data-value": got ? String(got.value) : "",
      "data-iter": reached[i] ? String(reached[i].iter) : "", "data-seconds": reached[i] ? String(reached[i].seconds) : "" });
  });
  $("preset-effects").replaceChildren(...items);
  $("preset-box").dataset.reached = `${reached.filter(Boolean).length}/${guided.effects.length}`;
}
// Fill the forms from a preset (a field the URL sets wins when `fromUrl`), show its box and view.
function applyPreset(p, fromUrl) {
  guided = p; guidedAt = null; reached = p.effects.map(() => null);
  const inUrl = new Set(fromUrl ? Object.entries(fields).filter(([key]) => params.has(key)).map(([, id]) => id) : []);
  const set = (id, v) => { if (!inUrl.has(id)) $(id).value = Number(Number(v).toPrecision(6)); };
  if (p.run) {
    const r = p.run;
    for (const [id, v] of [["seed", r.seed], ["batch", r.batch_size], ["maxnew", r.max_new], ["lr", r.lr], ["beta", r.kl_coef],
      ["kltarget", r.kl_target ?? 0], ["alpha", r.alpha], ["sl", r.sl], ["seeds", p.seeds]]) set(id, v);
    $("alpha-v").value = $("alpha").value; $("sl-v").value = $("sl").value;
  }
  if (p.lemma) for (const [id, v] of [["lemma-beta", p.lemma.beta], ["lemma-iters", p.lemma.iters], ["lemma-seed", p.lemma.seed]]) set(id, v);
  $("preset-title").textContent = p.title;
  $("preset-watch").replaceChildren(...p.watch.map((w) => el("li", { text: w })));
  $("preset-box").hidden = false;
  $("preset-box").dataset.preset = p.id;
  say("preset-status", p.run ? `${p.iters} iterations per mode, ${p.seeds} seed${p.seeds > 1 ? "s" : ""}; the effects below are checked as it runs`
    : "the effect below is checked when it has run");
  params.set("preset", p.id);
  if (!fromUrl) saveUrl();
  show($(`tab-${p.view}`));
  $("preset-effects").replaceChildren(...p.effects.map((e) => el("li", { text: `${e.text}: not run yet`, "data-reached": "0" })));
}
async function runPreset() {
  const p = guided;
  reached = p.effects.map(() => null);
  show($(`tab-${p.view}`));
  guidedAt = performance.now();
  if (p.lemma) { await runLemma(); return; }
  await call("pause");
  started = false; lastCredit = null;
  clearRuns(0); redraw();
  await ensureStarted();
  $("play").disabled = true; $("pause").disabled = false;
  say("preset-status", `running: ${p.iters} iterations per mode`);
  const done = await call("play", { iters: p.iters });
  say("preset-status", `done: ${done} iterations per mode in ${((performance.now() - guidedAt) / 1000).toFixed(1)} s`);
  $("preset-box").dataset.done = String(done);
}
$("preset-run").addEventListener("click", () => runPreset().catch(fail));
function listPresets() {
  $("preset-list").replaceChildren(...presets.map((p) => {
    const q = new URLSearchParams({ preset: p.id, view: p.view });
    if (params.has("backend")) q.set("backend", params.get("backend"));
    const a = el("a", { href: `?${q}`, text: p.title, id: `preset-${p.id}` });
    // In the page: no reload (the link is for sharing: it opens the same state).
    a.addEventListener("click", (e) => { e.preventDefault(); for (const key of Object.keys(fields)) params.delete(key); applyPreset(p, false); });
    return el("li", {}, a);
  }));
}

// ---- view 7: Lemma 3.1 --------------------------------------------------------------
let lemmaChart = null;
async function runLemma() {
  const settings = { beta: Number($("lemma-beta").value), iters: Number($("lemma-iters").value), seed: Number($("lemma-seed").value) };
  const t = performance.now();
  try {
    lemmaReport = await call("lemma", { settings });
  } catch (e) { sayError("lemma-status", e); return; }
  const r = lemmaReport;
  const bar = (p) => el("td", {}, el("span", { class: "lemma-bar" }), ` ${p.toFixed(3)}`);
  const head = el("tr", {}, el("th", { scope: "col", text: "action" }), ...r.pi_ref.map((_, i) => el("th", { scope: "col", text: String(i + 1) })));
  const row = (label, ps) => {
    const tr = el("tr", { "data-row": label }, el("th", { scope: "row", text: label }));
    for (const p of ps) { const td = bar(p); td.dataset.v = String(p); td.firstChild.style.width = `${(4 * p).toFixed(2)}rem`; tr.append(td); }
    return tr;
  };
  $("lemma-table").replaceChildren(head, el("tr", {}, el("th", { scope: "row", text: "A(a)" }), ...r.advantages.map((a) => el("td", { text: a.toFixed(2) }))),
    row("π_ref", r.pi_ref), row("π* (closed form)", r.pi_star), row("π (trained)", r.pi));
  const xs = r.kl_to_star.map((_, i) => i);
  if (!lemmaChart) {
    lemmaChart = plot({ title: "KL(π ‖ π*) after each iteration", width: 420, height: 220, scales: { x: { time: false }, y: { distr: 3 } },
      axes: [{ label: "iteration" }, { label: "nats (log scale)" }], series: [{ label: "iteration" }, { label: "KL(π ‖ π*)", stroke: COLORS.token, width: 2 }] },
    [xs, r.kl_to_star.map((k) => Math.max(k, 1e-6))], $("chart-lemma"));
  } else lemmaChart.setData([xs, r.kl_to_star.map((k) => Math.max(k, 1e-6))]);
  say("lemma-status", `${settings.iters} iterations in ${((performance.now() - t) / 1000).toFixed(2)} s: KL(π ‖ π*) ${r.kl_to_star[0].toFixed(3)} → ${r.kl_to_star.at(-1).toExponential(2)}; objective E[A] − β·KL: π* ${r.objective_star.toFixed(4)}, trained π ${r.objective.toFixed(4)}`);
  $("view-lemma").dataset.kl = String(r.kl_to_star.at(-1));
  checkEffects();
}
$("lemma-run").addEventListener("click", () => { guidedAt = guided?.lemma ? performance.now() : guidedAt; runLemma().catch(fail); });
for (const id of ["lemma-beta", "lemma-iters", "lemma-seed"]) $(id).addEventListener("keydown", (e) => { if (e.key === "Enter") $("lemma-run").click(); });

// ---- view 3: reward models ------------------------------------------------------
async function rmCurves() {
  const get = async (l) => (await fetch(`data/models/rm-${l}.metrics.json`)).json();
  const [tok, sen] = await Promise.all([get("token"), get("sentence")]);
  const pts = (m) => m.points.filter((p) => p.eval);
  const steps = pts(tok).map((p) => p.step);
  const at = (m, key) => steps.map((s) => { const p = pts(m).find((q) => q.step === s); return p ? p.eval[key] : null; });
  plot({ title: "AUC on the eval labels", width: 640, height: 300, scales: { x: { time: false } }, axes: [{ label: "step" }, { label: "AUC" }],
    series: [{}, { label: "token RM: token AUC", stroke: "#d62728", width: 2 }, { label: "token RM: response AUC", stroke: "#ff9896", width: 2 },
      { label: "sentence RM: response AUC", stroke: "#1f77b4", width: 2 }] },
  [steps, at(tok, "token_auc"), at(tok, "sentence_auc"), at(sen, "sentence_auc")], $("chart-rm"));
  $("rm-note").textContent = `final: token RM token AUC ${tok.final.token_auc.toFixed(3)}, response AUC ${tok.final.sentence_auc.toFixed(3)}; sentence RM response AUC ${sen.final.sentence_auc.toFixed(3)}.`;
}

const rmPoints = [];
let rmCharts = null;
function rmRedraw() {
  if (!rmCharts) {
    rmCharts = {
      auc: plot({ title: "live: AUC on held-out users", width: 480, height: 240, scales: { x: { time: false } }, axes: [{ label: "step" }, { label: "AUC" }],
        series: [{}, { label: "token RM: token AUC", stroke: "#d62728", width: 2 }, { label: "token RM: response AUC", stroke: "#ff9896", width: 2 },
          { label: "sentence RM: response AUC", stroke: "#1f77b4", width: 2 }] }, [[], [], [], []], $("chart-rm-live")),
      loss: plot({ title: "live: train loss", width: 420, height: 240, scales: { x: { time: false } }, axes: [{ label: "step" }, { label: "loss" }],
        series: [{}, { label: "token RM (eq. 3)", stroke: "#d62728", width: 2 }, { label: "sentence RM", stroke: "#1f77b4", width: 2 }] }, [[], [], []], $("chart-rm-loss")),
    };
  }
  const xs = rmPoints.map((p) => p[0].step);
  rmCharts.auc.setData([xs, rmPoints.map((p) => p[0].eval.token_auc), rmPoints.map((p) => p[0].eval.sentence_auc), rmPoints.map((p) => p[1].eval.sentence_auc)]);
  rmCharts.loss.setData([xs, rmPoints.map((p) => p[0].train_loss ?? null), rmPoints.map((p) => p[1].train_loss ?? null)]);
  $("view-rm").dataset.points = String(rmPoints.length);
}
let rmStarted = false;
listeners.push((m) => {
  if (m.event === "rm") {
    rmPoints.push(m.value);
    const [t, s] = m.value;
    say("rm-status", `step ${t.step}: token AUC ${t.eval.token_auc?.toFixed(3) ?? "–"}, response AUC token RM ${t.eval.sentence_auc?.toFixed(3) ?? "–"} / sentence RM ${s.eval.sentence_auc?.toFixed(3) ?? "–"}`);
    rmRedraw();
  } else if (m.event === "rm-paused") {
    $("rm-play").disabled = false; $("rm-pause").disabled = true;
  }
});
$("rm-play").addEventListener("click", async () => {
  try {
    if (!rmStarted) {
      const got = await call("rmStart", { settings: { users: Number($("rm-users").value), eval_users: Number($("rm-eval").value),
        batch_size: Number($("rm-batch").value), lr: defaults.rm.lr, w: Number($("rm-w").value), seed: Number($("seed").value) } });
      say("rm-status", `${got.train} labeled train responses (${got.relevant_train} relevant), ${got.eval} eval responses`);
      rmStarted = true;
    }
    $("rm-play").disabled = true; $("rm-pause").disabled = false;
    await call("rmPlay", { steps: 5, evals: 1000 });
  } catch (e) { sayError("rm-status", e); }
});
$("rm-pause").addEventListener("click", () => call("pause"));

// ---- view 4: compare: the reviewer's workbench ------------------------------------
let comparison = null;
let sliceView = null;       // the library's slices of each pair, from the worker
let sliceFilter = null;     // {pair, name, members: Set} of the slice picked, or null
let page = 0;
const PAGE = 8;             // users per page of the list
// Which run produced each model's outputs (the link from a judgement to its training).
let runInfo = {};
function describeRuns() {
  const s = settings();
  const last = (h) => h[h.length - 1];
  const run = (label, h) => (h.length ? `${label}: seed ${s.seed}, iteration ${last(h).iter}, KL ${last(h)["objective/kl"].toFixed(3)} (β ${last(h)["objective/kl_coef"].toFixed(3)}), lr ${s.lr}, ${s.batch_size} rollouts/iteration, α ${s.alpha}, sl ${s.sl}` : null);
  return { sft: "SFT: the shipped checkpoint data/models/sft.safetensors", ppo: run("PPO (view 2)", history_.sentence), tppo: run("TPPO (view 2)", history_.token) };
}
// A pipeline output's run link ({id, model, seed, iteration, kl, settings, checkpoint}) as one line.
function runText(l) {
  const it = l.iteration != null ? `, iteration ${l.iteration}, KL ${Number(l.kl).toFixed(3)}` : "";
  const set = l.settings ? `: ${Object.entries(l.settings).map(([k, v]) => `${k} ${v}`).join(", ")}` : "";
  return `${l.id} (${l.model}${l.model === "sft" ? "" : `, seed ${l.seed}`}${it})${set} · ${l.checkpoint}`;
}
function tokensLine(rec) {
  const line = el("div", { class: "tokens small" });
  if (rec.tokens && rec.tokens.length) {
    line.append(...rec.tokens.map((t) => { const s = el("span", { text: t.text.replace(/^Ġ/, " "), title: `r = ${t.reward.toFixed(3)} (P(2)−P(1) = ${t.margin.toFixed(3)})` }); s.style.background = t.colour; return s; }));
  } else line.textContent = rec.response;
  return line;
}
// One model's side of a card: its output, token rewards, and the judge's verdict per query.
function side(label, rec) {
  const queries = (rec.judgement?.queries ?? []).map((q) => el("li", {
    class: q.relevant ? "c2" : "c1",
    text: `${q.text} — ${q.repeats ? `repeats query ${q.repeats}` : `${Math.round(100 * q.relevant_fraction)} % of words relevant`}`,
  }));
  // The run behind the output: view 2's runs, or the link a pipeline's files carry.
  const run = runInfo[rec.model] ?? (rec.run ? runText(rec.run) : null);
  return el("div", { class: "side" },
    el("div", { class: "who", text: `${label} · ${rec.model}` }),
    run ? el("div", { class: "run small", text: run }) : "",
    tokensLine(rec),
    el("ul", { class: "queries small", "aria-label": "the judge per query" }, ...queries));
}
function stackedBar(s, label) {
  const seg = (cls, share, name) => {
    const pct = 100 * share;
    const e = el("span", { class: `wtl-seg ${cls}`, title: `${name} ${pct.toFixed(1)} %`, "data-share": pct.toFixed(2) });
    e.style.width = `${pct}%`;
    if (pct >= 8) e.textContent = `${name} ${pct.toFixed(0)} %`;
    return e;
  };
  return el("span", { class: "wtl-bar", role: "img", "aria-label": `${label}: win ${(100 * s.win_rate).toFixed(1)} %, tie ${(100 * s.tie_rate).toFixed(1)} %, lose ${(100 * s.lose_rate).toFixed(1)} %` },
    seg("win", s.win_rate, "win"), seg("tie", s.tie_rate, "tie"), seg("lose", s.lose_rate, "lose"));
}
const fmt = (x) => (x === null || x === undefined ? "–" : x.toFixed(3));
const netText = (s) => `${(100 * s.net).toFixed(1)} [${(100 * s.net_ci.lo).toFixed(1)}, ${(100 * s.net_ci.hi).toFixed(1)}]`;
function renderSummary() {
  const pairs = comparison.pairs.filter((p) => p.summary);
  // One stacked bar per pair: the three segments add up to 100 % of the users,
  // each labelled with its share (a segment narrower than its label shows it on hover).
  $("chart-wtl").replaceChildren(el("div", { class: "wtl-title", text: "win / tie / lose, % of users (first model of the pair wins)" }),
    ...pairs.map((p) => el("div", { class: "wtl-row", "data-pair": p.pair }, el("span", { class: "wtl-label", text: p.pair }), stackedBar(p.summary, p.pair))));
  const head = el("tr", {}, ...["pair", "n", "win %", "tie %", "lose %", "net points [95 % CI]", "sign test p"].map((h) => el("th", { text: h })));
  $("wtl-table").replaceChildren(head, ...pairs.map((p) => {
    const s = p.summary;
    return el("tr", { "data-pair": p.pair }, ...[p.pair, s.n, (100 * s.win_rate).toFixed(1), (100 * s.tie_rate).toFixed(1), (100 * s.lose_rate).toFixed(1),
      netText(s), s.sign_test_p.toExponential(2)].map((v) => el("td", { text: String(v) })));
  }));
  const mhead = el("tr", {}, ...["model", "judge relevance", "hit@3", "word F1", "stem F1", "hidden-interest precision", "distinct-query rate", "κ judge–reference", "κ judge–interest"].map((h) => el("th", { text: h })));
  $("metrics-table").replaceChildren(mhead, ...(comparison.relevance ?? []).filter((r) => r.metrics).map((r) => {
    const m = r.metrics;
    return el("tr", {}, ...[r.model, fmt(r.relevance.rate), fmt(m.hit_at_3), fmt(m.word_f1), fmt(m.stem_f1), fmt(m.hidden_interest_precision),
      fmt(m.distinct_query_rate), fmt(m.kappa_judge_reference), fmt(m.kappa_judge_interest)].map((v) => el("td", { text: String(v) })));
  }));
}
function renderSlices() {
  if (!sliceView) { $("slice-table").replaceChildren(); return; }
  const head = el("tr", {}, ...["pair · slice", "n", "win / tie / lose", "net [95 % CI]", "κ ref", "κ int", ""].map((h) => el("th", { text: h })));
  const rows = [];
  for (const p of sliceView) {
    for (const sl of p.slices) {
      const picked = sliceFilter && sliceFilter.pair === p.pair && sliceFilter.name === sl.name;
      const show = el("button", { type: "button", class: "small", "aria-pressed": String(Boolean(picked)), "aria-label": `show the users of ${p.pair}, ${sl.name}` });
      show.textContent = picked ? "shown" : "show";
      show.addEventListener("click", () => { sliceFilter = { pair: p.pair, name: sl.name, members: new Set(sl.members) }; page = 0; renderSlices(); renderList(); });
      rows.push(el("tr", { "data-slice": sl.name, "data-pair": p.pair, class: picked ? "picked" : "" },
        el("td", { text: `${p.pair} · ${sl.name}` }), el("td", { text: String(sl.summary.n) }),
        el("td", { class: "bar-cell" }, stackedBar(sl.summary, `${p.pair} ${sl.name}`)),
        el("td", { text: netText(sl.summary) }), el("td", { text: fmt(sl.kappa_judge_reference) }), el("td", { text: fmt(sl.kappa_judge_interest) }),
        el("td", {}, show)));
    }
  }
  $("slice-table").replaceChildren(head, ...rows);
  $("slice-clear").hidden = !sliceFilter;
}
// The users' cards, a page at a time: both outputs side by side with their token
// rewards, the judge per query, the actual next queries, and the runs behind them.
function renderList() {
  const only = $("disagree").checked;
  const cards = [];
  for (const p of comparison.pairs) {
    if (sliceFilter && sliceFilter.pair !== p.pair) continue;
    p.records.forEach((r, i) => {
      if (only && r.outcome === "tie") return;
      if (sliceFilter && !sliceFilter.members.has(i)) return;
      cards.push([p, r]);
    });
  }
  const pages = Math.max(1, Math.ceil(cards.length / PAGE));
  page = Math.min(page, pages - 1);
  $("page-info").textContent = `${cards.length} cards${sliceFilter ? ` in ${sliceFilter.pair} · ${sliceFilter.name}` : ""} · page ${page + 1} of ${pages}`;
  $("page-prev").disabled = page === 0;
  $("page-next").disabled = page >= pages - 1;
  $("compare-list").replaceChildren(...cards.slice(page * PAGE, (page + 1) * PAGE).map(([p, r]) => el("article", { class: `record ${r.outcome}` },
    el("div", { class: "who", text: `${p.pair} · ${r.user_id} · A ${r.outcome}${r.consistent === false ? " (the two orders disagreed)" : ""}` }),
    el("div", { class: "hist", text: `history: ${r.history.slice(-4).map((e) => e.text).join(" · ")}` }),
    el("div", { class: "hist", text: `actual next queries: ${(r.a.targets ?? []).join(" · ") || "–"}` }),
    el("div", { class: "pair-sides" }, side("A", r.a), side("B", r.b)))));
}
function renderCompare() {
  if (!comparison) return;
  renderSummary();
  renderSlices();
  renderList();
}
async function slice() {
  if (!comparison) { sayError("slice-status", "compare the models (or import a compare file) first"); return; }
  try {
    const regex = $("slice-regex").value.trim();
    sliceView = await call("slices", { spec: { by: $("slice-by").value, regex: regex || null, over: $("slice-over").value } });
    sliceFilter = null; page = 0;
    say("slice-status", regex ? `users whose ${$("slice-over").value} match /${regex}/i and the rest` : `by ${$("slice-by").selectedOptions[0].textContent}`);
    renderSlices(); renderList();
  } catch (e) { sayError("slice-status", e); }
}
$("slice").addEventListener("click", slice);
$("slice-regex").addEventListener("keydown", (e) => { if (e.key === "Enter") slice(); });
$("slice-clear").addEventListener("click", () => { sliceFilter = null; page = 0; renderSlices(); renderList(); });
$("disagree").addEventListener("change", () => { page = 0; if (comparison) renderList(); });
$("page-prev").addEventListener("click", () => { page = Math.max(0, page - 1); renderList(); });
$("page-next").addEventListener("click", () => { page += 1; renderList(); });
$("compare").addEventListener("click", async () => {
  say("compare-status", "generating and judging…");
  try {
    runInfo = describeRuns();
    comparison = await call("compare", { n: Number($("compare-n").value) });
    say("compare-status", comparison.relevance.map((r) => `${r.model}: relevance ${r.relevance.rate.toFixed(3)}`).join(" · ") +
      (comparison.pairs.length ? "" : " (train PPO and TPPO in view 2 to compare them)"));
    sliceView = null; sliceFilter = null; page = 0;
    renderCompare();
    if (comparison.pairs.length) await slice();
  } catch (e) { sayError("compare-status", e); }
});

// ---- view 6: the frontier of a shipped run ----------------------------------------
// A shipped pipeline run's report (`tppo pipeline`, docs/runs/): the default preset's
// where it has a frontier, else the quick preset's (and the view says which). Drawn as
// the library computed it: each mode's seed mean and range at each KL level, the
// over-optimised flags and the matched-KL verdicts; the page computes nothing.
const MODE_COLORS = { ppo: COLORS.sentence, tppo: COLORS.token, judge: "#2ca02c", "tppo-shuffled": "#ff7f0e", "tppo-spread": "#9467bd" };
const REPORTS = ["docs/runs/default/report.json", "docs/runs/quick/report.json"];
let frontierShown = false;
async function shippedReport() {
  for (const url of REPORTS) {
    const r = await fetch(url).catch(() => null);
    const report = r?.ok ? await r.json() : null;
    if (report?.frontier) return { url, report };
  }
  throw new Error(`no shipped run with a frontier (${REPORTS.join(", ")})`);
}
function frontierChart(target, f, key, label) {
  const xs = f.levels.map(Math.sqrt);
  const series = [{ label: "√KL" }], data = [xs], bands = [];
  for (const m of f.modes) {
    const col = MODE_COLORS[m.model] ?? "#555555";
    const at = (pick) => f.levels.map((kl) => { const r = m.levels.find((l) => l.kl === kl); return r && r[key] ? pick(r[key]) : null; });
    const i = series.length;
    series.push({ label: `${m.model} (${m.seeds} seed${m.seeds === 1 ? "" : "s"})`, stroke: col, width: 2, points: { show: true } },
      { label: `${m.model}: highest seed`, stroke: `${col}66`, width: 1, dash: [4, 4] },
      { label: `${m.model}: lowest seed`, stroke: `${col}66`, width: 1, dash: [4, 4] });
    data.push(at((v) => v.mean), at((v) => v.max), at((v) => v.min));
    bands.push({ series: [i + 1, i + 2], fill: `${col}22` });
  }
  const u = plot({ title: label, width: 420, height: 260, scales: { x: { time: false } }, bands,
    axes: [{ label: "√KL to the SFT policy (√nats)" }, { label }], series }, data, target);
  // The legend names each mode once; the band's dashed edges (the lowest and highest seed) are not listed.
  u.root.querySelectorAll(".u-legend .u-series").forEach((row, i) => { if (i > 0 && i % 3 !== 1) row.style.display = "none"; });
  return u;
}
async function drawFrontier() {
  if (frontierShown) return;
  frontierShown = true;
  try {
    const { url, report } = await shippedReport();
    const f = report.frontier, z = report.sizes;
    const over = f.modes.flatMap((m) => m.levels.filter((l) => l.over_optimised).map((l) => `${m.model} at ${l.kl} nats`));
    say("frontier-source", `${url}: the ${report.preset} preset, ${report.seeds} seeds per mode, ${z.iters} iterations of ${z.batch_size} rollouts; ` +
      `KL levels ${f.levels.join(", ")} nats; frontier on the ${f.users} users, verdicts on ${z.eval_users} eval users. ` +
      `Over-optimised (RM score up, gold down from the level below): ${over.length ? over.join("; ") : "nowhere"}.` +
      (report.preset === "quick" ? " The quick preset exercises the code (CI runs it); it is not a finding: the default preset's run is not shipped yet." : ""));
    frontierChart($("frontier-judge"), f, "judge", "judge relevance");
    frontierChart($("frontier-gold"), f, "gold", "gold score");
    frontierChart($("frontier-rm"), f, "rm_score", "reward model's score");
    const pct = (x) => (100 * x).toFixed(1);
    const cell = (c) => (c ? `${pct(c.mean)} [${pct(c.interval.lo)}, ${pct(c.interval.hi)}] MDE ${pct(c.mde)}` : "–");
    const t = $("frontier-verdicts");
    t.replaceChildren(el("caption", { class: "small", text: "A − B in points (users × seeds resampled, 95 % interval; MDE: the smallest difference found four times in five)" }),
      el("tr", {}, ...["pair (A − B)", "KL (nats)", "judge A", "judge B", "judge A − B", "gold A − B", "verdict"].map((h) => el("th", { scope: "col", text: h }))),
      ...f.verdicts.map((v) => el("tr", { "data-pair": v.pair, "data-kl": String(v.kl) },
        ...[v.pair, String(v.kl), pct(v.a), pct(v.b), cell(v.judge), cell(v.gold), v.verdict].map((x) => el("td", { text: x })))));
  } catch (e) {
    sayError("frontier-source", e);
  }
}

// ---- view 5: import / export ----------------------------------------------------
$("import").addEventListener("change", async () => {
  const f = $("import").files[0];
  if (!f) return;
  try {
    if (!limits) throw new Error("the lab is still loading");
    if (f.size > limits.max_import_bytes) throw new Error(`${f.name}: ${f.size} bytes, more than the ${limits.max_import_bytes >> 20} MB the lab imports`);
    const buf = await f.arrayBuffer();
    const got = await call("import", { name: f.name, bytes: buf }, [buf]);
    // The summary (win / tie / lose, or the relevance rate) comes computed from the library.
    const records = got.kind === "compare" ? got.records
      : got.records.map((r) => ({ user_id: r.user_id, history: r.history, a: r, b: r, outcome: "tie" }));
    const summary = got.kind === "compare" ? got.summary : null;
    comparison = { relevance: got.relevance ? [{ model: f.name, relevance: got.relevance }] : [], pairs: [{ pair: f.name, records, summary }] };
    runInfo = {}; sliceView = null; sliceFilter = null; page = 0;
    say("import-status", `${f.name}: ${got.records.length} ${got.kind} records; open the Compare view`);
    renderCompare();
  } catch (e) { sayError("import-status", e); }
});
const download = (name, data, type) => {
  const a = el("a", { download: name });
  a.href = URL.createObjectURL(new Blob([data], { type }));
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
};
// Every seed's iterations: `ppo[k]` and `tppo[k]` are seed `config.seed + k`'s.
$("export-json").addEventListener("click", () => download("tppo-lab-metrics.json", JSON.stringify({ config: settings(), ppo: seedRuns.sentence, tppo: seedRuns.token }, null, 1), "application/json"));
$("export-csv").addEventListener("click", () => {
  const seed0 = settings().seed;
  const rows = [["ppo", seedRuns.sentence], ["tppo", seedRuns.token]].flatMap(([r, runs]) => runs.flatMap((h, k) => h.map((m) => [r, seed0 + k, m])));
  const keys = rows.length ? Object.keys(rows[0][2]) : [];
  const csv = [["run", "seed", ...keys].join(","), ...rows.map(([r, seed, m]) => [r, seed, ...keys.map((k) => m[k])].join(","))].join("\n");
  download("tppo-lab-metrics.csv", csv, "text/csv");
});
$("export-compare-html").addEventListener("click", async () => {
  try {
    const regex = $("slice-regex").value.trim();
    const html = await call("comparisonHtml", { spec: { by: $("slice-by").value, regex: regex || null, over: $("slice-over").value } });
    download("tppo-lab-comparison.html", html, "text/html");
    say("export-status", "tppo-lab-comparison.html written: the slices of the Compare view, readable offline");
  } catch (e) { sayError("export-status", e); }
});
$("export-compare").addEventListener("click", () => download("tppo-lab-compare.json", JSON.stringify(comparison ?? {}), "application/json"));
for (const model of ["ppo", "tppo"]) {
  $(`export-${model}`).addEventListener("click", async () => {
    try { download(`${model}.safetensors`, await call("exportPolicy", { model }), "application/octet-stream"); say("export-status", `${model}.safetensors written`); }
    catch (e) { sayError("export-status", e); }
  });
}

// ---- start ------------------------------------------------------------------------
// A status line says how things stand; an error is shown as one (colour, icon, role="alert").
function say(id, text) {
  const e = $(id);
  e.classList.remove("error"); e.removeAttribute("role"); e.textContent = text;
}
function sayError(id, err) {
  const e = $(id);
  e.classList.add("error"); e.setAttribute("role", "alert"); e.textContent = `⚠ ${String(err?.message ?? err)}`;
}
function fail(e) {
  if (e instanceof WorkerGone) return; // the device-lost notice says what happened
  sayError("status", e);
}
async function memory() {
  try {
    const m = await call("memory");
    const heap = performance.memory ? ` · JS heap ${(performance.memory.usedJSHeapSize / 2 ** 20).toFixed(0)} MB` : "";
    const gpu = m.gpu == null ? "" : ` · GPU buffers ${(m.gpu / 2 ** 20).toFixed(0)} MB`;
    $("memory").textContent = `wasm memory ${(m.wasm / 2 ** 20).toFixed(0)} MB${gpu}${heap}`;
  } catch { /* the worker is busy starting */ }
}

// For the end-to-end test: every URL the page and its worker requested.
// And to test the CPU fallback: destroy the worker's WebGPU device mid-run.
window.tppoLab = {
  resources: async () => [...performance.getEntriesByType("resource").map((e) => e.name), ...(await call("resources"))],
  // For the soak test: the worker's wasm memory and GPU buffers (garbage collected first), and each mode's iteration times.
  memory: () => call("memory", { collect: true }),
  iterations: () => ({ ppo: history_.sentence.map((m) => m["time/iteration_s"]), tppo: history_.token.map((m) => m["time/iteration_s"]) }),
  loseDevice: () => call("loseDevice"),
  // The library's defaults, to compare with the form.
  defaults: () => call("defaults"),
  // The library's guided experiments, to compare with what a preset's link fills in.
  presets: () => call("presets"),
};

function showBackend(b, reason) {
  $("badge").textContent = b.backend === "cpu" ? `CPU fallback: ${reason ?? b.fallback_reason ?? "no GPU backend built"}` : `${b.backend}: ${b.name}`;
  $("badge").title = b.name; // on the CPU: how many threads (the threaded build, www/builds.js)
  $("badge").dataset.backend = b.backend;
}

// The WebGPU device was lost (driver reset, GPU removed, or `tppoLab.loseDevice()`):
// whatever lived on it is gone and the wasm state that used it cannot be trusted, so
// the worker is replaced by one on the CPU backend. PPO/TPPO restart from the SFT
// policy with the same settings (and keep playing if they were); the curves of the
// lost runs are cleared, and the notice says so.
let lost = false;
async function fallBackToCpu(why) {
  if (lost) return;
  lost = true;
  const wasPlaying = $("pause").disabled === false;
  const at = `PPO ${history_.sentence.length} / TPPO ${history_.token.length} iterations`;
  worker.terminate();
  for (const p of pending.values()) p.reject(new WorkerGone("the WebGPU worker was replaced"));
  pending.clear();
  spawnWorker();
  const notice = `WebGPU device lost (${why}) after ${at}; switched to the CPU backend`;
  say("status", `${notice}: reloading the models…`);
  $("badge").textContent = `CPU fallback: ${notice}`;
  $("badge").dataset.backend = "cpu";
  $("badge").dataset.lost = "1";
  const info = await call("init", { backend: "cpu" });
  call("loadPolicy");
  showBackend(info.backend, notice);
  started = false; rmStarted = false;
  clearRuns(0);
  redraw();
  $("play").disabled = false; $("pause").disabled = true;
  $("rm-play").disabled = false; $("rm-pause").disabled = true;
  say("train-status", `${notice}. PPO and TPPO restart from the SFT policy with the same settings.`);
  say("status", `${notice}. Runs on the GPU were lost; the lab goes on on the CPU.`);
  if (wasPlaying) $("play").click();
}
listeners.push((m) => {
  if (m.event === "policy-ready") {
    document.body.dataset.policy = "1";
    policyAt = (performance.now() - startedAt) / 1000;
    if (readyText && !$("status").classList.contains("error")) say("status", readyStatus());
    // The sentence reward model arrived with the policy: its score joins the first view.
    if (scored && scored.sentence_score === null) score().catch(fail);
  }
  else if (m.event === "policy-error") sayError("status", `the SFT policy did not load: ${m.error}`);
});
listeners.push((m) => {
  if (m.event === "device-lost") fallBackToCpu(`${m.reason}${m.message ? `: ${m.message}` : ""}`).catch(fail);
});

let limits = null; // the library's, once the worker is up
let defaults = null; // the library's settings the forms start from (www/ holds no default number)
// Fill each setting's field from the library's defaults, unless the URL set it.
function fillDefaults(d) {
  const form = { seed: d.run.seed, seeds: d.seeds, batch: d.run.batch_size, lr: d.run.lr, beta: d.run.kl_coef, kltarget: d.run.kl_target ?? 0,
    maxnew: d.run.max_new, alpha: d.run.alpha, sl: d.run.sl, "rm-users": d.rm.users, "rm-eval": d.rm.eval_users,
    "rm-batch": d.rm.batch_size, "rm-w": d.rm.w, "compare-n": d.compare_users,
    "lemma-beta": d.lemma.beta, "lemma-iters": d.lemma.iters, "lemma-seed": d.lemma.seed };
  const inUrl = new Set(Object.entries(fields).filter(([key]) => params.has(key)).map(([, id]) => id));
  // f32 settings arrive widened (0.05 as 0.0500000007…): shown to 6 significant digits.
  for (const [id, v] of Object.entries(form)) if (!inUrl.has(id)) $(id).value = Number(v.toPrecision(6));
  $("alpha-v").value = $("alpha").value; $("sl-v").value = $("sl").value;
}
const startedAt = performance.now();
let policyAt = null; // seconds from the start to the SFT policy's arrival
let readyText = null;
const readyStatus = () => readyText + (policyAt === null ? "; the SFT policy, the sentence reward model and the training users are loading (generation and training wait for them)" : `; SFT policy, sentence reward model and training users loaded at ${policyAt.toFixed(1)} s`);
async function main() {
  const t0 = startedAt;
  await isolated((text) => say("status", text));
  say("status", "loading models, tokenizer, judge…");
  const info = await call("init", { backend: params.get("backend") === "cpu" ? "cpu" : "auto" });
  limits = await call("limits");
  $("seeds").max = limits.max_seeds;
  defaults = await call("defaults");
  fillDefaults(defaults);
  presets = await call("presets");
  listPresets();
  const asked = presets.find((p) => p.id === params.get("preset"));
  if (asked) applyPreset(asked, true);
  const tLab = performance.now();
  showBackend(info.backend);
  $("user").max = info.users - 1;
  makeCharts();
  await loadUser();
  rmCurves().catch((e) => { $("rm-note").textContent = String(e.message ?? e); });
  setInterval(memory, 2000);
  memory();
  document.body.dataset.timings = JSON.stringify({ ...info.timings, first_view: performance.now() - tLab });
  readyText = `ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${info.users} evaluation users`;
  say("status", readyStatus());
  document.body.dataset.readyAt = String(performance.timeOrigin + performance.now()); // epoch ms, for the first-visit measurement
  document.body.dataset.ready = "1";
  call("loadPolicy"); // the SFT policy, while the user reads the first view
}

main().catch((e) => {
  $("badge").textContent = "error";
  fail(e);
  document.body.dataset.ready = "error";
});
