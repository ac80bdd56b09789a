//! The detection as an EDF+ annotations-only file (EDF+ specification, Kemp & Olivan 2003,
//! §2.2: time-stamped annotation lists in an `EDF Annotations` signal).
//!
//! One data record as long as the night, holding its time-keeping annotation and one TAL
//! per leg movement: `+onset␕duration␔Limb movement@@CHANNEL␔PLM␔` — the text Polyman and
//! PLMScoRe use, on the leg's channel (`Limb movement left` when the channel's name does not
//! say the leg), then the candidate's classification as a second annotation of the same
//! TAL. The header's start date and time are the night's (`01.01.85 00.00.00` and
//! `Startdate X` when unknown, as EDF+ prescribes); a start with a fraction of a second
//! goes into the time-keeping annotation.

use std::io::Write;

use chrono::{Datelike, NaiveDateTime, Timelike};

use super::super::Report;
use super::{channel_of, duration_s, flagged};
use crate::error::{Error, Result};

/// Upper-case month abbreviations of the EDF+ `Startdate` field.
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

impl Report {
    /// Writes the leg movements as an EDF+ annotations-only file (module docs of
    /// `report/export/edf_plus.rs`).
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_edf_annotations<W: Write>(&self, mut w: W) -> Result<()> {
        let start = self
            .recording
            .start_time
            .as_deref()
            .and_then(crate::io::ClockStart::parse)
            .and_then(|c| c.date_time());
        let frac_s = start.map_or(0.0, |t| f64::from(t.nanosecond().min(999_999_999)) * 1e-9);
        let mut tals = format!("+{}\x14\x14\0", number(frac_s)).into_bytes();
        for (lm, flag) in flagged(self) {
            let text = match channel_of(self, lm.side) {
                Some(ch) => format!("Limb movement@@{}", clean(ch)),
                None => format!("Limb movement {}", lm.side.as_str()),
            };
            let flag = flag.map_or(String::new(), |f| format!("{}\x14", f.text()));
            tals.extend(
                format!(
                    "+{}\x15{}\x14{text}\x14{flag}\0",
                    number(frac_s + lm.onset_s),
                    number(duration_s(lm))
                )
                .into_bytes(),
            );
        }
        if tals.len() % 2 == 1 {
            tals.push(0);
        }
        let record_s = self.recording.duration_s.ceil().max(1.0);
        let mut h = Vec::with_capacity(512 + tals.len());
        field(&mut h, "0", 8);
        field(&mut h, "X X X X", 80);
        field(
            &mut h,
            &format!("Startdate {} X X plm-detect", startdate(start)),
            80,
        );
        let (date, time) = match start.filter(|t| (1985..=2084).contains(&t.year())) {
            Some(t) => (
                t.format("%d.%m.%y").to_string(),
                t.format("%H.%M.%S").to_string(),
            ),
            None => ("01.01.85".to_owned(), "00.00.00".to_owned()),
        };
        field(&mut h, &date, 8);
        field(&mut h, &time, 8);
        field(&mut h, "512", 8);
        field(&mut h, "EDF+C", 44);
        field(&mut h, "1", 8);
        field(&mut h, &number(record_s), 8);
        field(&mut h, "1", 4);
        for (text, n) in [
            ("EDF Annotations", 16),
            ("", 80),
            ("", 8),
            ("-1", 8),
            ("1", 8),
            ("-32768", 8),
            ("32767", 8),
            ("", 80),
            (&(tals.len() / 2).to_string(), 8),
            ("", 32),
        ] {
            field(&mut h, text, n);
        }
        h.extend(tals);
        w.write_all(&h).map_err(|e| Error::io(None, e))
    }
}

/// `text` left-aligned in `n` ASCII characters.
fn field(out: &mut Vec<u8>, text: &str, n: usize) {
    let mut b: Vec<u8> = text.bytes().filter(u8::is_ascii).take(n).collect();
    b.resize(n, b' ');
    out.extend(b);
}

/// The EDF+ `Startdate` of `start`: `01-MAR-2024`, or `X` when unknown.
fn startdate(start: Option<NaiveDateTime>) -> String {
    start.map_or("X".to_owned(), |t| {
        format!(
            "{:02}-{}-{}",
            t.day(),
            MONTHS[t.month0() as usize],
            t.year()
        )
    })
}

/// A TAL number: the shortest decimal that reads back as `v` (never an exponent).
fn number(v: f64) -> String {
    format!("{v}")
}

/// A channel name without the bytes that delimit TALs.
fn clean(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace("@@", "@")
}
