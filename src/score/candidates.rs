//! Candidate movements: monolateral leg movements joined on each leg, filtered, and
//! combined across legs (rules digest §2, steps 1–4 of [`super`]).
//!
//! Input: monolateral [`LegMovement`]s (s) and the [`Rules`]. Output: the LMs kept (after
//! same-leg joining and dropping those shorter than `min_lm_s`) and the
//! [`CandidateMovement`]s, CLMs and nonCLMs, in time order.

use serde::{Deserialize, Serialize};

use super::rules::{Bilateral, LongMovement, Rules};
use crate::events::{LegMovement, Side};
use crate::io::context::Stage;

/// The leg(s) of a candidate movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MovementSide {
    /// Left leg only.
    Left,
    /// Right leg only.
    Right,
    /// Both legs (a bilateral movement).
    Bilateral,
}

impl MovementSide {
    /// `"left"`, `"right"` or `"bilateral"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MovementSide::Left => "left",
            MovementSide::Right => "right",
            MovementSide::Bilateral => "bilateral",
        }
    }
}

/// A movement after combining legs: a CLM (candidate for periodicity) or a nonCLM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateMovement {
    /// Onset, s (earliest onset of its parts).
    pub onset_s: f64,
    /// Offset, s (latest offset of its parts).
    pub offset_s: f64,
    /// Which leg(s).
    pub side: MovementSide,
    /// Number of monolateral LMs it was built from.
    pub parts: usize,
    /// `true` for a candidate leg movement (CLM), `false` for a nonCLM (too long, too many
    /// parts).
    pub clm: bool,
    /// Inter-movement interval to the previous CLM, onset to onset, s; `None` for the first
    /// CLM, after a nonCLM or an excluded stretch, and for nonCLMs.
    pub imi_s: Option<f64>,
    /// Part of a PLM series.
    pub periodic: bool,
    /// 1-based id of its series in the report's `series`.
    pub series: Option<usize>,
    /// Stage of the epoch containing the onset; `None` without a hypnogram or outside it.
    pub stage: Option<Stage>,
    /// Respiratory-related (CLMr).
    pub respiratory: bool,
    /// Associated with an arousal.
    pub arousal: bool,
    /// Periodic in the "nr" scoring (respiratory-related CLMs removed, series rebuilt).
    pub periodic_nr: bool,
}

/// Steps 1–2 (and 3 under [`LongMovement::Discard`]): same-leg joining, dropping short LMs.
pub(crate) fn join_and_filter(lms: &[LegMovement], rules: &Rules) -> Vec<LegMovement> {
    let mut out = Vec::with_capacity(lms.len());
    for side in [Side::Left, Side::Right] {
        let mut leg: Vec<LegMovement> = lms.iter().filter(|m| m.side == side).copied().collect();
        leg.sort_by(|a, b| {
            a.onset_s
                .total_cmp(&b.onset_s)
                .then(a.offset_s.total_cmp(&b.offset_s))
        });
        let mut cur: Option<LegMovement> = None;
        for m in leg {
            match &mut cur {
                Some(c) if m.onset_s < c.offset_s + rules.same_leg_join_gap_s => merge_lm(c, &m),
                _ => {
                    if let Some(c) = cur.take() {
                        out.push(c);
                    }
                    cur = Some(m);
                }
            }
        }
        out.extend(cur);
    }
    out.retain(|m| m.duration_s() >= rules.min_lm_s);
    if rules.long_movements == LongMovement::Discard {
        out.retain(|m| m.duration_s() <= rules.max_monolateral_s);
    }
    out.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s).then(a.side.cmp(&b.side)));
    out
}

/// Joins `m` into `c` (same leg): the union span; amplitudes combined.
fn merge_lm(c: &mut LegMovement, m: &LegMovement) {
    let (dc, dm) = (c.duration_s(), m.duration_s());
    c.offset_s = c.offset_s.max(m.offset_s);
    c.peak_uv = match (c.peak_uv, m.peak_uv) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let weighted = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if dc + dm > 0.0 => Some((a * dc + b * dm) / (dc + dm)),
        (a, b) => a.or(b),
    };
    c.mean_uv = weighted(c.mean_uv, m.mean_uv);
    c.mean_mg = weighted(c.mean_mg, m.mean_mg);
    c.peak_mg = match (c.peak_mg, m.peak_mg) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
}

/// Steps 3–4: nonCLM marking and bilateral combination. `lms` is sorted by onset.
pub(crate) fn combine_legs(lms: &[LegMovement], rules: &Rules) -> Vec<CandidateMovement> {
    struct Building {
        onset_s: f64,
        offset_s: f64,
        sides: [bool; 2],
        parts: usize,
        has_long: bool,
    }
    let finish = |b: &Building| {
        let side = match b.sides {
            [true, true] => MovementSide::Bilateral,
            [true, false] => MovementSide::Left,
            _ => MovementSide::Right,
        };
        let dur = b.offset_s - b.onset_s;
        let clm = !b.has_long
            && if side == MovementSide::Bilateral {
                rules.max_bilateral_s.is_none_or(|m| dur <= m)
                    && rules.max_bilateral_parts.is_none_or(|m| b.parts <= m)
            } else {
                // A one-leg movement of several parts (possible when a same-leg LM rides on
                // the growing offset) obeys the monolateral limit as a whole.
                dur <= rules.max_monolateral_s
                    && (b.parts == 1 || rules.max_bilateral_parts.is_none_or(|m| b.parts <= m))
            };
        CandidateMovement {
            onset_s: b.onset_s,
            offset_s: b.offset_s,
            side,
            parts: b.parts,
            clm,
            imi_s: None,
            periodic: false,
            series: None,
            stage: None,
            respiratory: false,
            arousal: false,
            periodic_nr: false,
        }
    };
    let side_idx = |s: Side| usize::from(s == Side::Right);
    let mut out = Vec::with_capacity(lms.len());
    let mut cur: Option<Building> = None;
    for m in lms {
        let long = m.duration_s() > rules.max_monolateral_s;
        let joins = cur.as_ref().is_some_and(|b| match rules.bilateral {
            Bilateral::Gap { gap_s } => m.onset_s >= b.onset_s && m.onset_s < b.offset_s + gap_s,
            Bilateral::Onsets { window_s } => {
                m.onset_s - b.onset_s < window_s && !b.sides[side_idx(m.side)]
            }
        });
        if joins {
            let b = cur.as_mut().expect("joins implies a current movement");
            b.offset_s = b.offset_s.max(m.offset_s);
            b.sides[side_idx(m.side)] = true;
            b.parts += 1;
            b.has_long |= long;
        } else {
            if let Some(b) = cur.take() {
                out.push(finish(&b));
            }
            let mut sides = [false; 2];
            sides[side_idx(m.side)] = true;
            cur = Some(Building {
                onset_s: m.onset_s,
                offset_s: m.offset_s,
                sides,
                parts: 1,
                has_long: long,
            });
        }
    }
    if let Some(b) = cur {
        out.push(finish(&b));
    }
    out
}
