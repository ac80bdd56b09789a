//! The report's figure: one night at a glance, as SVG.
//!
//! Input: a [`Report`] and the night's [`Context`] (its hypnogram, arousals and
//! respiratory events, drawn when present). Output: SVG text (UTF-8, 1000 px wide, no
//! scripts, no external resources), which browsers, Inkscape and journal pipelines open as
//! is. Time runs left to right: clock time (`hh:mm`) when the recording's start is known,
//! else hours (or minutes) from the start.
//!
//! From top to bottom, under a legend:
//! 1. **Hypnogram** (when given): W, R, N1, N2, N3 from top to bottom, the clinical
//!    convention.
//! 2. **Arousals** and **respiratory events** (when given), one bar each.
//! 3. **Leg movements** per leg: one bar per monolateral LM (at least one pixel wide), with
//!    the excluded (unscorable) stretches shaded.
//! 4. **Candidate movements**, told apart by shape as well as colour (for grey-scale prints
//!    and colour-blind readers): a PLM is a full-height red bar with a triangle above it, a
//!    CLM not in a series a half-height grey bar, a nonCLM (too long, or part of a
//!    too-long bilateral movement) a hollow dashed box; each PLM series is a band beneath.
//! 5. **IMI histogram** (sleep, 2-s bins over 0–90 s) with counts on its y-axis and the
//!    rules' IMI bounds dashed, beside the night's indices.
//!
//! Every mark carries a `class` (`lm left`, `lm right`, `plm`, `clm`, `nonclm`, `series`,
//! `excluded`, `arousal`, `respiratory`, `imi`) so that styles can be changed, and a
//! `<title>` with its times, so that hovering in a browser shows them. Written here rather
//! than with a plotting crate: the figure is a few hundred rectangles and lines, and
//! plotters-style crates would add a font stack and dozens of dependencies to the library
//! for it.

use std::fmt::Write as _;

use super::{Modality, Report};
use crate::events::Side;
use crate::io::{ClockStart, Context, Stage};
use crate::score::MovementSide;

/// Width of the figure, px.
const WIDTH: f64 = 1000.0;
/// Left margin (row labels), px.
const LEFT: f64 = 90.0;
/// Right margin, px.
const RIGHT: f64 = 20.0;

impl Report {
    /// The night's figure (module docs) with its `context` (the one it was scored with:
    /// hypnogram, arousals, respiratory events), as SVG text.
    #[must_use]
    pub fn svg(&self, context: &Context) -> String {
        svg(self, context)
    }
}

/// See [`Report::svg`].
fn svg(report: &Report, context: &Context) -> String {
    let duration_s = report.recording.duration_s.max(1e-9);
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |t: f64| LEFT + (t / duration_s).clamp(0.0, 1.0) * plot_w;
    let mut body = String::new();
    legend(&mut body, 44.0);
    let mut y = 66.0;

    // 1. Hypnogram.
    if let Some(h) = context
        .hypnogram
        .as_ref()
        .filter(|h| !h.epochs().is_empty())
    {
        let rows = [Stage::W, Stage::R, Stage::N1, Stage::N2, Stage::N3];
        let row_h = 14.0;
        let level = |s: Stage| y + row_h * rows.iter().position(|r| *r == s).unwrap_or(0) as f64;
        for (i, s) in ["W", "R", "N1", "N2", "N3"].iter().enumerate() {
            label(&mut body, y + row_h * i as f64 + 4.0, s);
        }
        let mut path = String::new();
        for (i, &(t0, s)) in h.epochs().iter().enumerate() {
            let t1 = h
                .epochs()
                .get(i + 1)
                .map_or(t0 + h.epoch_s(), |e| e.0.min(t0 + h.epoch_s()));
            let cmd = if i == 0 { 'M' } else { 'L' };
            let _ = write!(path, "{cmd}{:.1},{:.1}H{:.1}", x(t0), level(s), x(t1));
        }
        let _ = writeln!(
            body,
            r##"<path class="hypnogram" d="{path}" fill="none" stroke="#345" stroke-width="1.5"/>"##
        );
        y += row_h * 5.0 + 20.0;
    }

    // 2. Arousals and respiratory events.
    let rows_top = y;
    for (class, name, fill, events) in [
        (
            "arousal",
            "arousals",
            "#a6c",
            context
                .arousals
                .iter()
                .map(|a| (a.onset_s, a.offset_s, "arousal".to_owned()))
                .collect::<Vec<_>>(),
        ),
        (
            "respiratory",
            "respiratory",
            "#39c",
            context
                .respiratory
                .iter()
                .map(|r| {
                    (
                        r.onset_s,
                        r.offset_s,
                        r.kind.clone().unwrap_or_else(|| "respiratory event".into()),
                    )
                })
                .collect(),
        ),
    ] {
        if events.is_empty() {
            continue;
        }
        label(&mut body, y + 10.0, name);
        for (on, off, what) in events {
            rect(
                &mut body,
                class,
                x(on),
                y,
                x(off) - x(on),
                12.0,
                fill,
                &format!("{what} {on:.1}–{off:.1} s"),
            );
        }
        y += 18.0;
    }

    // 3. Leg movements per leg, excluded time shaded.
    let lm_top = y;
    for side in [Side::Left, Side::Right] {
        label(&mut body, y + 12.0, &format!("{} LM", side.as_str()));
        for iv in &report.recording.excluded {
            rect(
                &mut body,
                "excluded",
                x(iv.onset_s),
                y,
                x(iv.offset_s) - x(iv.onset_s),
                16.0,
                "#ddd",
                &format!("excluded {:.1}–{:.1} s", iv.onset_s, iv.offset_s),
            );
        }
        for m in report.leg_movements.iter().filter(|m| m.side == side) {
            rect(
                &mut body,
                &format!("lm {}", side.as_str()),
                x(m.onset_s),
                y,
                x(m.offset_s) - x(m.onset_s),
                16.0,
                "#2a6",
                &format!("{} LM {:.2}–{:.2} s", side.as_str(), m.onset_s, m.offset_s),
            );
        }
        y += 22.0;
    }

    // 4. Candidate movements (by shape and colour) and series.
    label(&mut body, y + 12.0, "candidates");
    for c in &report.candidate_movements {
        let (class, fill, top, height, dash) = if c.periodic {
            ("plm", "#c22", y, 16.0, "")
        } else if c.clm {
            ("clm", "#888", y + 8.0, 8.0, "")
        } else {
            ("nonclm", "none", y, 16.0, r#" stroke-dasharray="2 1.5""#)
        };
        let side = match c.side {
            MovementSide::Left => "left",
            MovementSide::Right => "right",
            MovementSide::Bilateral => "bilateral",
        };
        let imi = c.imi_s.map_or(String::new(), |v| format!(", IMI {v:.1} s"));
        let (x0, w) = (x(c.onset_s), (x(c.offset_s) - x(c.onset_s)).max(1.0));
        let _ = writeln!(
            body,
            r##"<rect class="{class}" x="{x0:.2}" y="{top:.1}" width="{w:.2}" height="{height:.1}" fill="{fill}" stroke="#555" stroke-width="0.5"{dash}><title>{class} ({side}) {:.2}–{:.2} s{imi}</title></rect>"##,
            c.onset_s, c.offset_s,
        );
        if c.periodic {
            triangle(&mut body, x0 + w / 2.0, y - 1.0, "#c22");
        }
    }
    y += 20.0;
    for s in &report.series {
        rect(
            &mut body,
            "series",
            x(s.onset_s),
            y,
            x(s.offset_s) - x(s.onset_s),
            5.0,
            "#e99",
            &format!(
                "series {}: {} PLMs, {:.0}–{:.0} s",
                s.id, s.count, s.onset_s, s.offset_s
            ),
        );
    }
    y += 12.0;
    let start = report
        .recording
        .start_time
        .as_deref()
        .and_then(ClockStart::parse);
    time_axis(
        &mut body,
        rows_top.min(lm_top) - 4.0,
        y,
        duration_s,
        start,
        &x,
    );
    y += 48.0;

    // 5. IMI histogram.
    let hist = &report.summary.imi_histogram;
    let hist_top = y + 10.0;
    let hist_h = 150.0;
    let (hx, hw) = (LEFT, 420.0);
    let span = hist.bin_width * hist.counts.len() as f64;
    let hxs = |v: f64| hx + (v - hist.start) / span.max(1e-9) * hw;
    let peak = hist.counts.iter().copied().max().unwrap_or(0).max(1);
    let _ = writeln!(
        body,
        r#"<text x="{hx}" y="{:.1}" font-size="12">IMI in sleep (s), {} intervals; PLMS index {}, periodicity index {}</text>"#,
        hist_top - 6.0,
        report.summary.imi_count,
        fmt_opt(report.summary.plms_index, "/h"),
        fmt_opt(report.summary.periodicity_index, ""),
    );
    for (i, &n) in hist.counts.iter().enumerate() {
        let h = hist_h * f64::from(n) / f64::from(peak);
        let lo = hist.start + hist.bin_width * i as f64;
        rect(
            &mut body,
            "imi",
            hxs(lo),
            hist_top + hist_h - h,
            hxs(lo + hist.bin_width) - hxs(lo) - 1.0,
            h,
            "#57a",
            &format!("{n} IMIs in {lo:.0}–{:.0} s", lo + hist.bin_width),
        );
    }
    for bound in [report.rules.imi_min_s, report.rules.imi_max_s] {
        if (hist.start..=hist.start + span).contains(&bound) {
            let _ = writeln!(
                body,
                r##"<line class="imi-bound" x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="#c22" stroke-dasharray="4 3"/>"##,
                hxs(bound),
                hist_top,
                hist_top + hist_h
            );
        }
    }
    let base = hist_top + hist_h;
    let _ = writeln!(
        body,
        r##"<line x1="{hx}" x2="{:.1}" y1="{base:.1}" y2="{base:.1}" stroke="#333"/>"##,
        hx + hw
    );
    let mut v = hist.start;
    while v <= hist.start + span + 1e-9 {
        let _ = writeln!(
            body,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{v:.0}</text>"#,
            hxs(v),
            base + 12.0
        );
        v += 10.0;
    }
    let _ = writeln!(
        body,
        r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">IMI (s)</text>"#,
        hx + hw / 2.0,
        base + 26.0
    );
    // Counts on the y-axis: 0, the peak, and a tick between when there is room.
    let _ = writeln!(
        body,
        r##"<line x1="{hx}" x2="{hx}" y1="{hist_top:.1}" y2="{base:.1}" stroke="#333"/>"##
    );
    let mut ticks = vec![0, peak];
    if peak >= 4 {
        ticks.insert(1, peak / 2);
    }
    for n in ticks {
        let ty = base - hist_h * f64::from(n) / f64::from(peak);
        let _ = writeln!(
            body,
            r##"<line x1="{:.1}" x2="{hx}" y1="{ty:.1}" y2="{ty:.1}" stroke="#333"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{n}</text>"##,
            hx - 4.0,
            hx - 6.0,
            ty + 3.5
        );
    }
    let _ = writeln!(
        body,
        r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" transform="rotate(-90 {0:.1} {1:.1})">count</text>"#,
        hx - 30.0,
        hist_top + hist_h / 2.0
    );

    // The indices beside the histogram.
    let sm = &report.summary;
    let mut lines = vec![
        format!("sleep {:.2} h", sm.total_sleep_time_h),
        format!("PLMS index {}", fmt_opt(sm.plms_index, "/h")),
        format!("PLMSnr index {}", fmt_opt(sm.plmsnr_index, "/h")),
        format!(
            "PLMS-arousal index {}",
            fmt_opt(sm.plms_arousal_index, "/h")
        ),
        format!("CLMS index {}", fmt_opt(sm.clms_index, "/h")),
        format!("PLMW index {}", fmt_opt(sm.plmw_index, "/h")),
        format!("periodicity index {}", fmt_opt(sm.periodicity_index, "")),
        format!("PLM/CLM ratio {}", fmt_opt(sm.plm_clm_ratio, "")),
        format!("excluded {:.0} s", report.recording.excluded_s),
    ];
    if report.modality == Modality::Accelerometer {
        lines.push("accelerometer-derived: not a PLMD diagnosis (AASM)".into());
    }
    for (i, line) in lines.iter().enumerate() {
        let _ = writeln!(
            body,
            r#"<text class="index" x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
            hx + hw + 70.0,
            hist_top + 10.0 + 16.0 * i as f64,
            escape(line)
        );
    }
    let base = (base + 26.0).max(hist_top + 16.0 * lines.len() as f64);

    let title = format!(
        "{} night, {:.2} h{} — {} rules: {} LMs, {} PLMs in {} series",
        match report.modality {
            Modality::Emg => "Leg EMG",
            Modality::Accelerometer => "Accelerometer",
            Modality::LegMovementList => "Scored LM list",
        },
        duration_s / 3600.0,
        report
            .recording
            .start_time
            .as_deref()
            .map_or(String::new(), |s| format!(" from {s}")),
        report.rules.name,
        report.leg_movements.len(),
        report
            .candidate_movements
            .iter()
            .filter(|c| c.periodic)
            .count(),
        report.series.len(),
    );
    let height = (base + 30.0).max(200.0);
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h:.0}" viewBox="0 0 {w} {h:.0}" font-family="sans-serif">"#,
            "\n<title>{t}</title>\n",
            r#"<rect width="100%" height="100%" fill="white"/>"#,
            "\n",
            r#"<text x="{l}" y="24" font-size="15">{t}</text>"#,
            "\n{body}</svg>\n"
        ),
        w = WIDTH,
        h = height,
        l = LEFT,
        t = escape(&title),
        body = body,
    )
}

/// A row label at height `y`.
fn label(out: &mut String, y: f64, text: &str) {
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{y:.1}" font-size="11" text-anchor="end">{}</text>"#,
        LEFT - 8.0,
        escape(text)
    );
}

/// A rectangle at least one pixel wide, with a hover title.
#[allow(
    clippy::too_many_arguments,
    reason = "a rectangle is its class, box, fill and hover title"
)]
fn rect(out: &mut String, class: &str, x: f64, y: f64, w: f64, h: f64, fill: &str, title: &str) {
    let _ = writeln!(
        out,
        r#"<rect class="{class}" x="{x:.2}" y="{y:.1}" width="{:.2}" height="{h:.1}" fill="{fill}"><title>{}</title></rect>"#,
        w.max(1.0),
        escape(title)
    );
}

/// Ticks and grid lines from `top` to `bottom` every hour (or 30, 10, 5 or 1 minutes, so
/// that a short recording has at least four), labelled with the clock time when the `start`
/// is known (ticks on the clock's whole steps), else with the time from the start; and the
/// axis' name.
fn time_axis(
    out: &mut String,
    top: f64,
    bottom: f64,
    duration_s: f64,
    start: Option<ClockStart>,
    x: &dyn Fn(f64) -> f64,
) {
    // The longest step that still gives four ticks (an hour for a night).
    let step_s = [3600.0, 1800.0, 600.0, 300.0, 60.0]
        .into_iter()
        .find(|s| duration_s / s >= 4.0)
        .unwrap_or(60.0);
    let start_tod_s = start.map(|s| s.time_of_day_s());
    // The first tick: 0 s from the start, or the clock's first whole step.
    let mut t = start_tod_s.map_or(0.0, |tod| (step_s - tod.rem_euclid(step_s)) % step_s);
    while t <= duration_s + 1e-9 {
        let text = match start_tod_s {
            Some(tod) => {
                let c = (tod + t).rem_euclid(86_400.0).round() as u64;
                format!("{:02}:{:02}", c / 3600, c / 60 % 60)
            }
            None if step_s >= 3600.0 => format!("{:.0}", t / 3600.0),
            None => format!("{:.0}", t / 60.0),
        };
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{top:.1}" y2="{bottom:.1}" stroke="#ccc" stroke-width="0.5"/><text x="{0:.1}" y="{1:.1}" font-size="10" text-anchor="middle">{text}</text>"##,
            x(t),
            bottom + 12.0
        );
        t += step_s;
    }
    let name = match start {
        Some(s) => format!("clock time (recording from {s})"),
        None if step_s >= 3600.0 => "time from the start of the recording (h)".to_owned(),
        None => "time from the start of the recording (min)".to_owned(),
    };
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"#,
        x(0.0) + (x(duration_s) - x(0.0)) / 2.0,
        bottom + 26.0,
        escape(&name)
    );
}

/// The legend: what each mark is (fill, top offset, height, extra attributes, text).
fn legend(out: &mut String, y: f64) {
    const OUTLINE: &str = r##" stroke="#555" stroke-width="0.5""##;
    const ITEMS: [(&str, f64, f64, &str, &str); 8] = [
        ("#c22", 0.0, 10.0, OUTLINE, "PLM"),
        ("#888", 5.0, 5.0, OUTLINE, "CLM, not periodic"),
        (
            "none",
            0.0,
            10.0,
            r##" stroke="#555" stroke-width="0.5" stroke-dasharray="2 1.5""##,
            "nonCLM",
        ),
        ("#2a6", 0.0, 10.0, "", "leg movement"),
        ("#e99", 3.0, 4.0, "", "PLM series"),
        ("#ddd", 0.0, 10.0, "", "excluded"),
        ("#a6c", 0.0, 10.0, "", "arousal"),
        ("#39c", 0.0, 10.0, "", "respiratory event"),
    ];
    let mut lx = LEFT;
    for (fill, top, h, extra, text) in ITEMS {
        let plm = if text == "PLM" {
            tri(lx + 5.0, y - 1.0, fill)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            r#"<g class="legend"><rect x="{lx:.1}" y="{:.1}" width="10" height="{h:.1}" fill="{fill}"{extra}/>{plm}<text x="{:.1}" y="{:.1}" font-size="10">{}</text></g>"#,
            y + top,
            lx + 14.0,
            y + 9.0,
            escape(text)
        );
        // Room for the text at ~6 px per character of 10-px sans-serif.
        lx += 28.0 + 6.0 * text.chars().count() as f64;
    }
}

/// A small downward triangle whose tip is at (`cx`, `bottom`): the PLM mark.
fn tri(cx: f64, bottom: f64, fill: &str) -> String {
    format!(
        r#"<path d="M{:.1},{:.1}L{:.1},{:.1}L{cx:.1},{bottom:.1}Z" fill="{fill}"/>"#,
        cx - 3.5,
        bottom - 6.0,
        cx + 3.5,
        bottom - 6.0
    )
}

/// [`tri`] written out as a mark of the figure.
fn triangle(out: &mut String, cx: f64, bottom: f64, fill: &str) {
    let _ = writeln!(out, "{}", tri(cx, bottom, fill));
}

/// A value with its unit (indices per hour to 0.1, ratios to 0.01), or "n/a".
fn fmt_opt(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "n/a".to_owned(),
        Some(v) if unit.is_empty() => format!("{v:.2}"),
        Some(v) => format!("{v:.1}{unit}"),
    }
}

/// Text safe inside SVG elements and attributes.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
