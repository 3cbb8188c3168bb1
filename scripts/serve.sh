#!/usr/bin/env bash
# Build the browser lab and serve it on 127.0.0.1 (PORT, default 8000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
need_wasm_tools
build_pkg
port="${PORT:-8000}"
echo
echo "TPPO Lab: http://127.0.0.1:$port/"
exec python3 -m http.server --bind 127.0.0.1 --directory . "$port"
