//! SOMNOmedics DOMINO text exports: one file per exported channel — the sleep profile, or
//! an event list (arousals, flow events, leg movements).
//!
//! Layout: a header block of `Key: value` lines (`Signal ID:`, `Start Time: 23.09.2020
//! 01:00:00`, `Unit:`, `Signal Type:`, `Events list:`, `Rate: 30 s`), then one row per
//! line, `;`-separated, times of day with a decimal comma that roll over midnight from the
//! header's start ([`super::clock`]):
//!
//! * sleep profile rows, `01:00:00,000; N2`: an epoch of the header's `Rate` (30 s when
//!   absent) from that time, with the stage `Wake`, `N1`–`N4` (N3 = N3 and N4), `REM`, or
//!   `Movement`, `A` (artifact) and other unscored marks (no stage);
//! * event rows, `01:01:00,750-01:01:12,250; 12;PLM Arousal (EEG)`: start–end, the
//!   duration in seconds, and the event's name, read by [`super::vocab`] (`Obstructive
//!   Apnea`, `Hypopnea`, `Arousal`, `PLM Arousal (EEG)`, `Leg Movement`, `PLM left` …);
//!   others are ignored and counted. A name without a side takes it from the header's
//!   `Signal ID` when that names a leg.
//!
//! The header's `Start Time` is the recording's start: clock times are placed from it when
//! the caller gives no other. Errors name the file and the line of a row of a used kind.

use super::clock::{DayRoll, parse_clock, parse_time_of_day, span_s};
use super::events::{Events, When};
use super::text::{header_value, key_value, lines, seconds};
use super::vocab::{Kind, classify};
use crate::error::{Error, Location, Result, shorten};
use crate::io::context::Stage;

/// The format's name.
pub(crate) const FORMAT: &str = "SOMNOmedics DOMINO export";

/// Whether `text` is a DOMINO scoring export: a `Start Time:` line with `Rate:` (a
/// profile) or `Events list:` (events) in its header (a raw signal export has a `Sample
/// Rate:` instead, and is not scoring).
pub(crate) fn recognise(text: &str) -> bool {
    let keys: Vec<String> = lines(text)
        .take(20)
        .filter_map(|(_, l)| key_value(l).map(|(k, _)| k.to_ascii_lowercase()))
        .collect();
    let has = |k: &str| keys.iter().any(|x| x == k);
    has("start time") && (has("rate") || has("events list"))
}

/// The events of a DOMINO export (module docs).
pub(crate) fn read(text: &str, loc: &Location) -> Result<Events> {
    let mut ev = Events::new(FORMAT, loc);
    let start = header_value(text, "Start Time", 40)
        .map(|(n, v)| {
            parse_clock(v).ok_or_else(|| {
                Error::parse(
                    loc.at_line(n),
                    format!("Start Time `{}` is not a date and time", shorten(v)),
                )
            })
        })
        .transpose()?;
    let rate_s = header_value(text, "Rate", 40)
        .map(|(n, v)| {
            seconds(v).filter(|r| *r > 0.0).ok_or_else(|| {
                Error::parse(
                    loc.at_line(n),
                    format!("Rate `{}` is not a number of seconds", shorten(v)),
                )
            })
        })
        .transpose()?
        .unwrap_or(30.0);
    let channel = header_value(text, "Signal ID", 40).map(|(_, v)| v.to_owned());
    let mut roll = DayRoll::new(start.and_then(|s| s.0));
    if let Some(s) = start {
        // The header's start is the recording's, and the first time placed: the rows roll
        // over from it.
        ev.declared_start = Some(super::clock::ClockStart::from_clock(roll.place(s)));
    }
    for (n, line) in lines(text) {
        let cells: Vec<&str> = line.split(';').map(str::trim).collect();
        // Header lines have no `;`-separated time first: they are passed over here.
        if cells.len() < 2 {
            continue;
        }
        let time = cells[0];
        // An event row's time is a span; a profile row's a time.
        let (begin, span) = match time.split_once('-') {
            Some((a, b)) => (a.trim(), Some(b.trim())),
            None => (time, None),
        };
        let Some(begin_ns) = parse_time_of_day(begin) else {
            continue;
        };
        let name = if span.is_some() {
            cells.get(2).copied().unwrap_or("").trim()
        } else {
            cells[1]
        };
        let kind = if span.is_some() {
            classify(name, channel.as_deref(), false)
        } else {
            match Stage::parse(name).or_else(|| german_stage(name)) {
                Some(s) => Some(Kind::Stage(Some(s))),
                None if Stage::is_unstaged_label(name)
                    || name.to_ascii_lowercase().starts_with("artef") =>
                {
                    Some(Kind::Stage(None))
                }
                None => {
                    return Err(Error::parse(
                        loc.at_line(n),
                        format!(
                            "unknown sleep stage `{}` (expected Wake, N1–N4, REM, Movement or A)",
                            shorten(name)
                        ),
                    ));
                }
            }
        };
        let Some(kind) = kind else {
            ev.ignore(name);
            continue;
        };
        let duration_s = match span {
            None => rate_s,
            Some(end) => {
                let end_ns = parse_time_of_day(end).ok_or_else(|| {
                    Error::parse(
                        loc.at_line(n),
                        format!(
                            "event `{}`: end `{}` is not a time of day",
                            shorten(name),
                            shorten(end)
                        ),
                    )
                })?;
                span_s((None, begin_ns), (None, end_ns))
            }
        };
        ev.push(
            kind,
            name,
            When::Clock(roll.place((None, begin_ns))),
            duration_s,
            loc.at_line(n),
        );
    }
    Ok(ev)
}

/// The German stage names of DOMINO's German exports.
fn german_stage(name: &str) -> Option<Stage> {
    match name.trim().to_ascii_lowercase().as_str() {
        "wach" => Some(Stage::W),
        "s1" => Some(Stage::N1),
        "rem-schlaf" => Some(Stage::R),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::io::Stage;
    use crate::io::annotations::{AnnotationFile, AnnotationOptions, ClockStart};

    fn read(text: &str) -> crate::error::Result<AnnotationFile> {
        AnnotationFile::read_from(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            Some(std::path::Path::new("d.txt")),
        )
    }

    #[test]
    fn profile_and_events_roll_over_midnight_with_decimal_commas() {
        let profile = "Signal ID: SchlafProfil\\profil\r\nStart Time: 23.09.2020 23:59:00\r\nUnit:\r\nSignal Type: Discret\r\nEvents list: N4,N3,N2,N1,REM,Wake,Movement,A\r\nRate: 30 s\r\n\r\n23:59:00,000; Wake\r\n23:59:30,000; N4\r\n00:00:00,000; A\r\n00:00:30,000; REM\r\n";
        let f = read(profile).unwrap();
        assert_eq!(f.format(), "SOMNOmedics DOMINO export");
        let h = f.hypnogram(&AnnotationOptions::new(30.0)).unwrap().value;
        assert_eq!(
            h.epochs(),
            vec![(0.0, Stage::W), (30.0, Stage::N3), (90.0, Stage::R)]
        );
        assert_eq!(h.unstaged_epochs(), 1);
        let events = "Signal ID: Events\nStart Time: 23.09.2020 23:59:00\nEvents list: PLM Arousal (EEG),Hypopnea\n\n23:59:50,750-00:00:02,250; 12;PLM Arousal (EEG)\n00:00:30,000-00:00:40,500; 11;Hypopnea\n00:01:00,000-00:01:01,000; 1;Snoring\n";
        let f = read(events).unwrap();
        let o = AnnotationOptions {
            start: ClockStart::parse("2020-09-23T23:59:00"),
            ..AnnotationOptions::new(30.0)
        };
        let a = f.arousals(&o).unwrap().value;
        assert_eq!((a[0].onset_s, a[0].offset_s), (50.75, 62.25));
        let r = f.respiratory(&o).unwrap();
        assert_eq!((r.value[0].onset_s, r.value[0].offset_s), (90.0, 100.5));
        assert!(r.notes[0].contains("Snoring ×1"), "{:?}", r.notes);
    }

    #[test]
    fn an_unknown_stage_names_its_line() {
        let e = read(
            "Signal ID: P\nStart Time: 23.09.2020 23:59:00\nRate: 30 s\n\n23:59:00,000; Nap\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "d.txt, line 5: unknown sleep stage `Nap` (expected Wake, N1–N4, REM, Movement or A)"
        );
    }
}
