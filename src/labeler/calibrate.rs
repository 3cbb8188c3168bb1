//! Calibration of the judge's two similarity thresholds on the train split,
//! without any ground truth: a shuffled-user null.
//!
//! For every train user, each content word of their targets that the history
//! does not already match (exactly or by stem) is scored twice: against the
//! user's own history (real) and against the history of another user, half
//! the file away (null). Under the null a word is unrelated by construction,
//! so a threshold is set at the `1 − rate/2` quantile of the null scores:
//! at most `rate/2` of unrelated words pass the cosine test and at most
//! `rate/2` pass the PMI test, so at most `rate` pass either. The share of
//! *real* words that pass is reported beside it: the signal above the null.
//! Generic words (class 0 whatever the thresholds) are left out.

use super::file::LabelerFile;
use super::{HistoryIndex, Labeler};
use crate::data::User;
use crate::labeler::LabelerConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub users: usize,
    /// Target words scored against their own history / another user's.
    pub words_real: usize,
    pub words_null: usize,
    pub cos_threshold: f32,
    pub pmi_threshold: f32,
    /// The configured bound on the null pass rate.
    pub null_pass_rate: f32,
    /// Measured with the chosen thresholds: share passing either test.
    pub measured_null_pass: f32,
    pub measured_real_pass: f32,
}

/// A labeler file with thresholds calibrated on `users` (default settings otherwise):
/// what `tppo calibrate` writes.
pub fn calibrated_file(
    vectors: crate::vectors::WordVectors,
    users: &[crate::data::User],
    cfg: LabelerConfig,
) -> LabelerFile {
    let judge = Labeler::new(cfg, vectors, users);
    let cal = calibrate(&judge, users);
    LabelerFile {
        config: LabelerConfig {
            cos_threshold: cal.cos_threshold,
            pmi_threshold: cal.pmi_threshold,
            ..cfg
        },
        calibration: cal,
    }
}

/// Max cosine and max PMI of the unmatched content words of `targets` against `idx`.
fn scores(labeler: &Labeler, idx: &HistoryIndex, targets: &[String]) -> Vec<(f32, f32)> {
    let mut out = Vec::new();
    for t in targets {
        for w in crate::text::content_words(t) {
            if w.chars().count() < 2 {
                continue;
            }
            let (class, _) = labeler.word_class(&w, idx);
            let stem = labeler.stem(&w);
            // Generic words are class 0 whatever the thresholds.
            if labeler.generic(&stem).is_some() {
                continue;
            }
            // Exact and stem matches do not depend on the thresholds.
            if class == 2 && (idx.words.contains_key(&w) || idx.stems.contains_key(&stem)) {
                continue;
            }
            let cos = labeler.nearest(&w, idx).map_or(f32::NEG_INFINITY, |x| x.1);
            let pmi = labeler
                .best_pmi(&stem, idx)
                .map_or(f32::NEG_INFINITY, |x| x.2);
            out.push((cos, pmi));
        }
    }
    out
}

/// The `q`-quantile (nearest rank) of finite values; `None` when there are none.
pub fn quantile(values: &[f32], q: f32) -> Option<f32> {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let rank = ((q * v.len() as f32).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

pub fn calibrate(labeler: &Labeler, users: &[User]) -> Calibration {
    let n = users.len();
    let rate = labeler.cfg.null_pass_rate;
    let mut real = Vec::new();
    let mut null = Vec::new();
    for (i, u) in users.iter().enumerate() {
        real.extend(scores(labeler, &labeler.index(&u.history), &u.targets));
        let other = &users[(i + n / 2) % n];
        if n > 1 {
            null.extend(scores(labeler, &labeler.index(&other.history), &u.targets));
        }
    }
    // Among all null words (those with no score count as not passing).
    let frac =
        |total: usize, finite: usize| 1.0 - (rate / 2.0) * total as f32 / finite.max(1) as f32;
    let null_cos: Vec<f32> = null.iter().map(|x| x.0).filter(|x| x.is_finite()).collect();
    let null_pmi: Vec<f32> = null.iter().map(|x| x.1).filter(|x| x.is_finite()).collect();
    let pick = |vals: &[f32], fallback: f32| {
        let q = frac(null.len(), vals.len());
        if q <= 0.0 {
            vals.iter()
                .copied()
                .fold(f32::INFINITY, f32::min)
                .min(fallback)
        } else {
            quantile(vals, q).map_or(fallback, |x| x + 1e-6)
        }
    };
    let cos_threshold = pick(&null_cos, labeler.cfg.cos_threshold);
    let pmi_threshold = pick(&null_pmi, labeler.cfg.pmi_threshold).max(0.0);
    let pass = |s: &[(f32, f32)]| {
        s.iter()
            .filter(|(c, p)| *c >= cos_threshold || *p >= pmi_threshold)
            .count() as f32
            / s.len().max(1) as f32
    };
    Calibration {
        users: n,
        words_real: real.len(),
        words_null: null.len(),
        cos_threshold,
        pmi_threshold,
        null_pass_rate: rate,
        measured_null_pass: pass(&null),
        measured_real_pass: pass(&real),
    }
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn nearest_rank_quantile() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0, f32::NEG_INFINITY];
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.9), Some(5.0));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&[f32::NEG_INFINITY], 0.5), None);
    }
}
