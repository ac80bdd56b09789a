//! Scoring context: the hypnogram, respiratory events and arousals (SCORING.md §4), and
//! their CSV readers.
//!
//! * Hypnogram: `epoch_start_s,stage`, one row per epoch (30 s by default; the length is
//!   [`Rules::epoch_s`](crate::Rules::epoch_s)). Stage labels: `W`/`Wake`/`0`,
//!   `N1`/`S1`/`1`, `N2`/`S2`/`2`, `N3`/`S3`/`S4`/`3`/`4`, `R`/`REM`/`5`, case-insensitive.
//!   Without an `epoch_start_s` column, rows are consecutive epochs from 0 s.
//! * Respiratory events: `onset_s,offset_s[,kind]`.
//! * Arousals: `onset_s,offset_s`.
//!
//! Times are seconds from the start of the recording. A header-only file is an empty list.
//!
//! Each reader also takes an NSRR XML annotation file (recognised by content: it starts
//! with `<`) or an EDF+ file with annotations (it starts like EDF: a Sleep-EDF
//! `Hypnogram.edf`, or the night's own EDF+), taking from it the stages, the respiratory
//! events, the arousals or the scored limb movements ([`crate::nsrr`], [`crate::edf`]).
//! EDF+ times count from the file's first data record, which must be the recording's
//! start (it is for the night's own file and for Sleep-EDF's hypnograms, which share
//! their recording's start time).

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};
use crate::events::{Interval, LegMovement, Side, validate_intervals};
use crate::{nsrr, table};

/// A sleep stage (AASM names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Wake.
    W,
    /// NREM 1.
    N1,
    /// NREM 2.
    N2,
    /// NREM 3 (R&K S3 and S4).
    N3,
    /// REM.
    R,
}

impl Stage {
    /// Parses the labels listed in the module docs.
    #[must_use]
    pub fn parse(label: &str) -> Option<Stage> {
        match label.trim().to_ascii_uppercase().as_str() {
            "W" | "WAKE" | "0" | "SW" | "STAGE W" => Some(Stage::W),
            "N1" | "S1" | "1" | "NREM1" | "STAGE 1" => Some(Stage::N1),
            "N2" | "S2" | "2" | "NREM2" | "STAGE 2" => Some(Stage::N2),
            "N3" | "S3" | "S4" | "3" | "4" | "NREM3" | "N4" | "STAGE 3" | "STAGE 4" => {
                Some(Stage::N3)
            }
            "R" | "REM" | "5" | "SR" | "STAGE R" => Some(Stage::R),
            _ => None,
        }
    }

    /// `true` for N1, N2, N3 and REM.
    #[must_use]
    pub fn is_sleep(self) -> bool {
        self != Stage::W
    }

    /// `true` for N1, N2 and N3.
    #[must_use]
    pub fn is_nrem(self) -> bool {
        matches!(self, Stage::N1 | Stage::N2 | Stage::N3)
    }
}

/// A hypnogram: consecutive epochs with their stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypnogram {
    /// Epoch length, s.
    pub epoch_s: f64,
    /// `(epoch start s, stage)`, sorted by start.
    pub epochs: Vec<(f64, Stage)>,
}

impl Hypnogram {
    /// A hypnogram of consecutive epochs starting at 0 s.
    #[must_use]
    pub fn from_stages(epoch_s: f64, stages: &[Stage]) -> Self {
        Self {
            epoch_s,
            epochs: stages
                .iter()
                .enumerate()
                .map(|(i, &s)| (i as f64 * epoch_s, s))
                .collect(),
        }
    }

    /// Checks epoch length and that starts are finite, non-negative and increasing by at
    /// least one epoch.
    ///
    /// # Errors
    /// [`Error::Input`] naming the first bad epoch.
    pub fn validate(&self) -> Result<()> {
        if !(self.epoch_s.is_finite() && self.epoch_s > 0.0) {
            return Err(Error::config(
                "epoch_s",
                format!("must be positive, got {}", self.epoch_s),
            ));
        }
        let mut prev: Option<f64> = None;
        for (i, &(start, _)) in self.epochs.iter().enumerate() {
            if !start.is_finite() || start < 0.0 {
                return Err(Error::input(
                    Location::default(),
                    format!("hypnogram epoch #{}: bad start {start} s", i + 1),
                ));
            }
            if let Some(p) = prev {
                if start < p + self.epoch_s - 1e-6 {
                    return Err(Error::input(
                        Location::default(),
                        format!(
                            "hypnogram epoch #{}: starts at {start} s, less than one epoch after the previous ({p} s)",
                            i + 1
                        ),
                    ));
                }
            }
            prev = Some(start);
        }
        Ok(())
    }

    /// The stage of the epoch containing `t_s`, or `None` outside every epoch.
    #[must_use]
    pub fn stage_at(&self, t_s: f64) -> Option<Stage> {
        let i = self.epochs.partition_point(|&(start, _)| start <= t_s);
        if i == 0 {
            return None;
        }
        let (start, stage) = self.epochs[i - 1];
        (t_s < start + self.epoch_s).then_some(stage)
    }

    /// Seconds of epochs matching `pred`, counting only the part inside `[0, end_s]`.
    #[must_use]
    pub fn time_s(&self, end_s: f64, pred: impl Fn(Stage) -> bool) -> f64 {
        self.epochs
            .iter()
            .filter(|(_, s)| pred(*s))
            .map(|&(start, _)| ((start + self.epoch_s).min(end_s) - start.max(0.0)).max(0.0))
            .sum()
    }

    /// End of the last epoch, s.
    #[must_use]
    pub fn end_s(&self) -> f64 {
        self.epochs.last().map_or(0.0, |&(s, _)| s + self.epoch_s)
    }
}

/// A respiratory event (apnea, hypopnea, RERA ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RespiratoryEvent {
    /// Onset, s.
    pub onset_s: f64,
    /// End, s.
    pub offset_s: f64,
    /// Kind as written in the file (`obstructive_apnea`, `hypopnea`, ...), if given.
    pub kind: Option<String>,
}

/// Everything besides the leg signals that scoring uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// Sleep stages; without one, the whole recording counts as sleep.
    pub hypnogram: Option<Hypnogram>,
    /// Respiratory events.
    pub respiratory: Vec<RespiratoryEvent>,
    /// Arousals.
    pub arousals: Vec<Interval>,
}

impl Context {
    /// Validates every part.
    ///
    /// # Errors
    /// [`Error::Input`] naming the first bad item.
    pub fn validate(&self) -> Result<()> {
        if let Some(h) = &self.hypnogram {
            h.validate()?;
        }
        validate_intervals(
            "respiratory event",
            self.respiratory.iter().map(|e| (e.onset_s, e.offset_s)),
        )?;
        validate_intervals(
            "arousal",
            self.arousals.iter().map(|a| (a.onset_s, a.offset_s)),
        )
    }
}

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

/// Reads a hypnogram CSV file (see the module docs).
///
/// # Errors
/// I/O errors, and [`Error::Parse`]/[`Error::Input`] with file, line and column for bad
/// cells, unknown stage labels, decreasing epoch starts or a file with no epoch.
pub fn read_hypnogram(path: &Path, epoch_s: f64) -> Result<Hypnogram> {
    read_hypnogram_from(Some(path), table::open_path(path)?, epoch_s)
}

/// [`read_hypnogram`] from any reader; `path` is only used in messages.
///
/// # Errors
/// As [`read_hypnogram`].
pub fn read_hypnogram_from(
    path: Option<&Path>,
    input: Box<dyn Read + Send>,
    epoch_s: f64,
) -> Result<Hypnogram> {
    let data = match from_annotations(path, input, |e, loc| nsrr::hypnogram(e, epoch_s, loc))? {
        Ok(h) => return Ok(h),
        Err(data) => data,
    };
    let mut src = table::open_bytes(path, data)?;
    let stage_col = table::find_column(&src.headers, STAGE_ALIASES)
        .or_else(|| (src.headers.len() == 1).then_some(0))
        .ok_or_else(|| {
            Error::input(
                src.loc.at_line(1),
                "no `stage` column in the hypnogram header",
            )
        })?;
    let start_col = table::find_column(&src.headers, START_ALIASES).filter(|&c| c != stage_col);
    let stage_name = src.headers[stage_col].clone();
    let start_name = start_col
        .map(|c| src.headers[c].clone())
        .unwrap_or_default();
    let mut epochs: Vec<(f64, Stage)> = Vec::new();
    let comma = src.comma_decimals();
    let mut record = csv::ByteRecord::new();
    while let Some(line) = src.next_record(&mut record)? {
        if record.iter().all(|c| c.trim_ascii().is_empty()) {
            continue;
        }
        let label = table::text_cell(&record, stage_col, &src.loc, line, &stage_name)?;
        let stage = Stage::parse(label).ok_or_else(|| {
            Error::parse(
                src.loc.at_field(line, stage_col + 1, &stage_name),
                format!(
                    "unknown sleep stage `{}` (expected W, N1, N2, N3, R or 0–5)",
                    table::shorten(label)
                ),
            )
        })?;
        let start = match start_col {
            Some(c) => table::require_number(&record, c, comma, &src.loc, line, &start_name)?,
            None => epochs.len() as f64 * epoch_s,
        };
        if let Some(&(prev, _)) = epochs.last() {
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
        epochs.push((start, stage));
    }
    if epochs.is_empty() {
        return Err(Error::input(
            src.loc,
            "the hypnogram has a header but no epochs",
        ));
    }
    Ok(Hypnogram { epoch_s, epochs })
}

/// Reads `onset_s,offset_s[,kind]` rows.
///
/// # Errors
/// I/O errors, and [`Error::Parse`] with file, line and column for bad cells, missing
/// fields or an offset before its onset.
pub fn read_respiratory(path: &Path) -> Result<Vec<RespiratoryEvent>> {
    read_respiratory_from(Some(path), table::open_path(path)?)
}

/// [`read_respiratory`] from any reader; `path` is only used in messages.
///
/// # Errors
/// As [`read_respiratory`].
pub fn read_respiratory_from(
    path: Option<&Path>,
    input: Box<dyn Read + Send>,
) -> Result<Vec<RespiratoryEvent>> {
    let input = match from_annotations(path, input, |e, _| Ok(nsrr::respiratory(e)))? {
        Ok(list) => return Ok(list),
        Err(data) => Box::new(std::io::Cursor::new(data)),
    };
    let mut out = Vec::new();
    read_intervals(
        path,
        input,
        "respiratory event",
        &[&["kind", "type", "event", "label"]],
        |on, off, labels| {
            out.push(RespiratoryEvent {
                onset_s: on,
                offset_s: off,
                kind: labels[0].0.map(str::to_owned),
            });
            Ok(())
        },
    )?;
    Ok(out)
}

/// Reads `onset_s,offset_s` rows of arousals.
///
/// # Errors
/// As [`read_respiratory`].
pub fn read_arousals(path: &Path) -> Result<Vec<Interval>> {
    read_arousals_from(Some(path), table::open_path(path)?)
}

/// [`read_arousals`] from any reader; `path` is only used in messages.
///
/// # Errors
/// As [`read_respiratory`].
pub fn read_arousals_from(
    path: Option<&Path>,
    input: Box<dyn Read + Send>,
) -> Result<Vec<Interval>> {
    let input = match from_annotations(path, input, |e, _| Ok(nsrr::arousals(e)))? {
        Ok(list) => return Ok(list),
        Err(data) => Box::new(std::io::Cursor::new(data)),
    };
    let mut out = Vec::new();
    read_intervals(path, input, "arousal", &[], |on, off, _| {
        out.push(Interval {
            onset_s: on,
            offset_s: off,
        });
        Ok(())
    })?;
    Ok(out)
}

/// Reads a list of monolateral leg movements `onset_s,offset_s,side` (side `left`/`right`
/// or `L`/`R`; extra columns ignored), e.g. hand-scored LMs for `plm score`.
///
/// # Errors
/// As [`read_respiratory`], and for a missing `side` column or an unknown side.
pub fn read_leg_movements(path: &Path) -> Result<Vec<LegMovement>> {
    read_leg_movements_from(Some(path), table::open_path(path)?)
}

/// [`read_leg_movements`] from any reader; `path` is only used in messages.
///
/// # Errors
/// As [`read_leg_movements`].
pub fn read_leg_movements_from(
    path: Option<&Path>,
    input: Box<dyn Read + Send>,
) -> Result<Vec<LegMovement>> {
    Ok(read_flagged_movements_from(path, input)?
        .into_iter()
        .map(|(m, _)| m)
        .collect())
}

/// [`read_leg_movements_from`], each movement with its `certain` flag: `false` where a CSV
/// list's optional `certain` column says `0` (the convention of simulated truth files for
/// barely visible movements), `true` otherwise and for annotation files.
///
/// # Errors
/// As [`read_leg_movements`], and for a `certain` cell other than 0/1 (or
/// true/false, yes/no).
pub(crate) fn read_flagged_movements_from(
    path: Option<&Path>,
    input: Box<dyn Read + Send>,
) -> Result<Vec<(LegMovement, bool)>> {
    let input = match from_annotations(path, input, |e, _| Ok(nsrr::leg_movements(e)))? {
        Ok(list) => return Ok(list.into_iter().map(|m| (m, true)).collect()),
        Err(data) => Box::new(std::io::Cursor::new(data)),
    };
    let mut out = Vec::new();
    read_intervals(
        path,
        input,
        "leg movement",
        &[&["side", "leg", "channel"], &["certain", "sure"]],
        |on, off, labels| {
            let (side_text, at) = &labels[0];
            let side_text = side_text
                .ok_or_else(|| Error::parse(at.clone(), "missing side (expected left or right)"))?;
            let side = Side::parse(side_text).ok_or_else(|| {
                Error::parse(
                    at.clone(),
                    format!("side `{}` is not left or right", table::shorten(side_text)),
                )
            })?;
            let certain = match labels[1] {
                (None, _) => true,
                (Some(c), ref at) => match c.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "y" => true,
                    "0" | "false" | "no" | "n" => false,
                    _ => {
                        return Err(Error::parse(
                            at.clone(),
                            format!("`{}` is not 0 or 1", table::shorten(c)),
                        ));
                    }
                },
            };
            out.push((LegMovement::new(on, off, side), certain));
            Ok(())
        },
    )?;
    Ok(out)
}

/// `Ok(convert(events))` when the input is NSRR XML ([`crate::nsrr`]) or EDF+ with
/// annotations ([`crate::edf::scored_events`], read as a stream), else `Err(bytes)` (the
/// whole input: context files are small) for the CSV reader. `path` is only used in
/// messages.
fn from_annotations<T>(
    path: Option<&Path>,
    mut input: Box<dyn Read + Send>,
    convert: impl FnOnce(&[nsrr::ScoredEvent], &Location) -> Result<T>,
) -> Result<std::result::Result<T, Vec<u8>>> {
    let loc = Location::file(path);
    // An EDF+ file is read as a stream (it may be a whole polysomnogram).
    let mut data = vec![0u8; crate::edf::MAGIC.len()];
    let got = crate::edf::read_full(&mut input, &mut data).map_err(|e| Error::io(path, e))?;
    data.truncate(got);
    if crate::edf::looks_like_edf(&data) {
        let events = crate::edf::scored_events(std::io::Cursor::new(data).chain(input), &loc)?;
        return convert(&events, &loc).map(Ok);
    }
    input
        .read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    if !nsrr::looks_like_xml(&data) {
        return Ok(Err(data));
    }
    convert(&nsrr::scored_events(&data, &loc)?, &loc).map(Ok)
}

/// Shared reader of `onset,offset[,label…]` lists; calls `push` for each row with its
/// onset, offset and, per label column (found by its aliases), the cell's text (`None`
/// where the column is absent or the cell empty) and its place.
pub(crate) fn read_intervals(
    path: Option<&Path>,
    input: Box<dyn Read + Send>,
    what: &str,
    label_aliases: &[&[&str]],
    mut push: impl FnMut(f64, f64, &[(Option<&str>, Location)]) -> Result<()>,
) -> Result<()> {
    let mut src = table::open_csv(path, input)?;
    let on_col = table::find_column(&src.headers, ONSET_ALIASES).unwrap_or(0);
    let off_col = table::find_column(&src.headers, OFFSET_ALIASES).unwrap_or(1);
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
        .map(|aliases| table::find_column(&src.headers, aliases))
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
        let on = table::require_number(&record, on_col, comma, &src.loc, line, &on_name)?;
        let off = table::require_number(&record, off_col, comma, &src.loc, line, &off_name)?;
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
                    Some(table::text_cell(
                        &record,
                        c,
                        &src.loc,
                        line,
                        &src.headers[c],
                    )?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hyp(text: &'static str) -> Result<Hypnogram> {
        read_hypnogram_from(Some(Path::new("h.csv")), Box::new(text.as_bytes()), 30.0)
    }

    #[test]
    fn reads_stage_labels_and_finds_epochs() {
        let h = hyp("epoch_start_s,stage\n0,W\n30,S1\n60,2\n90,S4\n120,REM\n").unwrap();
        let stages: Vec<Stage> = h.epochs.iter().map(|e| e.1).collect();
        assert_eq!(
            stages,
            vec![Stage::W, Stage::N1, Stage::N2, Stage::N3, Stage::R]
        );
        assert_eq!(h.stage_at(29.999), Some(Stage::W));
        assert_eq!(h.stage_at(30.0), Some(Stage::N1));
        assert_eq!(h.stage_at(150.0), None);
        assert!((h.time_s(1e9, Stage::is_sleep) - 120.0).abs() < 1e-12);
        assert!((h.time_s(100.0, Stage::is_sleep) - 70.0).abs() < 1e-12);
    }

    #[test]
    fn stage_only_hypnogram_is_consecutive_epochs() {
        let h = hyp("stage\nW\nN2\n").unwrap();
        assert_eq!(h.epochs, vec![(0.0, Stage::W), (30.0, Stage::N2)]);
    }

    #[test]
    fn unknown_stage_is_an_error_with_position() {
        let e = hyp("epoch_start_s,stage\n0,W\n30,X9\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "h.csv, line 3, column 2 (stage): unknown sleep stage `X9` (expected W, N1, N2, N3, R or 0–5)"
        );
        assert!(
            hyp("epoch_start_s,stage\n")
                .unwrap_err()
                .to_string()
                .contains("no epochs")
        );
        assert!(
            hyp("epoch_start_s,stage\n30,W\n0,W\n")
                .unwrap_err()
                .to_string()
                .contains("line 3")
        );
    }

    #[test]
    fn reads_respiratory_events_and_empty_lists() {
        let r = read_respiratory_from(
            None,
            Box::new(&b"onset_s,offset_s,kind\n1,12.5,hypopnea\n20,30,\n"[..]),
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].kind.as_deref(), Some("hypopnea"));
        assert_eq!(r[1].kind, None);
        assert!(
            read_respiratory_from(None, Box::new(&b"onset_s,offset_s,kind\n"[..]))
                .unwrap()
                .is_empty()
        );
        let e = read_arousals_from(
            Some(Path::new("a.csv")),
            Box::new(&b"onset_s,offset_s\n5,4\n"[..]),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("a.csv, line 2, column 2"), "{e}");
        let e = read_arousals_from(
            Some(Path::new("a.csv")),
            Box::new(&b"onset_s,offset_s\n5\n"[..]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing field"), "{e}");
    }

    #[test]
    fn reads_leg_movement_lists() {
        let lms = |t: &'static str| {
            read_leg_movements_from(Some(Path::new("lm.csv")), Box::new(t.as_bytes()))
        };
        let v = lms("onset_s,offset_s,side,certain\n1,2,left,1\n3,4.5,R,0\n").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].side, Side::Right);
        let e = lms("onset_s,offset_s,side\n1,2,left\n3,4,middle\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "lm.csv, line 3, column 3 (side): side `middle` is not left or right"
        );
        assert!(
            lms("onset_s,offset_s\n1,2\n")
                .unwrap_err()
                .to_string()
                .contains("no `side` column")
        );
        assert!(
            lms("onset_s,offset_s,side\n2,1,left\n")
                .unwrap_err()
                .to_string()
                .contains("before it starts")
        );
    }
}
