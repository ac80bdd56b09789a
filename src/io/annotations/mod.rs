//! Reading the scoring context — a hypnogram, respiratory events, arousals — and lists of
//! scored leg movements, from whichever file holds them.
//!
//! Each reader takes a CSV file (`csv.rs`), an NSRR XML annotation file (`nsrr.rs`:
//! recognised by content, it starts with `<`) or an EDF+ / BDF+ file with annotations
//! (`edf_plus.rs`: it starts like EDF — a Sleep-EDF `Hypnogram.edf`, or the night's own
//! EDF+), plain or gzip, and takes from it the stages, the respiratory events, the arousals
//! or the scored limb movements (`events.rs`). Times are seconds from the start of the
//! recording. Faults name the file and the line (CSV, XML) or byte (EDF+).

pub(crate) mod csv;
pub(crate) mod edf_plus;
pub(crate) mod events;
pub(crate) mod nsrr;

use std::io::Read;
use std::path::Path;

use self::events::ScoredEvent;
use crate::error::{Error, Location, Result, shorten};
use crate::events::{Interval, LegMovement, Side};
use crate::io::context::{Context, Hypnogram, RespiratoryEvent};
use crate::io::csv::source::open_path;

/// Reads a hypnogram whose epochs are `epoch_s` long (the rules' `epoch_s`, 30 s) from a
/// file (module docs).
///
/// # Errors
/// I/O errors, and [`Error::Parse`]/[`Error::Input`] with the file and the position for
/// bad cells, unknown stage labels, decreasing epoch starts or a file with no epoch.
pub fn read_hypnogram(path: impl AsRef<Path>, epoch_s: f64) -> Result<Hypnogram> {
    let path = path.as_ref();
    read_hypnogram_from(open_path(path)?, Some(path), epoch_s)
}

/// [`read_hypnogram`] from any reader; `name` is only used in messages.
///
/// # Errors
/// As [`read_hypnogram`].
pub fn read_hypnogram_from(
    input: impl Read + Send + 'static,
    name: Option<&Path>,
    epoch_s: f64,
) -> Result<Hypnogram> {
    match from_annotations(name, Box::new(input), |e, loc| {
        events::hypnogram(e, epoch_s, loc)
    })? {
        Ok(h) => Ok(h),
        Err(data) => csv::hypnogram(name, data, epoch_s),
    }
}

/// Reads respiratory events (`onset_s,offset_s[,kind]`) from a file (module docs).
///
/// # Errors
/// I/O errors, and [`Error::Parse`] with the file and the position for bad cells, missing
/// fields or an offset before its onset.
pub fn read_respiratory(path: impl AsRef<Path>) -> Result<Vec<RespiratoryEvent>> {
    let path = path.as_ref();
    read_respiratory_from(open_path(path)?, Some(path))
}

/// [`read_respiratory`] from any reader; `name` is only used in messages.
///
/// # Errors
/// As [`read_respiratory`].
pub fn read_respiratory_from(
    input: impl Read + Send + 'static,
    name: Option<&Path>,
) -> Result<Vec<RespiratoryEvent>> {
    let data = match from_annotations(name, Box::new(input), |e, _| Ok(events::respiratory(e)))? {
        Ok(list) => return Ok(list),
        Err(data) => data,
    };
    let mut out = Vec::new();
    csv::read_intervals(
        name,
        data,
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

/// Reads arousals (`onset_s,offset_s`) from a file (module docs).
///
/// # Errors
/// As [`read_respiratory`].
pub fn read_arousals(path: impl AsRef<Path>) -> Result<Vec<Interval>> {
    let path = path.as_ref();
    read_arousals_from(open_path(path)?, Some(path))
}

/// [`read_arousals`] from any reader; `name` is only used in messages.
///
/// # Errors
/// As [`read_respiratory`].
pub fn read_arousals_from(
    input: impl Read + Send + 'static,
    name: Option<&Path>,
) -> Result<Vec<Interval>> {
    let data = match from_annotations(name, Box::new(input), |e, _| Ok(events::arousals(e)))? {
        Ok(list) => return Ok(list),
        Err(data) => data,
    };
    let mut out = Vec::new();
    csv::read_intervals(name, data, "arousal", &[], |on, off, _| {
        out.push(Interval {
            onset_s: on,
            offset_s: off,
        });
        Ok(())
    })?;
    Ok(out)
}

/// Reads the whole context — stages, respiratory events and arousals — from one NSRR
/// XML or EDF+ annotation file, parsing it once (reading each part with its own reader
/// would parse it three times). The hypnogram's epochs are `epoch_s` long.
///
/// # Errors
/// As [`read_hypnogram`] (a file without scored stages is an error), and for a file that
/// is neither NSRR XML nor EDF+.
pub fn read_annotations(path: impl AsRef<Path>, epoch_s: f64) -> Result<Context> {
    let path = path.as_ref();
    let name = Some(path);
    let read = from_annotations(name, open_path(path)?, |e, loc| {
        Ok(Context {
            hypnogram: Some(events::hypnogram(e, epoch_s, loc)?),
            respiratory: events::respiratory(e),
            arousals: events::arousals(e),
        })
    })?;
    read.map_err(|_| {
        Error::input(
            Location::file(name),
            "not an annotation file (NSRR XML or EDF+): give CSV context with --hypnogram, --respiratory or --arousals",
        )
    })
}

/// Reads a list of monolateral leg movements — `onset_s,offset_s,side` (side `left`/`right`
/// or `L`/`R`; extra columns ignored), e.g. hand-scored LMs to score like PLMScoRe, or the
/// scored limb movements of an annotation file — from a file.
///
/// # Errors
/// As [`read_respiratory`], and for a missing `side` column or an unknown side.
pub fn read_leg_movements(path: impl AsRef<Path>) -> Result<Vec<LegMovement>> {
    let path = path.as_ref();
    read_leg_movements_from(open_path(path)?, Some(path))
}

/// [`read_leg_movements`] from any reader; `name` is only used in messages.
///
/// # Errors
/// As [`read_leg_movements`].
pub fn read_leg_movements_from(
    input: impl Read + Send + 'static,
    name: Option<&Path>,
) -> Result<Vec<LegMovement>> {
    Ok(read_flagged_movements(Box::new(input), name)?
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
pub(crate) fn read_flagged_movements(
    input: Box<dyn Read + Send>,
    name: Option<&Path>,
) -> Result<Vec<(LegMovement, bool)>> {
    let data = match from_annotations(name, input, |e, _| Ok(events::leg_movements(e)))? {
        Ok(list) => return Ok(list.into_iter().map(|m| (m, true)).collect()),
        Err(data) => data,
    };
    let mut out = Vec::new();
    csv::read_intervals(
        name,
        data,
        "leg movement",
        &[&["side", "leg", "channel"], &["certain", "sure"]],
        |on, off, labels| {
            let (side_text, at) = &labels[0];
            let side_text = side_text
                .ok_or_else(|| Error::parse(at.clone(), "missing side (expected left or right)"))?;
            let side = Side::parse(side_text).ok_or_else(|| {
                Error::parse(
                    at.clone(),
                    format!("side `{}` is not left or right", shorten(side_text)),
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
                            format!("`{}` is not 0 or 1", shorten(c)),
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

/// `Ok(convert(events))` when the input is NSRR XML ([`nsrr`]) or EDF+ with annotations
/// ([`edf_plus`], read as a stream), else `Err(bytes)` (the whole input: context files
/// are small) for the CSV reader. `name` is only used in messages.
fn from_annotations<T>(
    name: Option<&Path>,
    mut input: Box<dyn Read + Send>,
    convert: impl FnOnce(&[ScoredEvent], &Location) -> Result<T>,
) -> Result<std::result::Result<T, Vec<u8>>> {
    let loc = Location::file(name);
    // An EDF+ file is read as a stream (it may be a whole polysomnogram).
    let mut data = vec![0u8; crate::io::edf::MAGIC.len()];
    let got = crate::io::edf::read_full(&mut input, &mut data).map_err(|e| Error::io(name, e))?;
    data.truncate(got);
    if crate::io::edf::looks_like_edf(&data) {
        let events = edf_plus::scored_events(std::io::Cursor::new(data).chain(input), &loc)?;
        return convert(&events, &loc).map(Ok);
    }
    input
        .read_to_end(&mut data)
        .map_err(|e| Error::io(name, e))?;
    if !nsrr::looks_like_xml(&data) {
        return Ok(Err(data));
    }
    convert(&nsrr::scored_events(&data, &loc)?, &loc).map(Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Stage;

    fn hyp(text: &'static str) -> Result<Hypnogram> {
        read_hypnogram_from(text.as_bytes(), Some(Path::new("h.csv")), 30.0)
    }

    #[test]
    fn reads_stage_labels_and_finds_epochs() {
        let h = hyp("epoch_start_s,stage\n0,W\n30,S1\n60,2\n90,S4\n120,REM\n").unwrap();
        let stages: Vec<Stage> = h.epochs().iter().map(|e| e.1).collect();
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
    fn unscored_movement_and_artifact_epochs_have_no_stage() {
        let labels = [
            "W",
            "Movement",
            "MT",
            "?",
            "U",
            "Unscored",
            "Sleep stage 2",
            "7",
            "A",
        ];
        let text = labels.join("\n") + "\n";
        let h = read_hypnogram_from(
            std::io::Cursor::new(format!("stage\n{text}")),
            Some(Path::new("h.csv")),
            30.0,
        )
        .unwrap();
        assert_eq!(h.epochs(), vec![(0.0, Stage::W), (180.0, Stage::N2)]);
        assert_eq!(h.unstaged_epochs(), 7);
        let e = hyp("stage\nMT\n?\n").unwrap_err().to_string();
        assert!(e.contains("no scored epoch"), "{e}");
    }

    #[test]
    fn stage_only_hypnogram_is_consecutive_epochs() {
        let h = hyp("stage\nW\nN2\n").unwrap();
        assert_eq!(h.epochs(), vec![(0.0, Stage::W), (30.0, Stage::N2)]);
    }

    #[test]
    fn unknown_stage_is_an_error_with_position() {
        let e = hyp("epoch_start_s,stage\n0,W\n30,X9\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "h.csv, line 3, column 2 (stage): unknown sleep stage `X9` (expected W, N1, N2, N3, R or 0–5; unscored, movement or artifact epochs as ?, U, MT or A)"
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
            &b"onset_s,offset_s,kind\n1,12.5,hypopnea\n20,30,\n"[..],
            None,
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].kind.as_deref(), Some("hypopnea"));
        assert_eq!(r[1].kind, None);
        assert!(
            read_respiratory_from(&b"onset_s,offset_s,kind\n"[..], None)
                .unwrap()
                .is_empty()
        );
        let e = read_arousals_from(&b"onset_s,offset_s\n5,4\n"[..], Some(Path::new("a.csv")))
            .unwrap_err();
        assert!(e.to_string().starts_with("a.csv, line 2, column 2"), "{e}");
        let e = read_arousals_from(&b"onset_s,offset_s\n5\n"[..], Some(Path::new("a.csv")))
            .unwrap_err();
        assert!(e.to_string().contains("missing field"), "{e}");
    }

    #[test]
    fn reads_leg_movement_lists() {
        let lms =
            |t: &'static str| read_leg_movements_from(t.as_bytes(), Some(Path::new("lm.csv")));
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
