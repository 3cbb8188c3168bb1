#!/usr/bin/env python3
"""Open the served lab in headless Chromium (through Debian's chromedriver, plain
WebDriver over HTTP, no extra packages) and check that it comes up: the wasm
module loads, the badge names a backend, and the judge labels a user's words.
Saves a screenshot. Usage: browser_check.py URL OUT_DIR"""
import base64, json, os, subprocess, sys, tempfile, time, urllib.request, socket

url, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

port = free_port()
driver = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}"

def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())["value"]

try:
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/status", timeout=1); break
        except OSError:
            time.sleep(0.1)
    profile = tempfile.mkdtemp()
    args = ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            f"--user-data-dir={profile}", "--window-size=1200,900"]
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}}
    sid = call("POST", "/session", caps)["sessionId"]
    s = f"/session/{sid}"
    call("POST", s + "/url", {"url": url})
    state, t0 = None, time.time()
    while time.time() - t0 < 180:
        state = call("POST", s + "/execute/sync", {"script": "return document.body.dataset.ready || null", "args": []})
        if state:
            break
        time.sleep(0.5)
    ready_s = time.time() - t0
    get = lambda js: call("POST", s + "/execute/sync", {"script": js, "args": []})
    badge = get("return document.getElementById('badge').textContent")
    status = get("return document.getElementById('status').textContent")
    words = get("return [...document.querySelectorAll('#words span')].map(e => [e.textContent, e.className, e.title])")
    png = call("GET", s + "/screenshot")
    open(os.path.join(out, "lab.png"), "wb").write(base64.b64decode(png))
    call("DELETE", s)
    print(f"page ready={state} after {ready_s:.1f} s; badge: {badge!r}; status: {status!r}; {len(words)} words labeled")
    ok = state == "1" and badge and badge != "starting…" and len(words) > 0 and all(w[2] for w in words)
    if not ok:
        print("FAIL: the lab did not come up", file=sys.stderr); sys.exit(1)
    print("browser check: 1 passed, 0 failed")
finally:
    driver.kill()
