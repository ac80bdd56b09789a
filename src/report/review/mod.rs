//! The review page: one self-contained HTML file in which a scorer pages through the night
//! and checks each detection against the signal under it, as in Polyman or EDFbrowser.
//!
//! Input: a [`Report`], the [`Context`] it was scored with, and the legs' [`LegTrace`]s
//! ([`crate::Detector::run_traced`]). Output: HTML5 with its style, script and data
//! inline — no network, no external scripts or fonts — that opens from disk in any
//! current browser:
//! * **Overview** of the whole night: hypnogram, arousals, respiratory events, each leg's
//!   LMs, the candidates (a PLM a tall red bar with a triangle, a CLM a half-height grey
//!   bar, a nonCLM a hollow dashed box: told apart by shape as well as colour), the PLM
//!   series, excluded time shaded; clock time when the start is known. A click jumps there.
//! * **Signal pane** for a 30-s epoch, a window of 10 s to 5 min, or a movement. Per leg:
//!   the band-passed EMG (or the accelerometer magnitude), the envelope detection used,
//!   the resting level, the onset level (+8 µV above rest) and the offset margin (+2 µV,
//!   or more on a noisy baseline); each LM shaded and labelled with its candidate's class,
//!   PLM series, IMI and respiratory/arousal association. Amplitude buttons scale it.
//! * **Navigation**: ←/→ (or PageUp/PageDown) previous/next epoch, `p`/`n` previous/next
//!   LM, `s`/`S` next/previous PLM series, `+`/`-` amplitude, `g` a clock or elapsed time
//!   to jump to; a click on a row of the movement table shows that movement.
//! * The summary and notes as `plm detect` prints them, and the rules used.
//!
//! The view's start and current LM are exposed as `data-view-start-s`,
//! `data-view-end-s` and `data-current-lm` on `#signal`, for tests and scripts. What
//! the signal data holds and how it stays small is [`pack`]'s.

mod pack;

use std::io::Write;

use serde::Serialize;

use super::Report;
use crate::detect::LegTrace;
use crate::error::{Error, Location, Result};
use crate::io::{ClockStart, Context, Hypnogram, Stage};
use crate::score::MovementSide;

/// The page's style.
const STYLE: &str = include_str!("review.css");
/// The page's script.
const SCRIPT: &str = include_str!("review.js");

impl Report {
    /// Writes the review page (module docs) of this report, titled `title` (the night's
    /// name), with the `context` it was scored with and the legs' `traces`, to `out`.
    /// Without traces (a report of a leg-movement list) the page has no signal pane.
    ///
    /// # Errors
    /// [`Error::Input`] when a trace's leg is not one of the report's channels;
    /// [`Error::Io`] when writing fails.
    pub fn review_html(
        &self,
        title: &str,
        context: &Context,
        traces: &[LegTrace],
        out: &mut dyn Write,
    ) -> Result<()> {
        for t in traces {
            if !self.recording.channels.iter().any(|c| c.side == t.side) {
                return Err(Error::input(
                    Location::default(),
                    format!(
                        "review page: the trace of `{}` ({} leg) is not a channel of the report",
                        t.name,
                        t.side.as_str()
                    ),
                ));
            }
        }
        let page = page(self, title, context, traces);
        let json = serde_json::to_string(&page)
            .map_err(|e| Error::input(Location::default(), format!("review page data: {e}")))?;
        // Inside <script>, `</script` must not appear: `<` is written as its JSON escape
        // (it only occurs in strings).
        let json = json.replace('<', "\\u003c");
        let title = escape(title);
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>{title} · plm-detect review</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{BODY}<script type=\"application/json\" id=\"data\">{json}</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
        );
        out.write_all(html.as_bytes())
            .map_err(|e| Error::io(None, e))
    }
}

/// The page's markup; the script fills it.
const BODY: &str = r#"<header><h1 id="title"></h1><div id="indices"></div></header>
<div id="overview-box"><canvas id="overview" aria-label="overview of the night"></canvas></div>
<nav id="controls">
<button id="prev-epoch" title="previous epoch (←)">◀ epoch</button><button id="next-epoch" title="next epoch (→)">epoch ▶</button>
<button id="prev-lm" title="previous LM (p)">◀ LM</button><button id="next-lm" title="next LM (n)">LM ▶</button>
<button id="next-series" title="next PLM series (s)">series ▶▶</button>
<label>window <select id="window"><option value="10">10 s</option><option value="30" selected>30 s</option><option value="60">1 min</option><option value="120">2 min</option><option value="300">5 min</option></select></label>
<label>amplitude <button id="amp-down" title="smaller (-)">−</button><span id="amp"></span><button id="amp-up" title="larger (+)">+</button><button id="amp-auto">auto</button></label>
<form id="goto-form"><label>go to <input id="goto" size="10" placeholder="hh:mm:ss" title="clock time (hh:mm[:ss]), elapsed time (90 s, 12 min, 1.5 h) or an epoch (e123); key g"></label></form>
<span id="status" role="status"></span>
</nav>
<div id="view-title"></div>
<div id="signal" data-view-start-s="0" data-view-end-s="0" data-current-lm="-1"><canvas id="signal-canvas" aria-label="signal of the current window"></canvas></div>
<div id="legend"></div>
<p id="keys">Keys: ← → epoch · p n leg movement · s S PLM series · + − amplitude · g go to. Click the overview or a table row to jump.</p>
<main>
<section id="table-box"><h2>Movements</h2><div id="table-scroll"><table id="movements"><thead><tr><th>#</th><th>time</th><th>dur s</th><th>legs</th><th>class</th><th>series</th><th>IMI s</th><th>stage</th><th>resp.</th><th>arousal</th></tr></thead><tbody></tbody></table></div></section>
<section id="about"><h2>Summary</h2><pre id="summary"></pre><h2>Notes</h2><ul id="notes"></ul><h2>Rules</h2><table id="rules"></table></section>
</main>
"#;

/// The page's data: the report's events, the context, the legs' series.
#[derive(Serialize)]
struct Page<'a> {
    title: &'a str,
    version: &'a str,
    unit: &'static str,
    duration_s: f64,
    /// The recording's start: its text and its time of day, s.
    start: Option<(String, f64)>,
    epoch_s: f64,
    legs: Vec<Leg<'a>>,
    /// `[start, end, stage]`.
    hypnogram: Vec<(f64, f64, Stage)>,
    arousals: Vec<(f64, f64)>,
    /// `[onset, offset, kind]`.
    respiratory: Vec<(f64, f64, &'a str)>,
    excluded: Vec<(f64, f64)>,
    /// `[onset, offset, leg index, candidate index or -1]`.
    lms: Vec<(f64, f64, usize, i64)>,
    /// `[onset, offset, legs, class (0 PLM, 1 CLM, 2 nonCLM), series, IMI, stage,
    /// respiratory, arousal]`.
    candidates: Vec<Candidate>,
    /// `[id, onset, offset, PLMs]`.
    series: Vec<(usize, f64, f64, usize)>,
    /// The CLI summary.
    summary: String,
    /// The report's counts and indices.
    indices: serde_json::Value,
    notes: Vec<String>,
    rules: serde_json::Value,
}

type Candidate = (
    f64,
    f64,
    &'static str,
    u8,
    Option<usize>,
    Option<f64>,
    Option<Stage>,
    bool,
    bool,
);

/// One leg on the page.
#[derive(Serialize)]
struct Leg<'a> {
    name: &'a str,
    side: &'static str,
    fs_hz: f64,
    /// Onset level above rest, and the factor of the margin it grows with (accelerometers).
    onset_above: f64,
    onset_factor: Option<f64>,
    offset_above: f64,
    posture_changes: Vec<(f64, f64)>,
    #[serde(flatten)]
    data: pack::LegData,
}

fn page<'a>(
    report: &'a Report,
    title: &'a str,
    context: &'a Context,
    traces: &'a [LegTrace],
) -> Page<'a> {
    let (data, fine_note) = pack::pack(traces, &report.leg_movements);
    let legs = traces
        .iter()
        .zip(data)
        .map(|(t, data)| Leg {
            name: &t.name,
            side: t.side.as_str(),
            fs_hz: t.fs_hz,
            onset_above: t.thresholds.onset_above_rest,
            onset_factor: t.thresholds.onset_noise_factor,
            offset_above: t.thresholds.offset_above_rest,
            posture_changes: t
                .posture_changes
                .iter()
                .map(|x| (x.onset_s, x.offset_s))
                .collect(),
            data,
        })
        .collect::<Vec<_>>();
    let unit = traces.first().map_or(
        if report.modality == super::Modality::Accelerometer {
            "mg"
        } else {
            "µV"
        },
        |t| t.unit.symbol(),
    );
    let hypnogram = context.hypnogram.as_ref().map_or_else(Vec::new, |h| {
        let e = h.epochs();
        e.iter()
            .enumerate()
            .map(|(i, &(t0, s))| {
                let t1 = e
                    .get(i + 1)
                    .map_or(t0 + h.epoch_s(), |n| n.0.min(t0 + h.epoch_s()));
                (t0, t1, s)
            })
            .collect()
    });
    let candidate_of = super::export::candidate_of(report);
    let leg_index = |side| traces.iter().position(|t| t.side == side).unwrap_or(0);
    let lms = report
        .leg_movements
        .iter()
        .zip(&candidate_of)
        .map(|(m, c)| {
            (
                m.onset_s,
                m.offset_s,
                leg_index(m.side),
                c.map_or(-1, |c| c as i64),
            )
        })
        .collect();
    let candidates = report
        .candidate_movements
        .iter()
        .map(|c| {
            let class = match (c.clm, c.periodic) {
                (true, true) => 0,
                (true, false) => 1,
                (false, _) => 2,
            };
            let legs = match c.side {
                MovementSide::Left => "left",
                MovementSide::Right => "right",
                MovementSide::Bilateral => "both",
            };
            (
                c.onset_s,
                c.offset_s,
                legs,
                class,
                c.series,
                c.imi_s,
                c.stage,
                c.respiratory,
                c.arousal,
            )
        })
        .collect();
    let mut notes = report.notes.clone();
    notes.extend(fine_note);
    let start = report
        .recording
        .start_time
        .as_deref()
        .and_then(|s| ClockStart::parse(s).map(|c| (c.to_string(), c.time_of_day_s())));
    Page {
        title,
        version: &report.version,
        unit,
        duration_s: report.recording.duration_s,
        start,
        epoch_s: context.hypnogram.as_ref().map_or(30.0, Hypnogram::epoch_s),
        legs,
        hypnogram,
        arousals: context
            .arousals
            .iter()
            .map(|a| (a.onset_s, a.offset_s))
            .collect(),
        respiratory: context
            .respiratory
            .iter()
            .map(|r| {
                (
                    r.onset_s,
                    r.offset_s,
                    r.kind.as_deref().unwrap_or("respiratory event"),
                )
            })
            .collect(),
        excluded: report
            .recording
            .excluded
            .iter()
            .map(|x| (x.onset_s, x.offset_s))
            .collect(),
        lms,
        candidates,
        series: report
            .series
            .iter()
            .map(|s| (s.id, s.onset_s, s.offset_s, s.count))
            .collect(),
        summary: report.summary_text(),
        indices: serde_json::to_value(&report.summary).unwrap_or(serde_json::Value::Null),
        notes,
        rules: serde_json::to_value(&report.rules).unwrap_or(serde_json::Value::Null),
    }
}

/// `s` with HTML's special characters escaped.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
