//! `plm compare`: a detection against a reference scoring, one night or a directory of
//! them.

use std::fs::File;
use std::path::{Path, PathBuf};

use plm_detect::{Error, Report, Span};

use super::context::{ContextFiles, NightClock};
use super::{CompareArgs, night_name, rules, say, write_output};

/// `plm compare`: one detection file against one reference file, or two directories
/// ([`compare_batch`]).
pub(super) fn compare(a: &CompareArgs) -> Result<(), Error> {
    if a.detection.is_dir() {
        return compare_batch(a);
    }
    let files = ContextFiles::given(&a.context)?;
    let comparison = compare_pair(a, &a.detection, &a.reference, &files)?;
    let to_stdout = a.json.as_deref() == Some(Path::new("-"));
    if let Some(p) = &a.json {
        write_json_value(p, &comparison)?;
    }
    if !a.quiet {
        let text = format!(
            "detection   {}\nreference   {}\n{}",
            a.detection.display(),
            a.reference.display(),
            comparison.summary_text()
        );
        say(&text, to_stdout);
    }
    Ok(())
}

/// One detection file against one reference file, with the context in `files`; its notes
/// go to stderr.
fn compare_pair(
    a: &CompareArgs,
    detection: &Path,
    reference: &Path,
    files: &ContextFiles,
) -> Result<plm_detect::Comparison, Error> {
    let mut rules = rules(&a.context)?;
    let report = read_report(detection)?;
    if let Some(report) = &report {
        // The reference is scored by the detection's rules, unless others are asked for.
        if a.context.rules.is_none() && a.context.config.is_none() {
            rules = report.rules.clone();
        } else if rules != report.rules {
            return Err(Error::Config {
                field: "rules",
                message: format!(
                    "{}: the detection was scored with the `{}` rules, not these: the reference would be scored otherwise",
                    detection.display(),
                    report.rules.name
                ),
            });
        }
    }
    let (found, detection_report, movements) = if let Some(report) = report {
        let (found, mut lists) = files.take_with(
            &rules,
            NightClock::of_report(&report),
            &[("reference", reference)],
        )?;
        if report.context.hypnogram && found.context.hypnogram.is_none() {
            return Err(Error::Config {
                field: "hypnogram",
                message: format!(
                    "{}: the detection was scored with a hypnogram: give the same one (--hypnogram or --annotations; NAME.hyp.csv beside the reference in batch mode) so the reference is scored alike",
                    detection.display()
                ),
            });
        }
        (found, report, lists.pop().unwrap_or_default())
    } else {
        let night = NightClock {
            start: None,
            end_s: a.duration,
        };
        let (found, mut lists) = files.take_with(
            &rules,
            night,
            &[("detection", detection), ("reference", reference)],
        )?;
        let movements = lists.pop().unwrap_or_default();
        let lms: Vec<_> = lists.into_iter().flatten().map(|m| m.lm).collect();
        let span = Span {
            duration_s: a.duration,
            ..Span::default()
        };
        let mut report = plm_detect::score(&lms, &found.context, &rules, span)
            .map_err(|e| e.in_file(detection))?;
        found.apply(&mut report);
        (found, report, movements)
    };
    for n in found.notes() {
        eprintln!("plm: note: {n}");
    }
    plm_detect::compare(
        &detection_report,
        &movements,
        &found.context,
        &rules,
        a.tolerance,
    )
    .map_err(|e| e.in_file(reference))
}

/// Reference files looked for beside the context, in this order: CSV lists, then scoring
/// exports (any format [`plm_detect::AnnotationFile`] reads), then the night's own EDF+.
const REFERENCE_SUFFIXES: &[&str] = &[
    ".truth.csv",
    ".lms.csv",
    "-nsrr.xml",
    "-profusion.xml",
    ".xml",
    ".txt",
    ".edf",
];

/// Batch comparison: every `NAME.json` report of a detection directory against the
/// reference `NAME.truth.csv` (or another of [`REFERENCE_SUFFIXES`]) in the reference
/// directory, with the context files there; one table row per night, then the pooled
/// figures. A night that fails is reported and skipped.
fn compare_batch(a: &CompareArgs) -> Result<(), Error> {
    if !a.reference.is_dir() {
        return Err(Error::Config {
            field: "reference",
            message: "a directory of detections needs a directory of references".into(),
        });
    }
    if a.context.any_file() {
        return Err(Error::Config {
            field: "hypnogram",
            message: "in batch mode each night's context is read from NAME.hyp.csv, NAME.resp.csv and NAME.arousals.csv beside its reference".into(),
        });
    }
    let table_path = a.out.as_deref().ok_or_else(|| Error::Config {
        field: "out",
        message: "a directory of detections needs --out TABLE.csv for the per-night table".into(),
    })?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| Error::Io {
            path: Some(path.clone()),
            source: e,
        }
    };
    let mut reports: Vec<PathBuf> = std::fs::read_dir(&a.detection)
        .map_err(io(&a.detection))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        })
        .collect();
    reports.sort();
    if reports.is_empty() {
        return Err(Error::Config {
            field: "detection",
            message: format!("no NAME.json reports in {}", a.detection.display()),
        });
    }
    let mut rows = csv::Writer::from_writer(Vec::new());
    let header = [
        "night",
        "status",
        "error",
        "lm_reference",
        "lm_detected",
        "lm_matched",
        "lm_sensitivity",
        "lm_ppv",
        "lm_f1",
        "plm_reference",
        "plm_detected",
        "plm_matched",
        "plm_sensitivity",
        "plm_ppv",
        "plm_f1",
        "onset_error_median_s",
        "offset_error_median_s",
        "plms_index",
        "reference_plms_index",
        "plms_index_difference",
    ];
    let table_err = |e: csv::Error| Error::Io {
        path: Some(table_path.to_path_buf()),
        source: std::io::Error::other(e),
    };
    rows.write_record(header).map_err(table_err)?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    let counts = |g: plm_detect::compare::Agreement| {
        [
            g.truth.to_string(),
            g.detected.to_string(),
            g.matched.to_string(),
            format!("{:.4}", g.sensitivity()),
            format!("{:.4}", g.ppv()),
            format!("{:.4}", g.f1()),
        ]
    };
    let (mut done, mut failed, mut worst_input) = (Vec::new(), 0usize, true);
    for report in &reports {
        // `n.json`, or `n.edf.json` where a batch had two nights named `n`.
        let label = report
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = night_name(Path::new(&label));
        let outcome = REFERENCE_SUFFIXES
            .iter()
            .map(|s| a.reference.join(format!("{name}{s}")))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::Input {
                location: plm_detect::Location::file(Some(report)),
                message: format!(
                    "no reference {name}.truth.csv (or .lms.csv, -nsrr.xml, -profusion.xml, .xml, .txt, .edf) in {}",
                    a.reference.display()
                ),
            })
            .and_then(|reference| {
                let files = ContextFiles::beside(&a.reference, &name)?;
                compare_pair(a, report, &reference, &files)
            });
        match outcome {
            Ok(c) => {
                let mut row = vec![label, "ok".into(), String::new()];
                row.extend(counts(c.lm));
                row.extend(counts(c.plm));
                row.extend([
                    opt(c.onset_errors.map(|e| e.median_abs_s)),
                    opt(c.offset_errors.map(|e| e.median_abs_s)),
                    opt(c.plms_index),
                    opt(c.reference_plms_index),
                    opt(c.plms_index_difference),
                ]);
                rows.write_record(row).map_err(table_err)?;
                done.push(c);
            }
            Err(e) => {
                failed += 1;
                worst_input &= e.is_input_error();
                eprintln!("plm: error: {e}");
                let mut row = vec![label, "error".into(), e.to_string()];
                row.resize(header.len(), String::new());
                rows.write_record(row).map_err(table_err)?;
            }
        }
    }
    let pooled = plm_detect::compare::pool(&done);
    let mut row = vec![
        "pooled".to_owned(),
        format!("{} nights", done.len()),
        String::new(),
    ];
    row.extend(counts(pooled.lm));
    row.extend(counts(pooled.plm));
    row.extend([
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        opt(pooled.plms_index_mean_difference),
    ]);
    rows.write_record(row).map_err(table_err)?;
    let bytes = rows.into_inner().map_err(|e| Error::Io {
        path: Some(table_path.to_path_buf()),
        source: std::io::Error::other(e.to_string()),
    })?;
    write_output(table_path, |w| w.write_all(&bytes).map_err(io(table_path)))?;
    if let Some(p) = &a.json {
        write_json_value(p, &pooled)?;
    }
    if !a.quiet {
        let text = format!(
            "{} nights: {} compared, {failed} failed; per-night table in {}\n{}",
            reports.len(),
            done.len(),
            table_path.display(),
            pooled.summary_text()
        );
        say(&text, a.json.as_deref() == Some(Path::new("-")));
    }
    match (failed, worst_input) {
        (0, _) => Ok(()),
        (_, true) => Err(Error::Config {
            field: "night",
            message: format!("{failed} of {} nights could not be compared", reports.len()),
        }),
        (_, false) => Err(Error::Io {
            path: None,
            source: std::io::Error::other(format!(
                "{failed} of {} nights could not be compared",
                reports.len()
            )),
        }),
    }
}

/// `value` as pretty JSON in `path` (`-`: stdout).
fn write_json_value(path: &Path, value: &impl serde::Serialize) -> Result<(), Error> {
    write_output(path, |w| {
        let err = |e: std::io::Error| Error::Io {
            path: Some(path.to_path_buf()),
            source: e,
        };
        serde_json::to_writer_pretty(&mut *w, value).map_err(|e| err(e.into()))?;
        w.write_all(b"\n").map_err(err)
    })
}

/// The `plm detect`/`plm score` JSON report in `path`, or `None` when the file is not JSON
/// (an LM list).
fn read_report(path: &Path) -> Result<Option<Report>, Error> {
    let io = |e| Error::Io {
        path: Some(path.to_path_buf()),
        source: e,
    };
    // Only the first bytes of anything else (an EDF+ file may be a whole night).
    let mut head = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(File::open(path).map_err(io)?, 64),
        &mut head,
    )
    .map_err(io)?;
    if head.trim_ascii_start().first() != Some(&b'{') {
        return Ok(None);
    }
    let text = std::fs::read(path).map_err(io)?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| Error::Parse {
            location: plm_detect::Location {
                line: Some(e.line() as u64),
                column: Some(e.column()),
                ..plm_detect::Location::file(Some(path))
            },
            message: format!("not a plm-detect JSON report ({e})"),
        })
}
