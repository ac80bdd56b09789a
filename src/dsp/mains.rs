//! Mains hum detection: which 50/60 Hz lines (and harmonics) stand out of a signal's
//! spectrum.
//!
//! Input: samples (any unit; `NaN` = gap) at a rate in Hz. Output: the [`MainsLine`]s
//! found, each with its prominence in dB. Removing them is [`crate::dsp::hum`]'s job
//! (or an IIR notch's, [`crate::dsp::butterworth::notch`]).
//!
//! The spectrum is Welch's average of Hann-windowed periodograms of ≈ 1-s segments (at
//! most 256, spread over the signal; segments holding a gap are skipped), computed with
//! realfft.

use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

/// A spectral line found by [`detect_mains`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MainsLine {
    /// Line frequency, Hz (50, 60 or a harmonic).
    pub frequency_hz: f64,
    /// Peak power over the median of the neighbouring ±8 Hz (excluding ±2 Hz), dB.
    pub prominence_db: f64,
}

/// Looks for mains hum (50 or 60 Hz and harmonics up to `max_hz`) in `x` sampled at
/// `fs_hz`: a Welch spectrum (Hann window, 1-s segments, at most 256 segments spread over
/// the signal, segments containing a NaN skipped). A line is reported when its peak stands
/// `min_prominence_db` above the median of its neighbourhood. Returns the lines of the
/// fundamental (50 or 60 Hz, whichever is more prominent) and of its harmonics 2–10,
/// including harmonics above Nyquist folded back into the band (an amplifier with a weak
/// anti-aliasing filter puts 60 Hz × 3 = 180 Hz at 76 Hz when sampling at 256 Hz); empty
/// when there is no hum or not enough clean signal.
#[must_use]
pub fn detect_mains(x: &[f64], fs_hz: f64, max_hz: f64, min_prominence_db: f64) -> Vec<MainsLine> {
    let Some(psd) = welch(x, fs_hz) else {
        return Vec::new();
    };
    let df = fs_hz / ((psd.len() - 1) * 2) as f64;
    let prominence = |f: f64| -> Option<f64> {
        if f + 10.0 >= fs_hz / 2.0 {
            return None;
        }
        let bin = |hz: f64| (hz / df).round() as usize;
        let peak = (bin(f - 1.0)..=bin(f + 1.0))
            .filter_map(|i| psd.get(i))
            .copied()
            .fold(0.0, f64::max);
        let mut near: Vec<f64> = (bin(f - 8.0)..=bin(f + 8.0))
            .filter(|&i| (i as f64 * df - f).abs() > 2.0)
            .filter_map(|i| psd.get(i).copied())
            .collect();
        if near.is_empty() {
            return None;
        }
        let mid = near.len() / 2;
        let (_, med, _) = near.select_nth_unstable_by(mid, f64::total_cmp);
        (*med > 0.0 && peak > 0.0).then(|| 10.0 * (peak / *med).log10())
    };
    let best = [50.0, 60.0]
        .into_iter()
        .filter_map(|f| prominence(f).map(|p| (f, p)))
        .filter(|&(_, p)| p >= min_prominence_db)
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((f0, p0)) = best else {
        return Vec::new();
    };
    let mut lines = vec![MainsLine {
        frequency_hz: f0,
        prominence_db: p0,
    }];
    for k in 2..=10u32 {
        // Fold k·f0 into [0, fs/2].
        let f = (f64::from(k) * f0) % fs_hz;
        let f = if f > fs_hz / 2.0 { fs_hz - f } else { f };
        if !(10.0..=max_hz).contains(&f) || lines.iter().any(|l| (l.frequency_hz - f).abs() < 1.0) {
            continue;
        }
        if let Some(p) = prominence(f).filter(|&p| p >= min_prominence_db) {
            lines.push(MainsLine {
                frequency_hz: f,
                prominence_db: p,
            });
        }
    }
    lines
}

/// Averaged Hann-windowed periodogram, segments of ~1 s (a power of two). `None` when no
/// clean segment exists.
fn welch(x: &[f64], fs_hz: f64) -> Option<Vec<f64>> {
    let nseg = (fs_hz.round() as usize).max(16).next_power_of_two();
    if x.len() < nseg {
        return None;
    }
    let available = x.len() / nseg;
    let used = available.min(256);
    let stride = available / used;
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(nseg);
    let window: Vec<f64> = (0..nseg)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / nseg as f64).cos())
        .collect();
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut psd = vec![0.0; spectrum.len()];
    let mut count = 0;
    for s in 0..used {
        let seg = &x[s * stride * nseg..(s * stride + 1) * nseg];
        if seg.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let mean = seg.iter().sum::<f64>() / nseg as f64;
        for ((o, &v), w) in input.iter_mut().zip(seg).zip(&window) {
            *o = (v - mean) * w;
        }
        if fft
            .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
            .is_err()
        {
            return None;
        }
        for (p, c) in psd.iter_mut().zip(&spectrum) {
            *p += c.norm_sqr();
        }
        count += 1;
    }
    (count > 0).then_some(psd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_60_hz_hum_and_not_in_noise() {
        let fs = 500.0;
        let mut state = 12345u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let clean: Vec<f64> = (0..60_000).map(|_| noise()).collect();
        assert!(detect_mains(&clean, fs, 200.0, 10.0).is_empty());
        let hum: Vec<f64> = clean
            .iter()
            .enumerate()
            .map(|(i, v)| v + 0.2 * (2.0 * std::f64::consts::PI * 60.0 * i as f64 / fs).sin())
            .collect();
        let lines = detect_mains(&hum, fs, 200.0, 10.0);
        assert_eq!(lines.first().map(|l| l.frequency_hz), Some(60.0));
        // A 3rd harmonic above Nyquist at 256 Hz folds to 76 Hz and is found there.
        let fs = 256.0;
        let folded: Vec<f64> = clean
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let w = 2.0 * std::f64::consts::PI * 60.0 * i as f64 / fs;
                v + 0.2 * w.sin() + 0.2 * (3.0 * w).sin()
            })
            .collect();
        let freqs: Vec<f64> = detect_mains(&folded, fs, 120.0, 10.0)
            .iter()
            .map(|l| l.frequency_hz)
            .collect();
        assert!(freqs.contains(&60.0) && freqs.contains(&76.0), "{freqs:?}");
    }
}
