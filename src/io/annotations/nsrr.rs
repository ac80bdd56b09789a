//! NSRR XML annotations as scoring context: the `PSGAnnotation` files of the National
//! Sleep Research Resource (MESA, CFS, CHAT, WSC, … in `annotations-events-nsrr/`).
//!
//! Input: the XML text (root `PSGAnnotation`). Output: its [`Events`], times in seconds
//! from the start of the recording (the XML's `Start`, which NSRR aligns with the EDF);
//! what the crate takes from them is [`super::events`]'.
//!
//! Each `<ScoredEvent>` has an `EventType` (`Stages|Stages`, `Respiratory|Respiratory`,
//! `Arousals|Arousals`, `Limb Movement|Limb Movement`, …), an `EventConcept`
//! (`name|label`), a `Start` and a `Duration` in seconds. What is taken:
//!
//! * **Stages** (`EventType` starting `Stages`): the label after `|` (`0` wake, `1`–`4`
//!   NREM, `5` REM; N3 = stages 3 and 4, as in the CSV reader), or else the name (`Wake`,
//!   `Stage 2 sleep`, `REM sleep`). One event spans several epochs; it is cut into
//!   [`Rules::epoch_s`](crate::Rules::epoch_s) epochs. Unscored (`9`) and movement-time (`6`)
//!   epochs, and any other label, are left without a stage: an LM there is neither in sleep
//!   nor in wake, as outside a CSV hypnogram.
//! * **Respiratory events** (`EventType` starting `Respiratory`): apneas (obstructive,
//!   central, mixed), hypopneas and RERAs — the events the AASM and WASM association rules
//!   name (rules digest §4). Desaturations, artifacts, periodic breathing and `Unsure` events
//!   are left out. The kind is the concept's name.
//! * **Arousals** (`EventType` starting `Arousals`): every concept (ASDA, spontaneous,
//!   respiratory, limb-movement arousals).
//! * **Leg movements** (for `plm score`): concepts naming a limb or leg movement with a
//!   side (`Limb movement - left|Limb Movement (Left)`, `Periodic leg movement - right|PLM
//!   (Right)`). Events that repeat one already read (same side, start and duration) are read
//!   once, so a scorer's LM and PLM markings of the same movement count once.
//!
//! * **Events with only an `EventConcept`** (no `EventType`, as some NSRR cohorts and
//!   tools write them): the concept is read by [`super::vocab`], in the `name|label` form
//!   (`Stage 2 sleep|2`, `Obstructive apnea|Obstructive Apnea`) or as an ontology term
//!   (`SDO:HypopneaFinding`, `SDO:NonRapidEyeMovementSleep-N2`, `SRO:Stage2Sleep`).
//!
//! Other events (`Recording Start Time`, desaturations, technician notes, body position)
//! are ignored whatever their content, and counted. Errors name the file and the line:
//! malformed or cut-short XML, and a `Start` or `Duration` of a used event that is not a
//! non-negative number.

use super::events::{Events, When};
use super::vocab::{Kind, classify, words};
use super::xml::{records, seconds};
use crate::error::{Location, Result};
use crate::io::context::Stage;

/// The format's name.
pub(crate) const FORMAT: &str = "NSRR XML";

/// The children of a `<ScoredEvent>` that are read.
const FIELDS: &[&str] = &["EventType", "EventConcept", "Start", "Duration"];

/// The scored events of an NSRR XML file (module docs).
pub(crate) fn read(data: &[u8], loc: &Location) -> Result<Events> {
    let mut ev = Events::new(FORMAT, loc);
    let specs: &[(&str, &[&str])] = &[("ScoredEvent", FIELDS), ("EpochLength", &[])];
    for r in records(data, loc, specs)? {
        if r.spec == 1 {
            ev.epoch_s = r.text.trim().parse::<f64>().ok().filter(|v| *v > 0.0);
            continue;
        }
        let [event_type, concept, start, duration] =
            <[String; 4]>::try_from(r.fields).unwrap_or_default();
        let (name, label) = match concept.split_once('|') {
            Some((n, l)) => (n.trim(), l.trim()),
            None => (concept.trim(), ""),
        };
        let Some(kind) = kind_of(event_type.trim(), name, label) else {
            ev.ignore(if name.is_empty() {
                event_type.trim()
            } else {
                name
            });
            continue;
        };
        let at = loc.at_line(r.line);
        let start_s = seconds(&start, "Start", &concept, &at)?;
        let duration_s = seconds(&duration, "Duration", &concept, &at)?;
        // The kind of a respiratory event is its concept's name.
        ev.push(kind, name, When::Elapsed(start_s), duration_s, at);
    }
    Ok(ev)
}

/// What scoring takes an event for: by its `EventType` when it has one (`Stages`,
/// `Respiratory`, `Arousals`, `Limb Movement`), else by its concept's name or label
/// (`SDO:`/`SRO:` ontology terms, `Name|Label`).
fn kind_of(event_type: &str, name: &str, label: &str) -> Option<Kind> {
    let t = event_type.to_ascii_lowercase();
    if t.starts_with("stages") {
        return Some(Kind::Stage(stage_of(name, label)));
    }
    if t.starts_with("respiratory") {
        return (classify(name, None, false) == Some(Kind::Respiratory)
            || classify(label, None, false) == Some(Kind::Respiratory))
        .then_some(Kind::Respiratory);
    }
    if t.starts_with("arousals") {
        return Some(Kind::Arousal);
    }
    if t.starts_with("limb movement") {
        return match classify(name, None, false).or_else(|| classify(label, None, false)) {
            Some(Kind::Movement(side)) => Some(Kind::Movement(side)),
            _ => Some(Kind::Movement(None)),
        };
    }
    if t.is_empty() || t.starts_with('|') {
        // A concept only.
        let staged = label.len() == 1 && label.as_bytes()[0].is_ascii_digit() && {
            let w = words(name);
            w.iter().any(|x| {
                matches!(
                    x.as_str(),
                    "sleep" | "wake" | "unscored" | "movement" | "stage"
                )
            })
        };
        if staged {
            return Some(Kind::Stage(stage_of(name, label)));
        }
        return match classify(name, None, false) {
            Some(Kind::Stage(_)) => Some(Kind::Stage(stage_of(name, label))),
            Some(k) => Some(k),
            None => classify(label, None, false),
        };
    }
    None
}

/// The stage of a stage event: the label after `|` (`0`–`5`, `9` unscored), or else the
/// name (`Wake`, `Stage 2 sleep`, `REM sleep`, ontology terms).
fn stage_of(name: &str, label: &str) -> Option<Stage> {
    if !label.is_empty() {
        return Stage::parse(label);
    }
    if let Some(s) = super::vocab::stage(name, true) {
        return s;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Interval, Side};
    use crate::io::Stage;
    use crate::io::annotations::events::{Placed, arousals, hypnogram, leg_movements, respiratory};

    const XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<PSGAnnotation>
<SoftwareVersion>Compumedics</SoftwareVersion>
<EpochLength>30</EpochLength>
<ScoredEvents>
<ScoredEvent>
<EventType/>
<EventConcept>Recording Start Time</EventConcept>
<Start>0</Start>
<Duration>3600.0</Duration>
<ClockTime>00.00.00 22.30.05</ClockTime>
</ScoredEvent>
<ScoredEvent>
<EventType>Stages|Stages</EventType>
<EventConcept>Wake|0</EventConcept>
<Start>0.0</Start>
<Duration>60.0</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Stages|Stages</EventType>
<EventConcept>Stage 2 sleep|2</EventConcept>
<Start>60.0</Start>
<Duration>90.0</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Stages|Stages</EventType>
<EventConcept>Unscored|9</EventConcept>
<Start>150.0</Start>
<Duration>30.0</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Stages|Stages</EventType>
<EventConcept>Stage 4 sleep|4</EventConcept>
<Start>180.0</Start>
<Duration>30.0</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Stages|Stages</EventType>
<EventConcept>REM sleep|5</EventConcept>
<Start>210.0</Start>
<Duration>30.0</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Respiratory|Respiratory</EventType>
<EventConcept>Obstructive apnea|Obstructive Apnea</EventConcept>
<Start>100.5</Start>
<Duration>12.2</Duration>
<SignalLocation>Airflow</SignalLocation>
</ScoredEvent>
<ScoredEvent>
<EventType>Respiratory|Respiratory</EventType>
<EventConcept>SpO2 desaturation|SpO2 desaturation</EventConcept>
<Start>110.0</Start>
<Duration>20.0</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Respiratory|Respiratory</EventType>
<EventConcept>Hypopnea|Hypopnea</EventConcept>
<Start>200.0</Start>
<Duration>15.0</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Arousals|Arousals</EventType>
<EventConcept>ASDA arousal|Arousal (ASDA)</EventConcept>
<Start>120.0</Start>
<Duration>5.0</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Limb Movement|Limb Movement</EventType>
<EventConcept>Limb movement - left|Limb Movement (Left)</EventConcept>
<Start>130.0</Start>
<Duration>1.5</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Limb Movement|Limb Movement</EventType>
<EventConcept>Periodic leg movement - left|PLM (Left)</EventConcept>
<Start>130.0</Start>
<Duration>1.5</Duration>
</ScoredEvent>
<ScoredEvent>
<EventType>Limb Movement|Limb Movement</EventType>
<EventConcept>Limb movement - right|Limb Movement (Right)</EventConcept>
<Start>125.25</Start>
<Duration>2.0</Duration>
</ScoredEvent>
</ScoredEvents>
</PSGAnnotation>
"#;

    fn placed(text: &str) -> (Events, Placed) {
        let ev = read(text.as_bytes(), &Location::default()).unwrap();
        let p = ev.place(|_| true, None, None).unwrap();
        (ev, p)
    }

    #[test]
    fn stages_are_cut_into_epochs_and_unscored_ones_left_out() {
        let (ev, p) = placed(XML);
        let h = hypnogram(&ev, &p, 30.0).unwrap();
        let got: Vec<(f64, Stage)> = h.epochs().to_vec();
        assert_eq!(
            got,
            vec![
                (0.0, Stage::W),
                (30.0, Stage::W),
                (60.0, Stage::N2),
                (90.0, Stage::N2),
                (120.0, Stage::N2),
                (180.0, Stage::N3),
                (210.0, Stage::R),
            ]
        );
    }

    #[test]
    fn respiratory_arousal_and_limb_events() {
        let (ev, ev_placed) = placed(XML);
        let r = respiratory(&ev_placed);
        assert_eq!(r.len(), 2, "the desaturation is not a respiratory event");
        assert_eq!((r[0].onset_s, r[0].offset_s), (100.5, 112.7));
        assert_eq!(r[0].kind.as_deref(), Some("Obstructive apnea"));
        assert_eq!(
            arousals(&ev_placed, false),
            vec![Interval {
                onset_s: 120.0,
                offset_s: 125.0
            }]
        );
        let (lms, sideless) = leg_movements(&ev_placed);
        assert_eq!(sideless, 0);
        assert_eq!(ev.ignored.values().sum::<usize>(), 2, "{:?}", ev.ignored);
        assert_eq!(lms.len(), 2, "the PLM marking of the left LM counts once");
        assert_eq!((lms[0].side, lms[0].onset_s), (Side::Right, 125.25));
        assert_eq!((lms[1].side, lms[1].offset_s), (Side::Left, 131.5));
    }

    #[test]
    fn faults_name_their_line() {
        let loc = Location::file(Some(std::path::Path::new("a.xml")));
        let bad = XML.replace("<Start>200.0</Start>", "<Start>soon</Start>");
        let e = read(bad.as_bytes(), &loc).unwrap_err().to_string();
        assert!(
            e.starts_with("a.xml, line 56: scored event `Hypopnea|Hypopnea`: Start `soon`"),
            "{e}"
        );
        let cut = &XML[..XML.find("<Duration>15.0").unwrap()];
        let e = read(cut.as_bytes(), &loc).unwrap_err().to_string();
        assert!(e.contains("ends inside a <ScoredEvent>"), "{e}");
        let e = read(b"<a><b></a>", &loc).unwrap_err().to_string();
        assert!(e.contains("malformed XML"), "{e}");
        let overlap = XML.replace("<Start>180.0</Start>", "<Start>140.0</Start>");
        let (ev, p) = placed(&overlap);
        assert!(
            hypnogram(&ev, &p, 30.0)
                .unwrap_err()
                .to_string()
                .contains("overlaps")
        );
    }
}
