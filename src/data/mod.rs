//! Data: the schema, its strict reader, the AOL import, the bundled corpus, its interests, its generator and the gold score of its hidden truth.

pub mod aol;
pub mod corpus;
pub mod filter;
pub mod gold;
pub mod interests;
pub mod jsonl;
pub mod schema;
pub mod synth;

pub use schema::{Event, EventKind, User};

/// In how many histories of `users` each search appears (normalised,
/// [`crate::text::normalize_query`]; a search repeated in one history counts once).
pub fn search_frequency(users: &[User]) -> std::collections::HashMap<String, u32> {
    let mut df = std::collections::HashMap::new();
    for u in users {
        let mut seen: Vec<String> = u
            .searches()
            .iter()
            .map(|q| crate::text::normalize_query(q))
            .filter(|q| !q.is_empty())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for q in seen {
            *df.entry(q).or_default() += 1;
        }
    }
    df
}

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
