"""Where the page's CPU time goes: the library's bench (src/bench.rs) in headless
Chromium on the CPU backend, sampled by the DevTools protocol's profiler; prints the
functions by self time and the library's functions by inclusive time (docs/perf.md,
"Where the page's time goes now").

    cargo build --release --target wasm32-unknown-unknown --lib --no-default-features
    wasm-bindgen --target web --no-typescript --out-dir target/prof/pkg \
        target/wasm32-unknown-unknown/release/tppo.wasm      # keeps the name section
    target/browser-venv/bin/python bench/page-profile/profile.py '{"batch":8,"prompt":128,"new":16,"reps":3,"only":"ppo"}'
"""
import sys, json, os, time, collections, subprocess
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from playwright.sync_api import sync_playwright
port = 8771
srv = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1)
q = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {"batch": 8, "prompt": 128, "new": 16, "reps": 2}
try:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--enable-unsafe-webgpu"])
        page = b.new_page()
        page.goto(f"http://127.0.0.1:{port}/bench/page-profile/index.html")
        while page.evaluate("document.body.dataset.loaded") != "1": time.sleep(0.1)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Profiler.enable"); cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
        r = page.evaluate("(q) => runBench(q)", q)
        prof = cdp.send("Profiler.stop")["profile"]
        for row in r["rows"]: print(f'{row["workload"]:<45} {row["ms"]:>8} ms')
        nodes = {n["id"]: n for n in prof["nodes"]}
        self_t = collections.Counter()
        deltas = prof["timeDeltas"]; samples = prof["samples"]
        for s, d in zip(samples, deltas[1:] + [0]):
            self_t[nodes[s]["callFrame"]["functionName"] or "(anon)"] += d
        tot = sum(self_t.values())
        for name, t in self_t.most_common(25):
            print(f"{100*t/tot:5.1f}%  {name[:150]}")
        parent = {}
        for n in prof["nodes"]:
            for c in n.get("children", []): parent[c] = n["id"]
        incl = collections.Counter()
        for s_, d in zip(samples, deltas[1:] + [0]):
            seen = set(); i = s_
            while i is not None:
                nm = nodes[i]["callFrame"]["functionName"]
                if nm.startswith("tppo::") or nm.startswith("burn_flex::ops") or "gemm::" in nm:
                    nm = nm.rsplit("::h", 1)[0]
                    if nm not in seen: seen.add(nm); incl[nm] += d
                i = parent.get(i)
        print("--- inclusive")
        for name, t in incl.most_common(60):
            print(f"{100*t/tot:5.1f}%  {name[:150]}")
finally:
    srv.kill()

