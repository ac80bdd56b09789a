//! `plm detect --left-ankle L --right-ankle R` (ankle device files, night by night) and
//! `plm convert` (a device file to CSV).

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{NaiveDateTime, NaiveTime, Timelike};
use plm_detect::io::Hypnogram;
use plm_detect::{AnkleNights, Context, DeviceFile, Error, Interval, Side, WindowChoice};

use super::context::{ContextFiles, NightClock};
use super::{ConvertArgs, DetectArgs, OutputArgs, emit, setup, write_output};

/// Local clock seconds of a date-time.
fn clock_s(t: NaiveDateTime) -> f64 {
    let d = t.and_utc();
    d.timestamp() as f64 + f64::from(d.timestamp_subsec_nanos()) * 1e-9
}

/// `--from`/`--to`: both clock times of day, or both date-times.
fn window_choice(from: &str, to: &str) -> Result<WindowChoice, Error> {
    let tod = |s: &str| {
        ["%H:%M", "%H:%M:%S"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(s.trim(), f).ok())
            .map(|t| f64::from(t.num_seconds_from_midnight()))
    };
    let date_time = |s: &str| {
        [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s.trim(), f).ok())
        .map(clock_s)
    };
    match (tod(from), tod(to), date_time(from), date_time(to)) {
        (Some(from_s), Some(to_s), _, _) if from_s != to_s => {
            Ok(WindowChoice::ClockTimes { from_s, to_s })
        }
        (_, _, Some(from_s), Some(to_s)) if to_s > from_s => {
            Ok(WindowChoice::Span { from_s, to_s })
        }
        _ => Err(Error::Config {
            field: "from",
            message: format!(
                "--from {from} --to {to}: give two different clock times (22:30, 07:00) or two date-times in order (2024-03-05T22:30, 2024-03-06T07:00)"
            ),
        }),
    }
}

/// `--start-time` as local clock seconds: a date-time as given; a time of day on the date
/// that puts it nearest `near_s`.
fn start_time_s(t: &str, near_s: f64) -> Result<f64, Error> {
    let err = || Error::Config {
        field: "start-time",
        message: format!("`{t}` is not hh:mm:ss or an ISO date-time"),
    };
    let t = t.trim();
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(clock_s(d));
        }
    }
    let tod = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(t, f).ok())
        .ok_or_else(err)?;
    let tod_s = f64::from(tod.num_seconds_from_midnight()) + f64::from(tod.nanosecond()) * 1e-9;
    let midnight = (near_s / 86_400.0).floor() * 86_400.0;
    let candidates = [midnight - 86_400.0, midnight, midnight + 86_400.0].map(|m| m + tod_s);
    Ok(candidates
        .into_iter()
        .min_by(|a, b| (a - near_s).abs().total_cmp(&(b - near_s).abs()))
        .unwrap_or(midnight + tod_s))
}

/// `context` (times from the recording's `t = 0`) for a window starting `by_s` later and
/// lasting `len_s`: shifted, and what falls outside dropped.
fn shifted(context: &Context, by_s: f64, len_s: f64) -> Result<Context, Error> {
    let inside = |a: f64, b: f64| b > 0.0 && a < len_s;
    let hypnogram = match &context.hypnogram {
        Some(h) => {
            let epochs: Vec<_> = h
                .epochs()
                .iter()
                .map(|&(t, s)| (t - by_s, s))
                .filter(|&(t, _)| inside(t, t + h.epoch_s()) && t >= -1e-9)
                .collect();
            if epochs.is_empty() {
                None
            } else {
                Some(Hypnogram::new(h.epoch_s(), epochs)?)
            }
        }
        None => None,
    };
    let respiratory = context
        .respiratory
        .iter()
        .filter(|e| inside(e.onset_s - by_s, e.offset_s - by_s))
        .map(|e| {
            let mut e = e.clone();
            e.onset_s = (e.onset_s - by_s).max(0.0);
            e.offset_s = (e.offset_s - by_s).min(len_s);
            e
        })
        .collect();
    let arousals = context
        .arousals
        .iter()
        .filter(|a| inside(a.onset_s - by_s, a.offset_s - by_s))
        .map(|a| Interval {
            onset_s: (a.onset_s - by_s).max(0.0),
            offset_s: (a.offset_s - by_s).min(len_s),
        })
        .collect();
    Ok(Context {
        hypnogram,
        respiratory,
        arousals,
    })
}

/// `path` with `.nightN` before its extension (`out.json` → `out.night2.json`).
fn per_night(path: &Path, night: usize) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(e) => format!("{stem}.night{night}.{}", e.to_string_lossy()),
        None => format!("{stem}.night{night}"),
    };
    path.with_file_name(name)
}

/// `plm detect` of ankle device files.
pub(super) fn detect(a: &DetectArgs) -> Result<(), Error> {
    if a.out_dir.is_some() {
        return Err(Error::Config {
            field: "out-dir",
            message: "--left-ankle/--right-ankle write one report per night beside the outputs given (NAME.night1.json …); --out-dir is for several night files".into(),
        });
    }
    let s = setup(a)?;
    let read = |p: &Option<PathBuf>| -> Result<Option<(PathBuf, DeviceFile)>, Error> {
        p.as_ref()
            .map(|p| DeviceFile::read_path(p).map(|d| (p.clone(), d)))
            .transpose()
    };
    let left = read(&a.left_ankle)?;
    let right = read(&a.right_ankle)?;
    let ankles: Vec<(Side, &DeviceFile, Option<String>)> =
        [(Side::Left, &left), (Side::Right, &right)]
            .into_iter()
            .filter_map(|(side, d)| {
                d.as_ref()
                    .map(|(p, d)| (side, d, Some(p.display().to_string())))
            })
            .collect();
    // The context, placed from the start of the span both devices cover.
    let from = ankles
        .iter()
        .map(|x| x.1.first_s())
        .fold(f64::MIN, f64::max);
    let to = ankles.iter().map(|x| x.1.end_s()).fold(f64::MAX, f64::min);
    let files = if a.context.any_file() {
        ContextFiles::given(&a.context)?
    } else {
        ContextFiles::none()
    };
    // t = 0 of the context files: --start-time when given (its time of day taken nearest
    // the recording's start), else the start of the span both devices cover.
    let base = match &a.context.start_time {
        Some(t) => start_time_s(t, from)?,
        None => from,
    };
    let start = DeviceFile::iso(base);
    let found = files.take(
        &s.rules,
        NightClock {
            start: Some((&start, false)),
            end_s: Some((to - base).max(0.0)),
        },
    )?;
    let choice = match (&a.from, &a.to) {
        (Some(f), Some(t)) => window_choice(f, t)?,
        _ => match &found.context.hypnogram {
            Some(h) => WindowChoice::Hypnogram {
                from_s: base + h.epochs().first().map_or(0.0, |e| e.0),
                to_s: base + h.end_s(),
            },
            None => WindowChoice::Estimate,
        },
    };
    let plan = AnkleNights::plan(ankles, choice)?;
    // A recording of several nights says its notes once here (each report has them all).
    let several = plan.nights.len() > 1;
    if several || plan.nights.is_empty() {
        for n in &plan.notes {
            eprintln!("plm: note: {n}");
        }
    }
    if plan.nights.is_empty() {
        return Err(Error::Input {
            location: plm_detect::Location::default(),
            message: "no night of the ankle recording has a sleep window to score".into(),
        });
    }
    let o = &a.output;
    let to_stdout = o
        .files()
        .iter()
        .any(|p| p.as_deref() == Some(Path::new("-")))
        || matches!(&o.review, Some(Some(p)) if p == Path::new("-"));
    if several && to_stdout {
        return Err(Error::Config {
            field: "json",
            message: format!(
                "the ankle recording holds {} nights: give output files (NAME.night1.json …), not stdout",
                plan.nights.len()
            ),
        });
    }
    let title = a
        .left_ankle
        .as_ref()
        .or(a.right_ankle.as_ref())
        .map_or_else(|| "ankles".to_owned(), |p| super::night_name(p));
    let mut rows = String::new();
    let mut said: Vec<String> = plan
        .notes
        .iter()
        .map(|n| n.split(" (").next().unwrap_or(n).to_owned())
        .collect();
    for (i, night) in plan.nights.iter().enumerate() {
        let rec = plan.recording(i)?;
        let ctx = shifted(
            &found.context,
            night.from_s - from,
            night.to_s - night.from_s,
        )?;
        let review = o.review.is_some();
        let (mut report, traces) = if review {
            s.detector.run_traced(plm_detect::Night::Accel(rec), &ctx)?
        } else {
            (s.detector.run_accel(&rec, &ctx)?, Vec::new())
        };
        found.apply(&mut report);
        let k = night.window.night;
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map(|p| if several { per_night(p, k) } else { p.clone() })
        };
        let out = OutputArgs {
            json: path(&o.json),
            events: path(&o.events),
            figure: path(&o.figure),
            edf_annotations: path(&o.edf_annotations),
            nsrr_xml: path(&o.nsrr_xml),
            review: match &o.review {
                Some(Some(p)) => Some(Some(if several { per_night(p, k) } else { p.clone() })),
                Some(None) => Some(Some(PathBuf::from(format!("{title}.night{k}.html")))),
                None => None,
            },
            quiet: o.quiet || several,
            notes_elsewhere: several,
        };
        let input = PathBuf::from(format!("{title} night {k}"));
        emit(&report, &out, Some(&input), &ctx, &traces)?;
        if several {
            // Each note once for the recording (the window's is in the table below); notes
            // that differ from night to night only in their figures in brackets (the drift
            // over each window) count as one.
            for n in &report.notes {
                let key = n.split(" (").next().unwrap_or(n).to_owned();
                if !n.starts_with("night ") && !said.contains(&key) {
                    eprintln!("plm: note: {n}");
                    said.push(key);
                }
            }
        }
        let sm = &report.summary;
        let _ = writeln!(
            rows,
            "{k:>5}  {} to {}  {:>8}  {:>6.2}  {:>5}  {:>6}",
            night.window.start,
            night.window.end,
            format!("{:?}", night.window.source).to_lowercase(),
            sm.total_sleep_time_h,
            sm.lm_count,
            sm.plms_index.map_or("-".into(), |v| format!("{v:.1}"))
        );
    }
    if !o.quiet {
        let mut text = String::new();
        if several {
            let _ = writeln!(
                text,
                "{} nights (noon to noon); notes in each report",
                plan.nights.len()
            );
        }
        let _ = writeln!(
            text,
            "night  window                                       source    sleep_h    LMs  PLMS/h"
        );
        text.push_str(&rows);
        super::say(&text, to_stdout);
    }
    Ok(())
}

/// `plm convert`: a device file's samples to CSV.
pub(super) fn convert(a: &ConvertArgs) -> Result<(), Error> {
    let d = DeviceFile::read_path(&a.device)?;
    let t0 = d.first_s();
    let io = |e: std::io::Error| Error::Io {
        path: Some(a.csv.clone()),
        source: e,
    };
    write_output(&a.csv, |w| {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
        writeln!(w, "{},x_g,y_g,z_g", if a.iso { "time" } else { "time_s" }).map_err(io)?;
        let mut line = String::new();
        for (t, v) in d.samples() {
            line.clear();
            if a.iso {
                line.push_str(&DeviceFile::iso(t));
            } else {
                let _ = write!(line, "{:.4}", t - t0);
            }
            for x in v {
                let _ = write!(line, ",{}", round6(x));
            }
            line.push('\n');
            w.write_all(line.as_bytes()).map_err(io)?;
        }
        w.flush().map_err(io)
    })?;
    eprintln!(
        "plm: {} {}{}: {} samples at {} Hz from {} (sample clock {:+.0} ppm against its time stamps){}",
        d.format().name(),
        d.model(),
        d.serial().map(|s| format!(" #{s}")).unwrap_or_default(),
        d.len(),
        d.nominal_rate_hz(),
        DeviceFile::iso(t0),
        d.drift_ppm(),
        if d.notes().is_empty() {
            String::new()
        } else {
            format!("; {}", d.notes().join("; "))
        }
    );
    Ok(())
}

/// A value rounded to 6 decimals (finer than any device's resolution), as text.
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}
