//! The CAP Sleep Database's scorer files (PhysioNet `capslpdb`, `*.txt`): RemLogic tables
//! with the cyclic alternating pattern scored, read by [`super::remlogic`]'s table reader.
//!
//! Layout: header lines (`Patient Name:`, `Recording Date: dd/mm/yyyy`, `Events
//! Included:` …), then a tab table with `Sleep Stage`, `Position`, `Time [hh:mm:ss]` (also
//! written `Time [hh.mm.ss]`), `Event`, `Duration[s]` (or `Duration [s]`) and `Location`.
//! Events: the stages `SLEEP-S0`…`S4`, `SLEEP-REM`, `SLEEP-MT` (movement time: no stage),
//! and the CAP A phases `MCAP-A1`, `MCAP-A2`, `MCAP-A3`. A phases are EEG activations, not
//! arousals in the AASM sense (only A2/A3 mostly meet the arousal criteria): they count as
//! arousals only when the caller asks ([`crate::io::AnnotationOptions::cap_phases_as_arousals`],
//! `--cap-arousals`). Other events (`MCAP-B`, respiratory or movement notes the scorer
//! added) are read as in RemLogic exports.

use super::events::Events;
use super::remlogic::{read_table, table_header};
use super::text::lines;
use crate::error::{Location, Result};

/// The format's name.
pub(crate) const FORMAT: &str = "CAP Sleep Database scorer file";

/// Whether `text` is a CAP scorer file: a RemLogic-style table (with the `Sleep Stage`
/// column) without the RemLogic title.
pub(crate) fn recognise(text: &str) -> bool {
    let Some((n, _)) = table_header(text) else {
        return false;
    };
    lines(text)
        .nth(n as usize - 1)
        .is_some_and(|(_, l)| l.to_ascii_lowercase().contains("sleep stage"))
}

/// The events of a CAP scorer file (module docs).
pub(crate) fn read(text: &str, loc: &Location) -> Result<Events> {
    read_table(text, loc, FORMAT)
}
