//! What detection saw on one leg, kept for the review page ([`crate::Report::review_html`]).
//!
//! Input, from the per-leg stages when a trace is asked for: the band-passed EMG (µV) or
//! the dynamic-acceleration magnitude (mg) at the leg's rate, the [`Envelope`] the rules
//! were applied to (amplitude, resting level and offset margin per block), and the
//! leg-movement thresholds in the same unit. Output: a [`LegTrace`], whose times the
//! pipeline maps onto the recording's grid (past the long gaps not stored, as it maps the
//! movements' times). Nothing here is used by detection itself: a trace is a copy, and
//! the detection with and without one is the same.
//!
//! Memory: the signal is kept as `f32` (4 bytes a sample: 29 MB for an 8-hour leg at
//! 256 Hz) next to the envelope, which then is not given back for reuse.

use super::envelope::Envelope;
use super::movements::LmThresholds;
use crate::events::{Interval, Side};

/// The unit of a trace's signal and levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TraceUnit {
    /// Band-passed EMG, µV.
    Uv,
    /// Dynamic-acceleration magnitude, mg.
    Mg,
}

impl TraceUnit {
    /// The unit's symbol.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            TraceUnit::Uv => "µV",
            TraceUnit::Mg => "mg",
        }
    }
}

/// A stretch of stored samples that lies on the grid without a skip: from stored sample
/// `start` on, sample `start + i` is at `grid_s + i / fs_hz` s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Piece {
    /// First stored sample of the stretch.
    pub start: usize,
    /// Its time on the recording's grid, s.
    pub grid_s: f64,
}

/// What detection saw on one leg: the signal the envelope was computed from, the
/// envelope, resting level and margins, and the thresholds. Made by
/// [`crate::Detector::run_traced`] and drawn by [`crate::Report::review_html`]; its
/// contents are internal.
#[derive(Debug, Clone, PartialEq)]
pub struct LegTrace {
    pub(crate) side: Side,
    pub(crate) name: String,
    pub(crate) unit: TraceUnit,
    /// Sample rate of `signal`, Hz.
    pub(crate) fs_hz: f64,
    /// Band-passed EMG, µV, or dynamic-acceleration magnitude, mg (`NaN` = gap), one value
    /// per stored sample.
    pub(crate) signal: Vec<f32>,
    /// The envelope the rules were applied to (its blocks are of the stored samples).
    pub(crate) envelope: Envelope,
    /// The leg-movement thresholds, in `unit`.
    pub(crate) thresholds: LmThresholds,
    /// The stored samples' stretches on the grid, in order; the first starts at sample 0.
    pub(crate) pieces: Vec<Piece>,
    /// Bursts left out as posture changes (accelerometers), s on the grid.
    pub(crate) posture_changes: Vec<Interval>,
}

impl LegTrace {
    /// A trace of `signal` (stored samples at `fs_hz`) and `envelope`, on a grid without
    /// skips until the pipeline says otherwise.
    pub(crate) fn new(
        side: Side,
        name: &str,
        unit: TraceUnit,
        fs_hz: f64,
        signal: Vec<f32>,
        envelope: Envelope,
        thresholds: LmThresholds,
    ) -> Self {
        Self {
            side,
            name: name.to_owned(),
            unit,
            fs_hz,
            signal,
            envelope,
            thresholds,
            pieces: vec![Piece {
                start: 0,
                grid_s: 0.0,
            }],
            posture_changes: Vec::new(),
        }
    }

    /// The leg.
    #[must_use]
    pub fn side(&self) -> Side {
        self.side
    }

    /// The channel's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sample rate of the signal, Hz.
    #[must_use]
    pub fn sample_rate_hz(&self) -> f64 {
        self.fs_hz
    }
}

/// `x` as `f32` samples, for a trace.
pub(crate) fn to_f32(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}
