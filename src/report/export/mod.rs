//! The detection written as annotations, so that it opens where scorers work: an EDF+
//! annotations-only file (EDFbrowser, Polyman, PLMScoRe; [`edf_plus`]) and an NSRR XML
//! `PSGAnnotation` (Luna, NSRR tools; [`nsrr`]).
//!
//! Input: a [`Report`]. Output: each monolateral leg movement, on its leg's channel, with
//! its candidate's classification (`PLM`, `CLM`, `nonCLM`). Both files read back through
//! [`crate::io::AnnotationFile`] (`plm score out.edf`) into the same movements, hence the
//! same indices: times are written in the shortest decimal that reads back as the same
//! number, and durations so that start + duration is the offset to the nanosecond.
//! Written from scratch: both layouts are a few fixed fields, and no crate writes EDF+
//! annotation-only files.

mod edf_plus;
mod nsrr;

use super::Report;
use crate::events::{LegMovement, Side};
use crate::io::annotations::vocab::side_of_channel;
use crate::score::CandidateMovement;

/// What a leg movement was scored as: the candidate it is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    /// Part of a PLM series.
    Plm,
    /// A CLM not in a series.
    Clm,
    /// A nonCLM (too long, too many parts).
    NonClm,
}

impl Flag {
    fn of(c: &CandidateMovement) -> Self {
        match (c.clm, c.periodic) {
            (true, true) => Flag::Plm,
            (true, false) => Flag::Clm,
            (false, _) => Flag::NonClm,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Flag::Plm => "PLM",
            Flag::Clm => "CLM",
            Flag::NonClm => "nonCLM",
        }
    }
}

/// Each leg movement of `report` with its flag (none when no candidate holds it).
fn flagged(report: &Report) -> Vec<(&LegMovement, Option<Flag>)> {
    let cands = &report.candidate_movements;
    report
        .leg_movements
        .iter()
        .zip(candidate_of(report))
        .map(|(lm, c)| (lm, c.map(|c| Flag::of(&cands[c]))))
        .collect()
}

/// For each leg movement of `report`, the index of the candidate that holds it (none when
/// no candidate does).
pub(super) fn candidate_of(report: &Report) -> Vec<Option<usize>> {
    let cands = &report.candidate_movements;
    let mut k = 0;
    report
        .leg_movements
        .iter()
        .map(|lm| {
            // Candidates are in time order and hold their parts, as the LMs are sorted.
            while k < cands.len() && cands[k].offset_s < lm.onset_s {
                k += 1;
            }
            (k..cands.len())
                .take_while(|&i| cands[i].onset_s <= lm.onset_s)
                .find(|&i| cands[i].offset_s >= lm.offset_s)
        })
        .collect()
}

/// The channel a leg's movements were detected on, when its name says which leg it is
/// (else the movements are written with the side in their text).
fn channel_of(report: &Report, side: Side) -> Option<&str> {
    report
        .recording
        .channels
        .iter()
        .find(|c| c.side == side)
        .map(|c| c.name.as_str())
        .filter(|name| side_of_channel(name) == Some(side))
}

/// The duration to write for `lm`, such that start + duration reads back as its offset the
/// way [`crate::io::AnnotationFile`] adds them: in whole nanoseconds where both times are
/// such decimals, else as floats.
fn duration_s(lm: &LegMovement) -> f64 {
    use crate::io::annotations::events::whole_ns;
    match (whole_ns(lm.onset_s), whole_ns(lm.offset_s)) {
        (Some(on), Some(off)) => (off - on) as f64 / 1e9,
        _ => lm.offset_s - lm.onset_s,
    }
}
