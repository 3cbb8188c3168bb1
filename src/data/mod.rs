//! Data: the schema, its strict reader, the AOL import, the bundled corpus and its generator.

pub mod aol;
pub mod corpus;
pub mod filter;
pub mod jsonl;
pub mod schema;
pub mod synth;
pub mod topics;

pub use schema::{Event, EventKind, User};
