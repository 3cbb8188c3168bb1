//! Data: the schema, its strict reader, the AOL import, the bundled corpus, its interests and its generator.

pub mod aol;
pub mod corpus;
pub mod filter;
pub mod interests;
pub mod jsonl;
pub mod schema;
pub mod synth;

pub use schema::{Event, EventKind, User};

/// The user with `id` in `users` (read from `file`), or an error naming both.
pub fn find_user<'a>(
    users: &'a [User],
    id: &str,
    file: &std::path::Path,
) -> crate::Result<&'a User> {
    users.iter().find(|u| u.user_id == id).ok_or_else(|| {
        crate::Error::Invalid(format!("{}: no user with user_id \"{id}\"", file.display()))
    })
}
