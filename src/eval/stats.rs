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

/// z_{0.8}: the quantile for 80 % power.
const Z80: f64 = 0.841_621_233_572_914_3;

/// A paired difference when every seed answers the same users: users and seeds
/// resampled together (a crossed bootstrap: each resample draws the seeds, and one
/// draw of the users that every drawn seed shares), so that neither the users'
/// variation nor the seeds' is counted as if it were independent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crossed {
    /// The mean over seeds and users.
    pub mean: f64,
    /// 95 % percentile interval of the crossed bootstrap.
    pub interval: Interval,
    /// The bootstrap's standard error.
    pub se: f64,
    /// The minimum detectable effect at this size: (z_{0.975} + z_{0.8})·SE, a true
    /// difference this large is found (interval off 0) four times in five.
    pub mde: f64,
    /// The interval holds 0: no verdict either way.
    pub inconclusive: bool,
    pub seeds: usize,
    pub users: usize,
}

/// [`Crossed`] of `x[s][u]`: seed s's value for user u (every row the same users in
/// the same order; rows cut to the shortest).
pub fn crossed(x: &[Vec<f64>], resamples: usize, seed: u64) -> Crossed {
    let (k, n) = (x.len(), x.iter().map(Vec::len).min().unwrap_or(0));
    let mean = if k * n == 0 {
        f64::NAN
    } else {
        x.iter().map(|r| r[..n].iter().sum::<f64>()).sum::<f64>() / (k * n) as f64
    };
    let nan = Interval {
        lo: f64::NAN,
        hi: f64::NAN,
    };
    if k * n == 0 || resamples < 2 {
        return Crossed {
            mean,
            interval: nan,
            se: f64::NAN,
            mde: f64::NAN,
            inconclusive: true,
            seeds: k,
            users: n,
        };
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut seeds, mut users) = (vec![0usize; k], vec![0usize; n]);
    let mut values: Vec<f64> = (0..resamples)
        .map(|_| {
            seeds.iter_mut().for_each(|s| *s = rng.random_range(0..k));
            users.iter_mut().for_each(|u| *u = rng.random_range(0..n));
            let total: f64 = seeds
                .iter()
                .map(|&s| users.iter().map(|&u| x[s][u]).sum::<f64>())
                .sum();
            total / (k * n) as f64
        })
        .collect();
    let m = values.iter().sum::<f64>() / resamples as f64;
    let se = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (resamples - 1) as f64).sqrt();
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    let interval = Interval {
        lo: at(0.025),
        hi: at(0.975),
    };
    Crossed {
        mean,
        interval,
        se,
        mde: (Z95 + Z80) * se,
        inconclusive: interval.lo <= 0.0 && interval.hi >= 0.0,
        seeds: k,
        users: n,
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

    #[test]
    fn the_crossed_bootstrap_by_hand() {
        // A constant: no spread at all.
        let c = crossed(&vec![vec![0.25; 50]; 3], 500, 1);
        assert_eq!(
            (c.mean, c.interval.lo, c.interval.hi, c.se),
            (0.25, 0.25, 0.25, 0.0)
        );
        assert!(!c.inconclusive);
        // Users vary, seeds agree: SE ≈ the users' population sd / √n. Users ±1
        // alternating: sd 1, n = 400 → 0.05.
        let row: Vec<f64> = (0..400)
            .map(|u| if u % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let c = crossed(&vec![row.clone(); 5], 4000, 2);
        assert!(c.mean.abs() < 1e-12);
        assert!((c.se - 0.05).abs() < 0.005, "{}", c.se);
        assert!(c.inconclusive);
        // The MDE is (1.96 + 0.84)·SE.
        assert!((c.mde - 2.801_585_218 * c.se).abs() < 1e-9);
        // Seeds vary, users agree: SE ≈ the seeds' population sd / √k. Seeds 0 and 1
        // (sd 0.5), k = 2 → 0.354; the seeds' shift is not divided by the users.
        let x = vec![vec![0.0; 300], vec![1.0; 300]];
        let c = crossed(&x, 4000, 3);
        assert!((c.mean - 0.5).abs() < 1e-12);
        assert!((c.se - 0.5 / 2f64.sqrt()).abs() < 0.03, "{}", c.se);
        // Treating 600 seed×user values as independent would say 0.5/√600 ≈ 0.02.
        assert!(c.se > 10.0 * 0.5 / 600f64.sqrt());
        // Nothing to resample.
        assert!(crossed(&[], 100, 1).mean.is_nan());
    }
}
