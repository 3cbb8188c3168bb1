//! The judge's settings file, `data/labeler.json` (written by `tppo calibrate`):
//! thresholds plus how they were found, and the loaders that build the judge
//! from it.

use super::calibrate::{Calibration, calibrate};
use super::{Labeler, LabelerConfig};
use crate::data::User;
use crate::vectors::WordVectors;
use serde::{Deserialize, Serialize};

/// The labeler file: thresholds plus how they were found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelerFile {
    pub config: LabelerConfig,
    pub calibration: Calibration,
}

/// A labeler file with thresholds calibrated on `users` (default settings otherwise):
/// what `tppo calibrate` writes.
pub fn calibrated_file(vectors: &WordVectors, users: &[User], cfg: LabelerConfig) -> LabelerFile {
    let cal = calibrate(vectors, users, cfg);
    LabelerFile {
        config: LabelerConfig {
            cos_threshold: cal.cos_threshold,
            pmi_threshold: cal.pmi_threshold,
            ..cfg
        },
        calibration: cal,
    }
}

/// Load the judge from the bundled assets: word vectors and `labeler.json` from
/// `assets` (defaults with a note when there is no `labeler.json` yet), and the
/// co-occurrence statistics from the training users in `train`.
pub fn load(
    assets: &std::path::Path,
    train: &std::path::Path,
) -> crate::Result<(Labeler, Option<LabelerFile>)> {
    load_with_users(assets, &crate::data::jsonl::read_users(train)?)
}

/// [`load`] with the training users already read (they are read once per process).
pub fn load_with_users(
    assets: &std::path::Path,
    users: &[User],
) -> crate::Result<(Labeler, Option<LabelerFile>)> {
    let vectors = WordVectors::load_dir(assets)?;
    let path = assets.join("labeler.json");
    let file = if path.exists() {
        let bytes = crate::io::read_file(&path)?;
        Some(serde_json::from_slice::<LabelerFile>(&bytes).map_err(|e| {
            crate::Error::Input(crate::error::InputErrors(vec![
                crate::error::InputError::new(
                    path.display().to_string(),
                    e.line(),
                    "",
                    format!("expected a labeler file {{config, calibration}}: {e}"),
                ),
            ]))
        })?)
    } else {
        None
    };
    let cfg = file.as_ref().map(|f| f.config).unwrap_or_default();
    Ok((Labeler::new(cfg, vectors, users), file))
}
