//! Bare event lists: a start, a type and a duration per line, tab- or comma-separated —
//! the `Start\tType\tDuration` LM lists of RemLogic-based pipelines
//! (`2013-07-26T01:03:20.150\tright-LM\t1.11`) and MNE's annotation CSV
//! (`onset,duration,description`).
//!
//! An optional header row names the columns (`Start`/`Onset`/`Time`, `Type`/`Event`/
//! `Description`/`Annotation`, `Duration`; then they may come in any order); without one
//! they are start, type, duration. Starts are clock times ([`super::clock`]: ISO
//! date-times, or times of day rolling over midnight) or seconds from the start of the
//! recording. Types are read by [`super::vocab`]; others are ignored and counted.

use super::clock::{DayRoll, parse_clock};
use super::events::{Events, When};
use super::text::{lines, seconds};
use super::vocab::classify;
use crate::error::{Error, Location, Result, shorten};

/// The format's name.
pub(crate) const FORMAT: &str = "event list (start, type, duration)";

/// The columns: start, type, duration; the header's line (0: none).
type Layout = ([usize; 3], u64, char);

/// The layout of `text` if it is an event list.
fn layout(text: &str) -> Option<Layout> {
    let (n, first) = lines(text).find(|(_, l)| !l.trim().is_empty())?;
    let sep = if first.contains('\t') { '\t' } else { ',' };
    let raw: Vec<&str> = first
        .split(sep)
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    let cells: Vec<String> = raw.iter().map(|c| c.to_ascii_lowercase()).collect();
    let find = |names: &[&str]| cells.iter().position(|c| names.contains(&c.as_str()));
    if let (Some(s), Some(t), Some(d)) = (
        find(&[
            "start",
            "onset",
            "time",
            "start time",
            "starttime",
            "onset_s",
            "start_s",
        ]),
        find(&[
            "type",
            "event",
            "description",
            "annotation",
            "name",
            "label",
        ]),
        find(&[
            "duration",
            "duration[s]",
            "duration [s]",
            "duration_s",
            "dur",
        ]),
    ) {
        // A CSV context list (`onset_s,offset_s,…`) has no duration column, so it is
        // never taken for one.
        return Some(([s, t, d], n, sep));
    }
    // No header: a first row `date-time, type, seconds`.
    (raw.len() >= 3
        && parse_clock(raw[0]).is_some_and(|(date, _)| date.is_some())
        && seconds(raw[2]).is_some()
        && !raw[1].is_empty())
    .then_some(([0, 1, 2], n - 1, sep))
}

/// Whether `text` is an event list.
pub(crate) fn recognise(text: &str) -> bool {
    layout(text).is_some()
}

/// The events of an event list (module docs).
pub(crate) fn read(text: &str, loc: &Location) -> Result<Events> {
    let mut ev = Events::new(FORMAT, loc);
    let Some(([s, t, d], header, sep)) = layout(text) else {
        return Ok(ev);
    };
    let mut roll = DayRoll::new(None);
    for (n, line) in lines(text).skip(header as usize) {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line
            .split(sep)
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        let cell = |c: usize| cells.get(c).copied().unwrap_or("");
        let name = cell(t);
        let Some(kind) = classify(name, None, true) else {
            ev.ignore(name);
            continue;
        };
        let start = cell(s);
        let when = match seconds(start) {
            Some(v) if !start.contains(':') => When::Elapsed(v),
            _ => When::Clock(roll.place(parse_clock(start).ok_or_else(|| {
                Error::parse(
                    loc.at_field(n, s + 1, "start"),
                    format!(
                        "event `{}`: `{}` is neither a clock time nor seconds",
                        shorten(name),
                        shorten(start)
                    ),
                )
            })?)),
        };
        let duration = cell(d);
        let duration_s = seconds(duration).ok_or_else(|| {
            Error::parse(
                loc.at_field(n, d + 1, "duration"),
                format!(
                    "event `{}`: duration `{}` is not a non-negative number of seconds",
                    shorten(name),
                    shorten(duration)
                ),
            )
        })?;
        ev.push(kind, name, when, duration_s, loc.at_line(n));
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use crate::events::Side;
    use crate::io::annotations::{AnnotationFile, AnnotationOptions, ClockStart};

    fn read(text: &str) -> crate::error::Result<AnnotationFile> {
        AnnotationFile::read_from(std::io::Cursor::new(text.as_bytes().to_vec()), None)
    }

    #[test]
    fn iso_lists_with_or_without_a_header_and_mne_csv() {
        let o = AnnotationOptions {
            start: ClockStart::parse("2013-07-26T23:59:59"),
            ..AnnotationOptions::new(30.0)
        };
        for text in [
            "Start\tType\tDuration\n2013-07-26T23:59:59.500\tright-LM\t1.11\n2013-07-27T00:00:10.150\tleft-LM\t0.9\n",
            "2013-07-26T23:59:59.500\tright-LM\t1.11\n2013-07-27T00:00:10.150\tleft-LM\t0.9\n",
            "onset,duration,description\n2013-07-26 23:59:59.500,1.11,LM right\n2013-07-27 00:00:10.150,0.9,LM left\n",
        ] {
            let f = read(text).unwrap();
            assert_eq!(f.format(), "event list (start, type, duration)", "{text}");
            let m = f.leg_movements(&o).unwrap().value;
            assert_eq!(m.len(), 2, "{text}");
            assert_eq!((m[0].side, m[0].onset_s), (Side::Right, 0.5));
            assert!((m[1].onset_s - 11.15).abs() < 1e-9 && m[1].side == Side::Left);
        }
        // Relative seconds need no start.
        let f = read("onset,duration,description\n10.5,2,Hypopnea\n").unwrap();
        let r = f.respiratory(&AnnotationOptions::new(30.0)).unwrap().value;
        assert_eq!((r[0].onset_s, r[0].offset_s), (10.5, 12.5));
        let e = read("Start\tType\tDuration\n2013-07-26T23:59:59\tright-LM\tlong\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "line 2, column 3 (duration): event `right-LM`: duration `long` is not a non-negative number of seconds"
        );
    }
}
