//! Batch detection: several nights in parallel, one report each, a summary table.

use std::path::{Path, PathBuf};

use plm_detect::{Error, Report};

use super::{
    DetectArgs, Setup, analyse, night_context, night_name, setup, write_figure, write_output,
};

/// Context-file suffixes that are not nights when scanning a directory.
const CONTEXT_SUFFIXES: &[&str] = &[
    ".truth.csv",
    ".hyp.csv",
    ".resp.csv",
    ".arousals.csv",
    ".events.csv",
    ".lms.csv",
    "summary.csv",
];

/// Batch mode: several nights in parallel, one report each, a summary table; a bad night is
/// reported and skipped.
pub(super) fn batch(a: &DetectArgs) -> Result<(), Error> {
    use std::io::IsTerminal as _;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let out_dir = a.out_dir.as_deref().ok_or_else(|| Error::Config {
        field: "out-dir",
        message: "several nights (or a directory) need --out-dir DIR for their reports".into(),
    })?;
    if a.context.any_file() {
        return Err(Error::Config {
            field: "hypnogram",
            message: "in batch mode each night's context is read from NAME.hyp.csv, NAME.resp.csv and NAME.arousals.csv beside it".into(),
        });
    }
    let o = &a.output;
    if o.files().iter().any(|p| p.is_some()) || matches!(o.review, Some(Some(_))) {
        return Err(Error::Config {
            field: "json",
            message: "in batch mode reports go to --out-dir (give --review alone for NAME.html per night)".into(),
        });
    }
    let mut nights: Vec<PathBuf> = Vec::new();
    for p in &a.night {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Error::Io {
                    path: Some(p.clone()),
                    source: e,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    let n = f
                        .file_name()
                        .map(|n| n.to_string_lossy().to_ascii_lowercase())
                        .unwrap_or_default();
                    // `n` is lower-cased, so `X.CSV.GZ`, `X.EDF` and `X.BDF` count too.
                    let ext = n.strip_suffix(".gz").unwrap_or(&n).rsplit('.').next();
                    let is_night = matches!(ext, Some("csv" | "edf" | "bdf"));
                    f.is_file() && is_night && !CONTEXT_SUFFIXES.iter().any(|s| n.ends_with(s))
                })
                .collect();
            found.sort();
            nights.extend(found);
        } else {
            nights.push(p.clone());
        }
    }
    if nights.is_empty() {
        return Err(Error::Config {
            field: "night",
            message: "no night files (*.csv, *.edf, *.bdf, or any of them gzipped) found".into(),
        });
    }
    std::fs::create_dir_all(out_dir).map_err(|e| Error::Io {
        path: Some(out_dir.to_path_buf()),
        source: e,
    })?;
    let s = setup(a)?;

    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(nights.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} nights  {elapsed} {msg}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let names = output_names(&nights);
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<Report, Error>>>> =
        nights.iter().map(|_| Mutex::new(None)).collect();
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .min(nights.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(night) = nights.get(i) else { break };
                    let outcome = night_in_batch(&s, night, &names[i], out_dir, o.review.is_some());
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(outcome);
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();

    // Summary table, one row per night, in input order.
    let mut rows = csv::Writer::from_writer(Vec::new());
    let header = [
        "night",
        "status",
        "error",
        "modality",
        "duration_h",
        "total_sleep_time_h",
        "excluded_s",
        "lm_count",
        "clms_count",
        "plms_count",
        "plms_index",
        "clms_index",
        "plmw_index",
        "plmsnr_index",
        "plms_arousal_index",
        "periodicity_index",
        "plm_clm_ratio",
    ];
    let io_err = |e: csv::Error| Error::Io {
        path: Some(out_dir.join("summary.csv")),
        source: std::io::Error::other(e),
    };
    rows.write_record(header).map_err(io_err)?;
    let (mut failed, mut worst_input) = (0usize, true);
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
    for (night, slot) in nights.iter().zip(results) {
        let outcome = slot.into_inner().ok().flatten();
        let name = night.display().to_string();
        match outcome {
            Some(Ok(r)) => {
                let m = &r.summary;
                let modality = serde_json::to_value(r.modality)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                rows.write_record([
                    name,
                    "ok".into(),
                    String::new(),
                    modality,
                    format!("{:.3}", r.recording.duration_s / 3600.0),
                    format!("{:.3}", m.total_sleep_time_h),
                    format!("{:.1}", r.recording.excluded_s),
                    m.lm_count.to_string(),
                    m.clms_count.to_string(),
                    m.plms_count.to_string(),
                    opt(m.plms_index),
                    opt(m.clms_index),
                    opt(m.plmw_index),
                    opt(m.plmsnr_index),
                    opt(m.plms_arousal_index),
                    opt(m.periodicity_index),
                    opt(m.plm_clm_ratio),
                ])
                .map_err(io_err)?;
            }
            Some(Err(e)) => {
                failed += 1;
                worst_input &= e.is_input_error();
                eprintln!("plm: error: {e}");
                let mut row = vec![name, "error".into(), e.to_string()];
                row.resize(header.len(), String::new());
                rows.write_record(row).map_err(io_err)?;
            }
            None => {
                failed += 1;
                let mut row = vec![name, "error".into(), "not analysed".into()];
                row.resize(header.len(), String::new());
                rows.write_record(row).map_err(io_err)?;
            }
        }
    }
    let bytes = rows.into_inner().map_err(|e| Error::Io {
        path: None,
        source: std::io::Error::other(e.to_string()),
    })?;
    write_output(&out_dir.join("summary.csv"), |w| {
        w.write_all(&bytes).map_err(|e| Error::Io {
            path: Some(out_dir.join("summary.csv")),
            source: e,
        })
    })?;
    if !a.output.quiet {
        println!(
            "{} nights: {} analysed, {failed} failed; reports and summary.csv in {}",
            nights.len(),
            nights.len() - failed,
            out_dir.display()
        );
    }
    if failed == 0 {
        Ok(())
    } else if worst_input {
        Err(Error::Input {
            location: plm_detect::Location::default(),
            message: format!(
                "{failed} of {} nights could not be analysed (see summary.csv)",
                nights.len()
            ),
        })
    } else {
        Err(Error::Io {
            path: Some(out_dir.join("summary.csv")),
            source: std::io::Error::other(format!("{failed} of {} nights failed", nights.len())),
        })
    }
}

/// The names of the nights' report files: the night's name ([`night_name`]), or where
/// two nights share it (`n.csv` and its EDF export `n.edf`, or `a/n.csv` and `b/n.csv`)
/// the file name with its extension (`n.edf`), then a number (`n.csv-2`), so that no
/// night's reports overwrite another's.
fn output_names(nights: &[PathBuf]) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    let bases: Vec<String> = nights.iter().map(|p| night_name(p)).collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for b in &bases {
        *count.entry(b).or_default() += 1;
    }
    let mut taken = HashSet::new();
    let mut names = Vec::with_capacity(nights.len());
    for (p, base) in nights.iter().zip(&bases) {
        let mut name = if count[base.as_str()] > 1 {
            let file = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let cut = file.len()
                - if file.to_ascii_lowercase().ends_with(".gz") {
                    3
                } else {
                    0
                };
            file[..cut].to_owned()
        } else {
            base.clone()
        };
        let stem = name.clone();
        let mut k = 2;
        while !taken.insert(name.clone()) {
            name = format!("{stem}-{k}");
            k += 1;
        }
        names.push(name);
    }
    names
}

/// One night of a batch: its context from the files beside it, the analysis, and its
/// report files `name.*` in `out_dir` (with `review`, also its review page `name.html`).
fn night_in_batch(
    s: &Setup,
    night: &Path,
    name: &str,
    out_dir: &Path,
    review: bool,
) -> Result<Report, Error> {
    let files = night_context(s, None, night)?;
    let super::Analysed {
        report,
        found,
        traces,
    } = analyse(s, night, &files, review)?;
    write_output(&out_dir.join(format!("{name}.json")), |w| {
        report.write_json(w)
    })?;
    write_output(&out_dir.join(format!("{name}.events.csv")), |w| {
        report.write_events_csv(w)
    })?;
    write_figure(
        &out_dir.join(format!("{name}.svg")),
        &report,
        &found.context,
    )?;
    if review {
        write_output(&out_dir.join(format!("{name}.html")), |w| {
            report.review_html(name, &found.context, &traces, w)
        })?;
    }
    Ok(report)
}
