//! NSRR XML annotations as scoring context: the `PSGAnnotation` files of the National
//! Sleep Research Resource (MESA, CFS, CHAT, WSC, … in `annotations-events-nsrr/`).
//!
//! Input: the XML text. Output: its [`ScoredEvent`]s, times in seconds from the start of
//! the recording (the XML's `Start`, which NSRR aligns with the EDF); what the crate takes
//! from them is [`super::events`]'.
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
//! Errors name the file and the line of the event: malformed XML, and a `Start` or
//! `Duration` that is not a non-negative number.

use quick_xml::events::Event;

use super::events::ScoredEvent;
use crate::error::{Error, Location, Result, shorten};

/// The children of a `<ScoredEvent>` that are read, in the order kept.
const FIELDS: [&str; 4] = ["EventType", "EventConcept", "Start", "Duration"];

/// Whether `data` (after a BOM and white space) starts like XML.
pub(crate) fn looks_like_xml(data: &[u8]) -> bool {
    let data = data.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(data);
    data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// The scored events of an NSRR XML file.
pub(crate) fn scored_events(data: &[u8], loc: &Location) -> Result<Vec<ScoredEvent>> {
    let mut lines = Lines::default();
    let text = std::str::from_utf8(data).map_err(|e| {
        Error::parse(
            loc.at_line(lines.at(data, e.valid_up_to())),
            "not UTF-8 text",
        )
    })?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    // Inside a <ScoredEvent>: its line and fields; the child element being read.
    let mut current: Option<(u64, [String; 4])> = None;
    let mut field: Option<usize> = None;
    // Elements open, and the root's name: a file cut short is refused, not read in part.
    let mut depth = 0usize;
    let mut root: Option<String> = None;
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            Error::parse(
                loc.at_line(lines.at(data, reader.error_position() as usize)),
                format!("malformed XML: {e}"),
            )
        })?;
        match event {
            Event::Start(e) => {
                let name = e.name();
                if depth == 0 && root.is_none() {
                    root = Some(String::from_utf8_lossy(name.as_ref()).into_owned());
                }
                depth += 1;
                if name.as_ref() == b"ScoredEvent" {
                    current = Some((lines.at(data, at as usize), Default::default()));
                } else if current.is_some() {
                    field = FIELDS.iter().position(|f| f.as_bytes() == name.as_ref());
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if e.name().as_ref() == b"ScoredEvent" {
                    if let Some((line, [event_type, concept, start, duration])) = current.take() {
                        let number = |text: &str, what: &str| -> Result<f64> {
                            text.trim()
                                .parse::<f64>()
                                .ok()
                                .filter(|v| v.is_finite() && *v >= 0.0)
                                .ok_or_else(|| {
                                    Error::parse(
                                        loc.at_line(line),
                                        format!(
                                            "scored event `{}`: {what} `{}` is not a non-negative number of seconds",
                                            concept.trim(),
                                            shorten(text.trim())
                                        ),
                                    )
                                })
                        };
                        out.push(ScoredEvent {
                            start_s: number(&start, "Start")?,
                            duration_s: number(&duration, "Duration")?,
                            event_type,
                            concept,
                            at: loc.at_line(line),
                        });
                    }
                }
                field = None;
            }
            Event::Text(t) => {
                if let (Some((_, fields)), Some(f)) = (current.as_mut(), field) {
                    let s = t.decode().map_err(|e| {
                        Error::parse(loc.at_line(lines.at(data, at as usize)), e.to_string())
                    })?;
                    fields[f].push_str(&s);
                }
            }
            Event::CData(t) => {
                if let (Some((_, fields)), Some(f)) = (current.as_mut(), field) {
                    let s = t.decode().map_err(|e| {
                        Error::parse(loc.at_line(lines.at(data, at as usize)), e.to_string())
                    })?;
                    fields[f].push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                if let (Some((_, fields)), Some(f)) = (current.as_mut(), field) {
                    let resolved = match r.as_ref() {
                        b"amp" => Some('&'),
                        b"lt" => Some('<'),
                        b"gt" => Some('>'),
                        b"quot" => Some('"'),
                        b"apos" => Some('\''),
                        _ => r.resolve_char_ref().ok().flatten(),
                    };
                    if let Some(c) = resolved {
                        fields[f].push(c);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if current.is_some() {
        return Err(Error::parse(
            loc.at_line(lines.at(data, data.len())),
            "the XML ends inside a <ScoredEvent>: the file is cut short",
        ));
    }
    if depth > 0 {
        return Err(Error::parse(
            loc.at_line(lines.at(data, data.len())),
            format!(
                "the XML ends before </{}>: the file is cut short",
                shorten(root.as_deref().unwrap_or("?"))
            ),
        ));
    }
    Ok(out)
}

/// 1-based lines of byte positions, counted on from the last position asked (positions
/// come in increasing order while a file is parsed): linear in the file, not quadratic.
#[derive(Default)]
struct Lines {
    pos: usize,
    line: u64,
}

impl Lines {
    /// The 1-based line of byte `pos` of `data`.
    fn at(&mut self, data: &[u8], pos: usize) -> u64 {
        let pos = pos.min(data.len());
        if pos < self.pos {
            *self = Self::default();
        }
        self.line += memchr::memchr_iter(b'\n', &data[self.pos..pos]).count() as u64;
        self.pos = pos;
        self.line + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Interval, Side};
    use crate::io::Stage;
    use crate::io::annotations::events::{arousals, hypnogram, leg_movements, respiratory};

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

    fn events() -> Vec<ScoredEvent> {
        scored_events(XML.as_bytes(), &Location::default()).unwrap()
    }

    #[test]
    fn stages_are_cut_into_epochs_and_unscored_ones_left_out() {
        let h = hypnogram(&events(), 30.0, &Location::default()).unwrap();
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
        let ev = events();
        let r = respiratory(&ev);
        assert_eq!(r.len(), 2, "the desaturation is not a respiratory event");
        assert_eq!((r[0].onset_s, r[0].offset_s), (100.5, 112.7));
        assert_eq!(r[0].kind.as_deref(), Some("Obstructive apnea"));
        assert_eq!(
            arousals(&ev),
            vec![Interval {
                onset_s: 120.0,
                offset_s: 125.0
            }]
        );
        let lms = leg_movements(&ev);
        assert_eq!(lms.len(), 2, "the PLM marking of the left LM counts once");
        assert_eq!((lms[0].side, lms[0].onset_s), (Side::Right, 125.25));
        assert_eq!((lms[1].side, lms[1].offset_s), (Side::Left, 131.5));
    }

    #[test]
    fn faults_name_their_line() {
        let loc = Location::file(Some(std::path::Path::new("a.xml")));
        let bad = XML.replace("<Start>200.0</Start>", "<Start>soon</Start>");
        let e = scored_events(bad.as_bytes(), &loc).unwrap_err().to_string();
        assert!(
            e.starts_with("a.xml, line 56: scored event `Hypopnea|Hypopnea`: Start `soon`"),
            "{e}"
        );
        let cut = &XML[..XML.find("<Duration>15.0").unwrap()];
        let e = scored_events(cut.as_bytes(), &loc).unwrap_err().to_string();
        assert!(e.contains("ends inside a <ScoredEvent>"), "{e}");
        let e = scored_events(b"<a><b></a>", &loc).unwrap_err().to_string();
        assert!(e.contains("malformed XML"), "{e}");
        let overlap = XML.replace("<Start>180.0</Start>", "<Start>140.0</Start>");
        let ev = scored_events(overlap.as_bytes(), &loc).unwrap();
        assert!(
            hypnogram(&ev, 30.0, &loc)
                .unwrap_err()
                .to_string()
                .contains("overlaps")
        );
        assert!(looks_like_xml(b"\xEF\xBB\xBF  \n<?xml"));
        assert!(!looks_like_xml(b"epoch_start_s,stage\n"));
    }
}
