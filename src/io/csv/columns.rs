//! The numeric body of a signal CSV, read into `f64` column buffers.
//!
//! Input: an opened [`CsvSource`] (header parsed), the time column and its kind, and the
//! value columns with a scale factor. Output: [`Columns`] — one `f64` per row for the time
//! (seconds from the first row's clock, unshifted) and per value column (scaled; `NaN`
//! for a gap), plus the first line whose stamp repeats.
//!
//! A night is millions of short rows, so splitting records is the cost that matters, not
//! the arithmetic. When the body has no quote character and no lone carriage return, every
//! record is one line, and [`super::chunks`] parses newline-aligned chunks on all cores.
//! Otherwise (quoted cells, old Mac line ends) the csv crate reads the body record by
//! record, which keeps its quoting rules. Both paths share the per-row code of
//! [`super::row`],
//! so cell values and every error message — with its line, column and field — are
//! identical, and the error reported is the first one in file order (a property test
//! below compares them on arbitrary bodies).

use std::num::NonZeroUsize;

use super::chunks::read_lines;
use super::row::{Columns, Order, Spec, TimeKind, parse_datetime};
use super::source::{CsvSource, csv_error};
use crate::error::Result;

/// Bodies shorter than this are parsed on the calling thread.
const PARALLEL_MIN_BYTES: usize = 1 << 20;
/// At most this many chunks (threads).
const MAX_CHUNKS: usize = 8;

/// Reads the body of `src` (from its current position) with `spec`, parsed as `via`
/// says ([`Via::Auto`] but in tests, which compare the paths). `time_col` is the time
/// column with its scale to seconds; whether it holds numbers or date-times is decided
/// from the first data row. Returns the columns and, for date-times, the first stamp
/// (RFC 3339).
pub(crate) fn read(
    src: &mut CsvSource,
    spec: &mut Spec<'_>,
    time_col: Option<(usize, f64)>,
    via: Via,
) -> Result<(Columns, Option<String>)> {
    let start = src.reader.position().clone();
    let needed = spec.needed();
    let stamp_kind =
        |src: &mut CsvSource| time_col.map(|(c, k)| (c, first_stamp_kind(src, c, needed, k)));
    spec.time = stamp_kind(src);
    let body = src.body_from(&start);
    let cores = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .clamp(1, MAX_CHUNKS);
    let (chunks, body) = match via {
        Via::Auto if body.len() >= PARALLEL_MIN_BYTES => (Some(cores), body),
        Via::Auto => (Some(1), body),
        Via::Lines(n) => (Some(n.max(1)), body),
        Via::Blocks(n, size) => (Some(n.max(1)), body.with_block(size)),
        Via::Records => (None, body),
    };
    let lines = match chunks {
        Some(n) => read_lines(body, start.line(), src.delimiter, spec, n)?,
        None => None,
    };
    let columns = if let Some(columns) = lines {
        columns
    } else {
        if src.load_whole()? {
            // The first row is read again from the whole text.
            src.reader
                .seek(start.clone())
                .map_err(|e| csv_error(spec.loc, &e))?;
            spec.time = stamp_kind(src);
        }
        src.reader
            .seek(start)
            .map_err(|e| csv_error(spec.loc, &e))?;
        read_records(src, spec)?
    };
    let start_time = match spec.time {
        Some((_, TimeKind::DateTime(dt))) => Some(dt.to_rfc3339()),
        _ => None,
    };
    Ok((columns, start_time))
}

/// Which parser [`read`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// Lines in parallel when possible, else records: what every reader uses.
    Auto,
    /// The csv crate's records.
    #[cfg_attr(not(test), allow(dead_code))]
    Records,
    /// Lines, in this many chunks.
    #[cfg_attr(not(test), allow(dead_code))]
    Lines(usize),
    /// Lines, in this many chunks, the body handed out in blocks of this many bytes (a
    /// file-backed body read so), which cuts lines at every place.
    #[cfg_attr(not(test), allow(dead_code))]
    Blocks(usize, usize),
}

/// Whether the first data row's stamp is a number (or unreadable: the row parser then
/// reports it) or an ISO-8601 date-time. Leaves the reader wherever it stopped.
fn first_stamp_kind(src: &mut CsvSource, c: usize, needed: usize, k: f64) -> TimeKind {
    let mut record = csv::ByteRecord::new();
    while let Ok(true) = src.reader.read_byte_record(&mut record) {
        if record.len() == 1 && record.get(0).is_some_and(|c| c.trim_ascii().is_empty()) {
            continue; // blank line
        }
        if record.len() >= needed {
            let cell = record.get(c).unwrap_or_default().trim_ascii();
            if fast_float2::parse::<f64, _>(cell).is_err() {
                if let Some(dt) = parse_datetime(cell) {
                    return TimeKind::DateTime(dt);
                }
            }
        }
        break;
    }
    TimeKind::Seconds(k)
}

/// The csv crate's record loop (quoted cells or lone carriage returns).
fn read_records(src: &mut CsvSource, spec: &Spec<'_>) -> Result<Columns> {
    let mut times = Vec::new();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); spec.cols.len()];
    let mut row = vec![0.0; spec.cols.len()];
    let mut order = Order::new();
    let mut record = csv::ByteRecord::new();
    while let Some(line) = src.next_record(&mut record)? {
        let cell = |i: usize| record.get(i).unwrap_or_default();
        let Some(t) = spec.row_time(line, record.len(), cell)? else {
            continue;
        };
        order.push(spec, t, line)?;
        spec.row_values(line, cell, &mut row)?;
        if spec.time.is_some() {
            times.push(t);
        }
        for (v, r) in values.iter_mut().zip(&row) {
            v.push(*r);
        }
    }
    Ok(Columns {
        times,
        values,
        first_repeat: order.first_repeat.map(|l| (l, spec.time_column())),
        rate_hz: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::csv::row::StampUse;
    use proptest::prelude::*;
    use std::fmt::Write as _;
    use std::path::Path;

    /// Reads `text` (header `time_s,a,b`) with `via`; the outcome as comparable text.
    fn outcome(text: &[u8], via: Via) -> String {
        let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(text.to_vec()));
        match super::super::source::open_csv(Some(Path::new("n.csv")), input) {
            Ok(src) => outcome_of(src, via),
            Err(e) => format!("open: {e}"),
        }
    }

    /// [`outcome`] of `text` written to a file and read from it in blocks of `block` bytes
    /// (the file's name shown as `n.csv`).
    fn file_outcome(text: &[u8], chunks: usize, block: usize) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.csv");
        std::fs::write(&path, text).unwrap();
        let shown = path.display().to_string();
        match super::super::source::open_file_backed_from(&path, 0) {
            Ok(src) => outcome_of(src, Via::Blocks(chunks, block)),
            Err(e) => format!("open: {e}"),
        }
        .replace(&shown, "n.csv")
    }

    /// What reading `src` with `via` gives, as comparable text.
    fn outcome_of(src: CsvSource, via: Via) -> String {
        outcome_cols(src, via, &[(1, "a".to_owned()), (2, "b".to_owned())])
    }

    /// [`outcome_of`] reading the value columns `cols`.
    fn outcome_cols(mut src: CsvSource, via: Via, cols: &[(usize, String)]) -> String {
        let loc = src.loc.clone();
        let mut spec = Spec {
            loc: &loc,
            header_len: src.headers.len(),
            time: None,
            time_name: "time_s",
            cols,
            scale: 2.0,
            comma: src.comma_decimals(),
            stamps: StampUse::Store,
        };
        match read(&mut src, &mut spec, Some((0, 1.0)), via) {
            Ok((c, start)) => format!(
                "{:?} {:?} {:?} {:?}",
                c.times.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                c.values
                    .iter()
                    .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
                    .collect::<Vec<_>>(),
                c.first_repeat,
                start
            ),
            Err(e) => format!("error: {e}"),
        }
    }

    /// One line of a body: mostly good rows, sometimes each kind of defect.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => (0u32..50, -500i32..500, 0u32..3).prop_map(|(t, v, w)| {
                format!("{}.{:02},{}.5,{}", t / 10, t % 10, v, -v * i32::try_from(w).unwrap_or(1))
            }),
            1 => Just(String::new()),
            1 => Just("   ".to_owned()),
            1 => Just("1.0,2".to_owned()),
            1 => Just("1.0,abc,3".to_owned()),
            1 => Just("1.0,,NaN".to_owned()),
            1 => Just(" 2.5 , 1e3 ,-0.0,extra".to_owned()),
            1 => Just(",1,2".to_owned()),
            // Cells at the edges of the plain-decimal fast path.
            1 => Just("9.,+2.,.25,x".to_owned()),
            1 => Just("9.5,-.5,1234567890123456".to_owned()),
            1 => Just("9.5,999999999999999,0.00000000000001".to_owned()),
            1 => Just("9.5,1..2,3".to_owned()),
            1 => Just("9.5,-,+".to_owned()),
        ]
    }

    proptest! {
        /// The parallel line parser and the csv crate's record loop agree on every body —
        /// values bit for bit, the repeated-stamp line, and the first error with its
        /// position — however the body is cut into chunks, with LF or CRLF line ends.
        #[test]
        fn chunked_lines_equal_csv_records(
            lines in proptest::collection::vec(line(), 0..40),
            crlf in any::<bool>(),
            chunks in 1usize..6,
            block in 1usize..48,
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("time_s,a,b{eol}");
            for l in &lines {
                text.push_str(l);
                text.push_str(eol);
            }
            let reference = outcome(text.as_bytes(), Via::Records);
            prop_assert_eq!(&outcome(text.as_bytes(), Via::Lines(chunks)), &reference);
            // Read from the file, or from memory, in blocks that cut lines anywhere.
            prop_assert_eq!(&file_outcome(text.as_bytes(), chunks, block), &reference);
            prop_assert_eq!(&outcome(text.as_bytes(), Via::Blocks(chunks, block)), &reference);
            // Without the final line end, too.
            let trimmed = text.trim_end_matches(['\r', '\n']);
            let reference = outcome(trimmed.as_bytes(), Via::Records);
            prop_assert_eq!(&outcome(trimmed.as_bytes(), Via::Lines(chunks)), &reference);
            prop_assert_eq!(&outcome(trimmed.as_bytes(), Via::Blocks(chunks, block)), &reference);
        }

        /// Fields that are not read — between the read ones and after the last — are
        /// skipped alike by both parsers, whatever they hold, with LF or CRLF line ends.
        #[test]
        fn unread_fields_are_skipped_alike(
            lines in proptest::collection::vec(
                (line(), "[a-z0-9 .+-]{0,6}", proptest::option::of("[a-z0-9 ,.]{0,8}")),
                0..40,
            ),
            crlf in any::<bool>(),
            chunks in 1usize..6,
            block in 1usize..48,
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("time_s,a,note,b,extra{eol}");
            for (l, note, extra) in &lines {
                // Put the unread note between the two value cells of the line.
                let mut cells: Vec<&str> = l.splitn(3, ',').collect();
                if cells.len() == 3 {
                    for cell in [cells[0], cells[1], note.as_str(), cells[2]] {
                        text.push_str(cell);
                        text.push(',');
                    }
                    text.pop();
                } else {
                    cells.push("");
                    text.push_str(&cells.join(","));
                }
                if let Some(x) = extra {
                    text.push(',');
                    text.push_str(x);
                }
                text.push_str(eol);
            }
            let cols = [(1, "a".to_owned()), (3, "b".to_owned())];
            let open = |t: &str| {
                let input: Box<dyn std::io::Read + Send> =
                    Box::new(std::io::Cursor::new(t.as_bytes().to_vec()));
                super::super::source::open_csv(Some(Path::new("n.csv")), input)
            };
            let read = |t: &str, via| match open(t) {
                Ok(src) => outcome_cols(src, via, &cols),
                Err(e) => format!("open: {e}"),
            };
            let reference = read(&text, Via::Records);
            prop_assert_eq!(&read(&text, Via::Lines(chunks)), &reference);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("n.csv");
            std::fs::write(&path, &text).unwrap();
            let shown = path.display().to_string();
            let from_file = match super::super::source::open_file_backed_from(&path, 0) {
                Ok(src) => outcome_cols(src, Via::Blocks(chunks, block), &cols),
                Err(e) => format!("open: {e}"),
            }
            .replace(&shown, "n.csv");
            prop_assert_eq!(&from_file, &reference);
        }

        /// The same bodies written the European way — `;` between cells, `,` for the
        /// decimal point — read alike on both paths, and where they read without error,
        /// to the same values as written with points.
        #[test]
        fn decimal_commas_read_like_points_in_semicolon_files(
            lines in proptest::collection::vec(line(), 0..40),
            chunks in 1usize..6,
        ) {
            let mut text = String::from("time_s,a,b\n");
            for l in &lines {
                text.push_str(l);
                text.push('\n');
            }
            let european = text.replace(',', ";").replace('.', ",");
            let reference = outcome(european.as_bytes(), Via::Records);
            prop_assert_eq!(&outcome(european.as_bytes(), Via::Lines(chunks)), &reference);
            if !reference.starts_with("error") {
                prop_assert_eq!(&outcome(text.as_bytes(), Via::Records), &reference);
            }
        }
    }

    #[test]
    fn date_times_and_quotes_use_the_right_reader() {
        let text = b"time,a,b\n2024-03-01T22:00:00Z,1,2\n2024-03-01T22:00:00.5Z,3,4\n";
        let lines = outcome(text, Via::Lines(2));
        assert_eq!(lines, outcome(text, Via::Records));
        assert!(lines.contains("2024-03-01T22:00:00+00:00"), "{lines}");
        // Quoted cells: the automatic choice falls back to the csv crate.
        let quoted = b"time,a,b\n0,\"1\",2\n0.5,\"3\",4\n";
        assert_eq!(outcome(quoted, Via::Auto), outcome(quoted, Via::Records));
        assert!(!outcome(quoted, Via::Auto).contains("error"));
    }

    #[test]
    fn file_backed_bodies_fall_back_to_records_and_report_a_shrunk_file() {
        use std::fmt::Write;
        // Quoted cells: the whole file is read after all, and the first row again.
        let quoted = b"time,a,b\n2024-03-01T22:00:00Z,\"1\",2\n2024-03-01T22:00:01Z,3,\"4\"\n";
        let reference = outcome(quoted, Via::Records);
        assert!(
            reference.contains("2024-03-01T22:00:00+00:00"),
            "{reference}"
        );
        for block in [1, 5, 64] {
            assert_eq!(file_outcome(quoted, 2, block), reference);
        }
        // A file cut short after it was opened: an I/O error naming it, no panic.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.csv");
        let mut text = String::from("time_s,a,b\n");
        for i in 0..500 {
            writeln!(text, "{i},1,2").unwrap();
        }
        std::fs::write(&path, &text).unwrap();
        let src = super::super::source::open_file_backed_from(&path, 0).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        let got = outcome_of(src, Via::Blocks(2, 64));
        assert!(
            got.starts_with("error: ") && got.contains("cut.csv"),
            "{got}"
        );
    }

    #[test]
    fn stamps_on_the_grid_are_checked_and_others_stored() {
        // 256 Hz with 6-decimal stamps, 40 rows (lines 2–41); then the same with rows
        // 20–22 missing.
        let night = |skip: &[u32]| {
            let mut text = String::from("time_s,a,b\n");
            for i in (0..40u32).filter(|i| !skip.contains(i)) {
                let _ = writeln!(text, "{:.6},{i}.5,-{i}", f64::from(i) / 256.0 + 3.0);
            }
            text
        };
        let regular = night(&[]);
        let gapped = night(&[20, 21, 22]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.csv");
        let read = |text: &str, via: Via| {
            let src = match via {
                Via::Blocks(..) => {
                    std::fs::write(&path, text).unwrap();
                    super::super::source::open_file_backed_from(&path, 0).unwrap()
                }
                _ => super::super::source::open_csv(
                    None,
                    Box::new(std::io::Cursor::new(text.to_owned())),
                )
                .unwrap(),
            };
            let mut src = src;
            let loc = src.loc.clone();
            let cols = [(1, "a".to_owned()), (2, "b".to_owned())];
            let mut spec = Spec {
                loc: &loc,
                header_len: 3,
                time: None,
                time_name: "time_s",
                cols: &cols,
                scale: 1.0,
                comma: false,
                stamps: StampUse::Check { given_hz: None },
            };
            read(&mut src, &mut spec, Some((0, 1.0)), via).unwrap().0
        };
        for via in [
            Via::Lines(1),
            Via::Lines(3),
            Via::Blocks(2, 64),
            Via::Blocks(1, 100),
        ] {
            let checked = read(&regular, via);
            assert!(checked.times.is_empty(), "{via:?}");
            let fs = checked
                .rate_hz
                .unwrap_or_else(|| panic!("{via:?}: not on the grid"));
            // The rate `estimate_rate` gives on the stored stamps: 39 steps over the span.
            let last: f64 = format!("{:.6}", 39.0 / 256.0 + 3.0).parse().unwrap();
            assert_eq!(fs.to_bits(), (39.0 / (last - 3.0)).to_bits(), "{via:?}");
            assert_eq!(checked.values[0].len(), 40);
            assert_eq!(checked.values[1][39], -39.0);
            let stored = read(&gapped, via);
            assert_eq!(stored.rate_hz, None, "{via:?}");
            assert_eq!(stored.times.len(), 37, "{via:?}");
            assert_eq!(stored.values[0][20], 23.5, "{via:?}");
        }
        // The last row cut short of its line end, and blank lines, are read as stored.
        let unterminated = regular.trim_end().to_owned();
        assert!(read(&unterminated, Via::Lines(2)).rate_hz.is_some());
        let blank = format!("{regular}\n");
        assert_eq!(read(&blank, Via::Lines(2)).rate_hz, None);
        assert_eq!(read(&blank, Via::Lines(2)).times.len(), 40);
    }

    #[test]
    fn errors_point_at_the_first_bad_line_across_chunks() {
        use std::fmt::Write;
        let mut text = String::from("time_s,a,b\n");
        for i in 0..1000 {
            writeln!(text, "{i},1,2").unwrap();
        }
        text.push_str("998.5,1,2\n"); // line 1002: backwards
        text.push_str("2000,x,2\n"); // line 1003: not a number
        for chunks in 1..5 {
            assert_eq!(
                outcome(text.as_bytes(), Via::Lines(chunks)),
                "error: n.csv, line 1002, column 1 (time_s): time goes backwards (998.5 after 999)"
            );
        }
    }
}
