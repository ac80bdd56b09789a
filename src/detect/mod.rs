//! Leg movements on one leg: from a leg's raw samples to its monolateral leg movements
//! (LMs) and the stretches that cannot be scored.
//!
//! Input: one leg's samples — EMG in µV, or three accelerometer axes in g — at a rate in
//! Hz, the [`DetectorConfig`] and the leg-movement rule's numbers (from the scoring
//! [`Rules`](crate::Rules)). Output: the leg's LMs (s, with their amplitude in µV or mg),
//! its excluded stretches (s), and what the filter did. Combining the legs and everything
//! after it is [`crate::score`](mod@crate::score)'s; [`crate::Detector`] wires the two.
//!
//! This module's only public items are the settings; the stages below are internal.
//!
//! # The method (EMG)
//!
//! 1. **Filtering** (`detect/emg.rs`): each gap-free stretch of at least 2 s is band-passed
//!    10–100 Hz (Butterworth order 4, zero-phase; the upper edge capped at 0.45 × rate, so
//!    a 200-Hz recording is filtered 10–90 Hz). Mains hum found at 50/60 Hz and its
//!    harmonics — also where they fold back below Nyquist — is subtracted as a sinusoid
//!    tracked by running medians, which leaves QRS complexes as they are; an IIR notch
//!    would ring after each one (see `dsp/hum.rs` for the night where that turned
//!    heartbeats into 168 LMs for 79 true ones).
//! 2. **Amplitude** (`detect/envelope.rs`): the mean rectified signal per 10-ms block; isolated
//!    transients shorter than 0.3 s rising above a provisional resting level (QRS
//!    complexes, electrode pops) clipped (`detect/spikes.rs`); a centred 0.25-s running median.
//! 3. **Resting level** (`detect/rest.rs`): the 30th percentile of the amplitude per 5-s segment,
//!    then the lower quartile of those over ±30 s, interpolated between segment centres
//!    (`detect/profile.rs`): it follows drift and ignores movements up to ~45 s long and dense
//!    PLM. The offset margin is +2 µV, raised only where the resting amplitude itself
//!    fluctuates more (3 × its 30th − 5th percentile spread).
//! 4. **Scorability** (`detect/scorability.rs`): where that margin reaches +8 µV (the noise alone
//!    would cross the onset level), or the resting level exceeds 20 µV, the stretch is
//!    excluded from scoring and reported.
//! 5. **Leg movements** (`detect/movements.rs`): onset at +8 µV above rest; offset at the start of
//!    the first 0.5 s at or below the margin; edges placed where the burst leaves and
//!    re-enters the resting band on a 40-ms amplitude (`detect/edges.rs`); at least 0.5 s long;
//!    the WASM 2016 morphology check. An LM whose start or end falls in a gap or an
//!    unscorable stretch is dropped: its duration is unknown.
//!
//! Measured durations are ~0.04 s shorter than a simulated burst's full extent (its ramps
//! spend a few tens of ms below +2 µV), so a burst of exactly 0.50 s is not an LM by this
//! measure.
//!
//! # Accelerometers
//!
//! `detect/accel` turns three axes into the magnitude of dynamic acceleration in mg — gravity
//! removed by a running median, low-passed at 8 Hz — and runs the same envelope, resting
//! level and detector on it, with an mg analogue of the +8/+2 µV hysteresis whose levels
//! grow with a noisy sensor's floor, edges extrapolated along each flank, and posture
//! changes (turns of the sensor) cut out. Every number is justified there.

pub(crate) mod accel;
mod config;
mod edges;
pub(crate) mod emg;
pub(crate) mod envelope;
pub(crate) mod movements;
pub(crate) mod plausibility;
mod profile;
mod rest;
mod scorability;
mod spikes;
mod trace;

pub use config::{AccelConfig, DetectorConfig, EnvelopeConfig, MainsRemoval, NotchMode};
pub(crate) use movements::LmThresholds;
pub use trace::LegTrace;
pub(crate) use trace::Piece;
#[cfg(test)]
pub(crate) use trace::TraceUnit;

use crate::dsp::mains::MainsLine;
use crate::events::{Interval, LegMovement};

/// What detection found on one leg, before the legs are combined.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegOutcome {
    /// Monolateral leg movements, s, sorted by onset.
    pub movements: Vec<LegMovement>,
    /// Stretches excluded from scoring on this leg (gaps, unscorable noise), s.
    pub excluded: Vec<Interval>,
    /// Band edges used, Hz: the EMG band-pass, or `[0, low-pass edge]` for accelerometers.
    pub band_hz: [f64; 2],
    /// Butterworth order of that filter.
    pub filter_order: usize,
    /// Mains lines removed (EMG).
    pub mains: Vec<MainsLine>,
    /// Median resting level over the night, µV (EMG) or mg (accelerometers).
    pub median_rest: Option<f64>,
    /// Bursts left out as posture changes, s (accelerometers).
    pub posture_changes: Option<Vec<Interval>>,
    /// What detection saw, when asked for.
    pub trace: Option<Box<LegTrace>>,
}
