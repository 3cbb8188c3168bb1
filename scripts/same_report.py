#!/usr/bin/env python3
"""same_report.py A/report.json B/report.json: exit 0 when two pipeline reports hold the
same numbers, leaving out what measures the machine rather than the method (wall-clock
timings: "timings" and every "time/…" metric). Prints each difference otherwise."""
import json
import sys

SKIP_KEYS = {"timings"}


def diff(x, y, path, out):
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            if k in SKIP_KEYS or k.startswith("time/"):
                continue
            diff(x.get(k), y.get(k), f"{path}/{k}", out)
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y)):
            diff(u, v, f"{path}[{i}]", out)
    elif x != y:
        out.append(f"{path or '/'}: {str(x)[:80]} ≠ {str(y)[:80]}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = (json.load(open(p)) for p in sys.argv[1:])
    out = []
    diff(a, b, "", out)
    for line in out[:40]:
        print(line)
    print(f"{sys.argv[1]} vs {sys.argv[2]}: {len(out)} difference(s)")
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
