//! Checkpoints: one safetensors file written by burn's store, with the model's
//! config and the tokenizer's fingerprint in its metadata, plus a small JSON of
//! the same for people to read. Both are written atomically (temporary file,
//! then rename), so a crash leaves the previous checkpoint loadable. Loading
//! reads the config from the weights file itself, checks the tokenizer, the
//! header and every tensor's presence and shape, and returns a clear error,
//! never a panic, on a truncated or mismatched file.

use crate::error::{Error, Result};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Serialize, de::DeserializeOwned};
use std::collections::HashMap;

/// What a checkpoint says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CheckpointInfo<C> {
    /// What the weights are: `policy`, `token-rm`, `sentence-rm`.
    pub kind: String,
    pub config: C,
    /// [`crate::tokenize::Tok::fingerprint`] of the tokenizer the model was trained with.
    pub tokenizer: String,
}

/// Serialise `model` with its info into safetensors bytes.
pub fn to_bytes<M: Module + ModuleSnapshot, C: Serialize>(
    model: &M,
    info: &CheckpointInfo<C>,
) -> Result<Vec<u8>> {
    let json =
        serde_json::to_string(info).map_err(|e| Error::Invalid(format!("checkpoint info: {e}")))?;
    let mut store = SafetensorsStore::from_bytes(None).metadata("tppo", json);
    model
        .save_into(&mut store)
        .map_err(|e| Error::Invalid(format!("saving weights: {e}")))?;
    store
        .get_bytes()
        .map_err(|e| Error::Invalid(format!("saving weights: {e}")))
}

/// Read the info from checkpoint bytes (validating the safetensors header and data size).
pub fn read_info<C: DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<CheckpointInfo<C>> {
    let bad = |m: String| Error::Invalid(format!("{name}: {m}"));
    safetensors::SafeTensors::deserialize(bytes).map_err(|e| {
        bad(format!(
            "not a complete safetensors file ({e}); was it truncated?"
        ))
    })?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("unreadable header: {e}")))?;
    let map: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
    let json = map
        .get("tppo")
        .ok_or_else(|| bad("no `tppo` metadata: not a TPPO Lab checkpoint".into()))?;
    serde_json::from_str(json)
        .map_err(|e| bad(format!("checkpoint info does not match this version: {e}")))
}

/// Checkpoint bytes with every f16 tensor widened to f32, the type the models compute
/// in. The page downloads f16 copies of the shipped checkpoints (half the bytes;
/// `scripts/compact.py`, tested in tests/compact.rs against the f32 originals); f32
/// files come back as they are. Other types are left alone (the load then names them).
pub fn widen(name: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    use safetensors::{Dtype, SafeTensors, tensor::TensorView};
    let bad = |m: String| Error::Invalid(format!("{name}: {m}"));
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        bad(format!(
            "not a complete safetensors file ({e}); was it truncated?"
        ))
    })?;
    let tensors = st.tensors();
    if !tensors.iter().any(|(_, v)| v.dtype() == Dtype::F16) {
        return Ok(bytes.to_vec());
    }
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("unreadable header: {e}")))?;
    let data: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, v)| match v.dtype() {
            Dtype::F16 => (
                k.clone(),
                Dtype::F32,
                v.shape().to_vec(),
                v.data()
                    .chunks_exact(2)
                    .flat_map(|b| {
                        half::f16::from_le_bytes([b[0], b[1]])
                            .to_f32()
                            .to_le_bytes()
                    })
                    .collect(),
            ),
            d => (k.clone(), d, v.shape().to_vec(), v.data().to_vec()),
        })
        .collect();
    let views = data
        .iter()
        .map(|(k, d, shape, bytes)| {
            TensorView::new(*d, shape.clone(), bytes)
                .map(|v| (k.clone(), v))
                .map_err(|e| bad(format!("tensor {k}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, meta.metadata().clone())
        .map_err(|e| bad(format!("widening f16 weights: {e}")))
}

/// Load weights into `model` (built from the checkpoint's own config), checking that
/// every tensor is there with the right shape. f16 weights are widened to f32 ([`widen`]).
pub fn load_into<M: Module + ModuleSnapshot>(name: &str, bytes: &[u8], mut model: M) -> Result<M> {
    let bad = |m: String| Error::Invalid(format!("{name}: {m}"));
    let mut store = SafetensorsStore::from_bytes(Some(widen(name, bytes)?));
    let result = model
        .load_from(&mut store)
        .map_err(|e| bad(format!("loading weights: {e}")))?;
    if !result.errors.is_empty() {
        return Err(bad(format!(
            "tensors that do not fit the model: {:?}",
            result.errors
        )));
    }
    if !result.missing.is_empty() {
        let names: Vec<&str> = result.missing.iter().map(|m| m.0.as_str()).collect();
        return Err(bad(format!(
            "tensors missing from the file: {}",
            names.join(", ")
        )));
    }
    if !result.unused.is_empty() {
        return Err(bad(format!(
            "tensors the model does not have: {}",
            result.unused.join(", ")
        )));
    }
    Ok(model)
}

/// Write `NAME.safetensors` and `NAME.json` atomically (creating the folder).
pub fn save<M: Module + ModuleSnapshot, C: Serialize>(
    model: &M,
    info: &CheckpointInfo<C>,
    path: &std::path::Path,
) -> Result<()> {
    let bytes = to_bytes(model, info)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|reason| Error::Io {
            path: dir.display().to_string(),
            reason,
        })?;
    }
    crate::io::write_file_atomic(&path.with_extension("safetensors"), &bytes)?;
    crate::io::write_json(&path.with_extension("json"), info)
}

/// Check checkpoint bytes: a complete file, of one of the `kinds`, trained with
/// `tokenizer`; their info. Every loader goes through here (files and the page's
/// downloads alike). Build the model from `info.config`, then [`load_into`].
pub fn open_bytes<C: DeserializeOwned>(
    name: &str,
    bytes: &[u8],
    kinds: &[&str],
    tokenizer: &str,
) -> Result<CheckpointInfo<C>> {
    let info: CheckpointInfo<C> = read_info(name, bytes)?;
    if !kinds.contains(&info.kind.as_str()) {
        return Err(Error::Invalid(format!(
            "{name}: a {} checkpoint, expected {}",
            info.kind,
            kinds.join(" or ")
        )));
    }
    if info.tokenizer != tokenizer {
        return Err(Error::Invalid(format!(
            "{name}: trained with tokenizer {}, but the tokenizer given is {tokenizer}: use the tokenizer the model was trained with",
            info.tokenizer
        )));
    }
    Ok(info)
}

/// Read `PATH.safetensors` and [`open_bytes`] it: its bytes and info.
pub fn open<C: DeserializeOwned>(
    path: &std::path::Path,
    kinds: &[&str],
    tokenizer: &str,
) -> Result<(Vec<u8>, CheckpointInfo<C>)> {
    let file = path.with_extension("safetensors");
    let bytes = crate::io::read_file(&file)?;
    let info = open_bytes(&file.display().to_string(), &bytes, kinds, tokenizer)?;
    Ok((bytes, info))
}

/// A policy from checkpoint bytes, onto `device`, with its config.
pub fn policy_from_bytes(
    name: &str,
    bytes: &[u8],
    tokenizer: &str,
    device: &burn::tensor::Device,
) -> Result<(
    crate::model::policy::Policy,
    crate::model::policy::PolicyConfig,
)> {
    let info: CheckpointInfo<crate::model::policy::PolicyConfig> =
        open_bytes(name, bytes, &["policy"], tokenizer)?;
    Ok((
        load_into(name, bytes, info.config.init(device))?,
        info.config,
    ))
}

/// Load a policy checkpoint (`PATH.safetensors`) onto `device`.
pub fn load_policy(
    path: &std::path::Path,
    tokenizer: &str,
    device: &burn::tensor::Device,
) -> Result<crate::model::policy::Policy> {
    let file = path.with_extension("safetensors");
    let bytes = crate::io::read_file(&file)?;
    Ok(policy_from_bytes(&file.display().to_string(), &bytes, tokenizer, device)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::policy::{Padded, PolicyConfig};
    use crate::model::trunk::TrunkConfig;

    fn info(cfg: PolicyConfig) -> CheckpointInfo<PolicyConfig> {
        CheckpointInfo {
            kind: "policy".into(),
            config: cfg,
            tokenizer: "0123abcd".into(),
        }
    }

    fn tiny() -> PolicyConfig {
        PolicyConfig::of(TrunkConfig {
            vocab: 40,
            d_model: 16,
            n_layers: 2,
            n_heads: 2,
            d_ff: 32,
            max_len: 32,
        })
    }

    #[test]
    fn widen_turns_f16_bits_into_the_f32_values_by_hand() {
        use safetensors::{Dtype, SafeTensors, tensor::TensorView};
        // f16 bits: 0x3C00 = 1.0, 0xC100 = −2.5, 0x2E66 = 0.0999755859375 (the f16 nearest 0.1),
        // 0x0001 = 2^−24 (the smallest subnormal).
        let bits: Vec<u8> = [0x3C00u16, 0xC100, 0x2E66, 0x0001]
            .iter()
            .flat_map(|b| b.to_le_bytes())
            .collect();
        let ints: Vec<u8> = [7i64, -3].iter().flat_map(|v| v.to_le_bytes()).collect();
        let meta = Some(std::collections::HashMap::from([(
            "tppo".to_string(),
            "{}".to_string(),
        )]));
        let file = safetensors::serialize(
            [
                ("w", TensorView::new(Dtype::F16, vec![2, 2], &bits).unwrap()),
                ("i", TensorView::new(Dtype::I64, vec![2], &ints).unwrap()),
            ],
            meta,
        )
        .unwrap();
        let wide = widen("t", &file).unwrap();
        let st = SafeTensors::deserialize(&wide).unwrap();
        let w = st.tensor("w").unwrap();
        assert_eq!((w.dtype(), w.shape()), (Dtype::F32, &[2usize, 2][..]));
        let got: Vec<f32> = w
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(got, [1.0, -2.5, 1638.0 / 16384.0, 2f32.powi(-24)]); // 1638/16384 = 0.0999755859375
        assert_eq!(st.tensor("i").unwrap().data(), &ints[..]);
        let (_, m) = SafeTensors::read_metadata(&wide).unwrap();
        assert_eq!(m.metadata().as_ref().unwrap()["tppo"], "{}");
        // An f32 file comes back byte for byte.
        assert_eq!(widen("t", &wide).unwrap(), wide);
    }

    #[test]
    fn round_trip_gives_identical_outputs() {
        let device = cpu();
        let a = tiny().init(&device);
        let bytes = to_bytes(&a, &info(tiny())).unwrap();
        let read: CheckpointInfo<PolicyConfig> = read_info("ckpt", &bytes).unwrap();
        assert_eq!(read, info(tiny()));
        let b = load_into("ckpt", &bytes, read.config.init(&device)).unwrap();
        let batch = Padded::left(&[vec![1, 2, 3], vec![4, 5]], 0);
        let (oa, ob) = (
            a.forward_full(&batch, &device),
            b.forward_full(&batch, &device),
        );
        assert_eq!(oa.logits.into_data(), ob.logits.into_data());
        assert_eq!(oa.values.into_data(), ob.values.into_data());
    }

    #[test]
    fn truncated_or_mismatched_files_are_errors_not_panics() {
        let device = cpu();
        let bytes = to_bytes(&tiny().init(&device), &info(tiny())).unwrap();
        for cut in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
            let err = read_info::<PolicyConfig>("ckpt.safetensors", &bytes[..cut])
                .unwrap_err()
                .to_string();
            assert!(err.contains("ckpt.safetensors"), "{err}");
        }
        // Weights of another shape.
        let other = PolicyConfig::of(TrunkConfig {
            d_model: 8,
            d_ff: 16,
            ..tiny().trunk
        });
        let err = load_into("ckpt", &bytes, other.init(&device))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ckpt"), "{err}");
        // A safetensors file that is not ours.
        let plain = safetensors::serialize(
            Vec::<(String, safetensors::tensor::TensorView)>::new(),
            None,
        )
        .unwrap();
        assert!(
            read_info::<PolicyConfig>("x", &plain)
                .unwrap_err()
                .to_string()
                .contains("not a TPPO Lab checkpoint")
        );
    }
}
