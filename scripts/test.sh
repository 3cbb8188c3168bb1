#!/usr/bin/env bash
# Run every test: formatting and lints, the native tests (unit, integration, CLI),
# the wasm32 build of the library, and the page in headless Chromium.
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

step "the page in headless Chromium"
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 -m http.server --bind 127.0.0.1 --directory . "$port" >target/http.log 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  python3 scripts/browser_check.py "http://127.0.0.1:$port/" target/browser-check
else
  echo "SKIPPED: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
fi

step "done"
