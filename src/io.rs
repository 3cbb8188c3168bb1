//! File input and output: whole-file reads that name the file in errors,
//! transparent gzip for paths ending in `.gz`, and atomic writes.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::Path;

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |reason| Error::Io {
        path: path.display().to_string(),
        reason,
    }
}

/// Read a whole file, naming it in the error; a `.gz` file is decompressed.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    if path.extension().is_some_and(|e| e == "gz") {
        gunzip(&bytes).map_err(io_error(path))
    } else {
        Ok(bytes)
    }
}

pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// The bytes, unpacked when they are gzip (by their magic number, not a file name).
pub fn maybe_gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(bytes).map_err(|e| Error::Invalid(format!("gzip: {e}")))
    } else {
        Ok(bytes.to_vec())
    }
}

/// Gzip with a fixed header (no time stamp), so equal input gives equal bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to memory cannot fail");
    enc.finish().expect("writing to memory cannot fail")
}

/// Write a file atomically: a temporary file beside it, then a rename, so a
/// reader never sees half a file and a crash leaves the old one in place.
/// A path ending in `.gz` is written gzip-compressed.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let compressed;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        compressed = gzip(bytes);
        &compressed[..]
    } else {
        bytes
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        } // closed before the rename
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable (where a directory can be opened and synced).
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_error(path))
}

/// Write a value as pretty JSON, atomically, creating the file's folder if needed.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let json = serde_json::to_string_pretty(value).map_err(|e| Error::Invalid(e.to_string()))?;
    write_file_atomic(path, json.as_bytes())
}

/// Write rows as JSON lines, atomically, creating the file's folder if needed.
pub fn write_jsonl<T: serde::Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let mut s = String::new();
    for r in rows {
        s.push_str(&serde_json::to_string(r).map_err(|e| Error::Invalid(e.to_string()))?);
        s.push('\n');
    }
    write_file_atomic(path, s.as_bytes())
}

/// A command-line option put over a settings value: `Some` replaces it, `None` leaves it.
pub fn over<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// A settings file of kind `what` (PPO, SFT, RM): the JSON of a settings struct put
/// over `base` field by field (one level deep, so a nested struct may give only some
/// of its fields). A field `T` does not have is refused with the file and the field's
/// name, so a misspelt setting never passes silently; a value of the wrong type names
/// the file too. Validation is the caller's (each struct owns its own).
pub fn read_settings<T: serde::Serialize + serde::de::DeserializeOwned>(
    path: &Path,
    base: T,
    what: &str,
) -> Result<T> {
    let at = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|reason| Error::Io {
        path: at.clone(),
        reason,
    })?;
    let invalid = |why: String| Error::Invalid(format!("{what} settings {at}: {why}"));
    let given: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| invalid(format!("expected a JSON object ({e})")))?;
    let mut full = serde_json::to_value(base).map_err(|e| invalid(e.to_string()))?;
    let Some(fields) = full.as_object_mut() else {
        return Err(invalid("the base settings are not an object".into()));
    };
    for (k, v) in given {
        match fields.get_mut(&k) {
            None => {
                let known: Vec<&str> = fields.keys().map(String::as_str).collect();
                return Err(invalid(format!(
                    "unknown setting {k:?}; expected one of {}",
                    known.join(", ")
                )));
            }
            Some(slot) => match (slot.as_object_mut(), v) {
                (Some(inner), serde_json::Value::Object(vs)) => {
                    for (ik, iv) in vs {
                        if !inner.contains_key(&ik) {
                            return Err(invalid(format!("unknown setting \"{k}.{ik}\"")));
                        }
                        inner.insert(ik, iv);
                    }
                }
                (_, v) => *slot = v,
            },
        }
    }
    serde_json::from_value(full).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn gzip_round_trip_is_deterministic() {
        let a = super::gzip(b"hello hello hello");
        assert_eq!(a, super::gzip(b"hello hello hello"));
        assert_eq!(super::gunzip(&a).unwrap(), b"hello hello hello");
    }
}
