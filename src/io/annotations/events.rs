//! Scored events read from an annotation file — NSRR XML ([`super::nsrr`]) or EDF+
//! ([`super::edf_plus`]) — and the context the crate takes from them.
//!
//! Input: [`ScoredEvent`]s (a type, a concept `name|label`, a start and a duration in
//! seconds, and where each was read). Output: the hypnogram, respiratory events, arousals
//! or scored leg movements in the crate's types:
//!
//! * **Stages** (type `Stages`): the label after `|` (`0` wake, `1`–`4` NREM, `5` REM; N3
//!   = stages 3 and 4), or else the name (`Wake`, `Stage 2 sleep`, `REM sleep`). One event
//!   spans several epochs; it is cut into epochs of the rules' length. Unscored (`9`) and
//!   movement-time (`6`) epochs, and any other label, are left without a stage: an LM
//!   there is neither in sleep nor in wake, as outside a CSV hypnogram.
//! * **Respiratory events** (type `Respiratory`): apneas (obstructive, central, mixed),
//!   hypopneas and RERAs — the events the AASM and WASM association rules name (rules
//!   digest §4). Desaturations, artifacts, periodic breathing and `Unsure` events are left out.
//! * **Arousals** (type `Arousals`): every concept.
//! * **Leg movements**: concepts naming a limb or leg movement with a side. Events that
//!   repeat one already read (same side, start and duration) are read once, so a scorer's
//!   LM and PLM markings of the same movement count once.

use crate::error::{Error, Location, Result};
use crate::events::{Interval, LegMovement, Side};
use crate::io::context::{Hypnogram, RespiratoryEvent, Stage};

/// One `<ScoredEvent>`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScoredEvent {
    pub(crate) event_type: String,
    pub(crate) concept: String,
    pub(crate) start_s: f64,
    pub(crate) duration_s: f64,
    /// Where it was read (the line of its `<ScoredEvent>`; in an EDF+ file, the byte of
    /// its annotation list).
    pub(crate) at: Location,
}

impl ScoredEvent {
    /// An event of `event_type` (`Stages`, `Respiratory`, `Arousals`, `Limb Movement`)
    /// named `concept` (`name|label`), read at `at`.
    pub(crate) fn new(
        event_type: &str,
        concept: String,
        start_s: f64,
        duration_s: f64,
        at: Location,
    ) -> Self {
        Self {
            event_type: event_type.to_owned(),
            concept,
            start_s,
            duration_s,
            at,
        }
    }

    pub(crate) fn interval(&self) -> (f64, f64) {
        (self.start_s, self.start_s + self.duration_s)
    }

    pub(crate) fn is(&self, kind: &str) -> bool {
        self.event_type
            .trim()
            .to_ascii_lowercase()
            .starts_with(kind)
    }

    /// The concept's name (before `|`) and label (after it).
    pub(crate) fn name_label(&self) -> (&str, &str) {
        match self.concept.split_once('|') {
            Some((n, l)) => (n.trim(), l.trim()),
            None => (self.concept.trim(), ""),
        }
    }
}

/// The stage of a stage event, if it has one.
fn stage_of(e: &ScoredEvent) -> Option<Stage> {
    let (name, label) = e.name_label();
    if !label.is_empty() {
        return Stage::parse(label);
    }
    let n = name.to_ascii_lowercase();
    if n.starts_with("wake") {
        Some(Stage::W)
    } else if n.starts_with("rem") {
        Some(Stage::R)
    } else {
        n.strip_prefix("stage ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(Stage::parse)
    }
}

/// The hypnogram of the stage events, cut into `epoch_s` epochs.
pub(crate) fn hypnogram(events: &[ScoredEvent], epoch_s: f64, loc: &Location) -> Result<Hypnogram> {
    let mut stages: Vec<&ScoredEvent> = events.iter().filter(|e| e.is("stages")).collect();
    stages.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    let mut epochs: Vec<(f64, Stage)> = Vec::new();
    let mut unstaged = 0usize;
    for e in stages {
        let n = ((e.duration_s / epoch_s).round() as usize).max(1);
        if n > 1_000_000 {
            return Err(Error::parse(
                e.at.clone(),
                format!(
                    "a stage event lasting {} s",
                    crate::error::num(e.duration_s)
                ),
            ));
        }
        let Some(stage) = stage_of(e) else {
            unstaged += n;
            continue;
        };
        for k in 0..n {
            let start = e.start_s + k as f64 * epoch_s;
            if let Some(&(prev, _)) = epochs.last() {
                if start < prev + epoch_s - 1e-6 {
                    return Err(Error::parse(
                        e.at.clone(),
                        format!(
                            "stage `{}` at {start} s overlaps the epoch starting at {prev} s",
                            e.concept.trim()
                        ),
                    ));
                }
            }
            epochs.push((start, stage));
        }
    }
    if epochs.is_empty() {
        return Err(Error::input(
            loc.clone(),
            "the annotations hold no scored sleep stages",
        ));
    }
    Ok(Hypnogram::new(epoch_s, epochs)?.with_unstaged(unstaged))
}

/// Apneas, hypopneas and RERAs (see the module docs).
pub(crate) fn respiratory(events: &[ScoredEvent]) -> Vec<RespiratoryEvent> {
    events
        .iter()
        .filter(|e| e.is("respiratory"))
        .filter_map(|e| {
            let name = e.name_label().0;
            let n = name.to_ascii_lowercase();
            let counted = n.contains("apnea")
                || n.contains("apnoea")
                || n.contains("hypopnea")
                || n.contains("hypopnoea")
                || n.contains("rera")
                || n.contains("effort related arousal");
            counted.then(|| {
                let (onset_s, offset_s) = e.interval();
                RespiratoryEvent {
                    onset_s,
                    offset_s,
                    kind: Some(name.to_owned()),
                }
            })
        })
        .collect()
}

/// Every arousal.
pub(crate) fn arousals(events: &[ScoredEvent]) -> Vec<Interval> {
    events
        .iter()
        .filter(|e| e.is("arousals"))
        .map(|e| {
            let (onset_s, offset_s) = e.interval();
            Interval { onset_s, offset_s }
        })
        .collect()
}

/// Scored limb movements with a side, each movement once (see the module docs).
pub(crate) fn leg_movements(events: &[ScoredEvent]) -> Vec<LegMovement> {
    let mut out: Vec<LegMovement> = Vec::new();
    for e in events {
        let c = e.concept.to_ascii_lowercase();
        let limb = c.contains("limb movement")
            || c.contains("leg movement")
            || c.contains("plm")
            || e.is("limb movement");
        let side = if c.contains("left") {
            Side::Left
        } else if c.contains("right") {
            Side::Right
        } else {
            continue;
        };
        if !limb {
            continue;
        }
        let (onset_s, offset_s) = e.interval();
        out.push(LegMovement::new(onset_s, offset_s, side));
    }
    // Sorted by onset, then offset and side, so repeats are neighbours.
    out.sort_by(|a, b| {
        a.onset_s
            .total_cmp(&b.onset_s)
            .then(a.offset_s.total_cmp(&b.offset_s))
            .then((a.side == Side::Right).cmp(&(b.side == Side::Right)))
    });
    out.dedup_by(|b, a| {
        a.side == b.side
            && a.onset_s.to_bits() == b.onset_s.to_bits()
            && a.offset_s.to_bits() == b.offset_s.to_bits()
    });
    out
}
