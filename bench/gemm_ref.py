"""GEMM throughput of PyTorch at the trunk's shapes (examples/gemm.rs in Rust).

python bench/gemm_ref.py [THREADS]
"""

import sys
import time

import torch

if len(sys.argv) > 1:
    torch.set_num_threads(int(sys.argv[1]))
for m, k, n in [(2560, 128, 384), (2560, 128, 256), (2560, 256, 128), (528, 128, 4096)]:
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(5):
        a @ b
    reps = 200
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    s = (time.perf_counter() - t) / reps
    print(f"{m}x{k} · {k}x{n}: {s * 1e3:.3f} ms, {2 * m * k * n / s / 1e9:.0f} GFLOP/s ({torch.get_num_threads()} threads)")
