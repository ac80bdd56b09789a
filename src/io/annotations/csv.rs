//! Context lists from CSV files: a hypnogram (`epoch_start_s,stage`, or one `stage` column
//! of consecutive epochs) and `onset_s,offset_s[,label…]` lists (respiratory events,
//! arousals, leg movements).
//!
//! Stage labels: `W`/`Wake`/`0`, `N1`/`S1`/`1`, `N2`/`S2`/`2`, `N3`/`S3`/`S4`/`3`/`4`,
//! `R`/`REM`/`5`, case-insensitive ([`Stage::parse`]). Columns are found by their aliases;
//! extra columns are ignored; a header-only file is an empty list. Faults name the file,
//! line, column and field.

use std::path::Path;

use crate::error::{Error, Location, Result, shorten};
use crate::io::context::{Hypnogram, Stage};
use crate::io::csv::number::{require_number, text_cell};
use crate::io::csv::source::open_bytes;
use crate::io::names::find_column;

const START_ALIASES: &[&str] = &[
    "epochstarts",
    "epochstart",
    "starts",
    "start",
    "onsets",
    "onset",
    "times",
    "time",
    "t",
];
const STAGE_ALIASES: &[&str] = &[
    "stage",
    "sleepstage",
    "stages",
    "label",
    "hypnogram",
    "score",
];
const ONSET_ALIASES: &[&str] = &["onsets", "onset", "starts", "start", "begins", "begin"];
const OFFSET_ALIASES: &[&str] = &["offsets", "offset", "ends", "end", "stops", "stop"];

/// A hypnogram from the CSV text `data` (see the module docs); `path` is only used in
/// messages.
pub(crate) fn hypnogram(path: Option<&Path>, data: Vec<u8>, epoch_s: f64) -> Result<Hypnogram> {
    let mut src = open_bytes(path, data)?;
    let stage_col = find_column(&src.headers, STAGE_ALIASES)
        .or_else(|| (src.headers.len() == 1).then_some(0))
        .ok_or_else(|| {
            Error::input(
                src.loc.at_line(1),
                "no `stage` column in the hypnogram header",
            )
        })?;
    let start_col = find_column(&src.headers, START_ALIASES).filter(|&c| c != stage_col);
    let stage_name = src.headers[stage_col].clone();
    let start_name = start_col
        .map(|c| src.headers[c].clone())
        .unwrap_or_default();
    let mut epochs: Vec<(f64, Stage)> = Vec::new();
    let comma = src.comma_decimals();
    let mut record = csv::ByteRecord::new();
    // Rows read (epochs with or without a stage), and the last epoch's start.
    let (mut rows, mut unstaged) = (0usize, 0usize);
    let mut last: Option<f64> = None;
    while let Some(line) = src.next_record(&mut record)? {
        if record.iter().all(|c| c.trim_ascii().is_empty()) {
            continue;
        }
        let label = text_cell(&record, stage_col, &src.loc, line, &stage_name)?;
        let stage = Stage::parse(label);
        if stage.is_none() && !Stage::is_unstaged_label(label) {
            return Err(Error::parse(
                src.loc.at_field(line, stage_col + 1, &stage_name),
                format!(
                    "unknown sleep stage `{}` (expected W, N1, N2, N3, R or 0–5; unscored, movement or artifact epochs as ?, U, MT or A)",
                    shorten(label)
                ),
            ));
        }
        let start = match start_col {
            Some(c) => require_number(&record, c, comma, &src.loc, line, &start_name)?,
            None => rows as f64 * epoch_s,
        };
        rows += 1;
        if let Some(prev) = last {
            if start < prev + epoch_s - 1e-6 {
                return Err(Error::parse(
                    src.loc
                        .at_field(line, start_col.map_or(1, |c| c + 1), &start_name),
                    format!(
                        "epoch starts at {start} s, less than one {epoch_s}-s epoch after the previous one ({prev} s)"
                    ),
                ));
            }
        }
        if start < 0.0 {
            return Err(Error::parse(
                src.loc
                    .at_field(line, start_col.map_or(1, |c| c + 1), &start_name),
                format!("negative epoch start {start} s"),
            ));
        }
        last = Some(start);
        match stage {
            Some(stage) => epochs.push((start, stage)),
            None => unstaged += 1,
        }
    }
    if epochs.is_empty() {
        return Err(Error::input(
            src.loc,
            if rows == 0 {
                "the hypnogram has a header but no epochs"
            } else {
                "the hypnogram has no scored epoch (all are unscored, movement or artifact)"
            },
        ));
    }
    Ok(Hypnogram::new(epoch_s, epochs)?.with_unstaged(unstaged))
}

/// Shared reader of `onset,offset[,label…]` lists; calls `push` for each row with its
/// onset, offset and, per label column (found by its aliases), the cell's text (`None`
/// where the column is absent or the cell empty) and its place.
pub(crate) fn read_intervals(
    path: Option<&Path>,
    data: Vec<u8>,
    what: &str,
    label_aliases: &[&[&str]],
    mut push: impl FnMut(f64, f64, &[(Option<&str>, Location)]) -> Result<()>,
) -> Result<()> {
    let mut src = open_bytes(path, data)?;
    let on_col = find_column(&src.headers, ONSET_ALIASES).unwrap_or(0);
    let off_col = find_column(&src.headers, OFFSET_ALIASES).unwrap_or(1);
    if src.headers.len() < 2 {
        return Err(Error::input(
            src.loc.at_line(1),
            format!(
                "a {what} list needs `onset_s,offset_s` columns; the header has {}",
                src.headers.len()
            ),
        ));
    }
    let label_cols: Vec<Option<usize>> = label_aliases
        .iter()
        .map(|aliases| find_column(&src.headers, aliases))
        .collect();
    if what == "leg movement" && label_cols.first().is_some_and(Option::is_none) {
        return Err(Error::input(
            src.loc.at_line(1),
            "no `side` column: a leg-movement list needs `onset_s,offset_s,side`",
        ));
    }
    let (on_name, off_name) = (src.headers[on_col].clone(), src.headers[off_col].clone());
    let comma = src.comma_decimals();
    let mut record = csv::ByteRecord::new();
    while let Some(line) = src.next_record(&mut record)? {
        if record.iter().all(|c| c.trim_ascii().is_empty()) {
            continue;
        }
        let on = require_number(&record, on_col, comma, &src.loc, line, &on_name)?;
        let off = require_number(&record, off_col, comma, &src.loc, line, &off_name)?;
        if on < 0.0 {
            return Err(Error::parse(
                src.loc.at_field(line, on_col + 1, &on_name),
                format!("negative onset {on} s"),
            ));
        }
        if off < on {
            return Err(Error::parse(
                src.loc.at_field(line, off_col + 1, &off_name),
                format!("{what} ends ({off} s) before it starts ({on} s)"),
            ));
        }
        let mut labels = Vec::with_capacity(label_cols.len());
        for col in &label_cols {
            labels.push(match *col {
                Some(c) => (
                    Some(text_cell(&record, c, &src.loc, line, &src.headers[c])?)
                        .filter(|s| !s.is_empty()),
                    src.loc.at_field(line, c + 1, &src.headers[c]),
                ),
                None => (None, src.loc.at_line(line)),
            });
        }
        push(on, off, &labels)?;
    }
    Ok(())
}
