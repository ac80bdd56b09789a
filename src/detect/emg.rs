//! One leg of tibialis-anterior EMG, from raw samples to leg movements.
//!
//! Input: the leg's samples, µV at `fs_hz` (`NaN` = gap), given up so that they are
//! filtered in place, the [`DetectorConfig`] and the [`LmThresholds`] in µV. Output: a
//! [`LegOutcome`] — the leg's movements (s, µV) and excluded stretches (s), with what the
//! filter did — plus the emptied night-long buffer and the unscorable flags, for the
//! caller to keep for the next night or to free.
//!
//! 1. Mains hum is looked for in the raw signal ([`NotchMode::Auto`]), with its harmonics
//!    up to 1.5 × the upper band edge, folded ones included ([`crate::dsp::mains`]).
//! 2. Each gap-free stretch of at least `min_stretch_s` is band-passed `highpass_hz`–
//!    `lowpass_hz` (Butterworth, zero-phase; the upper edge capped at
//!    `max_upper_fraction` × rate so it stays below Nyquist); shorter stretches become
//!    gaps. The hum lines are then subtracted as tracked sinusoids ([`crate::dsp::hum`];
//!    or, with [`MainsRemoval::Notch`], notched inside the band-pass).
//! 3. The envelope, resting level and margins ([`super::envelope`]).
//! 4. Scorability ([`super::scorability`]) and leg movements ([`super::movements`]).

use super::LegOutcome;
use super::config::{DetectorConfig, MainsRemoval, NotchMode};
use super::envelope::envelope;
use super::movements::{LmThresholds, detect};
use super::scorability::scorability;
use super::trace::{LegTrace, TraceUnit, to_f32};
use crate::dsp::butterworth::{Band, butterworth, notch};
use crate::dsp::hum::subtract_hum;
use crate::dsp::mains::{MainsLine, detect_mains};
use crate::dsp::zero_phase::ZeroPhase;
use crate::error::{Error, Location, Result};
use crate::events::Side;

/// Detects the leg movements of one EMG leg (module docs): the outcome, the emptied
/// buffer that held `samples_uv` and then the envelope, and the unscorable flags. With
/// `trace`, the outcome also holds what detection saw ([`LegTrace`]); the buffer is then
/// empty, the envelope being kept.
///
/// # Errors
/// [`Error::Input`] when the rate is too low for the band or no stretch is long enough to
/// filter; [`Error::Config`] for a bad filter design.
pub fn detect_emg_leg(
    samples_uv: Vec<f64>,
    fs_hz: f64,
    side: Side,
    name: &str,
    cfg: &DetectorConfig,
    thresholds: &LmThresholds,
    trace: bool,
) -> Result<(LegOutcome, Vec<f64>, Vec<bool>)> {
    let (mains, zp, min_len, upper) = design(&samples_uv, fs_hz, name, cfg)?;
    let mut filtered = samples_uv;
    zp.filter_stretches(
        &mut filtered,
        min_len,
        &mut Vec::new(),
        &format!("channel `{name}`"),
        fs_hz,
    )?;
    if cfg.mains_removal == MainsRemoval::Subtract {
        for line in &mains {
            subtract_hum(&mut filtered, fs_hz, line.frequency_hz, cfg.hum_window_s)?;
        }
    }
    let signal = trace.then(|| to_f32(&filtered));
    let env = envelope(
        filtered,
        fs_hz,
        &cfg.envelope,
        thresholds.morphology_window_s,
        thresholds.offset_above_rest,
    )?;
    let (unscorable, excluded) = scorability(&env, thresholds, cfg.envelope.max_rest_uv);
    let movements = detect(&env, side, thresholds, &unscorable);
    let (median_rest, buffer, trace) = if let Some(signal) = signal {
        let median = env.rest().median_finite(&mut Vec::new());
        let trace = LegTrace::new(side, name, TraceUnit::Uv, fs_hz, signal, env, *thresholds);
        (median, Vec::new(), Some(Box::new(trace)))
    } else {
        let (median, buffer) = env.into_median_rest();
        (median, buffer, None)
    };
    let outcome = LegOutcome {
        movements,
        excluded,
        band_hz: [cfg.highpass_hz, upper],
        filter_order: cfg.filter_order,
        mains,
        median_rest,
        posture_changes: None,
        trace,
    };
    Ok((outcome, buffer, unscorable))
}

/// The leg's filter: the hum lines found (or given), the zero-phase band-pass (with
/// notches where asked), the shortest stretch filtered, and the upper band edge, Hz.
fn design(
    samples_uv: &[f64],
    fs_hz: f64,
    name: &str,
    cfg: &DetectorConfig,
) -> Result<(Vec<MainsLine>, ZeroPhase, usize, f64)> {
    let upper = cfg.lowpass_hz.min(cfg.max_upper_fraction * fs_hz);
    if upper <= cfg.highpass_hz * 1.2 {
        return Err(Error::input(
            Location::default(),
            format!(
                "channel `{name}`: a sample rate of {fs_hz} Hz is too low for a {}–{} Hz EMG band-pass (needs ≥ {:.0} Hz)",
                cfg.highpass_hz,
                cfg.lowpass_hz,
                cfg.highpass_hz * 1.2 / cfg.max_upper_fraction
            ),
        ));
    }
    let highest_line_hz = (1.5 * upper).min(fs_hz / 2.0 - 1.0);
    let mains: Vec<MainsLine> = match cfg.notch {
        NotchMode::Off => Vec::new(),
        NotchMode::Auto => detect_mains(
            samples_uv,
            fs_hz,
            highest_line_hz,
            cfg.notch_min_prominence_db,
        ),
        NotchMode::Fixed(f0) => {
            if f0 >= fs_hz / 2.0 {
                return Err(Error::input(
                    Location::default(),
                    format!(
                        "channel `{name}`: a {f0} Hz notch is not below the Nyquist frequency ({} Hz) of a {fs_hz} Hz recording",
                        fs_hz / 2.0
                    ),
                ));
            }
            // The line and its harmonics, up to the tenth as with `auto`.
            let mut v = Vec::new();
            let mut k = 1.0;
            while k <= 10.0 && k * f0 <= highest_line_hz {
                v.push(MainsLine {
                    frequency_hz: k * f0,
                    prominence_db: f64::NAN,
                });
                k += 1.0;
            }
            v
        }
    };
    let mut sos = butterworth(
        cfg.filter_order,
        Band::BandPass(cfg.highpass_hz, upper),
        fs_hz,
    )?;
    if cfg.mains_removal == MainsRemoval::Notch {
        for line in &mains {
            sos.push(notch(line.frequency_hz, cfg.notch_q, fs_hz)?);
        }
    }
    let zp = ZeroPhase::new(sos)?;
    let min_len = zp
        .min_len()
        .max((cfg.min_stretch_s * fs_hz).ceil() as usize);
    Ok((mains, zp, min_len, upper))
}
