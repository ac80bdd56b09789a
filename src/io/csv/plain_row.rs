//! The fast path of the CSV row parser: a line whose cells are all plain decimals, read in
//! one pass over its bytes.
//!
//! **What it computes.** For a line whose read cells are plain decimals (`-12.345`: a
//! sign, digits, one point, at most 15 digits, no spaces, no exponent —
//! [`super::number::plain_decimal_prefix`]), the row's time and scaled values, and the
//! line's length with its line end; for any other line, nothing.
//!
//! **Why it is fast.** A recorded night is millions of such rows. The line is read where it
//! lies, cell after cell, with no search for its end first and no cell list; the branches
//! left follow the file's regular layout, so they are predicted.
//!
//! **Tested against** the general per-row code ([`super::row::Spec`]) and the csv
//! crate's record loop: values bit for bit and every error with its position, on arbitrary
//! bodies (`super::columns`' property tests) and on the edge cases below.

use super::number::plain_decimal_prefix;
use super::row::{Spec, TimeKind};

/// The fast path of the row parser: a row whose cells (the ones read) are all plain
/// decimals ([`super::number::plain_decimal`]) is read in one pass over its bytes, with no cell
/// list and no trimming. Any other row — a gap, spaces, an exponent, text, a missing field,
/// a value out of range once scaled — goes the general way, so values and error messages
/// do not depend on which path read a row.
pub(crate) struct PlainRow {
    /// Per field up to the last needed one: whether it is read.
    wanted: Vec<bool>,
    /// The values of the fields read, by field.
    cells: Vec<f64>,
    /// The delimiter, or `None` when it could be part of a number (never, for the
    /// delimiters sniffed; the general path then reads every row).
    delimiter: Option<u8>,
}

impl PlainRow {
    pub(crate) fn new(spec: &Spec<'_>, delimiter: u8) -> Self {
        let needed = spec.needed();
        let mut wanted = vec![false; needed];
        for &(c, _) in spec.cols {
            wanted[c] = true;
        }
        let delimiter = match spec.time {
            Some((_, TimeKind::DateTime(_))) => None,
            Some((c, TimeKind::Seconds(_))) => {
                wanted[c] = true;
                Some(delimiter)
            }
            None => Some(delimiter),
        };
        Self {
            wanted,
            cells: vec![0.0; needed],
            delimiter: delimiter.filter(|d| !matches!(d, b'0'..=b'9' | b'.' | b'+' | b'-')),
        }
    }

    /// The time of the line at the start of `text` (`NaN` without a time column) with
    /// its scaled values in `row`, and the length of the line with its line end; or
    /// `None` for the general path. The line is read where it lies, with no search for
    /// its end first: the last cell read ends at the line end (`\n`, `\r\n`, or the end
    /// of `text`) or at a delimiter, and only then are the fields after it skipped.
    #[allow(
        clippy::inline_always,
        reason = "left to itself the compiler stopped inlining it into the chunk parser's loop once the stamp check joined it: 8 ms more per 8-hour night"
    )]
    #[inline(always)]
    pub(crate) fn read(
        &mut self,
        spec: &Spec<'_>,
        text: &[u8],
        row: &mut [f64],
    ) -> Option<(f64, usize)> {
        let delimiter = self.delimiter?;
        let mut at = 0usize;
        for (i, (&wanted, cell)) in self.wanted.iter().zip(&mut self.cells).enumerate() {
            if i > 0 {
                // The previous field ended at a delimiter.
                if text.get(at) != Some(&delimiter) {
                    return None;
                }
                at += 1;
            }
            let field = &text[at..];
            at += if wanted {
                let (v, len) = plain_decimal_prefix(field, spec.comma)?;
                *cell = v;
                len
            } else {
                // A field not read; it cannot be the last one needed, so it ends at a
                // delimiter on this line.
                field
                    .iter()
                    .position(|&b| b == delimiter || b == b'\n' || b == b'\r')
                    .unwrap_or(field.len())
            };
        }
        // The line end; fields after the last needed one are not read (as on the general
        // path).
        let used = match text.get(at) {
            None => at,
            Some(b'\n') => at + 1,
            Some(b'\r') => match text.get(at + 1) {
                Some(b'\n') => at + 2,
                None => at + 1,
                Some(_) => return None,
            },
            Some(&d) if d == delimiter => {
                memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |p| at + p + 1)
            }
            Some(_) => return None,
        };
        let t = match spec.time {
            Some((c, TimeKind::Seconds(k))) => self.cells[c] * k,
            _ => f64::NAN,
        };
        for (&(c, _), r) in spec.cols.iter().zip(row.iter_mut()) {
            *r = self.cells[c] * spec.scale;
            if r.is_infinite() {
                return None;
            }
        }
        Some((t, used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;
    use crate::io::csv::row::StampUse;
    use chrono::DateTime;

    #[test]
    fn plain_rows_take_the_fast_path_and_others_the_general_one() {
        let loc = Location::default();
        let cols = vec![(1, "a".to_owned()), (3, "b".to_owned())];
        let spec = Spec {
            loc: &loc,
            header_len: 4,
            time: Some((0, TimeKind::Seconds(1e-3))),
            time_name: "time_ms",
            cols: &cols,
            scale: 2.0,
            comma: false,
            stamps: StampUse::Store,
        };
        let mut plain = PlainRow::new(&spec, b',');
        let mut row = [0.0; 2];
        // The unread field 2 may hold anything; fields after the last needed one are not
        // read. A line is read where it lies: the length returned takes in its line end,
        // and the next line is left alone.
        assert_eq!(
            plain.read(&spec, b"1500,1.25,text,-3,extra", &mut row),
            Some((1.5, 23))
        );
        assert_eq!(row, [2.5, -6.0]);
        assert_eq!(
            plain.read(&spec, b"1500,1.25,text,-3,extra\n7,7,7,7\n", &mut row),
            Some((1.5, 24))
        );
        assert_eq!(row, [2.5, -6.0]);
        assert_eq!(
            plain.read(&spec, b"1500,.5,,+3.", &mut row),
            Some((1.5, 12))
        );
        assert_eq!(row, [1.0, 6.0]);
        assert_eq!(
            plain.read(&spec, b"2000,-0,,-0\n9", &mut row),
            Some((2.0, 12))
        );
        assert!(row.iter().all(|v| *v == 0.0 && v.is_sign_negative()));
        assert_eq!(plain.read(&spec, b"1,2,,3\r\n9", &mut row), Some((1e-3, 8)));
        assert_eq!(plain.read(&spec, b"1,2,,3\r", &mut row), Some((1e-3, 7)));
        for general in [
            &b"1500,1.25,x"[..],
            b"1500,1.25,x\n,3",
            b"1500, 1.25,x,3",
            b"1500,,x,3",
            b"1500,1e3,x,3",
            b"1500,1,x,3;4",
            b"1500,1,x,3\r4\n",
            b"1500,1,x,3 \n",
            b"15 00,1,x,3",
            b"\n1500,1,x,3",
            b"\r\n1500,1,x,3",
            b"1500,1.2.3,x,3",
            b"1500,1234567890123456,x,3",
        ] {
            assert_eq!(
                plain.read(&spec, general, &mut row),
                None,
                "{}",
                String::from_utf8_lossy(general)
            );
        }
        let origin = DateTime::parse_from_rfc3339("2024-03-01T22:00:00Z").unwrap();
        let dated = Spec {
            time: Some((0, TimeKind::DateTime(origin))),
            ..spec
        };
        let mut plain = PlainRow::new(&dated, b',');
        assert_eq!(plain.read(&dated, b"1500,1,x,3", &mut row), None);
    }
}
