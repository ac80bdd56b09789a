//! Zero-phase (forward–backward) filtering with a cascade of second-order sections:
//! `scipy.signal.sosfiltfilt`, in place, stretch by stretch.
//!
//! Input: samples (any unit, typically µV; `NaN` = gap) and the sections of a filter
//! ([`crate::dsp::butterworth`]). Output: the same samples filtered forward and backward,
//! in place, with zero phase shift (so event times are not delayed).
//!
//! As scipy: an odd extension of `padlen = 3 · (2·sections + 1)` samples at each end (held
//! in a small scratch buffer; the signal itself is never copied), and initial conditions
//! at steady state for the first padded value (`sosfilt_zi`). The output matches scipy's
//! to rounding (`tests/golden_filter.rs`). The passes themselves run in
//! [`crate::dsp::cascade`].
//!
//! A night has gaps: [`ZeroPhase::filter_stretches`] filters each gap-free stretch long
//! enough on its own and turns shorter ones into gaps.

use super::butterworth::Section;
use super::cascade;
use crate::error::{Error, Location, Result};

/// to many channels.
#[derive(Debug, Clone)]
pub struct ZeroPhase {
    sos: Vec<Section>,
    /// Steady-state initial conditions for a unit step (scipy `sosfilt_zi`).
    zi: Vec<[f64; 2]>,
    padlen: usize,
}

impl ZeroPhase {
    /// Prepares `sos` for forward–backward filtering.
    ///
    /// # Errors
    /// [`Error::Config`] when `sos` is empty, a coefficient is not finite or `a0 != 1`.
    pub fn new(sos: Vec<Section>) -> Result<Self> {
        if sos.is_empty() {
            return Err(Error::config("filter", "no filter sections"));
        }
        if sos
            .iter()
            .any(|s| s.iter().any(|c| !c.is_finite()) || (s[3] - 1.0).abs() > 1e-12)
        {
            return Err(Error::config(
                "filter",
                "sections must be finite with a0 = 1",
            ));
        }
        let zi = cascade::steady_state(&sos);
        let trailing_zero = |i: usize| sos.iter().filter(|s| s[i] == 0.0).count();
        let ntaps = 2 * sos.len() + 1 - trailing_zero(2).min(trailing_zero(5));
        Ok(Self {
            sos,
            zi,
            padlen: 3 * ntaps,
        })
    }

    /// The sections.
    #[must_use]
    #[cfg(any(test, feature = "internals"))]
    pub fn sections(&self) -> &[Section] {
        &self.sos
    }

    /// Fewest samples a stretch needs to be filtered (`padlen + 1`, as scipy).
    #[must_use]
    pub fn min_len(&self) -> usize {
        self.padlen + 1
    }

    /// Filters `x` forward and backward into `out` (same length), in place there, using
    /// `scratch` for the two odd-extension pads (`padlen` samples each; reused across
    /// calls). No padded copy of the signal is made.
    ///
    /// # Errors
    /// [`Error::Input`] when `x` is shorter than [`ZeroPhase::min_len`] or lengths differ.
    #[cfg(any(test, feature = "internals"))]
    pub fn apply(&self, x: &[f64], out: &mut [f64], scratch: &mut Vec<f64>) -> Result<()> {
        let n = x.len();
        if n < self.min_len() {
            return Err(Error::input(
                Location::default(),
                format!(
                    "a stretch of {n} samples is too short to filter (needs at least {})",
                    self.min_len()
                ),
            ));
        }
        if out.len() != n {
            return Err(Error::input(
                Location::default(),
                "output length differs from input length",
            ));
        }
        out.copy_from_slice(x);
        self.filter_in_place(out, scratch);
        Ok(())
    }

    /// Forward and backward in place on `y` (at least [`ZeroPhase::min_len`] samples).
    fn filter_in_place(&self, y: &mut [f64], scratch: &mut Vec<f64>) {
        let (n, p) = (y.len(), self.padlen);
        // Odd extension: 2·y[0] − y[p..1], y, 2·y[n−1] − y[n−2..n−p−1]. The pads live in
        // `scratch`; the signal itself is filtered where it is.
        scratch.clear();
        scratch.extend((1..=p).rev().map(|i| 2.0 * y[0] - y[i]));
        scratch.extend((1..=p).map(|i| 2.0 * y[n - 1] - y[n - 1 - i]));
        let (left, right) = scratch.split_at_mut(p);
        let first = left.first().copied().unwrap_or(y[0]);
        cascade::run(
            &self.sos,
            &self.zi,
            [&mut *left, &mut *y, &mut *right],
            false,
            first,
        );
        let last = right.last().copied().unwrap_or(y[n - 1]);
        cascade::run(&self.sos, &self.zi, [right, y, left], true, last);
    }

    /// Filters, in place, every gap-free stretch (no `NaN`) of `y` that is at least
    /// `min_len` samples long (and at least [`ZeroPhase::min_len`]), and sets shorter
    /// stretches to `NaN` (too short to filter: they become gaps). `name` (as it should
    /// read in a message, e.g. ``channel `left` ``) and `fs_hz` are for the errors.
    ///
    /// # Errors
    /// [`Error::Input`] for an infinite sample (the first one; `y` is then partly
    /// filtered), or when no stretch is long enough ("too short to filter").
    pub fn filter_stretches(
        &self,
        y: &mut [f64],
        min_len: usize,
        scratch: &mut Vec<f64>,
        name: &str,
        fs_hz: f64,
    ) -> Result<()> {
        let min_len = min_len.max(self.min_len());
        let mut any = false;
        let mut i = 0;
        while i < y.len() {
            if y[i].is_nan() {
                i += 1;
                continue;
            }
            if y[i].is_infinite() {
                return Err(Error::input(
                    Location::default(),
                    format!("{name}: sample {i} is infinite"),
                ));
            }
            let start = i;
            i = first_non_finite(y, i);
            let stretch = &mut y[start..i];
            if stretch.len() >= min_len {
                self.filter_in_place(stretch, scratch);
                any = true;
            } else {
                stretch.fill(f64::NAN);
            }
        }
        if any {
            Ok(())
        } else {
            Err(too_short(name, min_len, fs_hz))
        }
    }
}

/// The error for a signal (`name`, as it should read in the message) with no gap-free
/// stretch of `min_len` samples at `fs_hz`.
pub(crate) fn too_short(name: &str, min_len: usize, fs_hz: f64) -> Error {
    Error::input(
        Location::default(),
        format!(
            "{name} is too short to filter: no gap-free stretch of {:.1} s ({min_len} samples at {fs_hz} Hz)",
            min_len as f64 / fs_hz
        ),
    )
}

/// The index of the first `NaN` or infinite value in `y` from `from` on (`y.len()` if
/// none): 64 values at a time without a branch, then the one that holds it (a night is
/// tens of MB to scan).
fn first_non_finite(y: &[f64], from: usize) -> usize {
    const CHUNK: usize = 64;
    let mut i = from;
    while i + CHUNK <= y.len() {
        let chunk = &y[i..i + CHUNK];
        if chunk.iter().fold(false, |any, v| any | !v.is_finite()) {
            break;
        }
        i += CHUNK;
    }
    y[i..]
        .iter()
        .position(|v| !v.is_finite())
        .map_or(y.len(), |p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::butterworth::{Band, butterworth, response};

    #[test]
    fn zero_phase_preserves_passband_sine_and_rejects_short_input() {
        let fs = 256.0;
        let zp = ZeroPhase::new(butterworth(4, Band::BandPass(10.0, 100.0), fs).unwrap()).unwrap();
        let x: Vec<f64> = (0..4096)
            .map(|i| (2.0 * std::f64::consts::PI * 30.0 * f64::from(i) / fs).sin())
            .collect();
        let mut y = vec![0.0; x.len()];
        let mut scratch = Vec::new();
        zp.apply(&x, &mut y, &mut scratch).unwrap();
        let g = response(zp.sections(), 30.0, fs).norm().powi(2);
        for i in 500..3500 {
            assert!((y[i] - g * x[i]).abs() < 1e-6, "sample {i}");
        }
        let mut short = vec![0.0; 10];
        assert!(zp.apply(&x[..10], &mut short, &mut scratch).is_err());
    }

    #[test]
    fn first_non_finite_is_found_wherever_it_is() {
        for n in [0, 1, 63, 64, 65, 200] {
            let clean = vec![1.0; n];
            for from in [0, 1, 64].into_iter().filter(|&f| f <= n) {
                assert_eq!(first_non_finite(&clean, from), n);
            }
            for (at, bad) in (0..n).zip([f64::NAN, f64::INFINITY, f64::NEG_INFINITY].iter().cycle())
            {
                let mut y = clean.clone();
                y[at] = *bad;
                if at + 3 < n {
                    y[at + 3] = f64::NAN;
                }
                for from in [0, at, at + 1] {
                    let want = (from..n).find(|&i| !y[i].is_finite()).unwrap_or(n);
                    assert_eq!(
                        first_non_finite(&y, from),
                        want,
                        "n {n}, {bad} at {at}, from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn infinite_samples_stop_the_stretch_filter_where_they_are() {
        let zp =
            ZeroPhase::new(butterworth(4, Band::BandPass(10.0, 100.0), 256.0).unwrap()).unwrap();
        let mut scratch = Vec::new();
        let signal: Vec<f64> = (0..2000).map(|i| (f64::from(i) * 0.3).sin()).collect();
        for at in [0, 5, 999, 1999] {
            let mut y = signal.clone();
            y[at] = if at % 2 == 0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            // Gaps before it do not hide it.
            y[at.saturating_sub(3)..at].fill(f64::NAN);
            let e = zp
                .filter_stretches(&mut y, 100, &mut scratch, "leg `x`", 256.0)
                .unwrap_err()
                .to_string();
            assert!(
                e.ends_with(&format!("leg `x`: sample {at} is infinite")),
                "{e}"
            );
        }
        let mut y = signal.clone();
        y[50] = f64::NAN;
        y[1500] = f64::NAN;
        let e = zp
            .filter_stretches(&mut y, 2000, &mut scratch, "leg `x`", 256.0)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("leg `x` is too short to filter"), "{e}");
        let mut y = signal;
        zp.filter_stretches(&mut y, 100, &mut scratch, "leg `x`", 256.0)
            .unwrap();
    }
}
