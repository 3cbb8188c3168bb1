//! TPPO Lab: token-level PPO for query generation (Ouyang et al.), end to end.
//!
//! The map of the crate. Each module may use only those listed above it, so data
//! flows one way, down this list: data → labeler → tokens → reward model → RL →
//! eval → pipeline and report → the shells (`tests/layers.rs` holds it).

// What the method runs on.
pub mod error; // library errors that name the file, line and field
pub mod io; // whole-file reads and atomic writes
#[cfg(feature = "cli")]
pub mod args; // value parsers of command-line options (settings types derive clap with them)
pub mod cpu; // the CPU fast path: fused kernels and the threads they run on
pub mod backend; // the one place that knows about burn backends
pub mod optim; // one training step for every trainer

// The method, in its order.
pub mod text; // words: the unit the judge labels (stop words, stems, query splitting)
pub mod vectors; // GloVe word vectors, for the judge and the world
pub mod data; // users, the bundled corpus, its world of interests, the generator, the gold score
pub mod labeler; // the AI-feedback judge: a class and evidence per word (§3.2)
pub mod tokenize; // the BPE tokenizer and the word → token mapping of labels
pub mod model; // the transformer trunk, the policy with its value head, SFT, checkpoints
pub mod kit; // tokenizer, judge and training users: what every driver needs
pub mod reward; // lwp, the token and sentence reward models, RLAIF labels (§3.3)
pub mod rl; // PPO and TPPO (§3.4): rollouts, per-token rewards, GAE, clipped losses
pub mod eval; // relevance rate, win/tie/lose, gold, the instrument's validation (§4)
pub mod pipeline; // the experiment: checkpoint selection, the plan of `tppo` jobs, the report

// Tools over the method.
pub mod export; // exports for training the method in another RL engine
pub mod bench; // benchmarks of the hot paths

// The page's shell (the command line's is src/cli/).
pub mod web; // the worker protocol; on wasm32, the Lab and the page's exports

pub use error::{Error, Result};
