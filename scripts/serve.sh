#!/usr/bin/env bash
# Build the browser lab and serve it on 127.0.0.1 (PORT, default 8000).
cd "$(dirname "$0")/.."
source scripts/tools.sh
report_failures

build_lab

step "serve"
port="${PORT:-8000}"
echo "TPPO Lab: http://127.0.0.1:$port/"
exec python3 scripts/serve.py --port "$port"
