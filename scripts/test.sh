#!/usr/bin/env bash
# Run every test: formatting and lints, the native tests (unit, integration, CLI),
# the quick pipeline, the wasm32 build, the library's tests in headless Chromium
# (WebGPU and CPU), and the page end to end in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
need_wasm_tools

start=$SECONDS
step() { printf '\n== [%4ds] %s\n' "$((SECONDS - start))" "$*"; }

step "format"
cargo fmt --check

step "native tests (release profile: one target/ for tests, CLI and benches)"
cargo test --release

step "the quick pipeline: PPO and TPPO × 2 seeds from the shipped models, evaluation, report"
target/release/tppo pipeline --preset quick --seeds 2 --out target/pipeline-quick
test -s target/pipeline-quick/report.json && test -s target/pipeline-quick/report.html

step "lints (native and wasm32)"
cargo clippy --release --all-targets -- -D warnings
cargo clippy --release --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings

step "wasm32 build of the library (cargo build --target wasm32-unknown-unknown --lib), bindings into pkg/"
build_pkg

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  step "library tests in headless Chromium on WebGPU and CPU (wasm-pack test, tests/web.rs, webdriver.json)"
  WASM_BINDGEN_TEST_TIMEOUT=900 wasm-pack test --headless --chrome --release --chromedriver "$(command -v chromedriver)" \
    -- --no-default-features --test web

  step "the page in headless Chromium (end to end, screenshots in target/browser-check/)"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 -m http.server --bind 127.0.0.1 --directory . "$port" >target/http.log 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  python3 scripts/browser_check.py "http://127.0.0.1:$port/" target/browser-check
else
  step "the browser tests"
  echo "SKIPPED: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
fi

step "done"
