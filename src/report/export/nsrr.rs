//! The detection as an NSRR XML `PSGAnnotation` file (the layout of NSRR's
//! `annotations-events-nsrr`, read by Luna and the NSRR tools).
//!
//! A `Recording Start Time` event (with the night's clock time), then per leg movement a
//! `Limb Movement` event — `Limb movement - left|Limb Movement (Left)` — on its channel
//! (`SignalLocation`), and for a movement in a PLM series a second event `Periodic leg
//! movement - left|PLM (Left)` with the same start and duration (readers, this crate's
//! included, count the movement once). Times are seconds from the start of the recording.

use std::fmt::Write as _;
use std::io::Write;

use super::super::Report;
use super::{Flag, duration_s, flagged};
use crate::error::{Error, Result};
use crate::events::Side;

impl Report {
    /// Writes the leg movements as an NSRR XML annotation file (module docs of
    /// `report/export/nsrr.rs`).
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_nsrr_xml<W: Write>(&self, mut w: W) -> Result<()> {
        let mut x = String::new();
        x.push_str(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<PSGAnnotation>\n",
        );
        let _ = writeln!(
            x,
            "<SoftwareVersion>plm-detect {}</SoftwareVersion>",
            self.version
        );
        let _ = writeln!(x, "<EpochLength>{}</EpochLength>", self.rules.epoch_s);
        x.push_str("<ScoredEvents>\n");
        let clock = self
            .recording
            .start_time
            .as_deref()
            .and_then(crate::io::ClockStart::parse)
            .and_then(|c| c.date_time())
            .map(|t| format!("\n<ClockTime>00.00.00 {}</ClockTime>", t.format("%H.%M.%S")))
            .unwrap_or_default();
        let _ = write!(
            x,
            "<ScoredEvent>\n<EventType/>\n<EventConcept>Recording Start Time</EventConcept>\n<Start>0</Start>\n<Duration>{}</Duration>{clock}\n</ScoredEvent>\n",
            self.recording.duration_s
        );
        for (lm, flag) in flagged(self) {
            let (side, label) = match lm.side {
                Side::Left => ("left", "Left"),
                Side::Right => ("right", "Right"),
            };
            let channel = self
                .recording
                .channels
                .iter()
                .find(|c| c.side == lm.side)
                .map(|c| format!("\n<SignalLocation>{}</SignalLocation>", escape(&c.name)))
                .unwrap_or_default();
            let mut concepts = vec![format!("Limb movement - {side}|Limb Movement ({label})")];
            if flag == Some(Flag::Plm) {
                concepts.push(format!("Periodic leg movement - {side}|PLM ({label})"));
            }
            for concept in concepts {
                let _ = write!(
                    x,
                    "<ScoredEvent>\n<EventType>Limb Movement|Limb Movement</EventType>\n<EventConcept>{concept}</EventConcept>\n<Start>{}</Start>\n<Duration>{}</Duration>{channel}\n</ScoredEvent>\n",
                    lm.onset_s,
                    duration_s(lm)
                );
            }
        }
        x.push_str("</ScoredEvents>\n</PSGAnnotation>\n");
        w.write_all(x.as_bytes()).map_err(|e| Error::io(None, e))
    }
}

/// `text` with the XML special characters escaped (and control characters dropped).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
