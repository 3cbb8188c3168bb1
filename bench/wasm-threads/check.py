"""Open the probe in headless Chromium (Debian's) and print what the worker measured."""
import os
import subprocess
import sys
import time

from playwright.sync_api import sync_playwright

HERE = os.path.dirname(os.path.abspath(__file__))
server = subprocess.Popen([sys.executable, os.path.join(HERE, "serve.py")], stdout=subprocess.PIPE, text=True)
port = server.stdout.readline().strip()
with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
    page = browser.new_page()
    page.on("pageerror", lambda e: print("page error:", e))
    page.goto(f"http://127.0.0.1:{port}/index.html")
    t0 = time.time()
    while not page.evaluate("document.body.dataset.done || null") and time.time() - t0 < 120:
        time.sleep(0.5)
    print(page.evaluate("document.getElementById('out').textContent"))
    browser.close()
server.kill()
