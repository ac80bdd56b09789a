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
use super::text::{at, header_value, lines, seconds};
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
        let cells: Vec<String> = l.split('\t').map(|c| c.trim().to_ascii_lowercase()).collect();
        let find = |pred: &dyn Fn(&str) -> bool| cells.iter().position(|c| pred(c));
        let time = find(&|c| c.starts_with("time"))?;
        let event = find(&|c| c == "event")?;
        let duration = find(&|c| c.starts_with("duration"))?;
        let location = find(&|c| c == "location");
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
            format!("{format}: no table header (a line with `Time […]`, `Event` and `Duration[s]` columns, tab-separated)"),
        ));
    };
    let date = header_value(text, "Recording Date", header_line as usize)
        .map(|(n, v)| {
            parse_date(v).ok_or_else(|| {
                Error::parse(at(loc, n), format!("Recording Date `{}` is not a date", shorten(v)))
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
                format!("event `{}`: `{}` is not a clock time", shorten(name), shorten(time)),
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
        ev.push(kind, name, When::Clock(roll.place(clock)), duration_s, at(&loc, n));
    }
    Ok(())
}
