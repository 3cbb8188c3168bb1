#!/usr/bin/env bash
# The browser lab as a static site: everything the page loads, in one folder that any
# static file host serves (GitHub Pages: .github/workflows/pages.yml).
#
#   bash scripts/site.sh [--out DIR] [--no-build]
#
# DIR (default site/) gets index.html, www/ (the page's scripts and styles, vendored
# libraries with their licences), pkg/ (the two wasm builds and the f16 checkpoints),
# the files of data/ that www/'s scripts name, with data/PROVENANCE.md, and
# coi-serviceworker.js at the root: a host that cannot send COOP/COEP headers still
# gets a cross-origin-isolated page (the threaded CPU build) through that service
# worker (www/vendor/coi-serviceworker/README.md). Where service workers are not
# allowed the page runs the one-thread build and its badge says so.
#
# --no-build assembles from the pkg/ already built (scripts/serve.sh or
# scripts/test.sh built it); without it the wasm builds are made first.
cd "$(dirname "$0")/.."
source scripts/tools.sh
report_failures

out=site
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "site.sh: unknown argument '$1' (expected --out DIR or --no-build)" >&2; exit 2 ;;
  esac
done

if [ "$build" = 1 ]; then
  build_lab
fi

step "assemble the static site in $out/"
for f in pkg/tppo.js pkg/tppo_bg.wasm pkg/cpu/tppo.js pkg/cpu/tppo_bg.wasm pkg/models/sft.safetensors; do
  [ -s "$f" ] || { say "$f is missing: build pkg/ first (run without --no-build)"; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/www" "$out/pkg" "$out/data"
# The lab and the bench page (bench.html: `tppo bench` in the browser), their scripts.
cp index.html bench.html "$out/"
cp -r www/* "$out/www/"
cp pkg/tppo.js pkg/tppo_bg.wasm "$out/pkg/"
cp -r pkg/cpu pkg/models "$out/pkg/"
# The data the worker fetches (every "../data/NAME" in www/), with where it came from.
names=$(grep -oh '\.\./data/[A-Za-z0-9._-]*' www/*.js | sed 's|\.\./data/||' | sort -u || true)
[ -n "$names" ] || { say "no ../data/ file named in www/*.js: the page would load no data"; exit 1; }
for n in $names; do
  [ -f "data/$n" ] || { say "www/ names data/$n, which does not exist"; exit 1; }
  cp "data/$n" "$out/data/"
done
cp data/PROVENANCE.md "$out/data/"
# The reward models' training curves (the Reward models view: data/models/rm-LEVEL.metrics.json).
mkdir -p "$out/data/models"
cp data/models/rm-token.metrics.json data/models/rm-sentence.metrics.json "$out/data/models/"
# The shipped pipeline runs the Frontier view draws (their reports only).
for run in default quick; do
  mkdir -p "$out/docs/runs/$run"
  cp "docs/runs/$run/report.json" "$out/docs/runs/$run/"
done
# Cross-origin isolation without headers: the service worker at the root (its scope is
# its folder), loaded by index.html before the page's module.
cp www/vendor/coi-serviceworker/coi-serviceworker.js "$out/"
for page in index.html bench.html; do
  grep -q '^<script type="module" src="www/[a-z]*\.js"></script>$' "$out/$page" ||
    { say "$page has no '<script type=\"module\" src=\"www/NAME.js\"></script>' line to put the service worker's script before"; exit 1; }
  sed -i 's|^<script type="module" src="www/[a-z]*\.js"></script>$|<script src="coi-serviceworker.js"></script>\n&|' "$out/$page"
done
# GitHub Pages runs Jekyll on a site unless told not to (it would drop files starting with _).
touch "$out/.nojekyll"
say "$(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1); serve it with any static server, e.g. python3 -m http.server -d $out"
