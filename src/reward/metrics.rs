//! Reward-model metrics: AUC (relevant vs irrelevant), accuracy and balanced accuracy.

/// Area under the ROC curve of `scores` for positives vs negatives (the
/// Mann–Whitney U statistic over n₊·n₋ pairs; a tie counts one half).
/// `None` when either class is empty.
pub fn auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|p| **p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    // Average ranks (1-based) over tied groups.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0f64;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += avg_rank * order[i..=j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos * n_neg) as f64)
}

/// Share of positions where `predicted == truth`.
pub fn accuracy(predicted: &[u8], truth: &[u8]) -> f64 {
    let n = predicted.len().min(truth.len());
    predicted.iter().zip(truth).filter(|(p, t)| p == t).count() as f64 / n.max(1) as f64
}

/// The mean over the classes present in `truth` of each class's recall (for two
/// classes: (TPR + TNR) / 2). 0 with no items.
pub fn balanced_accuracy(predicted: &[u8], truth: &[u8]) -> f64 {
    let mut classes: Vec<u8> = truth.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let recalls: Vec<f64> = classes
        .iter()
        .map(|&c| {
            let of_c: Vec<(&u8, &u8)> = predicted
                .iter()
                .zip(truth)
                .filter(|(_, t)| **t == c)
                .collect();
            of_c.iter().filter(|(p, t)| p == t).count() as f64 / of_c.len() as f64
        })
        .collect();
    recalls.iter().sum::<f64>() / recalls.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_accuracy_by_hand() {
        // 8 negatives all called negative, 2 positives of which 1 found: (1 + 0.5) / 2.
        let truth = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
        let pred = [0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        assert!((balanced_accuracy(&pred, &truth) - 0.75).abs() < 1e-12);
        // Always the majority class: accuracy 0.8, balanced accuracy 0.5.
        let all0 = [0; 10];
        assert!((accuracy(&all0, &truth) - 0.8).abs() < 1e-12);
        assert!((balanced_accuracy(&all0, &truth) - 0.5).abs() < 1e-12);
        assert_eq!(balanced_accuracy(&[], &[]), 0.0);
    }
    use proptest::prelude::*;

    #[test]
    fn auc_by_hand() {
        // Perfect separation.
        assert_eq!(
            auc(&[0.9, 0.8, 0.1, 0.2], &[true, true, false, false]),
            Some(1.0)
        );
        assert_eq!(
            auc(&[0.1, 0.2, 0.9, 0.8], &[true, true, false, false]),
            Some(0.0)
        );
        // Pairs (pos, neg): (0.5,0.5) tie → ½, (0.5,0.1) → 1, (0.3,0.5) → 0, (0.3,0.1) → 1: 2.5/4.
        assert_eq!(
            auc(&[0.5, 0.3, 0.5, 0.1], &[true, true, false, false]),
            Some(0.625)
        );
        // All tied: ½.
        assert_eq!(
            auc(&[1.0; 5], &[true, false, true, false, false]),
            Some(0.5)
        );
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn accuracy_by_hand() {
        assert_eq!(accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2]), 0.75);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn auc_equals_the_pair_count(data in prop::collection::vec((0u8..6, any::<bool>()), 1..60)) {
            let scores: Vec<f32> = data.iter().map(|d| d.0 as f32 / 5.0).collect();
            let pos: Vec<bool> = data.iter().map(|d| d.1).collect();
            let mut num = 0.0;
            let mut pairs = 0.0;
            for (i, &p) in pos.iter().enumerate() {
                for (j, &n) in pos.iter().enumerate() {
                    if p && !n {
                        pairs += 1.0;
                        num += if scores[i] > scores[j] { 1.0 } else if scores[i] == scores[j] { 0.5 } else { 0.0 };
                    }
                }
            }
            match auc(&scores, &pos) {
                None => prop_assert_eq!(pairs, 0.0),
                Some(a) => prop_assert!((a - num / pairs).abs() < 1e-12),
            }
        }
    }
}
