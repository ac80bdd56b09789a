//! The CAP Sleep Database's scorer files (PhysioNet `capslpdb`, `*.txt`): RemLogic tables
//! with the cyclic alternating pattern scored, read by [`super::remlogic`]'s table reader.
//!
//! Layout: header lines (`Patient Name:`, `Room #:`, `Recording Date: dd/mm/yyyy`,
//! `Events Included:` …), then a tab table with `Sleep Stage`, `Position`, `Time [hh:mm:ss]` (also
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

/// Whether `text` is a CAP scorer file: a RemLogic-style table with the `Sleep Stage`
/// column, without the RemLogic title (checked first), and with CAP's header
/// (`Patient Name:`, `Room #:`) or its A phases.
pub(crate) fn recognise(text: &str) -> bool {
    let Some((n, _)) = table_header(text) else {
        return false;
    };
    let head: Vec<&str> = lines(text).take(n as usize).map(|(_, l)| l).collect();
    let staged = head
        .last()
        .is_some_and(|l| l.to_ascii_lowercase().contains("sleep stage"));
    let cap_header = head.iter().any(|l| {
        let l = l.trim_start().to_ascii_lowercase();
        l.starts_with("patient name:") || l.starts_with("room #")
    });
    staged && (cap_header || text.contains("MCAP-A"))
}

/// The events of a CAP scorer file (module docs).
pub(crate) fn read(text: &str, loc: &Location) -> Result<Events> {
    read_table(text, loc, FORMAT)
}

#[cfg(test)]
mod tests {
    use crate::io::annotations::{AnnotationFile, AnnotationOptions};

    const CAP: &str = "Patient Name:\tn1\nRecording Date:\t01/03/2024\nEvents Included:\nSLEEP-S0\nMCAP-A1\n\nSleep Stage\tPosition\tTime [hh.mm.ss]\tEvent\tDuration [s]\tLocation\nW\tUnknown Position\t23.59.30\tSLEEP-S0\t30\tROC-LOC\nS4\tUnknown Position\t00.00.00\tSLEEP-S4\t30\tROC-LOC\nS4\tUnknown Position\t00.00.10\tMCAP-A2\t7\tC4-A1\nMT\tUnknown Position\t00.00.30\tSLEEP-MT\t30\tROC-LOC\n";

    #[test]
    fn stages_and_cap_phases_only_when_asked() {
        let f =
            AnnotationFile::read_from(std::io::Cursor::new(CAP.as_bytes().to_vec()), None).unwrap();
        assert_eq!(f.format(), "CAP Sleep Database scorer file");
        let o = AnnotationOptions::new(30.0);
        let h = f.hypnogram(&o).unwrap().value;
        assert_eq!(h.epochs().len(), 2);
        assert_eq!(h.unstaged_epochs(), 1);
        let e = f.arousals(&o).unwrap_err().to_string();
        assert!(e.contains("--cap-arousals"), "{e}");
        let o = AnnotationOptions {
            cap_phases_as_arousals: true,
            ..o
        };
        let a = f.arousals(&o).unwrap().value;
        assert_eq!((a.len(), a[0].onset_s, a[0].offset_s), (1, 40.0, 47.0));
    }
}
