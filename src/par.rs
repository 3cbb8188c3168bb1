//! Independent pieces of work side by side: one scoped thread each natively, one
//! after another in the browser (this build of the wasm module has no threads).
//!
//! burn's CPU backend runs most ops on the calling thread (only large matmuls use
//! its thread pool), so a 2-core machine sits half idle unless the caller splits
//! the work. The PPO trainer does: the two halves of a generated batch, the two
//! scoring passes of a rollout (π_ref and the reward model), and the pieces
//! ("shards") of each minibatch's gradient. What runs where never changes a
//! result: every piece is computed alone and the caller combines them in order.
//!
//! Inside a piece ([`in_piece`]) the fused kernels and GEMMs of `model::fused` keep
//! to the piece's thread rather than hand rows to rayon's pool: with a piece per
//! core the pool has no idle core to give, and waking it for every op cost more than
//! it saved (measured: PPO iteration 1,360 → 1,130 ms).
//!
//! Plain scoped threads rather than rayon's `join`: a rayon worker that waits may
//! run another piece on its own stack while it is inside burn's autodiff graph, and
//! burn's own ops inside a piece may still use rayon's pool. (`cli::par_map` is the command line's
//! bounded job queue for whole runs, with errors; this is for a few pieces at once.)

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    static PIECE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread runs one of several pieces side by side: the kernels inside
/// then keep to it (the other core has a piece of its own) instead of waking
/// rayon's pool for every op.
pub fn in_piece() -> bool {
    #[cfg(not(target_arch = "wasm32"))]
    return PIECE.with(std::cell::Cell::get);
    #[cfg(target_arch = "wasm32")]
    false
}

/// `f()` as a piece (see [`in_piece`]); the thread is itself again afterwards, even
/// when `f` panics.
#[cfg(not(target_arch = "wasm32"))]
fn as_piece<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            PIECE.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(PIECE.with(|p| p.replace(true)));
    f()
}

/// `f(item)` for every item, results in the items' order.
pub fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    #[cfg(not(target_arch = "wasm32"))]
    if items.len() > 1 {
        let f = &f;
        return std::thread::scope(|s| {
            let handles: Vec<_> = items
                .into_iter()
                .map(|x| s.spawn(move || as_piece(|| f(x))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
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
        let hb = s.spawn(|| as_piece(b));
        let ra = as_piece(a);
        (
            ra,
            hb.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
        )
    });
    #[cfg(target_arch = "wasm32")]
    (a(), b())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
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
}
