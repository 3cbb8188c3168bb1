#!/usr/bin/env python3
"""control_gain.py SFT.jsonl RUN1.jsonl [RUN2.jsonl ...] > gain.json

The positive control's gain on the eval users, read from `tppo eval` outputs: per
seed, the judge's relevance (a response is relevant when its sentence class is 2) and
gold per query, and against the SFT policy the per-user relevance difference with a
crossed bootstrap (each resample draws the seeds, and one draw of the users that every
drawn seed shares: the library's eval::stats::crossed, written again here for runs
made outside a pipeline). 2,000 resamples, seed 31. Gold and the other metrics are in
each run's `tppo eval --json` summary."""
import json
import random
import sys


def read(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        out[r["user_id"]] = r
    return out


def relevant(r):
    return 1.0 if r["judgement"]["sentence"] == 2 else 0.0


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sft = read(sys.argv[1])
    runs = [read(p) for p in sys.argv[2:]]
    users = [u for u in sft if all(u in r for r in runs)]
    diff = [[relevant(r[u]) - relevant(sft[u]) for u in users] for r in runs]
    k, n = len(diff), len(users)
    rng = random.Random(31)
    means = []
    for _ in range(2000):
        seeds = [rng.randrange(k) for _ in range(k)]
        draw = [rng.randrange(n) for _ in range(n)]
        means.append(sum(diff[s][u] for s in seeds for u in draw) / (k * n))
    means.sort()
    mean = sum(map(sum, diff)) / (k * n)
    se = (sum((m - sum(means) / len(means)) ** 2 for m in means) / (len(means) - 1)) ** 0.5
    out = {
        "users": n,
        "seeds": k,
        "files": [p.rsplit("/", 1)[-1] for p in sys.argv[1:]],
        "sft": {"relevance": sum(map(relevant, sft.values())) / len(sft)},
        "per_seed": [{"relevance": sum(map(relevant, r.values())) / len(r)} for r in runs],
        "gain": {
            "mean": mean,
            "interval": {"lo": means[int(0.025 * 1999 + 0.5)], "hi": means[int(0.975 * 1999 + 0.5)]},
            "se": se,
            "per_seed": [sum(d) / n for d in diff],
        },
    }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
