#!/usr/bin/env python3
"""End-to-end test of the served lab in real headless Chromium, through Debian's
chromedriver (plain WebDriver over HTTP, no extra packages). Usage:
browser_check.py URL OUT_DIR

1. The page as a user opens it (WebGPU when the browser has it): the badge names a
   backend.
1b. Destroying the worker's WebGPU device while PPO/TPPO play: the page falls
   back to a CPU worker, says so in the badge, and training goes on.
2. With ?backend=cpu (SwiftShader's WebGPU is too slow to train on in CI):
   the heatmap renders and moving α changes token colours; 3 PPO + 3 TPPO
   iterations produce curve points; the compare view shows win/tie/lose; an
   imported JSONL holding <img onerror> and <script> text executes nothing and is
   shown as text; no request leaves the page's origin.
Screenshots of each view go to OUT_DIR.

browser_check.py URL OUT_DIR --bench [QUERY]: instead, run `tppo bench` in the
page (bench.html) on the CPU backend and on WebGPU and print the rows (not part
of the test; WebGPU here is SwiftShader, a software rasteriser)."""
import base64, json, os, subprocess, sys, tempfile, time, urllib.request, socket

url, out = sys.argv[1], sys.argv[2]
bench = "--bench" in sys.argv
bench_query = sys.argv[sys.argv.index("--bench") + 1] if bench and len(sys.argv) > sys.argv.index("--bench") + 1 else "batch=8&prompt=128&new=16&reps=2"
os.makedirs(out, exist_ok=True)
origin = url.split("/", 3)[:3]
origin = "/".join(origin)


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


port = free_port()
driver = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}"
passed, failed = [], []


def call(method, path, body=None, timeout=300):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())["value"]


def check(name, ok, detail=""):
    (passed if ok else failed).append(name)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")


try:
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/status", timeout=1); break
        except OSError:
            time.sleep(0.1)
    profile = tempfile.mkdtemp()
    args = ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            f"--user-data-dir={profile}", "--window-size=1280,1000"]
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}}
    sid = call("POST", "/session", caps)["sessionId"]
    s = f"/session/{sid}"
    call("POST", s + "/timeouts", {"script": 280000})
    js = lambda code, *a: call("POST", s + "/execute/sync", {"script": code, "args": list(a)})
    js_async = lambda code: call("POST", s + "/execute/async", {"script": code, "args": []})

    def shot(name):
        open(os.path.join(out, name), "wb").write(base64.b64decode(call("GET", s + "/screenshot")))

    def wait(code, seconds=240, every=0.3):
        t0 = time.time()
        while time.time() - t0 < seconds:
            try:
                v = js(code)
            except OSError:  # the page is busy (a benchmark holds its thread): ask again
                continue
            if v:
                return v, time.time() - t0
            time.sleep(every)
        return None, time.time() - t0

    def open_page(u):
        call("POST", s + "/url", {"url": u})
        return wait("return document.body.dataset.ready || null", 240)

    if bench:
        for backend in ["cpu", "auto"]:
            call("POST", s + "/url", {"url": f"{url}bench.html?backend={backend}&{bench_query}"})
            done, t = wait("return document.body.dataset.done || null", 1800, 1.0)
            print(f"# backend={backend}: {done} after {t:.0f} s")
            print(js("return document.getElementById('out').textContent"))
            if done == "1":
                print(js("return document.body.dataset.result"))
        call("DELETE", s)
        sys.exit(0)

    # 1. As a user opens it.
    state, t = open_page(url)
    badge = js("return document.getElementById('badge').textContent")
    status = js("return document.getElementById('status').textContent")
    print(f"page ready={state} after {t:.1f} s; badge: {badge!r}; status: {status!r}")
    check("page loads and the badge names a backend", state == "1" and bool(badge) and badge not in ("starting…", "error"), badge)
    shot("1-badge-default-backend.png")
    # Optional timing on WebGPU (SwiftShader here is a software rasteriser: slow, so not in CI).
    gpu_steps = int(os.environ.get("TPPO_E2E_WEBGPU_STEPS", "0"))
    if gpu_steps:
        js("for (const [k, v] of [['batch', '2'], ['maxnew', '12']]) document.getElementById(k).value = v;"
           "document.getElementById('tab-train').click()")
        t0 = time.time()
        for i in range(gpu_steps):
            js("document.getElementById('step').click()")
            wait(f"const p = document.getElementById('view-train').dataset.points; return p === '{i + 1},{i + 1}' ? p : null", 1800, 1.0)
        print(f"WebGPU: {(time.time() - t0) * 1000 / (2 * gpu_steps):.0f} ms per PPO/TPPO iteration (2 rollouts, 12 tokens), "
              f"{gpu_steps} steps of each")

    # 1b. Losing the WebGPU device mid-training: the page replaces its worker by one on
    # the CPU backend, says so, and PPO/TPPO go on playing there.
    if js("return document.getElementById('badge').dataset.backend") == "cpu":
        check("losing the WebGPU device mid-training falls back to the CPU", False, "the page has no WebGPU device to lose")
    else:
        js("for (const [k, v] of [['batch', '2'], ['maxnew', '12']]) document.getElementById(k).value = v;"
           "document.getElementById('tab-train').click(); document.getElementById('play').click()")
        # A WebGPU iteration on SwiftShader takes about a minute: 3 s in, the first is in flight.
        time.sleep(3)
        n = js_async("const done = arguments[arguments.length - 1]; window.tppoLab.loseDevice().then(done, e => done('error ' + e));")
        got, t = wait("const b = document.getElementById('badge'), p = document.getElementById('view-train').dataset.points || '';"
                      "return b.dataset.lost === '1' && b.dataset.backend === 'cpu' && /^[1-9][0-9]*,[1-9]/.test(p) ? b.textContent + ' | points ' + p : null", 240)
        js("document.getElementById('pause').click()")
        check("losing the WebGPU device mid-training falls back to the CPU with a notice and training goes on",
              bool(got), f"{n} device(s) destroyed; {got!r} {t:.1f} s later")
        shot("1b-device-lost.png")

    # 2. On the CPU backend.
    state, t = open_page(url + "?backend=cpu&batch=2&maxnew=12&seed=1")
    status = js("return document.getElementById('status').textContent")
    check("page loads on the CPU backend", state == "1", f"{t:.1f} s; {status}")
    wait("return document.querySelectorAll('#tokens span').length > 0 || null", 60)
    before = js("return [...document.querySelectorAll('#tokens span')].map(e => e.style.background)")
    js("const a = document.getElementById('alpha'); a.value = '3'; a.dispatchEvent(new Event('input'));"
       "const l = document.getElementById('sl'); l.value = '2'; l.dispatchEvent(new Event('input'));")
    changed, _ = wait("return JSON.stringify([...document.querySelectorAll('#tokens span')].map(e => e.style.background)) !== arguments[0] || null"
                      .replace("arguments[0]", json.dumps(json.dumps(before))), 30)
    words = js("return [...document.querySelectorAll('#words span')].map(e => e.title)")
    check("heatmap renders and moving α recolours tokens", len(before) > 0 and bool(changed), f"{len(before)} tokens")
    check("every judged word carries evidence on hover", len(words) > 0 and all(words))
    shot("2-heatmap.png")

    js("document.getElementById('tab-train').click()")
    t0 = time.time()
    for i in range(3):
        js("document.getElementById('step').click()")
        pts, _ = wait(f"const p = document.getElementById('view-train').dataset.points; return p === '{i + 1},{i + 1}' ? p : null", 240)
    ms = (time.time() - t0) * 1000 / 6
    check("3 PPO + 3 TPPO iterations produce curve points", pts == "3,3", f"{pts}; {ms:.0f} ms per iteration (CPU backend, 2 rollouts)")
    samples = js("return document.querySelectorAll('#samples-token li, #samples-sentence li').length")
    check("the rollouts are shown as they train", samples > 0)
    shot("3-ppo-vs-tppo.png")

    js("document.getElementById('tab-rm').click()")
    wait("return document.querySelector('#chart-rm canvas') || null", 30)
    js("document.getElementById('rm-users').value = '32'; document.getElementById('rm-eval').value = '16';"
       "document.getElementById('rm-batch').value = '4'; document.getElementById('rm-play').click()")
    pts, _ = wait("const p = Number(document.getElementById('view-rm').dataset.points || 0); return p >= 2 ? p : null", 240)
    js("document.getElementById('rm-pause').click()")
    wait("return document.getElementById('rm-play').disabled ? null : 1", 120)
    check("token and sentence reward models train live with AUC points", bool(pts), js("return document.getElementById('rm-status').textContent"))
    shot("4-reward-models.png")

    js("document.getElementById('tab-compare').click(); document.getElementById('compare-n').value = '8'; document.getElementById('compare').click()")
    rows, _ = wait("const r = document.querySelectorAll('#wtl-table tr[data-pair]'); return r.length >= 3 ? r.length : null", 240)
    check("the compare view shows win/tie/lose for 3 pairs", rows == 3, js("return document.getElementById('compare-status').textContent"))
    shot("5-compare.png")

    # Import a file whose text is HTML and script.
    evil = {"user_id": "<img src=x onerror=\"window.__pwned=1\">", "model": "<script>window.__pwned=2</script>",
            "history": [{"kind": "search", "text": "<script>window.__pwned=3</script>"}],
            "response": "<img src=x onerror=\"window.__pwned=4\">; <b>bold</b>",
            "judgement": {"response": "x", "words": [], "queries": [], "relevant_fraction": 0.0, "sentence": 1}, "tokens": []}
    path = os.path.join(tempfile.mkdtemp(), "evil.jsonl")
    open(path, "w").write(json.dumps(evil) + "\n")
    js("document.getElementById('tab-io').click()")
    el = call("POST", s + "/element", {"using": "css selector", "value": "#import"})
    call("POST", s + f"/element/{list(el.values())[0]}/value", {"text": path})
    msg, _ = wait("const t = document.getElementById('import-status').textContent; return t || null", 30)
    js("document.getElementById('tab-compare').click()")
    time.sleep(0.5)
    pwned = js("return window.__pwned === undefined ? null : window.__pwned")
    injected = js("return document.querySelectorAll('#compare-list img, #compare-list script, #compare-list b').length")
    literal = js("return document.getElementById('compare-list').textContent.includes('<img src=x')")
    check("an imported JSONL with <img onerror> and <script> text executes nothing and shows as text",
          pwned is None and injected == 0 and literal, f"import: {msg!r}")
    shot("6-import.png")

    res = js_async("const done = arguments[arguments.length - 1]; window.tppoLab.resources().then(done, e => done(['error ' + e]));")
    outside = [r for r in res if not r.startswith(origin + "/")]
    check("no request leaves the page's origin", len(res) > 0 and not outside, f"{len(res)} requests; outside: {outside[:3]}")
    call("DELETE", s)
finally:
    driver.kill()

print(f"browser check: {len(passed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
