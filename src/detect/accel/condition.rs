//! Conditioning of one leg's accelerometer (steps 1–4 of [`super`]): gravity, dynamic
//! acceleration, its magnitude in mg, and the envelope of that magnitude.
//!
//! Input: the leg's three axes, g at `fs_hz` (`NaN` = gap). Output: an
//! [`AccelConditioned`]: the envelope (mg) and the gravity track the posture rule reads.

use super::super::config::{AccelConfig, EnvelopeConfig};
use super::super::envelope::{Envelope, envelope};
use super::super::movements::LmThresholds;
use crate::dsp::butterworth::{Band, butterworth};
use crate::dsp::running_median::running_median;
use crate::dsp::zero_phase::ZeroPhase;
use crate::error::{Error, Location, Result};

/// One leg after conditioning: its envelope (mg), and gravity per block for the posture
/// rule.
#[derive(Debug, Clone)]
pub struct AccelConditioned {
    /// Envelope of the dynamic-acceleration magnitude, mg.
    pub envelope: Envelope,
    /// Low-pass edge used, Hz.
    pub lowpass_hz: f64,
    /// Gravity estimate per 0.1-s gravity block, `[x, y, z]` in g.
    pub gravity_g: Vec<[f64; 3]>,
    /// Gravity block length, s.
    pub gravity_block_s: f64,
    /// The dynamic-acceleration magnitude, mg, when kept for a trace.
    pub magnitude_mg: Option<Vec<f32>>,
}

/// Gravity block length, s: short enough to follow a turn within a few blocks, long enough
/// to average sensor noise before the median.
const GRAVITY_BLOCK_S: f64 = 0.1;

/// Conditions one leg (steps 1–4 of [`super`]); `thresholds` are the leg's, in mg. With
/// `keep_magnitude`, a copy of the magnitude is kept (for a trace).
///
/// # Errors
/// [`Error::Input`] when the rate is below 10 Hz or no gap-free stretch is long enough to
/// filter; [`Error::Config`] for invalid settings.
pub fn condition(
    axes_g: &[Vec<f64>; 3],
    fs_hz: f64,
    cfg: &AccelConfig,
    thresholds: &LmThresholds,
    name: &str,
    keep_magnitude: bool,
) -> Result<AccelConditioned> {
    cfg.validate()?;
    if !(fs_hz.is_finite() && fs_hz >= 10.0) {
        return Err(Error::input(
            Location::default(),
            format!(
                "`{name}`: a sample rate of {fs_hz} Hz is too low for leg movements (needs ≥ 10 Hz)"
            ),
        ));
    }
    let n = axes_g[0].len();
    // 1. Gravity per block, interpolated to the samples.
    let gb = ((GRAVITY_BLOCK_S * fs_hz).round() as usize).max(1);
    let nb = n.div_ceil(gb);
    let w = (((cfg.gravity_window_s / (gb as f64 / fs_hz)).round() as usize).max(1)) | 1;
    let mut gravity_blocks: Vec<[f64; 3]> = vec![[f64::NAN; 3]; nb];
    let mut means = Vec::with_capacity(nb);
    let mut med = vec![0.0; nb];
    for (a, axis) in axes_g.iter().enumerate() {
        means.clear();
        means.extend(
            axis.chunks(gb)
                .map(|c| c.iter().sum::<f64>() / c.len() as f64),
        );
        running_median(&means, w, &mut med);
        for (g, m) in gravity_blocks.iter_mut().zip(&med) {
            g[a] = *m;
        }
    }
    // 2. Dynamic acceleration per axis, low-passed per gap-free stretch.
    let lowpass_hz = cfg.lowpass_hz.min(0.45 * fs_hz);
    let zp = ZeroPhase::new(butterworth(4, Band::LowPass(lowpass_hz), fs_hz)?)?;
    let min_len = zp.min_len().max((2.0 * fs_hz).ceil() as usize);
    let centre = |b: usize| (b * gb) as f64 + (gb.min(n - b * gb) as f64 - 1.0) / 2.0;
    let mut dynamic = vec![0.0; n];
    let mut magnitude_sq = vec![0.0; n];
    let mut scratch = Vec::new();
    for (a, axis) in axes_g.iter().enumerate() {
        let mut j = 0usize;
        for (i, (d, &x)) in dynamic.iter_mut().zip(axis).enumerate() {
            let t = i as f64;
            while j + 1 < nb && centre(j + 1) <= t {
                j += 1;
            }
            let g = if j + 1 < nb && t > centre(j) {
                let (g0, g1) = (gravity_blocks[j][a], gravity_blocks[j + 1][a]);
                g0 + (g1 - g0) * (t - centre(j)) / (centre(j + 1) - centre(j))
            } else {
                gravity_blocks[j][a]
            };
            *d = x - g;
        }
        zp.filter_stretches(
            &mut dynamic,
            min_len,
            &mut scratch,
            &format!("`{name}`"),
            fs_hz,
        )?;
        for (m, f) in magnitude_sq.iter_mut().zip(&dynamic) {
            *m += f * f;
        }
    }
    // 3. Magnitude, mg.
    for m in &mut magnitude_sq {
        *m = 1000.0 * m.sqrt();
    }
    let magnitude_mg = keep_magnitude.then(|| super::super::trace::to_f32(&magnitude_sq));
    // 4. Envelope and floor.
    let env_cfg = EnvelopeConfig {
        max_rest_uv: cfg.max_floor_mg,
        ..cfg.envelope
    };
    let envelope = envelope(
        magnitude_sq,
        fs_hz,
        &env_cfg,
        thresholds.morphology_window_s,
        thresholds.offset_above_rest,
    )?;
    Ok(AccelConditioned {
        envelope,
        lowpass_hz,
        gravity_g: gravity_blocks,
        gravity_block_s: gb as f64 / fs_hz,
        magnitude_mg,
    })
}
