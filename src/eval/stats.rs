//! Intervals and tests for the evaluation: Wilson score interval for a rate,
//! seeded bootstrap percentiles for any statistic of paired per-user outcomes,
//! and the exact two-sided sign test.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// A 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval of k successes in n trials (95 %).
pub fn wilson(k: usize, n: usize) -> Interval {
    if n == 0 {
        return Interval { lo: 0.0, hi: 1.0 };
    }
    let (n, p) = (n as f64, k as f64 / n as f64);
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Interval {
        lo: (center - half).max(0.0),
        hi: (center + half).min(1.0),
    }
}

/// Percentile bootstrap (95 %) of `stat` over `n` paired items: each resample draws
/// n item indices with replacement. Seeded, so the interval is reproducible.
pub fn bootstrap(
    n: usize,
    resamples: usize,
    seed: u64,
    stat: impl Fn(&[usize]) -> f64,
) -> Interval {
    if n == 0 || resamples == 0 {
        return Interval {
            lo: f64::NAN,
            hi: f64::NAN,
        };
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut idx = vec![0usize; n];
    let mut values: Vec<f64> = (0..resamples)
        .map(|_| {
            idx.iter_mut().for_each(|i| *i = rng.random_range(0..n));
            stat(&idx)
        })
        .collect();
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    Interval {
        lo: at(0.025),
        hi: at(0.975),
    }
}

/// An estimate with seeds as the unit of replication: the per-seed means, their
/// mean, a t-interval over the seed means, and a two-level bootstrap interval
/// (resample seeds, then users within each resampled seed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedEstimate {
    pub per_seed: Vec<(u64, f64)>,
    pub mean: f64,
    /// 95 % t-interval over the seed means (`None` with one seed).
    pub t_interval: Option<Interval>,
    /// 95 % two-level percentile bootstrap.
    pub bootstrap: Interval,
}

/// The two-sided 97.5 % quantile of Student's t with `df` degrees of freedom.
fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if df == 0 {
        f64::NAN
    } else {
        T.get(df - 1).copied().unwrap_or(Z95)
    }
}

/// [`SeedEstimate`] of per-user values grouped by seed (`(seed, values)`).
pub fn over_seeds(per_seed: &[(u64, Vec<f64>)], resamples: usize, seed: u64) -> SeedEstimate {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let means: Vec<(u64, f64)> = per_seed.iter().map(|(s, v)| (*s, mean(v))).collect();
    let m: Vec<f64> = means.iter().map(|x| x.1).collect();
    let grand = mean(&m);
    let k = m.len();
    let t_interval = (k > 1).then(|| {
        let var = m.iter().map(|x| (x - grand).powi(2)).sum::<f64>() / (k - 1) as f64;
        let half = t975(k - 1) * (var / k as f64).sqrt();
        Interval {
            lo: grand - half,
            hi: grand + half,
        }
    });
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let bootstrap = if k == 0 || resamples == 0 {
        Interval {
            lo: f64::NAN,
            hi: f64::NAN,
        }
    } else {
        let mut values: Vec<f64> = (0..resamples)
            .map(|_| {
                (0..k)
                    .map(|_| {
                        let users = &per_seed[rng.random_range(0..k)].1;
                        let n = users.len().max(1);
                        (0..users.len())
                            .map(|_| users[rng.random_range(0..n)])
                            .sum::<f64>()
                            / n as f64
                    })
                    .sum::<f64>()
                    / k as f64
            })
            .collect();
        values.sort_by(f64::total_cmp);
        let at =
            |q: f64| values[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
        Interval {
            lo: at(0.025),
            hi: at(0.975),
        }
    };
    SeedEstimate {
        per_seed: means,
        mean: grand,
        t_interval,
        bootstrap,
    }
}

/// Exact two-sided sign test of `wins` against `losses` (ties left out): the probability,
/// under p = ½, of a split at least as uneven.
pub fn sign_test(wins: usize, losses: usize) -> f64 {
    let n = wins + losses;
    if n == 0 {
        return 1.0;
    }
    let k = wins.min(losses);
    // P(X ≤ k) for X ~ Binomial(n, ½), summed in log space.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_c = 0.0f64; // ln C(n, 0)
    let mut tail = 0.0f64;
    for i in 0..=k {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        tail += (ln_c + ln_half_n).exp();
    }
    (2.0 * tail).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_estimates_by_hand() {
        // Three seeds whose means are 0.2, 0.4 and 0.6: mean 0.4, sd 0.2,
        // t-interval 0.4 ± 4.303·0.2/√3.
        let per_seed = vec![
            (1, vec![0.0, 0.4]),
            (2, vec![0.4, 0.4]),
            (3, vec![1.0, 0.2]),
        ];
        let e = over_seeds(&per_seed, 2000, 7);
        assert!((e.mean - 0.4).abs() < 1e-12);
        let half = 4.303 * 0.2 / 3f64.sqrt();
        let t = e.t_interval.unwrap();
        assert!((t.lo - (0.4 - half)).abs() < 1e-9 && (t.hi - (0.4 + half)).abs() < 1e-9);
        // The bootstrap stays within the values' range and around the mean.
        assert!(e.bootstrap.lo >= 0.0 && e.bootstrap.hi <= 1.0);
        assert!(e.bootstrap.lo < 0.4 && 0.4 < e.bootstrap.hi);
        // Seed-to-seed spread widens it: the same 6 values as one seed give a narrower one.
        let pooled = over_seeds(&[(1, vec![0.0, 0.4, 0.4, 0.4, 1.0, 0.2])], 2000, 7);
        assert!(pooled.t_interval.is_none());
        let one = over_seeds(&[(1, vec![0.5; 4])], 100, 1);
        assert_eq!((one.bootstrap.lo, one.bootstrap.hi), (0.5, 0.5));
    }

    #[test]
    fn wilson_by_hand() {
        // 8 of 10: centre (0.8 + 1.92073/10)/1.384146 = 0.71676,
        // half 1.95996·sqrt(0.016 + 0.0096036)/1.384146 = 0.22657.
        let i = wilson(8, 10);
        assert!((i.lo - 0.490_18).abs() < 1e-4, "{i:?}");
        assert!((i.hi - 0.943_32).abs() < 1e-4, "{i:?}");
        // 0 of 20 starts at 0 and is not degenerate.
        let z = wilson(0, 20);
        assert_eq!(z.lo, 0.0);
        assert!((z.hi - 0.161_13).abs() < 1e-4, "{z:?}");
        // At n = 400 and p = 0.5 the half-width is about ±5 points (DESIGN's note).
        let w = wilson(200, 400);
        assert!(((w.hi - w.lo) / 2.0 - 0.0488).abs() < 1e-3, "{w:?}");
    }

    #[test]
    fn sign_test_by_hand() {
        // 9 wins, 1 loss: 2·(1 + 10)/1024.
        assert!((sign_test(9, 1) - 22.0 / 1024.0).abs() < 1e-12);
        assert!((sign_test(1, 9) - 22.0 / 1024.0).abs() < 1e-12);
        assert_eq!(sign_test(5, 5), 1.0);
        assert_eq!(sign_test(0, 0), 1.0);
        // 0 of 20: 2/2^20.
        assert!((sign_test(20, 0) - 2.0 / 1_048_576.0).abs() < 1e-15);
    }

    #[test]
    fn bootstrap_of_a_mean_matches_the_normal_interval() {
        // 1000 items, 30 % ones: the mean's 95 % interval is about 0.3 ± 1.96·sqrt(.21/1000).
        let x: Vec<f64> = (0..1000).map(|i| f64::from(u8::from(i % 10 < 3))).collect();
        let mean = |idx: &[usize]| idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64;
        let ci = bootstrap(x.len(), 2000, 1, mean);
        let half = 1.96 * (0.21f64 / 1000.0).sqrt();
        assert!((ci.lo - (0.3 - half)).abs() < 0.006, "{ci:?}");
        assert!((ci.hi - (0.3 + half)).abs() < 0.006, "{ci:?}");
        // Same seed, same interval; a constant statistic has no width.
        assert_eq!(ci, bootstrap(x.len(), 2000, 1, mean));
        let flat = bootstrap(10, 100, 3, |_| 0.5);
        assert_eq!((flat.lo, flat.hi), (0.5, 0.5));
    }
}
