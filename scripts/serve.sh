#!/usr/bin/env bash
# Build the browser lab and serve it on 127.0.0.1 (PORT, default 8000).
cd "$(dirname "$0")/.."
source scripts/tools.sh
report_failures

step "set-up: wasm target, wasm-pack, wasm-bindgen-cli $(locked_wasm_bindgen)"
need_wasm_tools

step "set-up: Rust $THREADS_NIGHTLY with rust-src (the threaded CPU build)"
need_threads_toolchain

step "wasm32 builds of the library (with WebGPU into pkg/; CPU-only with threads into pkg/cpu/)"
build_pkg

step "serve"
port="${PORT:-8000}"
echo "TPPO Lab: http://127.0.0.1:$port/"
exec python3 scripts/serve.py --port "$port"
