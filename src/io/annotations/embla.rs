//! Embla `EventExport` XML (RemLogic and Embla systems' XML event export).
//!
//! Input: the XML text, root `EventExport`. Output: its [`Events`], with clock times that
//! [`super::events::Events::place`] aligns with the recording's start ([`super::clock`]).
//!
//! Each `<Events><Event>` has a `<Type>` (read by [`super::vocab`]: `SLEEP-S0`…`S4`,
//! `SLEEP-REM`, `SLEEP-UNSCORED`; `APNEA-OBSTRUCTIVE`, `APNEA-CENTRAL`, `APNEA-MIXED`,
//! `HYPOPNEA`, `RERA`; `AROUSAL`, `AROUSAL-SPONT`, `AROUSAL-RESP`, `AROUSAL-LM`; `LM-LEFT`,
//! `right-LM`, `PLM-LM`), a `<StartTime>` (ISO date-time, or a time of day), and a
//! `<StopTime>` or a `<Duration>` (seconds, or ISO 8601 `PT12.5S`). An optional
//! `<Location>` or `<Channel>` gives a leg movement's side when the type does not. Other
//! types are ignored whatever their content, and counted. Errors name the file and the
//! line of the event.

use super::clock::{DayRoll, parse_clock, span_s};
use super::events::{Events, When};
use super::vocab::classify;
use super::xml::records;
use crate::error::{Error, Location, Result, shorten};

/// The format's name.
pub(crate) const FORMAT: &str = "Embla XML";

/// The root element.
pub(crate) const ROOT: &str = "EventExport";

/// The events of an Embla XML file (module docs).
pub(crate) fn read(data: &[u8], loc: &Location) -> Result<Events> {
    let mut ev = Events::new(FORMAT, loc);
    let fields: &[&str] = &[
        "Type",
        "StartTime",
        "StopTime",
        "Duration",
        "Location",
        "Channel",
    ];
    let mut roll = DayRoll::new(None);
    for r in records(data, loc, &[("Event", fields)])? {
        let [kind_name, start, stop, duration, location, channel] =
            <[String; 6]>::try_from(r.fields).unwrap_or_default();
        let channel = [location.trim(), channel.trim()]
            .into_iter()
            .find(|c| !c.is_empty());
        let Some(kind) = classify(&kind_name, channel, false) else {
            ev.ignore(&kind_name);
            continue;
        };
        let at = loc.at_line(r.line);
        let bad = |what: &str, text: &str| {
            Error::parse(
                at.clone(),
                format!(
                    "event `{}`: {what} `{}` is not a clock time",
                    shorten(kind_name.trim()),
                    shorten(text.trim())
                ),
            )
        };
        let begin = parse_clock(&start).ok_or_else(|| bad("StartTime", &start))?;
        let clock = roll.place(begin);
        let duration_s = if stop.trim().is_empty() {
            duration_seconds(&duration).ok_or_else(|| {
                Error::parse(
                    at.clone(),
                    format!(
                        "event `{}`: Duration `{}` is not a non-negative number of seconds",
                        shorten(kind_name.trim()),
                        shorten(duration.trim())
                    ),
                )
            })?
        } else {
            let end = parse_clock(&stop).ok_or_else(|| bad("StopTime", &stop))?;
            let d = span_s(begin, end);
            if d < 0.0 {
                return Err(Error::parse(
                    at,
                    format!(
                        "event `{}`: StopTime `{}` is before its StartTime",
                        shorten(kind_name.trim()),
                        shorten(stop.trim())
                    ),
                ));
            }
            d
        };
        ev.push(kind, &kind_name, When::Clock(clock), duration_s, at);
    }
    Ok(ev)
}

/// A duration: seconds (`12.5`), or ISO 8601 (`PT12.5S`, `PT1M2S`).
fn duration_seconds(text: &str) -> Option<f64> {
    let t = text.trim();
    let value = if let Some(iso) = t.strip_prefix("PT").or_else(|| t.strip_prefix("pt")) {
        let mut total = 0.0;
        let mut num = String::new();
        for c in iso.chars() {
            match c.to_ascii_uppercase() {
                'H' | 'M' | 'S' => {
                    let v: f64 = num.parse().ok()?;
                    total += v * match c.to_ascii_uppercase() {
                        'H' => 3600.0,
                        'M' => 60.0,
                        _ => 1.0,
                    };
                    num.clear();
                }
                _ => num.push(c),
            }
        }
        num.is_empty().then_some(total)?
    } else {
        t.parse::<f64>().ok()?
    };
    (value.is_finite() && value >= 0.0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::duration_seconds;
    use crate::io::annotations::{AnnotationFile, AnnotationOptions, ClockStart};

    const XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<EventExport>
 <Events>
  <Event><Type>SLEEP-S2</Type><StartTime>2013-07-26T23:59:45.000000</StartTime><StopTime>2013-07-27T00:00:15.000000</StopTime></Event>
  <Event><Type>AROUSAL-RESP</Type><StartTime>2013-07-26T23:59:50.500000</StartTime><Duration>PT4.5S</Duration></Event>
  <Event><Type>LM</Type><Location>Leg R</Location><StartTime>2013-07-27T00:00:01</StartTime><Duration>1.25</Duration></Event>
  <Event><Type>SpO2-DESAT</Type><StartTime></StartTime></Event>
 </Events>
</EventExport>
"#;

    #[test]
    fn clock_times_from_the_recording_start() {
        let f =
            AnnotationFile::read_from(std::io::Cursor::new(XML.as_bytes().to_vec()), None).unwrap();
        assert_eq!(f.format(), "Embla XML");
        let o = AnnotationOptions {
            start: ClockStart::parse("2013-07-26T23:59:45"),
            ..AnnotationOptions::new(30.0)
        };
        assert_eq!(f.hypnogram(&o).unwrap().value.epochs().len(), 1);
        let a = f.arousals(&o).unwrap().value;
        assert_eq!((a[0].onset_s, a[0].offset_s), (5.5, 10.0));
        let m = f.leg_movements(&o).unwrap().value;
        assert_eq!(
            (m[0].onset_s, m[0].offset_s, m[0].side),
            (16.0, 17.25, crate::events::Side::Right)
        );
        // Events after the recording's end are dropped and counted.
        let o = AnnotationOptions {
            end_s: Some(10.0),
            ..o
        };
        let m = f.arousals(&o).unwrap();
        assert!(
            m.notes.iter().any(|n| n.contains("1 event of types")),
            "{:?}",
            m.notes
        );
        let e = f.leg_movements(&o).unwrap_err().to_string();
        assert!(e.contains("no leg movements"), "{e}");
    }

    #[test]
    fn durations_and_bad_times() {
        assert_eq!(duration_seconds("PT1M2.5S"), Some(62.5));
        assert_eq!(duration_seconds("12"), Some(12.0));
        assert_eq!(duration_seconds("-1"), None);
        assert_eq!(duration_seconds("PTxS"), None);
        let bad = XML.replace("2013-07-27T00:00:01", "soon");
        let e = AnnotationFile::read_from(std::io::Cursor::new(bad.into_bytes()), None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 6: event `LM`: StartTime `soon`"), "{e}");
        let cut = &XML[..XML.find("<Duration>1.25").unwrap()];
        let e = AnnotationFile::read_from(std::io::Cursor::new(cut.as_bytes().to_vec()), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ends inside a <Event>"), "{e}");
    }
}
