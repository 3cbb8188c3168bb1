//! GEMM throughput of burn's Flex backend at the trunk's shapes, the comparison
//! behind docs/perf.md's GEMM table. `bench/gemm_ref.py` does the same in PyTorch.
//!
//! cargo run --release --example gemm

use burn::tensor::{Device, Distribution, Tensor};
use std::time::Instant;

fn main() {
    // The allocator settings of the `tppo` binary (src/main.rs), or page faults dominate.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; no other thread runs yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
    let device = Device::flex();
    for (m, k, n) in [
        (2560, 128, 384),
        (2560, 128, 256),
        (2560, 256, 128),
        (528, 128, 4096),
    ] {
        let a = Tensor::<2>::random([m, k], Distribution::Normal(0.0, 1.0), &device);
        let b = Tensor::<2>::random([k, n], Distribution::Normal(0.0, 1.0), &device);
        for _ in 0..5 {
            std::hint::black_box(a.clone().matmul(b.clone()));
        }
        let reps = 200;
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(a.clone().matmul(b.clone()));
        }
        let s = t.elapsed().as_secs_f64() / f64::from(reps);
        let gflops = 2.0 * (m * k * n) as f64 / s / 1e9;
        println!("{m}x{k} · {k}x{n}: {:.3} ms, {gflops:.0} GFLOP/s", s * 1e3);
    }
}
