#!/usr/bin/env python3
"""The lab end to end in headless Chromium, through Playwright (Python).

    python tests/e2e/run.py [--out DIR] [--url URL] [--only NAME,...] [--bench QUERY]

Drives Debian's Chromium (`executable_path`, never Playwright's own browser
download) against the lab served by scripts/serve.py (started here on a free
port unless --url is given). Screenshots of each view go to DIR (default
target/browser-check); on a failure, a Playwright trace (open it with
`playwright show-trace DIR/trace.zip`) and a screenshot of the failing page too.

The page's Content-Security-Policy forbids eval, so the waits poll from Python
(`page.evaluate` goes through the DevTools protocol, which the CSP does not
govern) instead of `wait_for_function`.

Checks (each prints ok/FAIL and its detail):
 1. the page as a user opens it (WebGPU when the browser has it): the badge names a backend;
 2. destroying the worker's WebGPU device while PPO/TPPO play: the page falls back
    to a CPU worker, says so in the badge, and training goes on;
 3-11. with ?backend=cpu (SwiftShader's WebGPU is too slow to train on in CI): the
    heatmap renders and α recolours it, words carry evidence, PPO/TPPO iterations
    draw curve points and rollouts, the reward models train live, the compare view
    shows win/tie/lose, an imported JSONL holding <img onerror>/<script> text
    executes nothing, and no request leaves the page's origin (Playwright's
    network events);
12-17. the Compare workbench: slices (a typed regex) with W/T/L, interval and κ per
    slice, picking a slice filters the paged list, the slices stay in view; axe-core
    (vendored) finds no serious/critical violation on the five views and every control
    is reachable by Tab; the bench page runs in a worker and its clock keeps ticking.

--bench QUERY runs `tppo bench` in the page (bench.html) on the CPU backend and on
WebGPU instead, and prints its table (not a test). --bench-table TPPO runs the same
workloads natively (TPPO, one core and two) and in the page at the lab's default sizes
and at the bench size, and prints the joint table of docs/perf.md (not a test);
--rounds N measures it N times over (medians, and the ratios' range)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = os.environ.get("TPPO_CHROMIUM", "/usr/bin/chromium")
# DESIGN §6: WebGPU through SwiftShader, no background traffic.
ARGS = ["--enable-unsafe-webgpu", "--no-sandbox", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        "--disable-dev-shm-usage",
        # gc() in the page's worker: the soak's memory readings collect garbage first.
        "--js-flags=--expose-gc"]


class Checks:
    def __init__(self, only):
        self.passed, self.failed, self.only = [], [], only

    def wanted(self, group):
        return not self.only or group in self.only

    def skip(self, name, why):
        """A check that could not run here, said as such (never counted as passed)."""
        print(f"skip {name}: {why}", flush=True)

    def check(self, name, ok, detail=""):
        (self.passed if ok else self.failed).append(name)
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + str(detail) if detail else ''}", flush=True)
        return ok


def serve():
    """scripts/serve.py on a free port; returns (process, base URL)."""
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "serve.py"), "--port", "0", "--quiet",
                          "--dir", ROOT], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if not line.startswith("serving "):
        p.kill()
        raise SystemExit(f"scripts/serve.py did not start: {line!r}")
    return p, line.split(" ", 1)[1]


def serve_static(folder):
    """`python3 -m http.server` on a free port over `folder` (no COOP/COEP headers, no
    compression: a static host at its plainest); returns (process, base URL)."""
    p = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", folder],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline().strip()  # "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ..."
    if "port " not in line:
        p.kill()
        raise SystemExit(f"python3 -m http.server did not start: {line!r}")
    return p, f"http://127.0.0.1:{line.split('port ', 1)[1].split()[0]}/"


def static_site(page, base, c):
    """The site of scripts/site.sh on a server that sends no isolation headers: the
    service worker (coi-serviceworker.js) makes the page cross-origin isolated."""
    import urllib.request
    with urllib.request.urlopen(base) as r:
        headers = {k.lower() for k in r.headers.keys()}
    c.check("the static server sends no COOP/COEP headers", not {"cross-origin-opener-policy", "cross-origin-embedder-policy"} & headers,
            sorted(headers))
    state, t = open_page(page, base + "?backend=cpu")
    iso, controlled, title, cores = page.evaluate("[crossOriginIsolated, !!navigator.serviceWorker.controller, document.getElementById('badge').title, navigator.hardwareConcurrency]")
    c.check("the site's service worker isolates the page and the CPU backend is the threaded build",
            state == "1" and iso and controlled and (cores < 2 or f"{cores} threads" in title),
            f"ready {state} in {t:.1f} s; crossOriginIsolated {iso}; controlled {controlled}; {cores} cores; badge title {title!r}")


def poll(page, js, seconds=240, every=0.3):
    """Evaluate `js` (an expression) until it is truthy; (value, seconds waited)."""
    t0 = time.time()
    while time.time() - t0 < seconds:
        try:
            v = page.evaluate(js)
        except Exception:  # navigating, or the page is busy: ask again
            v = None
        if v:
            return v, time.time() - t0
        time.sleep(every)
    return None, time.time() - t0


def open_page(page, url):
    page.goto(url)
    return poll(page, "document.body.dataset.ready || null", 240)


def shot(page, out, name):
    page.screenshot(path=os.path.join(out, name))


SOAK_QUERY = "backend=cpu&batch=2&maxnew=12&seed=3"


def soak(page, base, out, c, iters, query=SOAK_QUERY):
    """PPO + TPPO playing for `iters` iterations per mode (by default on the CPU backend
    with 2 rollouts of 12 tokens; `query` sets the page's backend and settings; issue 16):
    the worker's wasm memory (and on WebGPU the bytes of its GPU buffers) and the seconds
    per iteration against the iteration, and pause / resume along the way. Writes
    DIR/soak.csv; checks that after a warm-up of 5 iterations the memory stops growing
    and the iteration time does not drift up."""
    state, _ = open_page(page, base + f"?{query}&view=train")
    badge = page.evaluate("[document.getElementById('badge').dataset.backend, document.getElementById('badge').textContent]")
    page.click("#play")
    rows, paused_ok, resumed_ok, t0 = [], None, None, time.time()
    while True:
        it = page.evaluate("window.tppoLab.iterations()")
        mem = page.evaluate("window.tppoLab.memory().catch(() => null)")
        n = min(len(it["ppo"]), len(it["tppo"]))
        if mem is not None and (not rows or rows[-1][0] != n):
            gpu = None if mem.get("gpu") is None else mem["gpu"] / 2 ** 20
            mappable = None if mem.get("gpuMappable") is None else mem["gpuMappable"] / 2 ** 20
            rows.append((n, mem["wasm"] / 2 ** 20, gpu, mappable, it["ppo"][n - 1] if n else None, it["tppo"][n - 1] if n else None, time.time() - t0))
        if paused_ok is None and n >= max(2, iters // 2):
            page.click("#pause")
            poll(page, "document.getElementById('play').disabled ? null : 1", 120)
            before = page.evaluate("document.getElementById('view-train').dataset.points")
            time.sleep(4)
            paused_ok = before == page.evaluate("document.getElementById('view-train').dataset.points")
            page.click("#play")
            got, _ = poll(page, f"document.getElementById('view-train').dataset.points !== {json.dumps(before)} || null", 120)
            resumed_ok = bool(got)
        if n >= iters or time.time() - t0 > 3 * 60 * 60:
            break
        time.sleep(1.0)
    page.click("#pause")
    with open(os.path.join(out, "soak.csv"), "w") as f:
        f.write("iterations,wasm_mb,gpu_mb,gpu_mappable_mb,ppo_s,tppo_s,elapsed_s\n")
        for r in rows:
            f.write(",".join("" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v) for v in r) + "\n")
    warm = [r for r in rows if r[0] >= 5]
    grown = warm[-1][1] - warm[0][1] if len(warm) >= 2 else None
    on_gpu = len(warm) >= 2 and warm[0][2] is not None and warm[-1][2] is not None
    gpu_grown = warm[-1][2] - warm[0][2] if on_gpu else None
    it = page.evaluate("window.tppoLab.iterations()")
    times = [a + b for a, b in zip(it["ppo"], it["tppo"])]
    early = sum(times[5:10]) / max(1, len(times[5:10]))
    late = sum(times[-5:]) / 5
    print(f"soak: {len(times)} iterations per mode; wasm memory {rows[0][1]:.0f} → {warm[0][1] if warm else float('nan'):.0f} MB at iteration 5 → {rows[-1][1]:.0f} MB; "
          f"PPO+TPPO seconds per iteration {early:.2f} (iterations 6–10) → {late:.2f} (last 5); {out}/soak.csv")
    if on_gpu:
        print(f"soak: GPU buffers {rows[0][2] or 0:.0f} → {warm[0][2]:.0f} MB at iteration 5 → {warm[-1][2]:.0f} MB "
              f"(of which mappable, for reads back: {warm[0][3]:.0f} → {warm[-1][3]:.0f} MB)")
    c.check("soak: pause stops and play resumes training", bool(paused_ok) and bool(resumed_ok), f"paused {paused_ok}, resumed {resumed_ok}")
    c.check("soak: wasm memory does not grow after the warm-up", grown is not None and grown <= 16, f"{grown} MB grown after iteration 5")
    if on_gpu:
        c.check("soak: GPU buffers do not grow after the warm-up", gpu_grown <= 16, f"{gpu_grown:.1f} MB grown after iteration 5")
    elif "backend=cpu" not in query:
        c.skip("soak: GPU buffers do not grow after the warm-up", f"the lab ran on the {badge[0]} backend ({badge[1]})")
    c.check("soak: the iteration time does not drift up", late <= 1.5 * early, f"{early:.2f} s → {late:.2f} s")


def first_visit(browser, base):
    """Bytes over the wire and time to ready: a fresh profile, then a repeat visit (issue 16).
    Bytes are counted twice: those of the responses finished when the page said ready,
    and all of them once the SFT policy (loaded after ready) has arrived."""
    for backend in ["cpu", "auto"]:
        context = browser.new_context()
        sizes = []
        context.on("requestfinished", lambda r: sizes.append((r.url, r.sizes()["responseBodySize"], time.time())))
        page = context.new_page()
        for visit in ["fresh profile", "repeat visit"]:
            sizes.clear()
            t0 = time.time()
            state, _ = open_page(page, f"{base}?backend={backend}")
            t_ready = float(page.evaluate("document.body.dataset.readyAt || '0'")) / 1000  # the page's own clock (epoch)
            policy, _ = poll(page, "document.body.dataset.policy || null", 240)
            t_all = time.time()
            before = sum(n for _, n, t in sizes if t <= t_ready)
            total = sum(n for _, n, _ in sizes)
            status = page.evaluate("document.getElementById('status').textContent")
            print(f"      start-up (ms): {page.evaluate('document.body.dataset.timings')}")
            print(f"{backend:>4} {visit:<13}: ready={state} in {t_ready - t0:.1f} s, {before / 1e6:.1f} MB before ready; "
                  f"policy={policy} at {t_all - t0:.1f} s, {total / 1e6:.1f} MB in all ({len(sizes)} responses); {status!r}")
            for url, n, t in sorted(sizes, key=lambda x: -x[1])[:7]:
                print(f"      {n / 1e6:7.2f} MB  {'after ' if t > t_ready else 'before'} ready  {url[len(base):]}")
        context.close()


def bench(browser, base, query, backends):
    page = browser.new_page()
    for backend in backends:
        page.goto(f"{base}bench.html?backend={backend}&{query}")
        done, t = poll(page, "document.body.dataset.done || null", 1800, 1.0)
        print(f"# backend={backend}: {done} after {t:.0f} s")
        print(page.evaluate("document.getElementById('out').textContent"))
        if done == "1":
            print(page.evaluate("document.body.dataset.result"))


# The sizes of the joint table: the lab's own defaults (the page's 4 rollouts of 24 new
# tokens; 108 tokens is the median prompt of the eval users with the shipped tokenizer)
# and the bench sizes of issue 16.
TABLE_SIZES = [("lab defaults", 4, 108, 24), ("bench size", 8, 128, 16)]


def host_cpu():
    """The CPU's model and its widest x86 vector extension, from /proc/cpuinfo: the
    native build's GEMM picks AVX-512 or AVX2 kernels at run time, the page has 4-lane
    simd128 either way, so the ratios depend on it (docs/perf.md, session 14)."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return "unknown (no /proc/cpuinfo)"
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    simd = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "no AVX2"
    return f"{model} ({simd})"


def bench_table(browser, base, native, reps, rounds=1):
    """`tppo bench` natively (one core: `taskset -c 0`, one rayon thread; and both cores)
    and in the page on the CPU backend (its worker; the threaded build on a pool of one
    Web Worker, then one per core), the same workloads and sizes, one after the other,
    `rounds` times over; a Markdown table with the medians over the rounds and the ratios
    of the page on every core to native single-core and to native on both cores (with
    more than one round: the median ratio of the rounds, their range in brackets)."""
    print(f"# native: {host_cpu()}; page: {browser.browser_type.name} {browser.version}", flush=True)
    page = browser.new_page()
    cells = {}  # (size, workload) -> [(native 1 core, native 2 cores, page 1 thread, page all threads) per round]
    for r in range(rounds):
        for label, batch, prompt, new in TABLE_SIZES:
            args = ["bench", "--cpu-only", "--json", "--batch", str(batch), "--prompt-len", str(prompt),
                    "--max-new", str(new), "--reps", str(reps), "--only", "generate,rm,ppo"]
            one = json.loads(subprocess.run(["taskset", "-c", "0", native, *args], check=True, capture_output=True,
                                            text=True, env={**os.environ, "RAYON_NUM_THREADS": "1"}).stdout)
            two = json.loads(subprocess.run([native, *args], check=True, capture_output=True, text=True).stdout)
            web = {}
            for threads in (1, 0):  # the page's threaded build on a pool of one worker, then one per core
                page.goto(f"{base}bench.html?backend=cpu&batch={batch}&prompt={prompt}&new={new}&reps={reps}&threads={threads}")
                done, _ = poll(page, "document.body.dataset.done || null", 1800, 1.0)
                if done != "1":
                    out = page.evaluate("document.getElementById('out').textContent")
                    raise RuntimeError(f"the page's bench did not finish: {out}")
                web[threads] = json.loads(page.evaluate("document.body.dataset.result"))
            ms = lambda res, w: next(x["ms"] for x in res["rows"] if x["workload"] == w)
            for x in web[0]["rows"]:
                w = x["workload"]
                key = (f"{label} (batch {batch}, prompt {prompt}, {new} new)", w)
                cells.setdefault(key, []).append((ms(one, w), ms(two, w), ms(web[1], w), x["ms"]))
                if w.startswith("PPO"):
                    print(f"# round {r + 1}: {label}, PPO iteration: page / native 1 core {x['ms'] / ms(one, w):.2f}×", flush=True)

    def ratio(runs, i, j):
        rs = [x[i] / x[j] for x in runs]
        return f"{statistics.median(rs):.1f}×" + (f" ({min(rs):.1f}–{max(rs):.1f})" if len(rs) > 1 else "")

    cores = page.evaluate("navigator.hardwareConcurrency")
    print(f"| size | workload | native, 1 core (ms) | native, 2 cores (ms) | page, 1 thread (ms) | page, {cores} threads (ms) | page ({cores} threads) / native 1 core | page / native 2 cores |")
    print("|---|---|---|---|---|---|---|---|")
    for (size, w), runs in cells.items():
        a, b, p1, p = (statistics.median(x[i] for x in runs) for i in range(4))
        print(f"| {size} | {w} | {a:,.0f} | {b:,.0f} | {p1:,.0f} | {p:,.0f} | {ratio(runs, 3, 0)} | {ratio(runs, 3, 1)} |")


AXE = os.path.join(ROOT, "tests", "e2e", "vendor", "axe-core", "axe.min.js")


def accessibility(page, out, c):
    """axe-core (vendored, tests/e2e/vendor/axe-core) on each of the seven views as they
    stand after the test used them: no serious or critical violation; and every control
    of each view reachable with Tab (issue 18)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # Through the DevTools protocol, which the page's CSP does not govern (as for polls).
        with open(AXE) as f:
            page.evaluate(f.read() + "\n;0")
    counts = {}
    for tab in ["heatmap", "train", "rm", "compare", "io", "frontier", "lemma"]:
        page.click(f"#tab-{tab}")
        time.sleep(0.3)
        found = page.evaluate(f"""axe.run(document.getElementById('view-{tab}').closest('body'), {{ resultTypes: ['violations'] }}).then((r) =>
            r.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.length + ' × ' + v.nodes[0].target.join(' ')))""")
        counts[tab] = found
        # Tab from the view's tab button through the page: every visible, enabled control of the view is reached.
        controls = page.evaluate(f"""[...document.querySelectorAll('#view-{tab} button, #view-{tab} input, #view-{tab} select, #view-{tab} a[href]')]
            .filter((e) => !e.disabled && e.offsetParent !== null).map((e) => e.id || e.getAttribute('aria-label') || e.textContent.trim())""")
        page.focus(f"#tab-{tab}")
        reached = set()
        for _ in range(len(controls) + 40):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("(() => { const e = document.activeElement; return e ? (e.id || e.getAttribute('aria-label') || e.textContent.trim()) : '' })()"))
        missed = [x for x in controls if x not in reached]
        c.check(f"view {tab}: every control reachable by keyboard", not missed, f"{len(controls)} controls; missed {missed[:5]}")
    shot(page, out, "7-accessibility-last-view.png")
    detail = "; ".join(f"{t}: {len(v)}" + (f" ({' | '.join(v[:3])})" if v else "") for t, v in counts.items())
    c.check("axe-core: no serious or critical violations on the seven views", all(not v for v in counts.values()), detail)


def gae(rewards, values, gamma, lam):
    """GAE written out (Schulman et al. 2016, eq. 11–16): δ_t = r_t + γV(s_{t+1}) − V(s_t),
    A_t = δ_t + γλA_{t+1}, V after the last token 0; independent of src/rl/gae.rs."""
    adv, last = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        nxt = values[t + 1] if t + 1 < len(values) else 0.0
        last = rewards[t] + gamma * nxt - values[t] + gamma * lam * last
        adv[t] = last
    return adv


def credit_view(page, out, c):
    """Issue 32, item 3: after 3 iterations, the credit table shows one response under
    both runs; its advantages are GAE of its own rewards and values (recomputed here)."""
    iters, _ = poll(page, "(() => { const d = document.getElementById('credit').dataset.iters; return d === 'sentence:3,token:3' ? d : null })()", 120)
    rows = page.evaluate("""[...document.querySelectorAll('#credit tr[data-mode]')].map((tr) => [tr.dataset.mode, tr.dataset.row,
        [...tr.querySelectorAll('td')].map((td) => Number(td.dataset.v)), Number(tr.dataset.gamma), Number(tr.dataset.lam)])""")
    tokens = page.evaluate("document.querySelectorAll('#credit tr.tokens td').length")
    status = page.evaluate("document.getElementById('credit-status').textContent")
    got = {(m, r): v for m, r, v, _, _ in rows}
    discount = {m: (g, l) for m, _, _, g, l in rows}
    worst = 0.0
    for mode in ["sentence", "token"]:
        r, v, a = got.get((mode, "rewards")), got.get((mode, "values")), got.get((mode, "advantages"))
        if not (r and v and a) or not (len(r) == len(v) == len(a) == tokens):
            worst = float("inf")
            continue
        want = gae(r, v, *discount[mode])  # the run's own γ and λ
        worst = max(worst, max(abs(x - y) for x, y in zip(a, want)))
    c.check("where the credit goes: both runs' rewards, values and advantages of one response, advantages = GAE of them",
            iters is not None and worst < 1e-3, f"{iters}; {tokens} tokens; max |A − GAE(r, V)| {worst:.2e}; {status[:160]}")
    shot(page, out, "3b-credit.png")


def frontier_view(page, c):
    """The Frontier view draws the shipped run's frontier (the default preset's report
    where it has one, else the quick preset's) and its verdicts as the report states them."""
    report, url = None, None
    for run in ["default", "quick"]:
        with open(os.path.join(ROOT, "docs", "runs", run, "report.json")) as f:
            r = json.load(f)
        if r.get("frontier"):
            report, url = r, f"docs/runs/{run}/report.json"
            break
    page.click("#tab-frontier")
    rows, t = poll(page, "document.querySelectorAll('#frontier-verdicts tr[data-pair]').length || null", 30)
    got = page.evaluate("[...document.querySelectorAll('#frontier-verdicts tr[data-pair]')].map((r) => [...r.cells].map((d) => d.textContent))")
    source = page.evaluate("document.getElementById('frontier-source').textContent")
    charts = page.evaluate("document.querySelectorAll('#view-frontier .uplot').length")
    want = report["frontier"]["verdicts"] if report else []
    # Shown to 0.1 point (JS rounds ties up, Python to even: compared as numbers).
    near = lambda shown, x: abs(float(shown) - 100 * x) <= 0.05 + 1e-9
    same = len(got) == len(want) and all(g[0] == v["pair"] and near(g[2], v["a"]) and near(g[3], v["b"]) and g[6] == v["verdict"] and
                                         (v["judge"] is None or near(g[4].split(" [")[0], v["judge"]["mean"])) for g, v in zip(got, want))
    c.check("the Frontier view draws the shipped run and its verdicts as the report states them",
            report is not None and source.startswith(url) and charts == 3 and same,
            f"{url}; {len(got)} rows (report: {len(want)}); {charts} charts; {source[:90]!r}")


def hidden_tab_pauses(page, c):
    """Issue 32, item 2: playing training pauses while the tab is hidden and resumes
    when it is shown (headless Chromium never hides a tab: document.hidden is set and
    visibilitychange dispatched through the DevTools protocol)."""
    points = "document.getElementById('view-train').dataset.points"
    hide = "(h) => { Object.defineProperty(document, 'hidden', { value: h, configurable: true }); document.dispatchEvent(new Event('visibilitychange')); }"
    page.click("#play")
    before = page.evaluate(points)
    moved, _ = poll(page, f"{points} !== {json.dumps(before)} || null", 120)
    page.evaluate(f"({hide})(true)")
    paused, _ = poll(page, "!document.getElementById('play').disabled || null", 120)
    held = page.evaluate(points)
    time.sleep(3)
    still = page.evaluate(points) == held
    page.evaluate(f"({hide})(false)")
    resumed, _ = poll(page, f"{points} !== {json.dumps(held)} || null", 120)
    page.click("#pause")
    poll(page, "!document.getElementById('play').disabled || null", 120)
    c.check("a hidden tab pauses training and showing it resumes", bool(moved) and bool(paused) and still and bool(resumed),
            f"played {bool(moved)}, paused when hidden {bool(paused)} at {held}, held 3 s {still}, resumed {bool(resumed)}")


def guided_presets(page, base, out, c):
    """Issue 32, item 4: each guided experiment, opened by its link, fills the forms from
    the library's preset, opens its view and says what to watch in three sentences; run,
    it reaches every effect it names within its iterations (the page shows each value
    and the iteration it passed at). The seconds each took are printed, not asserted."""
    open_page(page, base + "?backend=cpu")
    presets = page.evaluate("window.tppoLab.presets()")
    listed = page.evaluate("[...document.querySelectorAll('#preset-list a')].map((a) => a.id.slice(7) + ' ' + a.getAttribute('href'))")
    c.check("the page lists the library's guided experiments, each a link",
            [x.split()[0] for x in listed] == [p["id"] for p in presets] and all(f"preset={p['id']}" in x for p, x in zip(presets, listed)),
            f"{listed}")
    timings = {}
    for p in presets:
        pid = p["id"]
        open_page(page, f"{base}?backend=cpu&preset={pid}")
        box = page.evaluate("""[document.getElementById('preset-box').hidden, document.getElementById('preset-title').textContent,
            document.querySelectorAll('#preset-watch li').length, document.querySelector('[role=tab][aria-selected=true]').id]""")
        form = page.evaluate("Object.fromEntries(['seed', 'seeds', 'batch', 'maxnew', 'lr', 'beta', 'kltarget', 'alpha', 'sl', 'lemma-beta', 'lemma-iters', 'lemma-seed'].map((k) => [k, Number(document.getElementById(k).value)]))")
        want = {}
        if p["run"]:
            r = p["run"]
            want = {"seed": r["seed"], "seeds": p["seeds"], "batch": r["batch_size"], "maxnew": r["max_new"], "lr": r["lr"], "beta": r["kl_coef"],
                    "kltarget": r["kl_target"] or 0, "alpha": r["alpha"], "sl": r["sl"]}
        if p["lemma"]:
            want = {"lemma-beta": p["lemma"]["beta"], "lemma-iters": p["lemma"]["iters"], "lemma-seed": p["lemma"]["seed"]}
        off = {k: (form[k], v) for k, v in want.items() if abs(form[k] - v) > 1e-6 * max(1, abs(v))}
        c.check(f"preset {pid}: its link fills the library's settings, opens its view and says what to watch",
                box[0] is False and box[1] == p["title"] and box[2] == 3 and box[3] == f"tab-{p['view']}" and not off,
                f"{box}; differ: {off}")
        t0 = time.time()
        page.click("#preset-run")
        n = len(p["effects"])
        if p["run"]:
            done, _ = poll(page, "document.getElementById('preset-box').dataset.done || null", 900, 0.5)
        else:
            done, _ = poll(page, f"document.getElementById('preset-box').dataset.reached === '{n}/{n}' || null", 60)
        took = time.time() - t0
        effects = page.evaluate("""[...document.querySelectorAll('#preset-effects li')].map((li) => [li.dataset.reached, li.dataset.iter,
            li.dataset.seconds, li.textContent])""")
        ok = len(effects) == n and all(e[0] == "1" and e[1] != "" and int(e[1]) <= p["iters"] for e in effects)
        timings[pid] = max((float(e[2]) for e in effects if e[2]), default=None)
        c.check(f"preset {pid}: reaches each effect it names within its {p['iters']} iterations",
                bool(done) and ok, f"run {took:.1f} s; " + " | ".join(e[3] for e in effects))
        shot(page, out, f"8-preset-{pid}.png")
    print("seconds from run to the last effect reached, per preset:", json.dumps(timings))


def url_round_trip(page, base, c):
    """Issue 32, item 2: the URL holds the settings, the user and the response on show and
    the view; the URL the page writes, opened again, shows the same state."""
    from urllib.parse import quote
    q = f"backend=cpu&view=train&user=5&model=tppo&seed=7&lr=0.0002&response={quote('weather in paris; cheap flights')}"
    open_page(page, base + "?" + q)
    page.click("#tab-heatmap")
    page.evaluate("(() => { const a = document.getElementById('alpha'); a.value = '0.5'; a.dispatchEvent(new Event('change')); })()")
    written = page.url
    state = "(() => ['user', 'model', 'seed', 'lr', 'alpha', 'response'].map((id) => document.getElementById(id).value).join('|') + '|' + document.querySelector('[role=tab][aria-selected=true]').id)()"
    first = page.evaluate(state)
    open_page(page, written)
    again = page.evaluate(state)
    want = "5|tppo|7|0.0002|0.5|weather in paris; cheap flights|tab-heatmap"
    c.check("the URL round trip: settings, user, response and view come back from the page's own URL",
            first == want and again == want, f"{first!r} → {again!r}; {written[len(base):][:160]}")


def run(page, base, out, c, requests, errors):
    # 1. As a user opens it.
    state, t = open_page(page, base)
    badge = page.evaluate("document.getElementById('badge').textContent")
    status = page.evaluate("document.getElementById('status').textContent")
    print(f"page ready={state} after {t:.1f} s; badge: {badge!r}; status: {status!r}")
    c.check("page loads and the badge names a backend", state == "1" and bool(badge) and badge not in ("starting…", "error"), badge)
    c.check("no console errors on load (favicon included)", not errors, "; ".join(errors[:3]) or "none")
    shot(page, out, "1-badge-default-backend.png")

    # 2. Losing the WebGPU device mid-training: the page replaces its worker by one on
    # the CPU backend, says so, and PPO/TPPO go on playing there.
    if c.wanted("device-loss"):
        if page.evaluate("document.getElementById('badge').dataset.backend") == "cpu":
            c.check("losing the WebGPU device mid-training falls back to the CPU", False, "the page has no WebGPU device to lose")
        else:
            page.evaluate("for (const [k, v] of [['batch', '2'], ['maxnew', '12']]) document.getElementById(k).value = v;"
                          "document.getElementById('tab-train').click(); document.getElementById('play').click()")
            time.sleep(3)  # a WebGPU iteration on SwiftShader takes about a minute: the first is in flight
            n = page.evaluate("window.tppoLab.loseDevice().then(n => n, e => 'error ' + e)")
            got, t = poll(page, "(() => { const b = document.getElementById('badge'), p = document.getElementById('view-train').dataset.points || '';"
                                "return b.dataset.lost === '1' && b.dataset.backend === 'cpu' && /^[1-9][0-9]*,[1-9]/.test(p) ? b.textContent + ' | points ' + p : null })()", 240)
            page.click("#pause")
            c.check("losing the WebGPU device mid-training falls back to the CPU with a notice and training goes on",
                    bool(got), f"{n} device(s) destroyed; {got!r} {t:.1f} s later")
            shot(page, out, "1b-device-lost.png")

    # 3. On the CPU backend.
    state, t = open_page(page, base + "?backend=cpu&batch=2&maxnew=12&seed=1")
    status = page.evaluate("document.getElementById('status').textContent")
    c.check("page loads on the CPU backend", state == "1", f"{t:.1f} s; {status}")
    # The form starts from the library's defaults (Lab's `defaults`), but for what the URL set.
    d = page.evaluate("window.tppoLab.defaults()")
    ids = ["seed", "seeds", "batch", "lr", "beta", "kltarget", "maxnew", "alpha", "sl", "rm-users", "rm-eval", "rm-batch", "rm-w", "compare-n"]
    form = page.evaluate(f"Object.fromEntries({json.dumps(ids)}.map((id) => [id, Number(document.getElementById(id).value)]))")
    run, rm = d["run"], d["rm"]
    want = {"seed": 1, "seeds": d["seeds"], "batch": 2, "maxnew": 12, "lr": run["lr"], "beta": run["kl_coef"], "kltarget": run["kl_target"] or 0,
            "alpha": run["alpha"], "sl": run["sl"], "rm-users": rm["users"], "rm-eval": rm["eval_users"],
            "rm-batch": rm["batch_size"], "rm-w": rm["w"], "compare-n": d["compare_users"]}
    off = {k: (form.get(k), v) for k, v in want.items() if form.get(k) is None or abs(form[k] - v) > 1e-6 * max(1, abs(v))}
    c.check("the form starts from the library's defaults, the URL's settings kept", not off, f"differ: {off}" if off else f"{len(want)} fields")
    # scripts/serve.py isolates the page (COOP/COEP), so the CPU backend is the threaded build
    # (www/builds.js) on one Web Worker per core; the badge's title says how many.
    iso, title, cores = page.evaluate("[crossOriginIsolated, document.getElementById('badge').title, navigator.hardwareConcurrency]")
    c.check("the CPU backend runs on a pool of threads (cross-origin isolated page, threaded build)",
            iso and (cores < 2 or f"{cores} threads" in title), f"crossOriginIsolated {iso}; {cores} cores; badge title {title!r}")
    poll(page, "document.querySelectorAll('#tokens span').length > 0 || null", 60)
    before = page.evaluate("[...document.querySelectorAll('#tokens span')].map(e => e.style.background)")
    page.fill("#alpha", "3")
    page.dispatch_event("#alpha", "input")
    page.fill("#sl", "2")
    page.dispatch_event("#sl", "input")
    changed, _ = poll(page, f"JSON.stringify([...document.querySelectorAll('#tokens span')].map(e => e.style.background)) !== {json.dumps(json.dumps(before))} || null", 30)
    words = page.evaluate("[...document.querySelectorAll('#words span')].map(e => e.title)")
    c.check("heatmap renders and moving α recolours tokens", len(before) > 0 and bool(changed), f"{len(before)} tokens")
    scale = page.evaluate("[...document.querySelectorAll('#token-scale .swatch')].map((s) => [s.dataset.reward, getComputedStyle(s).backgroundColor])")
    c.check("the heatmap has a colour scale from −1 to +1 (the library's colours)",
            len(scale) == 11 and scale[0][0] == "-1.0" and scale[-1][0] == "1.0" and len({col for _, col in scale}) >= 6,
            f"{len(scale)} swatches: {scale[0] if scale else None} … {scale[-1] if scale else None}")
    c.check("every judged word carries evidence on hover", len(words) > 0 and all(words))
    shot(page, out, "2-heatmap.png")

    page.click("#tab-train")
    t0 = time.time()
    pts = None
    for i in range(3):
        page.click("#step")
        pts, _ = poll(page, f"(() => {{ const p = document.getElementById('view-train').dataset.points; return p === '{i + 1},{i + 1}' ? p : null }})()", 240)
    ms = (time.time() - t0) * 1000 / 6
    c.check("3 PPO + 3 TPPO iterations produce curve points", pts == "3,3", f"{pts}; {ms:.0f} ms per iteration of a mode, all its seeds (CPU backend, 2 rollouts)")
    # Several seeds live (issue 32, item 5): every mode runs the library's default number of
    # seeds, the curves draw their mean and band, and the view says how many.
    seeds, kl, note = page.evaluate("[document.getElementById('view-train').dataset.seeds, document.getElementById('view-train').dataset.kl, document.getElementById('train-seeds').textContent]")
    n = d["seeds"]
    kls = [[float(x) for x in part.split()] for part in (kl or ",").split(",")]
    c.check(f"each mode runs {n} seeds side by side, drawn as a mean and a band, and the view says so",
            n >= 3 and seeds == f"{n},{n}" and all(len(k) == n and len(set(k)) > 1 for k in kls) and note.startswith(f"{n} seeds per mode"),
            f"seeds {seeds}; last KL per seed {kls}; {note[:60]!r}")
    samples = page.evaluate("document.querySelectorAll('#samples-token li, #samples-sentence li').length")
    c.check("the rollouts are shown as they train", samples > 0)
    # Gold beside the judge: the page has the corpus, so every iteration's rollouts get a gold score.
    gold = page.evaluate("document.getElementById('view-train').dataset.gold || ''").split(",")
    # Over 3 iterations × the seeds × the rollouts' queries, a gold score of exactly 0 in a
    # mode would mean the corpus or the generator's truth is missing (the SFT's per-query gold
    # is about 0.4 greedy, 0.08 sampled).
    mean = page.evaluate("document.getElementById('view-train').dataset.goldMean || ''").split(",")
    c.check("the live curves carry the rollouts' gold score (the generator's truth) in both modes, not always 0",
            len(gold) == 2 and all(g not in ("", "null") and 0 <= float(g) <= 1 for g in gold) and
            len(mean) == 2 and all(m not in ("", "null") and 0 < float(m) <= 1 for m in mean), f"last {gold}; mean over iterations and seeds {mean}")
    credit_view(page, out, c)
    hidden_tab_pauses(page, c)
    frontier_view(page, c)
    # The frontier (relevance against KL) is a scatter: read back the pixels it drew in each mode's colour.
    dots = page.evaluate("""(() => {
      const cv = document.querySelector('#chart-frontier canvas');
      const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
      const near = (i, [r, g, b]) => Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) < 40;
      let ppo = 0, tppo = 0;
      for (let i = 0; i < px.length; i += 4) { if (near(i, [31, 119, 180])) ppo++; else if (near(i, [214, 39, 40])) tppo++; }
      return [ppo, tppo];
    })()""")
    c.check("the frontier chart draws each mode's (KL, relevance) points", min(dots) > 20, f"pixels PPO {dots[0]}, TPPO {dots[1]}")
    shot(page, out, "3-ppo-vs-tppo.png")

    page.click("#tab-rm")
    poll(page, "document.querySelector('#chart-rm canvas') || null", 30)
    page.fill("#rm-users", "32")
    page.fill("#rm-eval", "16")
    page.fill("#rm-batch", "4")
    page.click("#rm-play")
    pts, _ = poll(page, "(() => { const p = Number(document.getElementById('view-rm').dataset.points || 0); return p >= 2 ? p : null })()", 240)
    page.click("#rm-pause")
    poll(page, "document.getElementById('rm-play').disabled ? null : 1", 120)
    c.check("token and sentence reward models train live with AUC points", bool(pts), page.evaluate("document.getElementById('rm-status').textContent"))
    shot(page, out, "4-reward-models.png")

    page.click("#tab-compare")
    page.fill("#compare-n", "8")
    page.click("#compare")
    rows, _ = poll(page, "(() => { const r = document.querySelectorAll('#wtl-table tr[data-pair]'); return r.length >= 3 ? r.length : null })()", 240)
    c.check("the compare view shows win/tie/lose for 3 pairs", rows == 3, page.evaluate("document.getElementById('compare-status').textContent"))
    shot(page, out, "5-compare.png")
    # What the win/tie/lose chart drew, read back from the page: per pair, the three
    # segments lie side by side (no overlap), fill the bar, and each one's width is its
    # share of the users in the table (issue 18: tie bars once covered the wins).
    drawn = page.evaluate("""(() => {
      const table = {};
      for (const tr of document.querySelectorAll('#wtl-table tr[data-pair]')) {
        const td = [...tr.querySelectorAll('td')].map((t) => t.textContent);
        table[tr.dataset.pair] = [Number(td[2]), Number(td[3]), Number(td[4])];
      }
      return [...document.querySelectorAll('#chart-wtl .wtl-row')].map((row) => {
        const bar = row.querySelector('.wtl-bar').getBoundingClientRect();
        const segs = [...row.querySelectorAll('.wtl-seg')].map((s) => s.getBoundingClientRect());
        return { pair: row.dataset.pair, table: table[row.dataset.pair] || null, bar: [bar.left, bar.width],
                 segs: segs.map((r) => [r.left, r.width]) };
      });
    })()""")
    problems = []
    for d in drawn:
        left, width = d["bar"]
        segs = d["segs"]
        if d["table"] is None or len(segs) != 3 or width <= 0:
            problems.append(f"{d['pair']}: {len(segs)} segments, table {d['table']}")
            continue
        inner = sum(w for _, w in segs)
        for (l0, w0), (l1, _) in zip(segs, segs[1:]):
            if l1 < l0 + w0 - 1.0:
                problems.append(f"{d['pair']}: segments overlap")
        for (_, w), share in zip(segs, d["table"]):
            if abs(100 * w / inner - share) > 1.0:
                problems.append(f"{d['pair']}: a segment is {100 * w / inner:.1f} % wide for {share} %")
        if abs(inner - width) > 4.0:
            problems.append(f"{d['pair']}: segments cover {inner:.0f} of {width:.0f} px")
    c.check("the win/tie/lose chart stacks the three shares side by side, adding up to 100 %",
            len(drawn) == 3 and not problems, "; ".join(problems) or f"{len(drawn)} stacked bars")

    # The workbench (issue 17): slices with their own W/T/L, intervals and κ; a regex typed
    # in the page; picking a slice filters the paged list; the summary stays in view.
    got, _ = poll(page, "document.querySelectorAll('#slice-table tr[data-slice]').length || null", 60)
    page.fill("#slice-regex", "games?|music")
    page.select_option("#slice-over", "history")
    page.click("#slice")
    rows, _ = poll(page, """(() => { const r = [...document.querySelectorAll('#slice-table tr[data-slice]')];
      return r.length && r.every((tr) => ['matches', 'does not match'].includes(tr.dataset.slice)) ?
        r.map((tr) => [tr.dataset.pair, tr.dataset.slice, ...[...tr.querySelectorAll('td')].map((t) => t.textContent)]) : null })()""", 60)
    per_pair = {}
    for r in rows or []:
        per_pair.setdefault(r[0], 0)
        per_pair[r[0]] += int(r[3])
    kappa_cells = [r[6] for r in rows or []]
    c.check("a typed regex slices each pair's users into matches / the rest, with W/T/L, interval and κ per slice",
            bool(rows) and len(per_pair) == 3 and all(n == 8 for n in per_pair.values())
            and all("[" in r[5] for r in rows) and all(k == "–" or -1.0 <= float(k) <= 1.0 for k in kappa_cells),
            f"{len(rows or [])} slice rows; users per pair {per_pair}; slice-drift rows before: {got}")
    page.click("#slice-table tr[data-slice] button")
    info, _ = poll(page, "(() => { const t = document.getElementById('page-info').textContent; return / in .* · /.test(t) ? t : null })()", 10)
    cards = page.evaluate("document.querySelectorAll('#compare-list article').length")
    first = rows[0] if rows else ["", "", "", "0"]
    c.check("picking a slice shows its users only, a page at a time, both outputs side by side",
            bool(info) and cards == min(int(first[3]), 8) and page.evaluate("document.querySelectorAll('#compare-list .pair-sides .side').length") == 2 * cards,
            f"{info!r}; {cards} cards")
    page.evaluate("document.querySelector('#compare-list').lastElementChild?.scrollIntoView()")
    kept = page.evaluate("(() => { const r = document.getElementById('slice-table').getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight })()")
    c.check("the slices stay in view while the list scrolls", bool(kept))
    shot(page, out, "5b-workbench-slices.png")

    # The comparison exported as a static HTML page, opened offline under its own CSP.
    page.click("#tab-io")
    with page.expect_download(timeout=60000) as dl:
        page.click("#export-compare-html")
    saved = os.path.join(out, "comparison.html")
    dl.value.save_as(saved)
    static = page.context.new_page()
    static_errors, static_requests = [], []
    static.on("console", lambda m: static_errors.append(m.text) if m.type == "error" else None)
    static.on("request", lambda r: static_requests.append(r.url))
    static.goto("file://" + saved)
    got = static.evaluate("""(() => ({ slices: document.querySelectorAll('table.slices tr').length - 1,
      cards: document.querySelectorAll('.card').length, scripts: document.scripts.length,
      bars: [...document.querySelectorAll('.bar')].map((b) => [...b.children].reduce((w, s) => w + s.getBoundingClientRect().width, 0) / b.getBoundingClientRect().width) }))()""")
    shot(static, out, "5c-exported-comparison.png")
    static.close()
    c.check("the comparison exports as a static HTML page that reads offline under its CSP (slices, bars, examples, no script)",
            got["slices"] >= 3 and got["cards"] >= 3 and got["scripts"] == 0 and not static_errors
            and all(0.97 < w < 1.03 for w in got["bars"]) and all(u.startswith("file://") for u in static_requests),
            f"{got['slices']} slice rows, {got['cards']} example cards, {len(got['bars'])} bars; console errors {static_errors[:2]}; requests {static_requests[:3]}")
    page.click("#tab-compare")

    # Import a file whose text is HTML and script.
    evil = {"user_id": "<img src=x onerror=\"window.__pwned=1\">", "model": "<script>window.__pwned=2</script>",
            "history": [{"kind": "search", "text": "<script>window.__pwned=3</script>"}],
            "response": "<img src=x onerror=\"window.__pwned=4\">; <b>bold</b>",
            "judgement": {"response": "x", "words": [], "queries": [], "relevant_fraction": 0.0, "sentence": 1}, "tokens": []}
    path = os.path.join(tempfile.mkdtemp(), "evil.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps(evil) + "\n")
    page.click("#tab-io")
    page.set_input_files("#import", path)
    msg, _ = poll(page, "document.getElementById('import-status').textContent || null", 30)
    page.click("#tab-compare")
    time.sleep(0.5)
    pwned = page.evaluate("window.__pwned === undefined ? null : window.__pwned")
    injected = page.evaluate("document.querySelectorAll('#compare-list img, #compare-list script, #compare-list b').length")
    literal = page.evaluate("document.getElementById('compare-list').textContent.includes('<img src=x')")
    c.check("an imported JSONL with <img onerror> and <script> text executes nothing and shows as text",
            pwned is None and injected == 0 and literal, f"import: {msg!r}")
    shot(page, out, "6-import.png")
    # A pipeline's compare file: each output names the run it came from (manifest link).
    def out_rec(model, rid, seed):
        return {"user_id": "eval-000001", "model": model, "history": [{"kind": "search", "text": "cheap flights"}],
                "response": "cheap flights", "targets": ["orlando hotels"],
                "judgement": {"response": "cheap flights", "words": [], "queries": [], "relevant_fraction": 0.0, "sentence": 1},
                "tokens": [], "run": {"id": rid, "model": model, "seed": seed, "checkpoint": f"{rid}-best.safetensors",
                                      "iteration": 7, "kl": 1.5, "settings": {"lr": 1e-05, "kl_target": 2.0}}}
    rec = {"user_id": "eval-000001", "history": [{"kind": "search", "text": "cheap flights"}],
           "a": out_rec("tppo", "tppo-seed1", 1), "b": out_rec("ppo", "ppo-seed2", 2),
           "ab": "tie", "ba": "tie", "outcome": "tie", "consistent": True}
    linked = os.path.join(tempfile.mkdtemp(), "compare-tppo-vs-ppo.jsonl")
    with open(linked, "w") as f:
        f.write(json.dumps(rec) + "\n")
    page.click("#tab-io")
    page.set_input_files("#import", linked)
    msg, _ = poll(page, "(() => { const t = document.getElementById('import-status').textContent; return t.includes('compare-tppo-vs-ppo') ? t : null })()", 30)
    page.click("#tab-compare")
    runs, _ = poll(page, "(() => { const r = [...document.querySelectorAll('#compare-list .run')].map((e) => e.textContent); return r.length === 2 ? r : null })()", 30)
    c.check("an imported pipeline compare file shows the run behind each output (id, seed, iteration, KL, settings)",
            bool(runs) and "tppo-seed1 (tppo, seed 1, iteration 7, KL 1.500)" in runs[0] and "lr 0.00001" in runs[0] and "ppo-seed2" in runs[1],
            f"{msg!r}; {runs}")

    # A file that is not JSONL: the error is shown as an error (role="alert"), not as a grey status line.
    bad = os.path.join(tempfile.mkdtemp(), "bad.jsonl")
    with open(bad, "w") as f:
        f.write("this is not json\n")
    page.click("#tab-io")
    page.set_input_files("#import", bad)
    err, _ = poll(page, "(() => { const e = document.getElementById('import-status'); return e.classList.contains('error') && e.getAttribute('role') === 'alert' ? e.textContent : null })()", 30)
    c.check("a bad import file shows an error styled as one (role=alert)", bool(err), repr(err))
    shot(page, out, "6b-import-error.png")

    accessibility(page, out, c)

    # What Playwright saw on the network, and what the page and its worker fetched
    # (their resource timing entries), together.
    seen = requests + page.evaluate("window.tppoLab.resources().then(r => r, e => ['error ' + e])")
    origin = base.rstrip("/")
    exported = "file://" + os.path.join(out, "comparison.html")  # the test opened the exported page itself
    outside = [u for u in seen if not (u.startswith(origin + "/") or u.startswith("data:") or u.startswith("blob:") or u == exported)]
    c.check("no request leaves the page's origin", len(requests) > 0 and not outside, f"{len(seen)} requests; outside: {outside[:3]}")

    url_round_trip(page, base, c)
    guided_presets(page, base, out, c)

    # The bench page runs `tppo bench` in a worker: its clock keeps ticking (every 200 ms) while it runs.
    page.goto(f"{base}bench.html?backend=cpu&batch=2&prompt=16&new=4&reps=1")
    done, t = poll(page, "document.body.dataset.done || null", 300, 0.5)
    ticks = int(page.evaluate("document.body.dataset.ticks || '0'"))
    c.check("the bench page runs in a worker and the page never freezes", done == "1" and ticks >= 0.5 * t / 0.2,
            f"{done} after {t:.1f} s; the page's 200-ms clock ticked {ticks} times")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "browser-check"))
    ap.add_argument("--url", help="a lab already served (default: start scripts/serve.py)")
    ap.add_argument("--site", metavar="DIR", help="serve DIR (scripts/site.sh) with python3 -m http.server instead: no headers, a service worker for isolation")
    ap.add_argument("--only", default="", help="comma-separated groups: main, device-loss, soak")
    ap.add_argument("--bench", metavar="QUERY", help="run bench.html with this query instead of the tests")
    ap.add_argument("--backends", default="cpu,auto", help="with --bench: the backends, comma-separated")
    ap.add_argument("--bench-table", metavar="TPPO", help="the joint native/page bench table (docs/perf.md), native runs with this binary")
    ap.add_argument("--reps", type=int, default=3, help="with --bench-table: timed repetitions per workload")
    ap.add_argument("--rounds", type=int, default=1, help="with --bench-table: measure the whole table this many times (medians and ranges)")
    ap.add_argument("--first-visit", action="store_true", help="measure bytes and time to ready (fresh profile, repeat visit) instead of the tests")
    ap.add_argument("--soak", type=int, default=12, metavar="N", help="iterations per mode of the soak check (300 for the long run)")
    ap.add_argument("--soak-query", default=SOAK_QUERY, metavar="Q", help="the page's query for the soak check (e.g. backend=auto for WebGPU; without batch/maxnew: the page's defaults)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    server = None
    if a.url:
        base = a.url if a.url.endswith("/") else a.url + "/"
    elif a.site:
        server, base = serve_static(a.site)
    else:
        server, base = serve()
    c = Checks(set(filter(None, a.only.split(","))))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            if a.bench:
                bench(browser, base, a.bench, a.backends.split(","))
                return 0
            if a.bench_table:
                bench_table(browser, base, a.bench_table, a.reps, a.rounds)
                return 0
            if a.first_visit:
                first_visit(browser, base)
                return 0
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            context.tracing.start(screenshots=True, snapshots=True)
            requests = []
            context.on("request", lambda r: requests.append(r.url))
            # Workers' requests reach the context too (service workers aside).
            page = context.new_page()
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            try:
                if a.site and (c.wanted("main") or c.wanted("site")):
                    static_site(page, base, c)
                if c.wanted("main") or c.wanted("device-loss"):
                    run(page, base, a.out, c, requests, errors)
                if c.wanted("soak"):
                    soak(page, base, a.out, c, a.soak, a.soak_query)
            except Exception as e:  # a broken step: record it as a failure, keep the trace
                c.check("the test ran to its end", False, f"{type(e).__name__}: {e}")
            if c.failed:
                try:
                    shot(page, a.out, "failure.png")
                except Exception:
                    pass
                context.tracing.stop(path=os.path.join(a.out, "trace.zip"))
                print(f"trace: {os.path.join(a.out, 'trace.zip')} (playwright show-trace)")
            else:
                context.tracing.stop()
            if errors:
                print(f"console errors: {errors[:5]}")
            browser.close()
    finally:
        if server:
            server.kill()
    print(f"browser check: {len(c.passed)} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
