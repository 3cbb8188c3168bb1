//! Value parsers for the numeric options of the command line (the library's settings
//! types derive their clap options with them, so they live here, not in `src/cli/`): clap checks every range while it parses,
//! so a bad value ends the command at once with a message that names the option
//! and the expected range (`invalid value '0' for '--iters <ITERS>': 0 is not in
//! 1..=1000000`), and no panic deeper down is reachable from the command line.
//!
//! Counts take an explicit range (`count(1, 4096)`); floats are finite and in
//! their own domain (`positive`, `non_negative`, `probability`).

use clap::builder::RangedU64ValueParser;
use std::str::FromStr;

/// A count in `lo..=hi`.
pub fn count(lo: u64, hi: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::<usize>::new().range(lo..=hi)
}

/// A finite number (no NaN, no infinity, nothing that overflows the type).
fn finite<T: FromStr + Copy + Into<f64>>(s: &str) -> Result<(T, f64), String> {
    let v: T = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number, found {s:?}"))?;
    let x: f64 = v.into();
    if x.is_finite() {
        Ok((v, x))
    } else {
        Err(format!("expected a finite number, found {s:?}"))
    }
}

/// A finite number > 0 (learning rates, temperatures, β of the lemma).
pub fn positive<T: FromStr + Copy + Into<f64>>(s: &str) -> Result<T, String> {
    let (v, x) = finite::<T>(s)?;
    if x > 0.0 {
        Ok(v)
    } else {
        Err(format!("expected a number > 0, found {s}"))
    }
}

/// A finite number ≥ 0 (β of the KL term, α and sl of lwp, greedy temperature 0).
pub fn non_negative<T: FromStr + Copy + Into<f64>>(s: &str) -> Result<T, String> {
    let (v, x) = finite::<T>(s)?;
    if x >= 0.0 {
        Ok(v)
    } else {
        Err(format!("expected a number ≥ 0, found {s}"))
    }
}

/// A number in [0, 1] (weights such as w = λ_local, margins of shares).
pub fn probability<T: FromStr + Copy + Into<f64>>(s: &str) -> Result<T, String> {
    let (v, x) = finite::<T>(s)?;
    if (0.0..=1.0).contains(&x) {
        Ok(v)
    } else {
        Err(format!("expected a number in [0, 1], found {s}"))
    }
}

/// A non-empty string (after trimming).
pub fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("expected a non-empty value".into())
    } else {
        Ok(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_outside_their_domain_are_refused() {
        for bad in ["NaN", "nan", "inf", "-inf", "1e40", "", "x", "0", "-1"] {
            assert!(positive::<f32>(bad).is_err(), "{bad}");
        }
        assert_eq!(positive::<f64>("3e-5"), Ok(3e-5));
        assert_eq!(non_negative::<f32>("0"), Ok(0.0));
        assert!(non_negative::<f32>("-0.1").is_err());
        assert!(probability::<f32>("1.01").is_err());
        assert_eq!(probability::<f32>("1"), Ok(1.0));
        assert!(non_empty("  ").is_err());
    }
}
