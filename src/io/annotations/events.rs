//! The events every annotation format is read into, and the context the crate takes from
//! them.
//!
//! Input: an [`Events`] — the format read, its [`ScoredEvent`]s (each classified by
//! [`super::vocab`] or by the format's own event types, with a start in seconds from the
//! recording's start or as a clock time, a duration, and where it was read), and the
//! events of types scoring does not use, counted by name. Output, once the clock times are
//! placed ([`Events::place`]): the hypnogram, respiratory events, arousals or scored leg
//! movements in the crate's types, and the notes a report must carry.
//!
//! * **Stages**: one event may span several epochs; it is cut into epochs of the rules'
//!   length. An epoch starting less than half a second before the previous one ends (clock
//!   times rounded by the exporter) starts where that one ends. Stage events without a stage (unscored, movement time, artifact) leave their
//!   epochs without a stage: an LM there is neither in sleep nor in wake.
//! * **Leg movements**: events that repeat one already read (same side, start and
//!   duration) are read once, so a scorer's LM and PLM markings of the same movement count
//!   once; a movement without a side (no side in its name or channel) cannot be scored
//!   monolaterally and is left out, counted in a note.
//! * **Clock times** before t = 0 or after the recording's end are dropped and counted.

use std::collections::BTreeMap;

use super::clock::{Clock, ClockStart, Placing, offsets};
use super::vocab::Kind;
use crate::error::{Error, Location, Result, num, shorten};
use crate::events::{Interval, LegMovement, Side};
use crate::io::context::{Hypnogram, RespiratoryEvent, Stage};

/// When an event starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum When {
    /// Seconds from the start of the recording.
    Elapsed(f64),
    /// A clock time, placed later.
    Clock(Clock),
}

/// One scored event of a kind scoring uses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScoredEvent {
    pub(crate) kind: Kind,
    /// The name as written (a respiratory event's kind in the report).
    pub(crate) name: String,
    pub(crate) start: When,
    pub(crate) duration_s: f64,
    /// Where it was read (a line; in an EDF+ file, the byte of its annotation list).
    pub(crate) at: Location,
}

/// What an annotation reader gives.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    /// The format's name, for messages and the report.
    pub(crate) format: &'static str,
    /// The file (for messages).
    pub(crate) loc: Location,
    pub(crate) scored: Vec<ScoredEvent>,
    /// Events scoring does not use, by name.
    pub(crate) ignored: BTreeMap<String, usize>,
    /// The epoch length the file states, s.
    pub(crate) epoch_s: Option<f64>,
    /// The recording's start the file states (DOMINO's `Start Time`).
    pub(crate) declared_start: Option<ClockStart>,
}

/// An event on the recording's time axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlacedEvent {
    pub(crate) kind: Kind,
    pub(crate) name: String,
    pub(crate) onset_s: f64,
    pub(crate) offset_s: f64,
    pub(crate) at: Location,
}

/// The events placed on the recording's time axis.
#[derive(Debug, Clone, Default)]
pub(crate) struct Placed {
    pub(crate) events: Vec<PlacedEvent>,
    /// Notes on the placing (events dropped, clocks placed by time of day).
    pub(crate) notes: Vec<String>,
    /// The kinds of the events dropped as outside the recording, each with whether it
    /// was after its end (else before its start).
    pub(crate) dropped: Vec<(Kind, bool)>,
    /// The clock time of t = 0, when clock times were placed.
    pub(crate) origin: Option<ClockStart>,
}

impl Events {
    /// No events yet, of `format`, read from `loc`'s file.
    pub(crate) fn new(format: &'static str, loc: &Location) -> Self {
        Self {
            format,
            loc: loc.clone(),
            scored: Vec::new(),
            ignored: BTreeMap::new(),
            epoch_s: None,
            declared_start: None,
        }
    }

    /// Adds an event scoring uses.
    pub(crate) fn push(
        &mut self,
        kind: Kind,
        name: &str,
        start: When,
        duration_s: f64,
        at: Location,
    ) {
        self.scored.push(ScoredEvent {
            kind,
            name: name.trim().to_owned(),
            start,
            duration_s,
            at,
        });
    }

    /// Counts an event scoring does not use.
    pub(crate) fn ignore(&mut self, name: &str) {
        let name = name.trim();
        let name = if name.is_empty() { "(no name)" } else { name };
        *self.ignored.entry(shorten(name)).or_insert(0) += 1;
    }

    /// `file (format)`, the head of messages and notes.
    pub(crate) fn what(&self) -> String {
        match &self.loc.path {
            Some(p) => format!("{} ({})", p.display(), self.format),
            None => self.format.to_owned(),
        }
    }

    /// The note on ignored events, if there were any.
    pub(crate) fn ignored_note(&self) -> Option<String> {
        let total: usize = self.ignored.values().sum();
        (total > 0).then(|| {
            format!(
                "{}: {total} event{} of types scoring does not use ignored: {}",
                self.what(),
                if total == 1 { "" } else { "s" },
                Self::names_seen(&self.ignored)
            )
        })
    }

    /// `name ×count, …` of the most frequent names, for notes and errors.
    fn names_seen(names: &BTreeMap<String, usize>) -> String {
        let mut v: Vec<(&String, &usize)> = names.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut s: Vec<String> = v.iter().take(8).map(|(n, c)| format!("{n} ×{c}")).collect();
        if v.len() > 8 {
            let more = v.len() - 8;
            s.push(format!(
                "… ({more} more name{})",
                if more == 1 { "" } else { "s" }
            ));
        }
        s.join(", ")
    }

    /// The error for a file without any event of `what` (stages, respiratory events …)
    /// on the recording's time axis: all of those of kinds `of` dropped by `placed` as
    /// outside the recording (a wrong start time), else none in the file.
    pub(crate) fn none_placed(
        &self,
        what: &str,
        placed: &Placed,
        of: impl Fn(Kind) -> bool,
    ) -> Error {
        let (mut before, mut after) = (0usize, 0usize);
        for &(kind, late) in &placed.dropped {
            if of(kind) {
                if late {
                    after += 1;
                } else {
                    before += 1;
                }
            }
        }
        if before + after == 0 {
            return self.none_of(what);
        }
        let at = placed
            .origin
            .map(|o| format!(" at {o}"))
            .unwrap_or_default();
        Error::input(
            self.loc.clone(),
            format!(
                "{}: no {what} in the recording: all {} lie outside it ({before} before its start{at}, {after} after its end); check the recording's start (--start-time, the night's start)",
                self.format,
                before + after
            ),
        )
    }

    /// The error for a file without any event of `what` (stages, respiratory events …).
    pub(crate) fn none_of(&self, what: &str) -> Error {
        let mut names: BTreeMap<String, usize> = self.ignored.clone();
        for e in &self.scored {
            *names.entry(shorten(&e.name)).or_insert(0) += 1;
        }
        let total: usize = names.values().sum();
        Error::input(
            self.loc.clone(),
            if total == 0 {
                format!(
                    "{}: no {what}: the file holds no scored events",
                    self.format
                )
            } else {
                format!(
                    "{}: no {what} among {total} scored events; event names seen: {}",
                    self.format,
                    Self::names_seen(&names)
                )
            },
        )
    }

    /// The clock time of the first stage epoch, when stages have clock times.
    pub(crate) fn first_stage_clock(&self) -> Option<ClockStart> {
        self.scored
            .iter()
            .filter(|e| matches!(e.kind, Kind::Stage(_)))
            .filter_map(|e| match e.start {
                When::Clock(c) => Some(c),
                When::Elapsed(_) => None,
            })
            .min_by_key(|c| (c.day, c.tod_ns))
            .map(ClockStart::from_clock)
    }

    /// Whether some events have clock times.
    pub(crate) fn has_clock_times(&self) -> bool {
        self.scored
            .iter()
            .any(|e| matches!(e.start, When::Clock(_)))
    }

    /// The events of `keep` kinds on the recording's time axis: clock times placed from
    /// `start` (else from the recording start the file states, else from its first stage
    /// epoch), those before 0 or after `end_s` dropped and counted.
    ///
    /// # Errors
    /// [`Error::Input`] for clock times with no start to place them from.
    pub(crate) fn place(
        &self,
        keep: impl Fn(Kind) -> bool,
        start: Option<&ClockStart>,
        end_s: Option<f64>,
    ) -> Result<Placed> {
        let chosen: Vec<&ScoredEvent> = self.scored.iter().filter(|e| keep(e.kind)).collect();
        let clocks: Vec<Clock> = chosen
            .iter()
            .filter_map(|e| match e.start {
                When::Clock(c) => Some(c),
                When::Elapsed(_) => None,
            })
            .collect();
        let mut placed = Placed::default();
        let mut offsets_ns = Vec::new().into_iter();
        if !clocks.is_empty() {
            let Some(origin) = start
                .copied()
                .or(self.declared_start)
                .or_else(|| self.first_stage_clock())
            else {
                return Err(Error::input(
                    self.loc.clone(),
                    format!(
                        "{}: the events are in clock time, and nothing gives the recording's start: give --start-time (hh:mm:ss or a date-time), a night with a start, or a hypnogram in clock time",
                        self.format
                    ),
                ));
            };
            let (t, how) = offsets(&clocks, &origin);
            placed.origin = Some(origin);
            if how == Placing::DatesDisagree {
                placed.notes.push(format!(
                    "{}: its dates are more than a day from the recording's start ({origin}): placed by time of day",
                    self.what()
                ));
            }
            offsets_ns = t.into_iter();
        }
        for e in chosen {
            let (onset, offset) = match e.start {
                When::Elapsed(s) => (s, end_of(s, e.duration_s)),
                When::Clock(_) => {
                    // In whole nanoseconds, so that `23:53:09.110` for 3.536 s is exactly
                    // 39.11 s to 42.646 s from 23:52:30, as a CSV list would say.
                    let on_ns = offsets_ns.next().unwrap_or(i64::MIN);
                    let dur_ns = (e.duration_s * 1e9).round() as i64;
                    if on_ns < 0 {
                        placed.dropped.push((e.kind, false));
                        continue;
                    }
                    let onset = on_ns as f64 / 1e9;
                    if end_s.is_some_and(|end| onset >= end) {
                        placed.dropped.push((e.kind, true));
                        continue;
                    }
                    (onset, on_ns.saturating_add(dur_ns) as f64 / 1e9)
                }
            };
            placed.events.push(PlacedEvent {
                kind: e.kind,
                name: e.name.clone(),
                onset_s: onset,
                offset_s: offset,
                at: e.at.clone(),
            });
        }
        let after = placed.dropped.iter().filter(|d| d.1).count();
        let before = placed.dropped.len() - after;
        if before + after > 0 {
            placed.notes.push(format!(
                "{}: {} event{} outside the recording dropped ({before} before its start, {after} after its end)",
                self.what(),
                before + after,
                if before + after == 1 { "" } else { "s" },
            ));
        }
        Ok(placed)
    }
}

/// The end of an event from `onset_s` lasting `duration_s`. Where both are whole
/// nanoseconds (decimals of up to nine places, as scorers' files write them) they are
/// summed as such: exactly the decimal a file's `Start` and `Duration` add up to (39.11,
/// not 39.110000000000006). Other numbers (a detector's times written in full) are summed
/// as floats, which gives back the offset a writer took the duration from.
pub(crate) fn end_of(onset_s: f64, duration_s: f64) -> f64 {
    match (whole_ns(onset_s), whole_ns(duration_s)) {
        (Some(on), Some(du)) => (on.saturating_add(du) as f64 / 1e9).max(onset_s),
        _ => onset_s + duration_s,
    }
}

/// `v` s in nanoseconds, when that is a whole number that reads back as `v`.
pub(crate) fn whole_ns(v: f64) -> Option<i64> {
    let ns = (v * 1e9).round();
    (ns.abs() < 4.0e15 && ns / 1e9 == v).then_some(ns as i64)
}

/// A stage epoch starting up to this much before the previous one ends starts where it
/// ends, s: exports round clock times (a 30-s epoch at `23:53:29.999`).
const SNAP_S: f64 = 0.5;

/// The hypnogram of the placed stage events, cut into `epoch_s` epochs.
pub(crate) fn hypnogram(ev: &Events, placed: &Placed, epoch_s: f64) -> Result<Hypnogram> {
    if let Some(file_epoch) = ev.epoch_s {
        if (file_epoch - epoch_s).abs() > 1e-6 {
            return Err(Error::input(
                ev.loc.clone(),
                format!(
                    "{}: its epochs are {} s long, the rules' epoch_s is {} s (set epoch_s in --config to read it)",
                    ev.format,
                    num(file_epoch),
                    num(epoch_s)
                ),
            ));
        }
    }
    let mut stages: Vec<&PlacedEvent> = placed
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Stage(_)))
        .collect();
    stages.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    let mut epochs: Vec<(f64, Stage)> = Vec::new();
    let mut unstaged = 0usize;
    for PlacedEvent {
        kind,
        name,
        onset_s: onset,
        offset_s,
        at,
    } in stages
    {
        let duration_s = offset_s - onset;
        let n = ((duration_s / epoch_s).round() as usize).max(1);
        if n > 1_000_000 {
            return Err(Error::parse(
                at.clone(),
                format!("a stage event lasting {} s", num(duration_s)),
            ));
        }
        let Kind::Stage(Some(stage)) = *kind else {
            unstaged += n;
            continue;
        };
        for k in 0..n {
            let mut start = onset + k as f64 * epoch_s;
            if let Some(&(prev, _)) = epochs.last() {
                let next = prev + epoch_s;
                if start < next - 1e-6 && next - start <= SNAP_S {
                    // Clock times rounded to the second or millisecond: this is the next epoch.
                    start = next;
                } else if start < next - 1e-6 {
                    return Err(Error::parse(
                        at.clone(),
                        format!(
                            "stage `{}` at {} s overlaps the epoch starting at {} s",
                            shorten(name),
                            num(start),
                            num(prev)
                        ),
                    ));
                }
            }
            epochs.push((start, stage));
        }
    }
    if epochs.is_empty() {
        return Err(ev.none_placed("scored sleep stages", placed, |k| {
            matches!(k, Kind::Stage(Some(_)))
        }));
    }
    Ok(Hypnogram::new(epoch_s, epochs)?.with_unstaged(unstaged))
}

/// The placed respiratory events.
pub(crate) fn respiratory(placed: &Placed) -> Vec<RespiratoryEvent> {
    placed
        .events
        .iter()
        .filter(|e| e.kind == Kind::Respiratory)
        .map(|e| RespiratoryEvent {
            onset_s: e.onset_s,
            offset_s: e.offset_s,
            kind: Some(e.name.clone()),
        })
        .collect()
}

/// The placed arousals (and CAP A phases when `cap_phases`).
pub(crate) fn arousals(placed: &Placed, cap_phases: bool) -> Vec<Interval> {
    placed
        .events
        .iter()
        .filter(|e| e.kind == Kind::Arousal || (cap_phases && e.kind == Kind::CapPhase))
        .map(|e| Interval {
            onset_s: e.onset_s,
            offset_s: e.offset_s,
        })
        .collect()
}

/// The placed leg movements with a side, each once, and how many had no side (module
/// docs).
pub(crate) fn leg_movements(placed: &Placed) -> (Vec<LegMovement>, usize) {
    let mut out: Vec<LegMovement> = Vec::new();
    let mut sideless = Vec::new();
    for e in &placed.events {
        match e.kind {
            Kind::Movement(Some(side)) => out.push(LegMovement::new(e.onset_s, e.offset_s, side)),
            Kind::Movement(None) => sideless.push((e.onset_s, e.offset_s)),
            _ => {}
        }
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
    // A side-less marking (`PLM-LM`) of a movement read with its side is a repeat.
    let unmatched = sideless
        .iter()
        .filter(|&&(on, off)| {
            let i = out.partition_point(|m| m.onset_s < on - 1e-6);
            !out[i..]
                .iter()
                .take_while(|m| m.onset_s <= on + 1e-6)
                .any(|m| (m.offset_s - off).abs() <= 1e-6)
        })
        .count();
    (out, unmatched)
}
