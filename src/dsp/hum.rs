//! Mains hum removal: a robustly tracked sinusoid subtracted per hum line.
//!
//! Input: one leg's band-passed EMG, µV at `fs_hz` (`NaN` = gap), and the frequency of a
//! hum line, Hz (50/60 Hz or a harmonic, possibly folded below Nyquist, as found by
//! [`crate::dsp::mains::detect_mains`]). Output: the same samples, in place, with that line's
//! sinusoid subtracted; gaps stay `NaN`.
//!
//! **Why not a notch filter.** A notch narrow enough to spare the EMG band (Q = 30) rings
//! for about `Q / (π f0)` seconds after every transient that has energy at its frequency,
//! and zero-phase filtering puts that ringing on both sides of the transient. ECG QRS
//! complexes carry most of their energy at 5–25 Hz. Sampled at 200 Hz, a 60-Hz mains hum's
//! third harmonic (180 Hz) folds to 20 Hz, and a notch there rings for ~0.5 s each side of
//! every heartbeat. A strong ECG then turns each beat into a second-long burst, longer than
//! any spike the envelope clips (`spike_max_s`), so beats became leg movements (on a
//! development night with 300-µV QRS complexes and 60-Hz hum at 200 Hz: 168 LMs detected
//! for 79 true ones; with subtraction, 79 of 79). Subtraction removes only the estimated
//! hum and leaves transients as they are, so there is nothing to ring.
//!
//! **How.**
//! 1. The signal is cut into blocks of `max(0.1 s, 2 periods)`. In each block, the
//!    least-squares amplitudes `(a, b)` of `cos(ω n)` and `sin(ω n)` are found, with the
//!    phase counted from the first sample of the signal, so a steady hum gives the same
//!    pair in every block. A block holding a gap gives none.
//! 2. `a` and `b` are each smoothed by a running median over `window_s` (2 s by default,
//!    about 20 blocks). A QRS complex (≈ 0.1 s) or an electrode pop disturbs at most
//!    two blocks per beat, a minority of any window up to ~150 beats/min, so it does not
//!    enter the estimate. Slow changes of the hum's amplitude and phase (and a mains
//!    frequency off its nominal value by a few hundredths of a hertz, which turns the phase
//!    slowly) are followed within about a second.
//! 3. The smoothed pair is interpolated linearly between block centres (held constant
//!    beyond the first and last) and `a cos(ω n) + b sin(ω n)` is subtracted from every
//!    finite sample.
//!
//! Inside a leg movement, the EMG's own component at the hum frequency has a random phase
//! from block to block. The median of the window's `a` and `b` values is therefore close to
//! the hum's, and the burst is left essentially untouched.
//!
//! Cost: two passes over the samples per line, each a few multiply-adds per sample, with
//! `sin`/`cos` evaluated once per block (and tabulated once for the offsets within a
//! block). Nights without hum pay nothing.
//!
//! Written here because no crate does this: notch and comb filters (e.g. in `idsp` or
//! `biquad`) are IIR filters, and they ring.

use crate::error::{Error, Result};

/// Subtracts the hum line at `freq_hz` from `x` (µV at `fs_hz`, `NaN` = gap), tracked
/// with a running median over `window_s` seconds (module docs). A signal shorter than one
/// block, or without a single gap-free block, is left unchanged.
///
/// # Errors
/// [`Error::Config`] when `fs_hz` or `window_s` is not positive and finite, or `freq_hz`
/// does not lie strictly between 0 and the Nyquist frequency.
pub fn subtract_hum(x: &mut [f64], fs_hz: f64, freq_hz: f64, window_s: f64) -> Result<()> {
    Error::require_positive("sample_rate_hz", fs_hz)?;
    Error::require_positive("hum_window_s", window_s)?;
    if !(freq_hz > 0.0 && freq_hz < fs_hz / 2.0) {
        return Err(Error::config(
            "hum frequency",
            format!(
                "must lie between 0 and the Nyquist frequency ({} Hz), got {freq_hz} Hz",
                fs_hz / 2.0
            ),
        ));
    }
    let block = ((fs_hz * (0.1f64).max(2.0 / freq_hz)).round() as usize).max(4);
    let n_blocks = x.len() / block;
    if n_blocks == 0 {
        return Ok(());
    }
    let omega = 2.0 * std::f64::consts::PI * freq_hz / fs_hz;
    let basis = Basis::new(omega, block);
    let (mut cos, mut sin) = (vec![0.0; block], vec![0.0; block]);

    // 1. Least-squares (a, b) per block.
    let (mut a, mut b) = (vec![f64::NAN; n_blocks], vec![f64::NAN; n_blocks]);
    for (k, chunk) in x.chunks_exact(block).enumerate() {
        if chunk.iter().any(|v| v.is_nan()) {
            continue;
        }
        basis.fill(k * block, &mut cos, &mut sin);
        let (mut cc, mut ss, mut cs, mut xc, mut xs) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for ((&v, &c), &s) in chunk.iter().zip(&cos).zip(&sin) {
            cc += c * c;
            ss += s * s;
            cs += c * s;
            xc += v * c;
            xs += v * s;
        }
        let det = cc * ss - cs * cs;
        if det > 1e-9 * cc * ss {
            a[k] = (xc * ss - xs * cs) / det;
            b[k] = (xs * cc - xc * cs) / det;
        }
    }

    // 2. Running medians; blocks without an estimate take their nearest neighbour's.
    let w = (((window_s * fs_hz / block as f64).round() as usize).max(1)) | 1;
    let mut smooth_a = vec![f64::NAN; n_blocks];
    let mut smooth_b = vec![f64::NAN; n_blocks];
    super::running_median::running_median(&a, w, &mut smooth_a);
    super::running_median::running_median(&b, w, &mut smooth_b);
    if !fill_from_neighbours(&mut smooth_a) || !fill_from_neighbours(&mut smooth_b) {
        return Ok(());
    }

    // 3. Interpolate between block centres and subtract. In block `k`, samples before its
    //    centre lie between centres `k - 1` and `k`, the others between `k` and `k + 1`;
    //    beyond the first and last centre the value is held.
    let half = (block as f64 - 1.0) / 2.0;
    let inv = 1.0 / block as f64;
    let last = n_blocks - 1;
    // (value at centre j, change to centre j + 1) of both series, for j = -1 ..= last.
    let segment = |j: isize| -> [(f64, f64); 2] {
        [&smooth_a, &smooth_b].map(|s| {
            if j < 0 {
                (s[0], 0.0)
            } else if j as usize >= last {
                (s[last], 0.0)
            } else {
                let j = j as usize;
                (s[j], s[j + 1] - s[j])
            }
        })
    };
    for (k, chunk) in x.chunks_mut(block).enumerate() {
        basis.fill(k * block, &mut cos, &mut sin);
        let (before, after) = (segment(k as isize - 1), segment(k as isize));
        for (i, ((v, &c), &s)) in chunk.iter_mut().zip(&cos).zip(&sin).enumerate() {
            let d = (i as f64 - half) * inv; // position from this block's centre, blocks
            let ([(a0, da), (b0, db)], t) = if d < 0.0 {
                (before, d + 1.0)
            } else {
                (after, d)
            };
            // A gap stays a gap (NaN minus anything).
            *v -= (a0 + t * da) * c + (b0 + t * db) * s;
        }
    }
    Ok(())
}

/// `cos(ω n)` and `sin(ω n)` over one block: `cos(ω i)`, `sin(ω i)` for the offsets `i`
/// within a block are tabulated once, and a block starting at `n0` combines them with
/// `cos(ω n0)`, `sin(ω n0)` by the angle-sum formulas, so no sample depends on the one
/// before (the loops vectorise) and no rounding accumulates along the night.
struct Basis {
    cos_i: Vec<f64>,
    sin_i: Vec<f64>,
    omega: f64,
}

impl Basis {
    fn new(omega: f64, block: usize) -> Self {
        let (sin_i, cos_i) = (0..block).map(|i| (omega * i as f64).sin_cos()).unzip();
        Basis {
            cos_i,
            sin_i,
            omega,
        }
    }

    /// Writes `cos(ω n)`, `sin(ω n)` for `n = n0 ..` into `c`, `s` (their length).
    fn fill(&self, n0: usize, c: &mut [f64], s: &mut [f64]) {
        let (s0, c0) = (self.omega * n0 as f64).sin_cos();
        for (((c, s), ci), si) in c
            .iter_mut()
            .zip(s.iter_mut())
            .zip(&self.cos_i)
            .zip(&self.sin_i)
        {
            *c = c0 * ci - s0 * si;
            *s = s0 * ci + c0 * si;
        }
    }
}

/// Replaces each `NaN` by the nearest finite value (the earlier one on a tie); `false`
/// when there is none.
fn fill_from_neighbours(v: &mut [f64]) -> bool {
    let Some(first) = v.iter().position(|x| x.is_finite()) else {
        return false;
    };
    let mut prev = first;
    for i in 0..v.len() {
        if v[i].is_finite() {
            // Fill the run between the previous finite value and this one.
            let (before, after) = (v[prev], v[i]);
            for (j, x) in v.iter_mut().enumerate().take(i).skip(prev + 1) {
                *x = if j - prev <= i - j { before } else { after };
            }
            prev = i;
        } else if i < first {
            v[i] = v[first];
        }
    }
    let tail = v[prev];
    for x in &mut v[prev + 1..] {
        *x = tail;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic white-ish noise in [-1, 1].
    fn noise(n: usize, mut state: u64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    fn rms(x: &[f64]) -> f64 {
        (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn removes_a_drifting_hum_and_keeps_the_rest() {
        let fs = 200.0;
        let n = 60 * 200;
        let base = noise(n, 7);
        // 20-Hz hum, 100 µV, amplitude and phase drifting, mains 0.02 Hz off nominal.
        let mut x: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / fs;
                let amp = 100.0 * (1.0 + 0.3 * (2.0 * std::f64::consts::PI * t / 40.0).sin());
                base[i] + amp * (2.0 * std::f64::consts::PI * 20.02 * t + 0.7).sin()
            })
            .collect();
        subtract_hum(&mut x, fs, 20.0, 2.0).unwrap();
        let residual: Vec<f64> = x.iter().zip(&base).map(|(a, b)| a - b).collect();
        // 100 µV of hum → under 2 µV rms left, against a 0.58-µV rms background.
        assert!(rms(&residual[400..n - 400]) < 2.0, "{}", rms(&residual));
    }

    #[test]
    fn transients_do_not_ring() {
        let fs = 200.0;
        let n = 30 * 200;
        let mut x = vec![0.0; n];
        // A QRS-like 300-µV spike every second on a 50-µV 20-Hz hum.
        for (i, v) in x.iter_mut().enumerate() {
            *v = 50.0 * (2.0 * std::f64::consts::PI * 20.0 * i as f64 / fs).cos();
            if i % 200 == 100 || i % 200 == 101 {
                *v += 300.0;
            }
        }
        subtract_hum(&mut x, fs, 20.0, 2.0).unwrap();
        // Away from the spikes (≥ 50 ms), nothing is left: no ringing, no hum.
        let worst = x
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i as i64 % 200 - 100).abs() > 10)
            .map(|(_, v)| v.abs())
            .fold(0.0, f64::max);
        assert!(worst < 5.0, "{worst}");
        // The spikes themselves are kept.
        assert!(x[2 * 200 + 100] > 250.0);
    }

    #[test]
    fn gaps_stay_gaps_and_bad_parameters_are_errors() {
        let fs = 256.0;
        let mut x: Vec<f64> = (0..2560)
            .map(|i| 10.0 * (2.0 * std::f64::consts::PI * 50.0 * f64::from(i) / fs).sin())
            .collect();
        x[1000..1300].fill(f64::NAN);
        subtract_hum(&mut x, fs, 50.0, 2.0).unwrap();
        assert!(x[1000..1300].iter().all(|v| v.is_nan()));
        assert!(x[..900].iter().all(|v| v.abs() < 0.5));
        assert!(x[1400..].iter().all(|v| v.abs() < 0.5));
        // Too short for one block, all gaps: unchanged, no error.
        let mut short = vec![1.0; 3];
        subtract_hum(&mut short, fs, 50.0, 2.0).unwrap();
        assert_eq!(short, vec![1.0; 3]);
        let mut gaps = vec![f64::NAN; 1000];
        subtract_hum(&mut gaps, fs, 50.0, 2.0).unwrap();
        assert!(subtract_hum(&mut x, fs, 128.0, 2.0).is_err());
        assert!(subtract_hum(&mut x, fs, 0.0, 2.0).is_err());
        assert!(subtract_hum(&mut x, f64::NAN, 50.0, 2.0).is_err());
        assert!(subtract_hum(&mut x, fs, 50.0, 0.0).is_err());
    }

    #[test]
    fn neighbours_fill_gaps() {
        let mut v = [f64::NAN, 1.0, f64::NAN, f64::NAN, f64::NAN, 5.0, f64::NAN];
        assert!(fill_from_neighbours(&mut v));
        assert_eq!(v, [1.0, 1.0, 1.0, 1.0, 5.0, 5.0, 5.0]);
        assert!(!fill_from_neighbours(&mut [f64::NAN; 3]));
    }
}
