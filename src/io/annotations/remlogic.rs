//! RemLogic event exports (Natus Embla systems): the text files MATPLM and PLMScoRe read,
//! with the technician's `left-LM`/`right-LM` scoring. The table reader here also serves
//! the CAP Sleep Database's scorer files ([`super::cap`]) and bare event lists
//! ([`super::event_list`]).
//!
//! Layout: a header block (`RemLogic Event Export`, `Patient:`, `Recording Date:`,
//! `Events Included:` and the event names, an optional `Scoring Session:` block), then a
//! tab-separated table whose header names its columns:
//!
//! * the time, `Time [hh:mm:ss.xxx]` or `Time [hh:mm:ss]` (`Time [hh.mm.ss]` in CAP
//!   files): ISO date-times, or times of day on the header's `Recording Date` that roll
//!   over midnight ([`super::clock`]);
//! * `Event`: the event's name, read by [`super::vocab`] — stages `SLEEP-S0`…`S4`,
//!   `SLEEP-REM`, `SLEEP-UNSCORED`, `SLEEP-MT` or the labels `W`, `N1`–`N3`, `R`,
//!   `Unscored`; `AROUSAL*`, `APNEA*`, `HYPOPNEA*`, `RERA`; `LM`, `right-LM`, `left-LM`,
//!   `PLM-LM` (`AROUSAL-LM` is an arousal);
//! * `Duration[s]` (or `Duration [s]`), seconds with a point or a comma;
//! * optional `Location` (`EMG.Tibialis-Leg.Left`: a leg movement's side when its name
//!   has none), `Sleep Stage` and `Position` columns (not used: stages are events).
//!
//! Other events are ignored whatever their content, and counted. Errors name the file, the
//! line and the column of a used event's bad cell.

use super::clock::{DayRoll, parse_clock, parse_date};
use super::events::{Events, When};
use super::text::{header_value, lines, seconds};
use super::vocab::classify;
use crate::error::{Error, Location, Result, shorten};

/// The format's name.
pub(crate) const FORMAT: &str = "RemLogic event export";

/// Whether `text` is a RemLogic export: its title line, or (titled or not) a table
/// header with a time and an `Event` column after a header block that is not CAP's.
pub(crate) fn recognise(text: &str) -> bool {
    lines(text)
        .take(50)
        .any(|(_, l)| l.trim().eq_ignore_ascii_case("RemLogic Event Export"))
}

/// Where a table's columns are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Columns {
    pub(crate) time: usize,
    pub(crate) event: usize,
    pub(crate) duration: usize,
    pub(crate) location: Option<usize>,
}

/// The table header among the first lines of `text`: its line and columns.
pub(crate) fn table_header(text: &str) -> Option<(u64, Columns)> {
    lines(text).take(400).find_map(|(n, l)| {
        let cells: Vec<String> = l
            .split('\t')
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        let find = |pred: &dyn Fn(&str) -> bool| cells.iter().position(|c| pred(c));
        // English, and the German, French and Dutch of localised RemLogic installations.
        let time = find(&|c| {
            ["time", "zeit", "heure", "tijd"]
                .iter()
                .any(|w| c.starts_with(w))
        })?;
        let event =
            find(&|c| ["event", "ereignis", "événement", "evenement", "gebeurtenis"].contains(&c))?;
        let duration = find(&|c| {
            ["duration", "dauer", "durée", "duree", "duur"]
                .iter()
                .any(|w| c.starts_with(w))
        })?;
        let location =
            find(&|c| ["location", "ort", "lokalisierung", "channel", "kanal"].contains(&c));
        Some((
            n,
            Columns {
                time,
                event,
                duration,
                location,
            },
        ))
    })
}

/// The events of a RemLogic export (module docs).
pub(crate) fn read(text: &str, loc: &Location) -> Result<Events> {
    read_table(text, loc, FORMAT)
}

/// The events of a tab table with a header block (RemLogic, CAP), as `format`.
pub(crate) fn read_table(text: &str, loc: &Location, format: &'static str) -> Result<Events> {
    let Some((header_line, cols)) = table_header(text) else {
        return Err(Error::input(
            loc.clone(),
            format!(
                "{format}: no table header (a line with `Time […]`, `Event` and `Duration[s]` columns, tab-separated)"
            ),
        ));
    };
    let date = header_value(text, "Recording Date", header_line as usize)
        .map(|(n, v)| {
            parse_date(v).ok_or_else(|| {
                Error::parse(
                    loc.at_line(n),
                    format!("Recording Date `{}` is not a date", shorten(v)),
                )
            })
        })
        .transpose()?;
    let mut ev = Events::new(format, loc);
    rows(&mut ev, text, header_line, cols, DayRoll::new(date))?;
    Ok(ev)
}

/// Reads the table rows after `after` (the header's line; 0 when there is none).
pub(crate) fn rows(
    ev: &mut Events,
    text: &str,
    after: u64,
    cols: Columns,
    mut roll: DayRoll,
) -> Result<()> {
    let loc = ev.loc.clone();
    for (n, line) in lines(text).skip(after as usize) {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |c: usize| cells.get(c).map_or("", |s| s.trim());
        let name = cell(cols.event);
        let channel = cols.location.map(cell).filter(|c| !c.is_empty());
        let Some(kind) = classify(name, channel, true) else {
            ev.ignore(name);
            continue;
        };
        let field = |c: usize, what: &str| loc.at_field(n, c + 1, what);
        let time = cell(cols.time);
        let clock = parse_clock(time).ok_or_else(|| {
            Error::parse(
                field(cols.time, "time"),
                format!(
                    "event `{}`: `{}` is not a clock time",
                    shorten(name),
                    shorten(time)
                ),
            )
        })?;
        let duration = cell(cols.duration);
        let duration_s = seconds(duration).ok_or_else(|| {
            Error::parse(
                field(cols.duration, "duration"),
                format!(
                    "event `{}`: duration `{}` is not a non-negative number of seconds",
                    shorten(name),
                    shorten(duration)
                ),
            )
        })?;
        ev.push(
            kind,
            name,
            When::Clock(roll.place(clock)),
            duration_s,
            loc.at_line(n),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::events::Side;
    use crate::io::Stage;
    use crate::io::annotations::{AnnotationFile, AnnotationOptions, ClockStart};

    const EXPORT: &str = "RemLogic Event Export\r\nPatient:\tX\r\nRecording Date:\t26/07/2013\r\nEvents Included:\r\n\tSLEEP-S0\r\n\r\nSleep Stage\tPosition\tTime [hh:mm:ss]\tEvent\tDuration[s]\tLocation\r\nW\tSupine\t23:59:30\tSLEEP-S0\t30\t\r\nN2\tSupine\t00:00:00\tSLEEP-S2\t30\t\r\nN2\tSupine\t00:00:05\tLM\t1,5\tEMG.Tibialis-Leg.Left\r\nN2\tSupine\t00:00:10\tright-LM\t2\t\r\nN2\tSupine\t00:00:10\tPLM-LM\t2\t\r\nN2\tSupine\t00:00:20\tPOS-LEFT\tbad\t\r\nR\tSupine\t00:00:30\tSLEEP-REM\t30\t\r\n";

    fn read(text: &str) -> crate::error::Result<AnnotationFile> {
        AnnotationFile::read_from(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            Some(std::path::Path::new("r.txt")),
        )
    }

    #[test]
    fn crlf_midnight_decimal_commas_and_locations() {
        let f = read(EXPORT).unwrap();
        assert_eq!(f.format(), "RemLogic event export");
        let o = AnnotationOptions::new(30.0);
        let h = f.hypnogram(&o).unwrap();
        assert_eq!(
            h.value.epochs(),
            vec![(0.0, Stage::W), (30.0, Stage::N2), (60.0, Stage::R)]
        );
        // The unused `POS-LEFT` with a bad duration is counted, not an error.
        assert!(
            h.notes[0].contains("1 event of types scoring does not use ignored: POS-LEFT ×1"),
            "{:?}",
            h.notes
        );
        let lms = f.leg_movements(&o).unwrap().value;
        assert_eq!(lms.len(), 2, "the side-less PLM-LM repeats the right LM");
        assert_eq!(
            (lms[0].side, lms[0].onset_s, lms[0].offset_s),
            (Side::Left, 35.0, 36.5)
        );
        assert_eq!((lms[1].side, lms[1].onset_s), (Side::Right, 40.0));
        // From the recording's start at 23:59:00, everything is 30 s later.
        let o = AnnotationOptions {
            start: ClockStart::parse("2013-07-26T23:59:00"),
            ..o
        };
        assert_eq!(f.leg_movements(&o).unwrap().value[0].onset_s, 65.0);
    }

    #[test]
    fn a_bad_cell_of_a_used_event_names_its_line_and_column() {
        let e = read(&EXPORT.replace("right-LM\t2", "right-LM\tx"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "r.txt, line 11, column 5 (duration): event `right-LM`: duration `x` is not a non-negative number of seconds"
        );
        let e = read(&EXPORT.replace("00:00:05", "00:61:05"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("r.txt, line 10, column 3 (time): event `LM`"),
            "{e}"
        );
        let e = read(&EXPORT.replace("26/07/2013", "someday"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3: Recording Date `someday`"), "{e}");
    }

    #[test]
    fn stage_times_rounded_by_the_exporter_still_make_consecutive_epochs() {
        let text = "Time [hh:mm:ss.xxx]\tEvent\tDuration[s]\n23:00:00.000\tSLEEP-S0\t30\n23:00:29.999\tSLEEP-S2\t30\n23:01:00.001\tSLEEP-S2\t30\n";
        let h = read(text)
            .unwrap()
            .hypnogram(&AnnotationOptions::new(30.0))
            .unwrap()
            .value;
        assert_eq!(
            h.epochs(),
            vec![(0.0, Stage::W), (30.0, Stage::N2), (60.001, Stage::N2)]
        );
        let e = read(&text.replace("23:00:29.999", "23:00:20.000"))
            .unwrap()
            .hypnogram(&AnnotationOptions::new(30.0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlaps the epoch starting at 0 s"), "{e}");
    }

    #[test]
    fn untitled_exports_are_recognised_by_their_table() {
        let untitled = EXPORT.replacen("RemLogic Event Export\r\n", "", 1);
        let f = read(&untitled).unwrap();
        assert_eq!(
            f.format(),
            "RemLogic event export",
            "not CAP: no CAP header"
        );
        assert_eq!(
            f.leg_movements(&AnnotationOptions::new(30.0))
                .unwrap()
                .value
                .len(),
            2
        );
        let bare = "Time [hh:mm:ss.xxx]\tEvent\tDuration[s]\n23:00:00.000\tSLEEP-S0\t30\n";
        assert_eq!(read(bare).unwrap().format(), "RemLogic event export");
    }

    #[test]
    fn a_file_cut_mid_row_is_an_error_at_that_row() {
        let cut = &EXPORT[..EXPORT.find("right-LM\t2").unwrap() + "right-LM".len()];
        let e = read(cut).unwrap_err().to_string();
        assert!(
            e.starts_with("r.txt, line 11, column 5 (duration): event `right-LM`: duration ``"),
            "{e}"
        );
    }

    #[test]
    fn an_export_without_what_is_asked_is_an_error_naming_what_it_has() {
        let f = read(EXPORT).unwrap();
        let e = f
            .respiratory(&AnnotationOptions::new(30.0))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("r.txt: RemLogic event export: no respiratory events among 7 scored events; event names seen:"),
            "{e}"
        );
    }

    #[test]
    fn a_start_that_leaves_every_event_outside_says_so() {
        let f = read(EXPORT).unwrap();
        // From 08:00 the next morning, the night's stages and LMs all lie before t = 0.
        let o = AnnotationOptions {
            start: ClockStart::parse("2013-07-27T08:00:00"),
            ..AnnotationOptions::new(30.0)
        };
        let e = f.hypnogram(&o).unwrap_err().to_string();
        assert_eq!(
            e,
            "r.txt: RemLogic event export: no scored sleep stages in the recording: all 3 lie outside it (3 before its start at 2013-07-27T08:00:00, 0 after its end); check the recording's start (--start-time, the night's start)"
        );
        let e = f.leg_movements(&o).unwrap_err().to_string();
        assert!(
            e.contains("no leg movements in the recording: all 3 lie outside it (3 before"),
            "{e}"
        );
        // Ending before the first stage: all after the end.
        let o = AnnotationOptions {
            start: ClockStart::parse("2013-07-26T23:00:00"),
            end_s: Some(60.0),
            ..AnnotationOptions::new(30.0)
        };
        let e = f.hypnogram(&o).unwrap_err().to_string();
        assert!(
            e.contains(
                "all 3 lie outside it (0 before its start at 2013-07-26T23:00:00, 3 after its end)"
            ),
            "{e}"
        );
    }
}
