"""Code size of a wasm module by crate, from its name section (a build that keeps it,
e.g. target/prof/pkg/tppo_bg.wasm, see profile.py): where the bytes of the page's
builds go (docs/decisions.md, docs/perf.md). Standard library only.

    python3 bench/page-profile/wasm_size.py target/prof/pkg/tppo_bg.wasm
"""
import sys, collections, re
b = open(sys.argv[1], 'rb').read()
def leb(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80: return r, i
i = 8; sections = []
while i < len(b):
    sid = b[i]; i += 1; size, i = leb(b, i); sections.append((sid, i, size)); i += size
nimports = 0; names = {}; code = []; data_size = 0; secsz = collections.Counter()
for sid, off, size in sections:
    secsz[sid] += size
    if sid == 2:
        n, j = leb(b, off)
        for _ in range(n):
            l, j = leb(b, j); j += l; l, j = leb(b, j); j += l
            kind = b[j]; j += 1
            if kind == 0: _, j = leb(b, j); nimports += 1
            elif kind == 1: j += 1; fl, j = leb(b, j); _, j = leb(b, j); (j := leb(b, j)[1]) if fl & 1 else None
            elif kind == 2: fl, j = leb(b, j); _, j = leb(b, j); (j := leb(b, j)[1]) if fl & 1 else None
            elif kind == 3: j += 2
    if sid == 10:
        n, j = leb(b, off)
        for _ in range(n):
            l, j2 = leb(b, j); code.append(l + (j2 - j)); j = j2 + l
    if sid == 0:
        l, j = leb(b, off); nm = b[j:j+l]; j += l
        if nm == b'name':
            end = off + size
            while j < end:
                sub = b[j]; j += 1; sl, j = leb(b, j); e = j + sl
                if sub == 1:
                    n, k = leb(b, j)
                    for _ in range(n):
                        idx, k = leb(b, k); l, k = leb(b, k); names[idx] = b[k:k+l].decode('utf8', 'replace'); k += l
                j = e
print({k: v for k, v in secsz.items()})
by = collections.Counter()
def crate(n):
    n = re.sub(r'^<', '', n)
    m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)', n)
    return m.group(1) if m else n[:20]
for k, sz in enumerate(code):
    nm = names.get(nimports + k, '?')
    by[crate(nm)] += sz
tot = sum(code)
print('code total', tot)
for c, sz in by.most_common(30): print(f'{sz/1e6:7.2f} MB {100*sz/tot:5.1f}% {c}')
