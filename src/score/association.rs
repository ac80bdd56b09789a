//! Context association (rules digest §4): respiratory-related CLMs and arousal-associated
//! movements.
//!
//! * **Respiratory**: a CLM is respiratory-related (CLMr) when any part of it overlaps the
//!   window around a respiratory event the rules give — WASM 2016 `[end − 2.0 s, end +
//!   10.25 s]` (Manconi et al., Sleep 2015), AASM `[onset − 0.5 s, end + 0.5 s]`.
//! * **Arousals**: a movement and an arousal are associated when they overlap or less than
//!   `arousal_gap_s` (0.5 s) separates the end of one from the onset of the other, in
//!   either order.

use super::rules::{RespiratoryAnchor, Rules};
use crate::events::Interval;
use crate::io::context::Context;

/// Respiratory association windows, sorted by start.
pub(crate) fn respiratory_windows(context: &Context, rules: &Rules) -> Vec<Interval> {
    let w = rules.respiratory_window;
    let mut v: Vec<Interval> = context
        .respiratory
        .iter()
        .map(|e| {
            let start = match w.anchor {
                RespiratoryAnchor::EventEnd => e.offset_s,
                RespiratoryAnchor::WholeEvent => e.onset_s,
            };
            Interval {
                onset_s: start - w.before_s,
                offset_s: e.offset_s + w.after_s,
            }
        })
        .collect();
    v.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    v
}

/// Does `[on, off]` overlap (closed intervals) any interval widened by `pad` on each side?
pub(crate) fn overlaps_any(intervals: &[Interval], on: f64, off: f64, pad: f64) -> bool {
    intervals
        .iter()
        .any(|w| on <= w.offset_s + pad && w.onset_s - pad <= off)
}

/// Overlap, or separation strictly less than `gap` in either order.
pub(crate) fn overlaps_any_strict(intervals: &[Interval], on: f64, off: f64, gap: f64) -> bool {
    intervals
        .iter()
        .any(|a| a.onset_s - off < gap && on - a.offset_s < gap)
}
