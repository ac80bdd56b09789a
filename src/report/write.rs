//! The report written out: pretty JSON (the library's [`Report`], field for field) and a
//! CSV table with one row per candidate movement.
//!
//! Input: a [`Report`] and a writer. Output: JSON with every float in the shortest form
//! that a correctly rounding parser reads back as the same number, and a CSV whose times
//! are in seconds from the start of the recording, to the millisecond.

use std::io::Write;

use super::Report;
use crate::error::{Error, Result};

impl Report {
    /// The report as pretty-printed JSON.
    ///
    /// # Errors
    /// Never in practice (all fields serialise); kept fallible for the writer variant.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::io(None, std::io::Error::other(e)))
    }

    /// Writes the JSON report to `w`.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_json<W: Write>(&self, mut w: W) -> Result<()> {
        serde_json::to_writer_pretty(&mut w, self)
            .map_err(|e| Error::io(None, std::io::Error::other(e)))?;
        w.write_all(b"\n").map_err(|e| Error::io(None, e))
    }

    /// Writes one CSV row per candidate movement: `onset_s, offset_s, duration_s, side,
    /// parts, clm, imi_s, periodic, series, stage, respiratory, arousal, periodic_nr`.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_events_csv<W: Write>(&self, w: W) -> Result<()> {
        let io = |e: csv::Error| Error::io(None, std::io::Error::other(e));
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "onset_s",
            "offset_s",
            "duration_s",
            "side",
            "parts",
            "clm",
            "imi_s",
            "periodic",
            "series",
            "stage",
            "respiratory",
            "arousal",
            "periodic_nr",
        ])
        .map_err(io)?;
        for c in &self.candidate_movements {
            out.write_record([
                format!("{:.3}", c.onset_s),
                format!("{:.3}", c.offset_s),
                format!("{:.3}", c.offset_s - c.onset_s),
                c.side.as_str().to_owned(),
                c.parts.to_string(),
                c.clm.to_string(),
                c.imi_s.map_or(String::new(), |v| format!("{v:.3}")),
                c.periodic.to_string(),
                c.series.map_or(String::new(), |v| v.to_string()),
                c.stage.map_or(String::new(), |s| format!("{s:?}")),
                c.respiratory.to_string(),
                c.arousal.to_string(),
                c.periodic_nr.to_string(),
            ])
            .map_err(io)?;
        }
        out.flush().map_err(|e| Error::io(None, e))
    }
}
