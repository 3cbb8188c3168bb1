#!/usr/bin/env python3
"""Compact copies of safetensors checkpoints for the browser lab: every F32 tensor
stored as F16 (IEEE half, round to nearest even), the header's metadata (the
checkpoint's config and tokenizer) kept. Standard library only.

    compact.py --out DIR FILE.safetensors...

The lab widens them back to f32 when it loads them (src/model/checkpoint.rs,
`widen`); tests/compact.rs checks that the reward models' margins and the policy's
logits stay within the tolerances stated there. A weight too large for f16 (above
65504) is an error, never an infinity."""
import argparse
import json
import os
import struct
import sys
import tempfile


def compact(data):
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out_header, chunks, offset = {}, [], 0
    for name, t in sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0]):
        start, end = t["data_offsets"]
        raw = body[start:end]
        dtype = t["dtype"]
        if dtype == "F32":
            count = len(raw) // 4
            try:
                raw = struct.pack(f"<{count}e", *struct.unpack(f"<{count}f", raw))
            except (OverflowError, struct.error) as e:
                raise SystemExit(f"tensor {name}: a weight does not fit in f16 ({e})")
            dtype = "F16"
        out_header[name] = {"dtype": dtype, "shape": t["shape"], "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if "__metadata__" in header:
        out_header["__metadata__"] = header["__metadata__"]
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the header padded to 8 bytes, as safetensors writes it
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for path in a.files:
        with open(path, "rb") as f:
            data = f.read()
        small = compact(data)
        dest = os.path.join(a.out, os.path.basename(path))
        fd, tmp = tempfile.mkstemp(dir=a.out)  # written whole, then renamed: never half a file
        with os.fdopen(fd, "wb") as f:
            f.write(small)
        os.replace(tmp, dest)
        print(f"{path}: {len(data)} → {len(small)} bytes (f16) → {dest}", file=sys.stderr)


if __name__ == "__main__":
    main()
