//! The bundled corpus of real web queries (`data/trec-queries.tsv`; provenance
//! in `data/PROVENANCE.md`): loaded, normalised, filtered ([`super::filter`])
//! and de-duplicated, with every removal counted.

use super::filter::{Removal, removal_reason};
use crate::error::{InputError, InputErrors};
use crate::text::normalize_query;
use std::collections::HashSet;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CorpusSummary {
    pub rows: usize,
    pub kept: usize,
    pub removed_adult: usize,
    pub removed_personal_data: usize,
    pub duplicates: usize,
    pub empty: usize,
}

pub struct Corpus {
    /// Distinct, filtered, normalised queries in file order.
    pub queries: Vec<String>,
    pub summary: CorpusSummary,
}

/// Parse the TSV (`source  qid  query`, with that header line).
pub fn parse(file: &str, bytes: &[u8]) -> Result<Corpus, InputErrors> {
    let mut errors = Vec::new();
    let mut s = CorpusSummary::default();
    let mut seen = HashSet::new();
    let mut queries = Vec::new();
    let mut lines = super::jsonl::lines(bytes);
    match lines.next() {
        Some((_, b"source\tqid\tquery")) => {}
        Some((n, _)) => errors.push(InputError::new(
            file,
            n,
            "header",
            "expected \"source\\tqid\\tquery\"",
        )),
        None => errors.push(InputError::new(
            file,
            0,
            "",
            "expected a header line, found an empty file",
        )),
    }
    for (n, raw) in lines {
        s.rows += 1;
        let Ok(line) = std::str::from_utf8(raw) else {
            errors.push(InputError::new(file, n, "", "expected UTF-8 text"));
            continue;
        };
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 3 {
            errors.push(InputError::new(
                file,
                n,
                "",
                format!("expected 3 tab-separated columns, found {}", cols.len()),
            ));
            continue;
        }
        let q = normalize_query(cols[2]);
        if q.is_empty() {
            s.empty += 1;
            continue;
        }
        match removal_reason(&q) {
            Some(Removal::Adult) => s.removed_adult += 1,
            Some(Removal::PersonalData) => s.removed_personal_data += 1,
            None if q.len() > super::schema::MAX_TEXT_BYTES => s.empty += 1,
            None => {
                if seen.insert(q.clone()) {
                    queries.push(q);
                } else {
                    s.duplicates += 1;
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    s.kept = queries.len();
    Ok(Corpus {
        queries,
        summary: s,
    })
}

pub fn load(path: &std::path::Path) -> crate::Result<Corpus> {
    let bytes = crate::io::read_file(path)?;
    Ok(parse(&path.display().to_string(), &bytes)?)
}
