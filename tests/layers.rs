//! The layers hold: every module of `src/` uses only the modules `lib.rs` lists
//! above it (data flows one way, down the map of the crate), and no two sibling
//! files of a module use each other, directly or round a circle.
#![cfg(not(target_arch = "wasm32"))]

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `pub mod NAME;` lines of lib.rs, in order.
fn layers() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let re = Regex::new(r"(?m)^pub mod (\w+);").unwrap();
    re.captures_iter(&lib).map(|c| c[1].to_string()).collect()
}

/// A file's code: comments and the items under `#[cfg(test)]` (to the brace that
/// closes each) left out.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(open) = rest.find('{') else { break };
        let mut depth = 0;
        let mut end = rest.len();
        for (i, c) in rest[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The modules of lib.rs that `code` names as `crate::NAME`.
fn uses(code: &str, layers: &[String]) -> BTreeSet<String> {
    let re = Regex::new(r"crate::(\w+)").unwrap();
    re.captures_iter(code)
        .map(|c| c[1].to_string())
        .filter(|m| layers.contains(m))
        .collect()
}

/// Each file's top-level module (`src/rl/ppo.rs` → `rl`); `None` for lib.rs,
/// main.rs and the command line's shell.
fn top_module(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (!["lib", "main", "cli"].contains(&name.as_str())).then_some(name)
}

#[test]
fn no_module_uses_one_below_it_in_lib_rs() {
    let layers = layers();
    assert!(layers.len() >= 15, "lib.rs lists {layers:?}");
    let rank = |m: &str| layers.iter().position(|l| l == m);
    let mut bad = Vec::new();
    let mut checked = 0;
    for f in files(&src()) {
        let Some(top) = top_module(&f) else { continue };
        let mine = rank(&top).unwrap_or_else(|| panic!("{} is not in lib.rs", f.display()));
        checked += 1;
        for dep in uses(&code(&f), &layers) {
            if rank(&dep).unwrap() > mine {
                bad.push(format!("{} ({top}) uses crate::{dep}", f.display()));
            }
        }
    }
    assert!(checked > 50, "checked {checked} files");
    assert!(
        bad.is_empty(),
        "imports against the flow of data:\n{}",
        bad.join("\n")
    );
}

#[test]
fn sibling_files_use_each_other_in_one_direction() {
    let layers = layers();
    for dir in std::fs::read_dir(src()).unwrap() {
        let dir = dir.unwrap().path();
        let Some(top) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if !dir.is_dir() || !layers.contains(&top) {
            continue;
        }
        // The sibling modules of this directory (files and folders, mod.rs aside).
        let siblings: BTreeMap<String, PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter_map(|p| {
                let name = p.file_stem()?.to_string_lossy().into_owned();
                (name != "mod").then_some((name, p))
            })
            .collect();
        let re = Regex::new(&format!(r"(?:super|crate::{top})::(\w+)")).unwrap();
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (name, path) in &siblings {
            let text: String = if path.is_dir() {
                files(path).iter().map(|f| code(f)).collect()
            } else {
                code(path)
            };
            for c in re.captures_iter(&text) {
                if let Some((other, _)) = siblings.get_key_value(&c[1])
                    && other != name
                {
                    edges.entry(name).or_default().insert(other);
                }
            }
        }
        // A circle is a path from a module back to itself.
        for start in edges.keys() {
            let mut stack: Vec<Vec<&str>> = vec![vec![start]];
            while let Some(path) = stack.pop() {
                let last = *path.last().unwrap();
                for next in edges.get(last).into_iter().flatten() {
                    assert!(
                        next != start,
                        "a circle in src/{top}/: {} → {next}",
                        path.join(" → ")
                    );
                    if !path.contains(next) {
                        let mut p = path.clone();
                        p.push(next);
                        stack.push(p);
                    }
                }
            }
        }
    }
}
