//! Independent pieces of work side by side: one scoped thread each natively, one
//! rayon task each in the browser's threaded build (Web Workers through
//! wasm-bindgen-rayon, `pkg/cpu/`), one after another in a wasm build without threads
//! (the WebGPU build, `pkg/`, whose CPU backend is the fallback where the page is not
//! cross-origin isolated).
//!
//! burn's CPU backend runs most ops on the calling thread (only large matmuls use
//! its thread pool), so a 2-core machine sits half idle unless the caller splits
//! the work. The PPO trainer does: the two halves of a generated batch, the two
//! scoring passes of a rollout (π_ref and the reward model), and the pieces
//! ("shards") of each minibatch's gradient. What runs where never changes a
//! result: every piece is computed alone and the caller combines them in order.
//!
//! Inside a piece ([`in_piece`]) the fused kernels and GEMMs of [`super::fused`] keep
//! to the piece's thread rather than hand rows to rayon's pool: with a piece per
//! core the pool has no idle core to give, and waking it for every op cost more than
//! it saved (measured: PPO iteration 1,360 → 1,130 ms).
//!
//! Natively, plain scoped threads rather than rayon's `join`: a rayon worker that
//! waits may run another piece on its own stack while it is inside burn's autodiff
//! graph, and burn's own ops inside a piece may still use rayon's pool. In the
//! browser there is no `std::thread::spawn`, so the pieces are rayon tasks; there
//! burn's CPU backend has no rayon (its `rayon` feature is native only) and a piece
//! hands nothing to the pool, so a waiting worker has nothing else to pick up. A piece
//! runs with its caller's choice of fast path ([`super::fast_path`]).
//!
//! [`map_chunks`] spreads the rows of one kernel over rayon's threads (outside a
//! piece, where there are threads), and [`gemm_threads`] says whether a GEMM may.

/// Whether this build has threads: natively, and the wasm build with atomics (whose
/// page starts a pool of Web Workers before anything else runs).
pub const THREADS: bool = cfg!(any(not(target_arch = "wasm32"), target_feature = "atomics"));

/// How many threads the CPU work may use: rayon's pool where there are threads (in the
/// browser's threaded build the page starts it first: `initThreadPool`), 1 otherwise.
pub fn threads() -> usize {
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    return rayon::current_num_threads();
    #[cfg(not(any(not(target_arch = "wasm32"), target_feature = "atomics")))]
    1
}

/// How many pieces work is split into where it can be: one per core of a 2-core
/// machine where there are threads, one in a wasm build without them.
pub const PIECES: usize = if THREADS { 2 } else { 1 };

#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
thread_local! {
    static PIECE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread runs one of several pieces side by side: the kernels inside
/// then keep to it (the other core has a piece of its own) instead of waking
/// rayon's pool for every op.
pub fn in_piece() -> bool {
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    return PIECE.with(std::cell::Cell::get);
    #[cfg(not(any(not(target_arch = "wasm32"), target_feature = "atomics")))]
    false
}

/// `f()` as a piece (see [`in_piece`]); the thread is itself again afterwards, even
/// when `f` panics.
#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
fn as_piece<R>(f: impl FnOnce() -> R) -> R {
    super::with_cell(&PIECE, true, f)
}

/// `f(item)` for every item, results in the items' order.
pub fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    #[cfg(not(target_arch = "wasm32"))]
    if items.len() > 1 {
        let f = &f;
        let fast = super::fast_path();
        return std::thread::scope(|s| {
            let handles: Vec<_> = items
                .into_iter()
                .map(|x| s.spawn(move || super::with_fast_path(fast, || as_piece(|| f(x)))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    if items.len() > 1 {
        use rayon::prelude::*;
        let fast = super::fast_path();
        return items
            .into_par_iter()
            .with_max_len(1)
            .map(|x| super::with_fast_path(fast, || as_piece(|| f(x))))
            .collect();
    }
    items.into_iter().map(f).collect()
}

/// `(a(), b())`, side by side.
pub fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    return std::thread::scope(|s| {
        let fast = super::fast_path();
        let hb = s.spawn(move || super::with_fast_path(fast, || as_piece(b)));
        let ra = as_piece(a);
        (
            ra,
            hb.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
        )
    });
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    {
        let fast = super::fast_path();
        rayon::join(
            move || super::with_fast_path(fast, || as_piece(a)),
            move || super::with_fast_path(fast, || as_piece(b)),
        )
    }
    #[cfg(not(any(not(target_arch = "wasm32"), target_feature = "atomics")))]
    (a(), b())
}

/// `f(i, chunk)` for the `size`-long chunks of `data`, results in the chunks' order:
/// on rayon's threads where there are threads (outside a piece), one after another
/// otherwise.
pub fn map_chunks<R: Send>(
    data: &mut [f32],
    size: usize,
    f: impl Fn(usize, &mut [f32]) -> R + Sync + Send,
) -> Vec<R> {
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    if !in_piece() {
        use rayon::prelude::*;
        return data
            .par_chunks_mut(size.max(1))
            .enumerate()
            .map(|(i, c)| f(i, c))
            .collect();
    }
    data.chunks_mut(size.max(1))
        .enumerate()
        .map(|(i, c)| f(i, c))
        .collect()
}

/// How a GEMM of `flops` multiply-adds runs: on rayon's pool when it is large and
/// this thread is not a piece (where there are threads), on this thread otherwise.
pub fn gemm_threads(flops: usize) -> gemm::Parallelism {
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    if flops >= 192 * 192 * 192 && !in_piece() {
        return gemm::Parallelism::Rayon(0);
    }
    let _ = flops;
    gemm::Parallelism::None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_the_order_and_runs_every_item() {
        let out = map((0..9u64).collect(), |x| {
            std::thread::sleep(std::time::Duration::from_millis(9 - x));
            x * x
        });
        assert_eq!(out, (0..9u64).map(|x| x * x).collect::<Vec<_>>());
        assert_eq!(map(Vec::<u8>::new(), |x| x), Vec::<u8>::new());
    }

    #[test]
    fn map_runs_items_on_threads_of_their_own() {
        let ids = map(vec![(); 3], |_| std::thread::current().id());
        assert!(ids.iter().all(|&id| id != std::thread::current().id()));
        assert_ne!(ids[0], ids[1]);
    }

    #[test]
    fn join_returns_both_results() {
        assert_eq!(join(|| 2 + 2, || "b"), (4, "b"));
    }

    #[test]
    #[should_panic(expected = "piece failed")]
    fn a_panic_in_a_piece_reaches_the_caller() {
        map(vec![1, 2], |x| {
            if x == 2 {
                panic!("piece failed");
            }
            x
        });
    }

    #[test]
    fn pieces_know_they_are_pieces_and_the_caller_does_not_stay_one() {
        assert!(!in_piece());
        assert_eq!(map(vec![1, 2], |_| in_piece()), vec![true, true]);
        assert_eq!(join(in_piece, in_piece), (true, true));
        assert!(!in_piece(), "the caller's thread is itself again");
        let panicked = std::panic::catch_unwind(|| join(|| panic!("a piece fails"), || ()));
        assert!(panicked.is_err());
        assert!(!in_piece(), "and after a piece panicked on it");
    }

    #[test]
    fn pieces_keep_their_callers_choice_of_fast_path() {
        let inside =
            super::super::with_fast_path(false, || map(vec![1, 2], |_| super::super::fast_path()));
        assert_eq!(inside, vec![false, false]);
        assert_eq!(
            map(vec![1, 2], |_| super::super::fast_path()),
            vec![true, true]
        );
    }

    #[test]
    fn chunks_are_mapped_in_order() {
        let mut data: Vec<f32> = (0..10).map(|x| x as f32).collect();
        let sums = map_chunks(&mut data, 3, |i, c| {
            c.iter_mut().for_each(|x| *x += 1.0);
            (i, c.iter().sum::<f32>())
        });
        assert_eq!(sums, vec![(0, 6.0), (1, 15.0), (2, 24.0), (3, 10.0)]);
    }
}

/// `f` over `items`, `jobs` at a time (default: one per core), results in the order of
/// `items`. For whole runs: the Flex backend computes a training run on about one
/// core, so independent runs (pipeline jobs, ablation values) go side by side; each is
/// deterministic on its own, so the results do not depend on `jobs`. The first error
/// (in item order) is returned; a panic in `f` reaches the caller.
pub fn map_jobs<T: Sync, R: Send, E: Send>(
    items: &[T],
    jobs: Option<usize>,
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<R, E>>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(item) = items.get(i) else { break };
            let r = f(item);
            *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    };
    if jobs == 1 || cfg!(target_arch = "wasm32") {
        work();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(work);
            }
        });
    }
    slots
        .into_iter()
        .filter_map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

#[cfg(test)]
mod job_tests {
    use super::map_jobs;

    #[test]
    fn map_jobs_keeps_the_order_of_items_whatever_the_job_count() {
        let items: Vec<u64> = (0..23).collect();
        for jobs in [1, 2, 5, 64] {
            let out = map_jobs(&items, Some(jobs), |&x| Ok::<_, String>(x * x)).unwrap();
            assert_eq!(out, items.iter().map(|x| x * x).collect::<Vec<_>>());
        }
    }

    #[test]
    fn map_jobs_returns_the_first_error_in_item_order() {
        let items: Vec<u64> = (0..10).collect();
        let err = map_jobs(&items, Some(3), |&x| {
            if x == 4 || x == 7 {
                return Err(format!("item {x} failed"));
            }
            Ok(x)
        })
        .unwrap_err();
        assert_eq!(err, "item 4 failed");
        assert!(
            map_jobs(&[] as &[u64], None, |&x| Ok::<_, String>(x))
                .unwrap()
                .is_empty()
        );
    }
}
