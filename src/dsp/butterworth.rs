//! Butterworth filter design as second-order sections (SOS), and the IIR notch.
//!
//! Inputs: the order, the band edges in Hz and the sample rate in Hz. Output: the
//! sections `[b0, b1, b2, a0, a1, a2]` with `a0 = 1`, as scipy writes them. "Order N" of a
//! band-pass is scipy's: N sections, 2N poles. The band-pass gain is exactly 1 at the
//! geometric centre of the pre-warped edges.
//!
//! The design follows the analog-prototype route of `scipy.signal.butter` (`buttap` →
//! `lp2bp`/`lp2hp` → bilinear transform with pre-warping; poles paired into sections as
//! `zpk2sos` pairs them), and [`notch`] is `scipy.signal.iirnotch`. The responses, poles
//! and sections are checked against values committed from scipy (`tests/golden_filter.rs`).
//!
//! Written here rather than taken from a crate: no crate designs order-N Butterworth
//! band-passes as sections and returns an error (not a panic) on bad parameters; the DSP
//! crates (`biquad`, `idsp`) stop at biquads of fixed type or assert on their inputs.

use rustfft::num_complex::Complex64;

use crate::error::{Error, Result};

/// One second-order section `[b0, b1, b2, a0, a1, a2]`, `a0 = 1`.
pub type Section = [f64; 6];

/// The kind of a Butterworth filter, with its edge frequencies in Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(
    clippy::enum_variant_names,
    reason = "low-, high- and band-pass are the filters' own names"
)]
pub enum Band {
    /// Low-pass below `f_hz`.
    LowPass(f64),
    /// High-pass above `f_hz`.
    #[cfg_attr(not(any(test, feature = "internals")), allow(dead_code))]
    HighPass(f64),
    /// Band-pass between two edges.
    BandPass(f64, f64),
}

/// Designs an order-`order` Butterworth filter at sample rate `fs_hz` as SOS.
///
/// # Errors
/// [`Error::Config`] when `fs_hz` is not positive, an edge is not in `(0, fs/2)`, the
/// band-pass edges are not increasing, or the order is not in `1..=12`.
pub fn butterworth(order: usize, band: Band, fs_hz: f64) -> Result<Vec<Section>> {
    if !(fs_hz.is_finite() && fs_hz > 0.0) {
        return Err(Error::config(
            "sample_rate_hz",
            format!("must be positive, got {fs_hz}"),
        ));
    }
    if !(1..=12).contains(&order) {
        return Err(Error::config(
            "filter_order",
            format!("must be 1–12, got {order}"),
        ));
    }
    let nyq = fs_hz / 2.0;
    let check = |f: f64| -> Result<()> {
        if f.is_finite() && f > 0.0 && f < nyq {
            Ok(())
        } else {
            Err(Error::config(
                "filter band",
                format!(
                    "edge {f} Hz must lie strictly between 0 and the Nyquist frequency ({nyq} Hz)"
                ),
            ))
        }
    };
    let fs2 = 2.0 * fs_hz;
    let warp = |f: f64| fs2 * (std::f64::consts::PI * f / fs_hz).tan();
    // Analog prototype poles (scipy buttap): -exp(j·π·m/(2N)), m = -N+1, -N+3, ..., N-1.
    let proto: Vec<Complex64> = (0..order)
        .map(|i| {
            let m = -(order as f64) + 1.0 + 2.0 * i as f64;
            -Complex64::from_polar(1.0, std::f64::consts::PI * m / (2.0 * order as f64))
        })
        .collect();
    let (analog_poles, ref_omega, zero_pair): (Vec<Complex64>, f64, [f64; 3]) = match band {
        Band::LowPass(f) => {
            check(f)?;
            let w = warp(f);
            (proto.iter().map(|p| p * w).collect(), 0.0, [1.0, 2.0, 1.0])
        }
        Band::HighPass(f) => {
            check(f)?;
            let w = warp(f);
            (
                proto.iter().map(|p| w / p).collect(),
                std::f64::consts::PI,
                [1.0, -2.0, 1.0],
            )
        }
        Band::BandPass(lo, hi) => {
            check(lo)?;
            check(hi)?;
            if lo >= hi {
                return Err(Error::config(
                    "filter band",
                    format!("low edge {lo} Hz must be below high edge {hi} Hz"),
                ));
            }
            let (w1, w2) = (warp(lo), warp(hi));
            let bw = w2 - w1;
            let w0 = (w1 * w2).sqrt();
            let mut v = Vec::with_capacity(2 * order);
            for p in &proto {
                let half = p * (bw / 2.0);
                let root = (half * half - w0 * w0).sqrt();
                v.push(half + root);
                v.push(half - root);
            }
            // Centre frequency in the digital domain.
            (v, 2.0 * (w0 / fs2).atan(), [1.0, 0.0, -1.0])
        }
    };
    // Bilinear transform: z = (2fs + s) / (2fs - s).
    let zpoles: Vec<Complex64> = analog_poles
        .iter()
        .map(|&s| (fs2 + s) / (fs2 - s))
        .collect();
    let mut sections = Vec::new();
    for (a1, a2, first_order) in pair_poles(&zpoles) {
        let (b, a) = if first_order {
            // First-order section: zero at -1 (low-pass) or +1 (high-pass).
            let b1 = if zero_pair[1] > 0.0 { 1.0 } else { -1.0 };
            ([1.0, b1, 0.0], [1.0, a1, 0.0])
        } else {
            (zero_pair, [1.0, a1, a2])
        };
        let g = 1.0 / section_response(&[b[0], b[1], b[2], a[0], a[1], a[2]], ref_omega).norm();
        if !g.is_finite() {
            return Err(Error::config(
                "filter band",
                "the design is numerically degenerate (edges too close to 0 or Nyquist)",
            ));
        }
        sections.push([g * b[0], g * b[1], g * b[2], a[0], a[1], a[2]]);
    }
    Ok(sections)
}

/// Groups digital poles into sections: returns `(a1, a2, first_order)` per section,
/// sorted so the poles closest to the unit circle come last (as scipy's `zpk2sos`).
fn pair_poles(poles: &[Complex64]) -> Vec<(f64, f64, bool)> {
    const TOL: f64 = 1e-10;
    let mut complex: Vec<Complex64> = poles.iter().copied().filter(|p| p.im > TOL).collect();
    let mut real: Vec<f64> = poles
        .iter()
        .filter(|p| p.im.abs() <= TOL)
        .map(|p| p.re)
        .collect();
    complex.sort_by(|a, b| a.norm().total_cmp(&b.norm()));
    real.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let mut out: Vec<(f64, f64, bool, f64)> = complex
        .iter()
        .map(|p| (-2.0 * p.re, p.norm_sqr(), false, p.norm()))
        .collect();
    let mut chunks = real.chunks_exact(2);
    for pair in &mut chunks {
        out.push((
            -(pair[0] + pair[1]),
            pair[0] * pair[1],
            false,
            pair[1].abs(),
        ));
    }
    if let [p] = chunks.remainder() {
        out.push((-p, 0.0, true, p.abs()));
    }
    out.sort_by(|a, b| a.3.total_cmp(&b.3));
    out.into_iter().map(|(a1, a2, f, _)| (a1, a2, f)).collect()
}

/// `H(e^{jω})` of one section.
fn section_response(s: &Section, omega: f64) -> Complex64 {
    let z1 = Complex64::from_polar(1.0, -omega);
    let z2 = z1 * z1;
    (s[0] + s[1] * z1 + s[2] * z2) / (s[3] + s[4] * z1 + s[5] * z2)
}

/// Frequency response of a cascade at `f_hz`.
#[must_use]
#[cfg(any(test, feature = "internals"))]
pub fn response(sos: &[Section], f_hz: f64, fs_hz: f64) -> Complex64 {
    let omega = 2.0 * std::f64::consts::PI * f_hz / fs_hz;
    sos.iter().map(|s| section_response(s, omega)).product()
}

/// An IIR notch at `f0_hz` with quality factor `q` (scipy `iirnotch`): −3 dB bandwidth
/// `f0/q`.
///
/// # Errors
/// [`Error::Config`] unless `0 < f0 < fs/2` and `q > 0`.
pub fn notch(f0_hz: f64, q: f64, fs_hz: f64) -> Result<Section> {
    if !(fs_hz.is_finite()
        && fs_hz > 0.0
        && f0_hz.is_finite()
        && f0_hz > 0.0
        && f0_hz < fs_hz / 2.0)
    {
        return Err(Error::config(
            "notch",
            format!(
                "{f0_hz} Hz must lie strictly between 0 and Nyquist ({} Hz)",
                fs_hz / 2.0
            ),
        ));
    }
    if !(q.is_finite() && q > 0.0) {
        return Err(Error::config(
            "notch_q",
            format!("must be positive, got {q}"),
        ));
    }
    let w0 = std::f64::consts::PI * f0_hz / (fs_hz / 2.0);
    let bw = w0 / q;
    let beta = (bw / 2.0).tan();
    let gain = 1.0 / (1.0 + beta);
    Ok([
        gain,
        -2.0 * gain * w0.cos(),
        gain,
        1.0,
        -2.0 * gain * w0.cos(),
        2.0 * gain - 1.0,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn bandpass_has_unit_gain_at_centre_and_nulls_at_dc_and_nyquist() {
        let fs = 256.0;
        let sos = butterworth(4, Band::BandPass(10.0, 100.0), fs).unwrap();
        assert_eq!(sos.len(), 4);
        // −3 dB at both edges (Butterworth).
        assert_relative_eq!(
            response(&sos, 10.0, fs).norm(),
            std::f64::consts::FRAC_1_SQRT_2,
            epsilon = 1e-9
        );
        assert_relative_eq!(
            response(&sos, 100.0, fs).norm(),
            std::f64::consts::FRAC_1_SQRT_2,
            epsilon = 1e-9
        );
        assert!(response(&sos, 0.0, fs).norm() < 1e-12);
        assert!(response(&sos, 128.0, fs).norm() < 1e-9);
    }

    #[test]
    fn lowpass_highpass_odd_orders() {
        let lp = butterworth(3, Band::LowPass(20.0), 100.0).unwrap();
        assert_eq!(lp.len(), 2);
        assert_relative_eq!(response(&lp, 0.0, 100.0).norm(), 1.0, epsilon = 1e-12);
        assert_relative_eq!(
            response(&lp, 20.0, 100.0).norm(),
            std::f64::consts::FRAC_1_SQRT_2,
            epsilon = 1e-9
        );
        let hp = butterworth(3, Band::HighPass(0.5), 50.0).unwrap();
        assert_relative_eq!(response(&hp, 25.0, 50.0).norm(), 1.0, epsilon = 1e-12);
        assert_relative_eq!(
            response(&hp, 0.5, 50.0).norm(),
            std::f64::consts::FRAC_1_SQRT_2,
            epsilon = 1e-9
        );
    }

    #[test]
    fn bad_designs_are_errors() {
        assert!(butterworth(4, Band::BandPass(10.0, 100.0), 200.0).is_err()); // 100 Hz = Nyquist
        assert!(butterworth(4, Band::BandPass(50.0, 10.0), 500.0).is_err());
        assert!(butterworth(0, Band::LowPass(10.0), 500.0).is_err());
        assert!(butterworth(4, Band::LowPass(f64::NAN), 500.0).is_err());
        assert!(butterworth(4, Band::LowPass(10.0), -1.0).is_err());
        assert!(notch(60.0, 30.0, 100.0).is_err());
        assert!(notch(50.0, 0.0, 500.0).is_err());
    }

    #[test]
    fn notch_kills_its_frequency() {
        let s = notch(60.0, 30.0, 256.0).unwrap();
        assert!(response(&[s], 60.0, 256.0).norm() < 1e-12);
        assert_relative_eq!(response(&[s], 30.0, 256.0).norm(), 1.0, epsilon = 0.01);
    }
}
