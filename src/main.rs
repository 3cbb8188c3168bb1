//! `tppo`: the command-line shell over the library. Each subcommand parses its
//! arguments, calls the library, and prints text (or JSON with `--json`).

mod cli;

/// burn's CPU backend allocates a fresh buffer for every op, and glibc serves
/// large ones with mmap and hands them back on free, so each op paid page faults
/// and the kernel's zeroing (about a fifth of a PPO iteration, docs/perf.md).
/// Serving them from the heap and never trimming it keeps the pages for reuse.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
