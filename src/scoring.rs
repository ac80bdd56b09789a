//! Scoring: from monolateral leg movements to candidate movements, PLM series and indices.
//!
//! Input: monolateral [`LegMovement`]s (s), a [`Context`] (hypnogram, respiratory events,
//! arousals), the [`Rules`], the recording duration (s) and the stretches excluded from
//! scoring (s). Output: [`Scored`] — candidate movements with their IMI, series, stage and
//! associations, the series, and the [`Summary`] indices (per hour).
//!
//! The order of operations is PLMScoRe's (SCORING.md §2), so counts equal the reference
//! implementation's on the same list:
//!
//! 1. on each leg, LMs whose next onset is < `same_leg_join_gap_s` (0.5 s) after the
//!    current offset are joined;
//! 2. LMs shorter than `min_lm_s` (0.5 s) are dropped;
//! 3. LMs longer than `max_monolateral_s` (10 s) are nonCLMs (WASM 2016) or discarded
//!    (AASM);
//! 4. both legs are walked in onset order and combined per [`Bilateral`]; a combined
//!    movement is a nonCLM if it has more than `max_bilateral_parts` (4) parts, lasts more
//!    than `max_bilateral_s` (15 s) or contains a nonCLM;
//! 5. IMIs (onset to onset) are computed between consecutive CLMs, never across a nonCLM
//!    nor across a stretch excluded from scoring, and series of ≥ `min_series_len` (4) CLMs
//!    with every IMI in `[imi_min_s, imi_max_s]` (both inclusive) are marked periodic
//!    (SCORING.md §3; a short IMI is handled per [`ShortImi`]).
//!
//! Context (§4): each candidate takes the stage of the epoch containing its onset; a CLM is
//! respiratory-related when any part of it overlaps a respiratory window; candidates and
//! arousals are associated when they overlap or < `arousal_gap_s` separates them. The "nr"
//! scoring removes respiratory-related CLMs, recomputes IMIs and rebuilds series.
//!
//! Indices (§5) are per hour of the matching denominator: sleep indices per hour of
//! *scored* sleep (total sleep time minus sleep inside excluded stretches), wake indices per
//! hour of scored wake, stage indices per hour of scored NREM / REM. Without a hypnogram the
//! whole recording counts as sleep ([`Summary::sleep_source`] says so). An index whose
//! denominator is zero is `None`.

use serde::{Deserialize, Serialize};

use crate::context::{Context, Stage};
use crate::error::{Error, Location, Result};
use crate::events::{Interval, LegMovement, Side, validate_intervals};
use crate::rules::{Bilateral, LongMovement, RespiratoryAnchor, Rules, ShortImi};

/// The leg(s) of a candidate movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MovementSide {
    /// Left leg only.
    Left,
    /// Right leg only.
    Right,
    /// Both legs (a bilateral movement).
    Bilateral,
}

impl MovementSide {
    /// `"left"`, `"right"` or `"bilateral"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MovementSide::Left => "left",
            MovementSide::Right => "right",
            MovementSide::Bilateral => "bilateral",
        }
    }
}

/// A movement after combining legs: a CLM (candidate for periodicity) or a nonCLM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateMovement {
    /// Onset, s (earliest onset of its parts).
    pub onset_s: f64,
    /// Offset, s (latest offset of its parts).
    pub offset_s: f64,
    /// Which leg(s).
    pub side: MovementSide,
    /// Number of monolateral LMs it was built from.
    pub parts: usize,
    /// `true` for a candidate leg movement (CLM), `false` for a nonCLM (too long, too many
    /// parts).
    pub clm: bool,
    /// Inter-movement interval to the previous CLM, onset to onset, s; `None` for the first
    /// CLM, after a nonCLM or an excluded stretch, and for nonCLMs.
    pub imi_s: Option<f64>,
    /// Part of a PLM series.
    pub periodic: bool,
    /// 1-based id of its series in [`Scored::series`].
    pub series: Option<usize>,
    /// Stage of the epoch containing the onset; `None` without a hypnogram or outside it.
    pub stage: Option<Stage>,
    /// Respiratory-related (CLMr).
    pub respiratory: bool,
    /// Associated with an arousal.
    pub arousal: bool,
    /// Periodic in the "nr" scoring (respiratory-related CLMs removed, series rebuilt).
    pub periodic_nr: bool,
}

/// A PLM series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// 1-based id, in time order.
    pub id: usize,
    /// Onset of its first movement, s.
    pub onset_s: f64,
    /// Offset of its last movement, s.
    pub offset_s: f64,
    /// Number of PLMs in it.
    pub count: usize,
    /// Number of its PLMs whose onset is in sleep.
    pub sleep_count: usize,
}

/// A histogram with fixed-width bins from `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Left edge of the first bin.
    pub start: f64,
    /// Bin width.
    pub bin_width: f64,
    /// Counts per bin; bin `i` is `[start + i·w, start + (i+1)·w)`.
    pub counts: Vec<u32>,
    /// Values below `start`.
    pub underflow: u32,
    /// Values at or above the last bin's right edge.
    pub overflow: u32,
}

impl Histogram {
    fn new(start: f64, bin_width: f64, bins: usize) -> Self {
        Self {
            start,
            bin_width,
            counts: vec![0; bins],
            underflow: 0,
            overflow: 0,
        }
    }

    fn add(&mut self, v: f64) {
        if v < self.start {
            self.underflow += 1;
            return;
        }
        // Divide by the width after rounding to 1e-9 so 10.0 / 2.0 lands in bin 5, and
        // ln-values sitting on an edge are not split by floating error.
        let idx = ((v - self.start) / self.bin_width + 1e-9).floor() as usize;
        match self.counts.get_mut(idx) {
            Some(c) => *c += 1,
            None => self.overflow += 1,
        }
    }
}

/// Where the sleep/wake denominators came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SleepSource {
    /// From the hypnogram.
    Hypnogram,
    /// No hypnogram: the whole recording counts as sleep; indices are per hour of recording.
    WholeRecording,
}

/// Counts and indices of a scored night (SCORING.md §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Where sleep time came from.
    pub sleep_source: SleepSource,
    /// Total sleep time (N1+N2+N3+REM) within the recording, h; the whole recording without
    /// a hypnogram.
    pub total_sleep_time_h: f64,
    /// Sleep time minus sleep inside excluded stretches, h: the sleep-index denominator.
    pub scored_sleep_time_h: f64,
    /// Scored wake time, h: the wake-index denominator.
    pub scored_wake_time_h: f64,
    /// Scored NREM time, h.
    pub scored_nrem_time_h: f64,
    /// Scored REM time, h.
    pub scored_rem_time_h: f64,
    /// Monolateral LMs after same-leg joining and dropping LMs < 0.5 s.
    pub lm_count: usize,
    /// All candidate movements (CLM and nonCLM).
    pub candidate_count: usize,
    /// CLMs anywhere.
    pub clm_count: usize,
    /// nonCLMs anywhere.
    pub nonclm_count: usize,
    /// CLMs in sleep.
    pub clms_count: usize,
    /// CLMs in wake.
    pub clmw_count: usize,
    /// Respiratory-related CLMs in sleep.
    pub clmrs_count: usize,
    /// PLMs anywhere.
    pub plm_count: usize,
    /// PLMs in sleep (respiratory-related included).
    pub plms_count: usize,
    /// PLMs in wake.
    pub plmw_count: usize,
    /// PLMs in sleep in the nr scoring.
    pub plmsnr_count: usize,
    /// Number of PLM series.
    pub series_count: usize,
    /// PLMs in sleep per hour of scored sleep (respiratory-related included).
    pub plms_index: Option<f64>,
    /// CLMs in sleep per hour of scored sleep.
    pub clms_index: Option<f64>,
    /// PLMs in wake per hour of scored wake.
    pub plmw_index: Option<f64>,
    /// CLMs in wake per hour of scored wake.
    pub clmw_index: Option<f64>,
    /// PLMS per hour of scored sleep after removing respiratory-related CLMs and rebuilding
    /// series.
    pub plmsnr_index: Option<f64>,
    /// CLMs in sleep that are not respiratory-related, per hour of scored sleep.
    pub clmsnr_index: Option<f64>,
    /// PLMS associated with an arousal per hour of scored sleep.
    pub plms_arousal_index: Option<f64>,
    /// PLMS in NREM per hour of scored NREM.
    pub plms_nrem_index: Option<f64>,
    /// PLMS in REM per hour of scored REM.
    pub plms_rem_index: Option<f64>,
    /// Periodicity index (Ferri et al., Sleep 2006), 0–1: IMIs in runs of ≥ 3 consecutive
    /// IMIs with 10 < IMI ≤ 90 s, divided by all IMIs (in sleep).
    pub periodicity_index: Option<f64>,
    /// PLMS ÷ CLMS (what PLMScoRe and SOMAS print as "PI"), 0–1.
    pub plm_clm_ratio: Option<f64>,
    /// Number of IMIs in sleep (the periodicity-index denominator).
    pub imi_count: usize,
    /// IMIs in sleep, 2-s bins over 0–90 s.
    pub imi_histogram: Histogram,
    /// ln(IMI/s) in sleep, 0.1-wide bins over 0–4.5.
    pub log_imi_histogram: Histogram,
    /// Mean of ln(IMI/s) over sleep IMIs in `[imi_min_s, imi_max_s]`.
    pub log_imi_mean: Option<f64>,
    /// Standard deviation (n − 1) of the same.
    pub log_imi_sd: Option<f64>,
}

/// The scored night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Monolateral LMs after same-leg joining and dropping LMs shorter than `min_lm_s`,
    /// sorted by onset.
    pub leg_movements: Vec<LegMovement>,
    /// Candidate movements in time order.
    pub candidate_movements: Vec<CandidateMovement>,
    /// PLM series in time order.
    pub series: Vec<Series>,
    /// Counts and indices.
    pub summary: Summary,
}

/// What scoring needs to know about the recording.
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    /// Recording length, s.
    pub duration_s: f64,
    /// Stretches excluded from scoring (gaps, unscorable noise), sorted, non-overlapping.
    pub excluded: &'a [Interval],
}

/// Scores monolateral leg movements (SCORING.md §2–5).
///
/// # Errors
/// [`Error::Input`] when an LM or context item has non-finite times, a negative onset or
/// an offset before its onset, or the duration is not a positive finite number;
/// [`Error::Config`] when the rules are invalid.
pub fn score(
    lms: &[LegMovement],
    context: &Context,
    rules: &Rules,
    span: Span<'_>,
) -> Result<Scored> {
    rules.validate()?;
    context.validate()?;
    validate_intervals("leg movement", lms.iter().map(|m| (m.onset_s, m.offset_s)))?;
    validate_intervals(
        "excluded stretch",
        span.excluded.iter().map(|e| (e.onset_s, e.offset_s)),
    )?;
    if !(span.duration_s.is_finite() && span.duration_s > 0.0) {
        return Err(Error::input(
            Location::default(),
            format!(
                "recording duration must be positive, got {} s",
                span.duration_s
            ),
        ));
    }
    let mut excluded = span.excluded.to_vec();
    excluded.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));

    let leg_movements = join_and_filter(lms, rules);
    let mut cands = combine_legs(&leg_movements, rules);

    // Context of each candidate.
    let resp_windows = respiratory_windows(context, rules);
    for c in &mut cands {
        c.stage = context
            .hypnogram
            .as_ref()
            .and_then(|h| h.stage_at(c.onset_s));
        c.respiratory = c.clm && overlaps_any(&resp_windows, c.onset_s, c.offset_s, 0.0);
        c.arousal = overlaps_any_strict(
            &context.arousals,
            c.onset_s,
            c.offset_s,
            rules.arousal_gap_s,
        );
    }

    // Main scoring.
    let main = periodic_series(&cands, |_| true, rules, &excluded);
    for (i, c) in cands.iter_mut().enumerate() {
        c.imi_s = main.imi[i];
        c.series = main.series_of[i];
        c.periodic = c.series.is_some();
    }
    // "nr" scoring: respiratory-related CLMs removed, IMIs recomputed, series rebuilt.
    let nr = periodic_series(&cands, |c| !c.respiratory, rules, &excluded);
    for (i, c) in cands.iter_mut().enumerate() {
        c.periodic_nr = nr.series_of[i].is_some();
    }

    let in_sleep = |c: &CandidateMovement| match &context.hypnogram {
        Some(_) => c.stage.is_some_and(Stage::is_sleep),
        None => true,
    };
    let in_wake = |c: &CandidateMovement| context.hypnogram.is_some() && c.stage == Some(Stage::W);

    let mut series: Vec<Series> = Vec::with_capacity(main.n_series);
    for c in &cands {
        if let Some(id) = c.series {
            if series.len() < id {
                series.push(Series {
                    id,
                    onset_s: c.onset_s,
                    offset_s: c.offset_s,
                    count: 0,
                    sleep_count: 0,
                });
            }
            let s = &mut series[id - 1];
            s.offset_s = s.offset_s.max(c.offset_s);
            s.count += 1;
            s.sleep_count += usize::from(in_sleep(c));
        }
    }

    let summary = summarise(
        &leg_movements,
        &cands,
        series.len(),
        context,
        rules,
        span.duration_s,
        &excluded,
        in_sleep,
        in_wake,
    );
    Ok(Scored {
        leg_movements,
        candidate_movements: cands,
        series,
        summary,
    })
}

/// Steps 1–2 (and 3 under [`LongMovement::Discard`]): same-leg joining, dropping short LMs.
fn join_and_filter(lms: &[LegMovement], rules: &Rules) -> Vec<LegMovement> {
    let mut out = Vec::with_capacity(lms.len());
    for side in [Side::Left, Side::Right] {
        let mut leg: Vec<LegMovement> = lms.iter().filter(|m| m.side == side).copied().collect();
        leg.sort_by(|a, b| {
            a.onset_s
                .total_cmp(&b.onset_s)
                .then(a.offset_s.total_cmp(&b.offset_s))
        });
        let mut cur: Option<LegMovement> = None;
        for m in leg {
            match &mut cur {
                Some(c) if m.onset_s < c.offset_s + rules.same_leg_join_gap_s => merge_lm(c, &m),
                _ => {
                    if let Some(c) = cur.take() {
                        out.push(c);
                    }
                    cur = Some(m);
                }
            }
        }
        out.extend(cur);
    }
    out.retain(|m| m.duration_s() >= rules.min_lm_s);
    if rules.long_movements == LongMovement::Discard {
        out.retain(|m| m.duration_s() <= rules.max_monolateral_s);
    }
    out.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s).then(a.side.cmp(&b.side)));
    out
}

/// Joins `m` into `c` (same leg): the union span; amplitudes combined.
fn merge_lm(c: &mut LegMovement, m: &LegMovement) {
    let (dc, dm) = (c.duration_s(), m.duration_s());
    c.offset_s = c.offset_s.max(m.offset_s);
    c.peak_uv = match (c.peak_uv, m.peak_uv) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let weighted = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if dc + dm > 0.0 => Some((a * dc + b * dm) / (dc + dm)),
        (a, b) => a.or(b),
    };
    c.mean_uv = weighted(c.mean_uv, m.mean_uv);
    c.mean_mg = weighted(c.mean_mg, m.mean_mg);
    c.peak_mg = match (c.peak_mg, m.peak_mg) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
}

/// Steps 3–4: nonCLM marking and bilateral combination. `lms` is sorted by onset.
fn combine_legs(lms: &[LegMovement], rules: &Rules) -> Vec<CandidateMovement> {
    struct Building {
        onset_s: f64,
        offset_s: f64,
        sides: [bool; 2],
        parts: usize,
        has_long: bool,
    }
    let finish = |b: &Building| {
        let side = match b.sides {
            [true, true] => MovementSide::Bilateral,
            [true, false] => MovementSide::Left,
            _ => MovementSide::Right,
        };
        let dur = b.offset_s - b.onset_s;
        let clm = !b.has_long
            && if side == MovementSide::Bilateral {
                rules.max_bilateral_s.is_none_or(|m| dur <= m)
                    && rules.max_bilateral_parts.is_none_or(|m| b.parts <= m)
            } else {
                // A one-leg movement of several parts (possible when a same-leg LM rides on
                // the growing offset) obeys the monolateral limit as a whole.
                dur <= rules.max_monolateral_s
                    && (b.parts == 1 || rules.max_bilateral_parts.is_none_or(|m| b.parts <= m))
            };
        CandidateMovement {
            onset_s: b.onset_s,
            offset_s: b.offset_s,
            side,
            parts: b.parts,
            clm,
            imi_s: None,
            periodic: false,
            series: None,
            stage: None,
            respiratory: false,
            arousal: false,
            periodic_nr: false,
        }
    };
    let side_idx = |s: Side| usize::from(s == Side::Right);
    let mut out = Vec::with_capacity(lms.len());
    let mut cur: Option<Building> = None;
    for m in lms {
        let long = m.duration_s() > rules.max_monolateral_s;
        let joins = cur.as_ref().is_some_and(|b| match rules.bilateral {
            Bilateral::Gap { gap_s } => m.onset_s >= b.onset_s && m.onset_s < b.offset_s + gap_s,
            Bilateral::Onsets { window_s } => {
                m.onset_s - b.onset_s < window_s && !b.sides[side_idx(m.side)]
            }
        });
        if joins {
            let b = cur.as_mut().expect("joins implies a current movement");
            b.offset_s = b.offset_s.max(m.offset_s);
            b.sides[side_idx(m.side)] = true;
            b.parts += 1;
            b.has_long |= long;
        } else {
            if let Some(b) = cur.take() {
                out.push(finish(&b));
            }
            let mut sides = [false; 2];
            sides[side_idx(m.side)] = true;
            cur = Some(Building {
                onset_s: m.onset_s,
                offset_s: m.offset_s,
                sides,
                parts: 1,
                has_long: long,
            });
        }
    }
    if let Some(b) = cur {
        out.push(finish(&b));
    }
    out
}

/// IMIs and series over the candidates for which `include` holds (step 5).
struct SeriesResult {
    /// Per candidate: its IMI in s; `None` for the first CLM after a break and for the
    /// candidates not looked at (not included, or not CLMs).
    imi: Vec<Option<f64>>,
    /// Per candidate: its series number (from 1), `None` outside a series.
    series_of: Vec<Option<usize>>,
    /// Series found.
    n_series: usize,
}

/// Step 5 over the candidates for which `include` holds: each CLM's IMI from the previous
/// CLM kept (`None` after a break), and the series of at least `min_series_len` CLMs with
/// IMIs within the rules' bounds, numbered from 1. Series break at nonCLMs (when the rules
/// say so), at excluded time between two CLMs, and at short IMIs as `short_imi` says.
fn periodic_series(
    cands: &[CandidateMovement],
    include: impl Fn(&CandidateMovement) -> bool,
    rules: &Rules,
    excluded: &[Interval],
) -> SeriesResult {
    let n = cands.len();
    let mut res = SeriesResult {
        imi: vec![None; n],
        series_of: vec![None; n],
        n_series: 0,
    };
    let mut run: Vec<usize> = Vec::new();
    let mut prev: Option<f64> = None; // onset of the previous kept CLM
    let close = |run: &mut Vec<usize>, res: &mut SeriesResult| {
        if run.len() >= rules.min_series_len {
            res.n_series += 1;
            for &k in run.iter() {
                res.series_of[k] = Some(res.n_series);
            }
        }
        run.clear();
    };
    for (k, c) in cands.iter().enumerate() {
        if !include(c) {
            continue;
        }
        if !c.clm {
            if rules.long_movements == LongMovement::BreakSeries {
                close(&mut run, &mut res);
                prev = None;
            }
            continue;
        }
        if prev.is_some_and(|p| crosses_excluded(excluded, p, c.onset_s)) {
            close(&mut run, &mut res);
            prev = None;
        }
        let imi = prev.map(|p| c.onset_s - p);
        res.imi[k] = imi;
        match imi {
            Some(i) if i >= rules.imi_min_s && i <= rules.imi_max_s => {
                run.push(k);
            }
            Some(i) if i < rules.imi_min_s => match rules.short_imi {
                ShortImi::Restart => {
                    close(&mut run, &mut res);
                    run.push(k);
                }
                ShortImi::Break => {
                    close(&mut run, &mut res);
                }
                ShortImi::Intervening => continue, // skipped: `prev` stays at the last kept CLM
            },
            _ => {
                // First CLM, or IMI > imi_max_s.
                close(&mut run, &mut res);
                run.push(k);
            }
        }
        prev = Some(c.onset_s);
    }
    close(&mut run, &mut res);
    res
}

/// Does any excluded stretch overlap the open interval `(a, b)`?
fn crosses_excluded(excluded: &[Interval], a: f64, b: f64) -> bool {
    let i = excluded.partition_point(|e| e.offset_s <= a);
    excluded.get(i).is_some_and(|e| e.onset_s < b)
}

/// Respiratory association windows, sorted by start.
fn respiratory_windows(context: &Context, rules: &Rules) -> Vec<Interval> {
    let w = rules.respiratory_window;
    let mut v: Vec<Interval> = context
        .respiratory
        .iter()
        .map(|e| {
            let start = match w.anchor {
                RespiratoryAnchor::EventEnd => e.offset_s,
                RespiratoryAnchor::WholeEvent => e.onset_s,
            };
            Interval {
                onset_s: start - w.before_s,
                offset_s: e.offset_s + w.after_s,
            }
        })
        .collect();
    v.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    v
}

/// Does `[on, off]` overlap (closed intervals) any interval widened by `pad` on each side?
fn overlaps_any(intervals: &[Interval], on: f64, off: f64, pad: f64) -> bool {
    intervals
        .iter()
        .any(|w| on <= w.offset_s + pad && w.onset_s - pad <= off)
}

/// Overlap, or separation strictly less than `gap` in either order.
fn overlaps_any_strict(intervals: &[Interval], on: f64, off: f64, gap: f64) -> bool {
    intervals
        .iter()
        .any(|a| a.onset_s - off < gap && on - a.offset_s < gap)
}

/// Seconds of `[a, b]` covered by the excluded stretches.
fn excluded_within(excluded: &[Interval], a: f64, b: f64) -> f64 {
    excluded
        .iter()
        .map(|e| (e.offset_s.min(b) - e.onset_s.max(a)).max(0.0))
        .sum()
}

#[allow(clippy::too_many_arguments)]
fn summarise(
    lms: &[LegMovement],
    cands: &[CandidateMovement],
    series_count: usize,
    context: &Context,
    rules: &Rules,
    duration_s: f64,
    excluded: &[Interval],
    in_sleep: impl Fn(&CandidateMovement) -> bool,
    in_wake: impl Fn(&CandidateMovement) -> bool,
) -> Summary {
    // Denominators.
    let (sleep_source, tst_s, sleep_s, wake_s, nrem_s, rem_s) = if let Some(h) = &context.hypnogram
    {
        let scored = |pred: &dyn Fn(Stage) -> bool| -> f64 {
            h.epochs
                .iter()
                .filter(|(_, s)| pred(*s))
                .map(|&(start, _)| {
                    let (a, b) = (start.max(0.0), (start + h.epoch_s).min(duration_s));
                    if b > a {
                        b - a - excluded_within(excluded, a, b)
                    } else {
                        0.0
                    }
                })
                .sum()
        };
        (
            SleepSource::Hypnogram,
            h.time_s(duration_s, Stage::is_sleep),
            scored(&Stage::is_sleep),
            scored(&|s| s == Stage::W),
            scored(&Stage::is_nrem),
            scored(&|s| s == Stage::R),
        )
    } else {
        let scored = duration_s - excluded_within(excluded, 0.0, duration_s);
        (
            SleepSource::WholeRecording,
            duration_s,
            scored,
            0.0,
            scored,
            0.0,
        )
    };
    let per_h = |count: usize, secs: f64| (secs > 0.0).then(|| count as f64 / (secs / 3600.0));
    let count =
        |pred: &dyn Fn(&CandidateMovement) -> bool| cands.iter().filter(|c| pred(c)).count();

    let clms = count(&|c| c.clm && in_sleep(c));
    let plms = count(&|c| c.periodic && in_sleep(c));
    let nrem = |c: &CandidateMovement| match &context.hypnogram {
        Some(_) => c.stage.is_some_and(Stage::is_nrem),
        None => true,
    };
    let plms_nrem = count(&|c| c.periodic && nrem(c));
    let plms_rem = count(&|c| c.periodic && c.stage == Some(Stage::R));

    // Periodicity index over the sequence of CLM IMIs in sleep (a nonCLM, excluded stretch
    // or wake CLM interrupts runs).
    let mut imi_hist = Histogram::new(0.0, 2.0, 45);
    let mut log_hist = Histogram::new(0.0, 0.1, 45);
    let mut imi_count = 0usize;
    let mut periodic_imis = 0usize;
    let mut run = 0usize;
    let mut logs: Vec<f64> = Vec::new();
    let flush = |run: &mut usize, periodic: &mut usize| {
        if *run >= rules.pi_min_run {
            *periodic += *run;
        }
        *run = 0;
    };
    for c in cands {
        if !c.clm && rules.long_movements == LongMovement::Discard {
            continue;
        }
        match c.imi_s.filter(|_| c.clm && in_sleep(c)) {
            Some(imi) => {
                imi_count += 1;
                imi_hist.add(imi);
                if imi > 0.0 {
                    log_hist.add(imi.ln());
                }
                if imi >= rules.imi_min_s && imi <= rules.imi_max_s && imi > 0.0 {
                    logs.push(imi.ln());
                }
                if imi > rules.pi_imi_min_s && imi <= rules.pi_imi_max_s {
                    run += 1;
                } else {
                    flush(&mut run, &mut periodic_imis);
                }
            }
            None => flush(&mut run, &mut periodic_imis),
        }
    }
    flush(&mut run, &mut periodic_imis);
    let (log_imi_mean, log_imi_sd) = if logs.is_empty() {
        (None, None)
    } else {
        let m = logs.iter().sum::<f64>() / logs.len() as f64;
        let sd = (logs.len() > 1).then(|| {
            (logs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (logs.len() - 1) as f64).sqrt()
        });
        (Some(m), sd)
    };
    let clmsnr = count(&|c| c.clm && !c.respiratory && in_sleep(c));
    let plmsnr = count(&|c| c.periodic_nr && in_sleep(c));
    Summary {
        sleep_source,
        total_sleep_time_h: tst_s / 3600.0,
        scored_sleep_time_h: sleep_s / 3600.0,
        scored_wake_time_h: wake_s / 3600.0,
        scored_nrem_time_h: nrem_s / 3600.0,
        scored_rem_time_h: rem_s / 3600.0,
        lm_count: lms.len(),
        candidate_count: cands.len(),
        clm_count: count(&|c| c.clm),
        nonclm_count: count(&|c| !c.clm),
        clms_count: clms,
        clmw_count: count(&|c| c.clm && in_wake(c)),
        clmrs_count: count(&|c| c.clm && c.respiratory && in_sleep(c)),
        plm_count: count(&|c| c.periodic),
        plms_count: plms,
        plmw_count: count(&|c| c.periodic && in_wake(c)),
        plmsnr_count: plmsnr,
        series_count,
        plms_index: per_h(plms, sleep_s),
        clms_index: per_h(clms, sleep_s),
        plmw_index: per_h(count(&|c| c.periodic && in_wake(c)), wake_s),
        clmw_index: per_h(count(&|c| c.clm && in_wake(c)), wake_s),
        plmsnr_index: per_h(plmsnr, sleep_s),
        clmsnr_index: per_h(clmsnr, sleep_s),
        plms_arousal_index: per_h(count(&|c| c.periodic && c.arousal && in_sleep(c)), sleep_s),
        plms_nrem_index: per_h(plms_nrem, nrem_s),
        plms_rem_index: per_h(plms_rem, rem_s),
        periodicity_index: (imi_count > 0).then(|| periodic_imis as f64 / imi_count as f64),
        plm_clm_ratio: (clms > 0).then(|| plms as f64 / clms as f64),
        imi_count,
        imi_histogram: imi_hist,
        log_imi_histogram: log_hist,
        log_imi_mean,
        log_imi_sd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Hypnogram;
    use crate::context::RespiratoryEvent;

    fn lm(on: f64, off: f64, side: Side) -> LegMovement {
        LegMovement::new(on, off, side)
    }

    fn run(lms: &[LegMovement], rules: &Rules) -> Scored {
        score(
            lms,
            &Context::default(),
            rules,
            Span {
                duration_s: 3600.0,
                excluded: &[],
            },
        )
        .unwrap()
    }

    /// `n` left LMs of 1 s with onsets `start + k * imi`.
    fn train(start: f64, imi: f64, n: usize) -> Vec<LegMovement> {
        (0..n)
            .map(|k| {
                lm(
                    start + k as f64 * imi,
                    start + k as f64 * imi + 1.0,
                    Side::Left,
                )
            })
            .collect()
    }

    fn periodic(s: &Scored) -> Vec<bool> {
        s.candidate_movements.iter().map(|c| c.periodic).collect()
    }

    #[test]
    fn imi_bounds_are_inclusive_at_10_and_90() {
        let r = Rules::wasm2016();
        assert_eq!(run(&train(100.0, 10.0, 4), &r).summary.plm_count, 4);
        assert_eq!(run(&train(100.0, 9.999, 4), &r).summary.plm_count, 0);
        assert_eq!(run(&train(100.0, 10.001, 4), &r).summary.plm_count, 4);
        assert_eq!(run(&train(100.0, 90.0, 4), &r).summary.plm_count, 4);
        assert_eq!(run(&train(100.0, 89.999, 4), &r).summary.plm_count, 4);
        assert_eq!(run(&train(100.0, 90.001, 4), &r).summary.plm_count, 0);
        assert_eq!(run(&train(100.0, 20.0, 3), &r).summary.plm_count, 0);
        // AASM: 5–90 s.
        assert_eq!(
            run(&train(100.0, 5.0, 4), &Rules::aasm()).summary.plm_count,
            4
        );
        assert_eq!(
            run(&train(100.0, 4.999, 4), &Rules::aasm())
                .summary
                .plm_count,
            0
        );
    }

    #[test]
    fn bilateral_gap_below_half_a_second_merges() {
        let r = Rules::wasm2016();
        let s = run(
            &[lm(10.0, 11.0, Side::Left), lm(11.499, 12.0, Side::Right)],
            &r,
        );
        assert_eq!(s.candidate_movements.len(), 1);
        assert_eq!(s.candidate_movements[0].side, MovementSide::Bilateral);
        assert_eq!(s.candidate_movements[0].offset_s, 12.0);
        let s = run(
            &[lm(10.0, 11.0, Side::Left), lm(11.501, 12.1, Side::Right)],
            &r,
        );
        assert_eq!(s.candidate_movements.len(), 2);
        // Exactly 0.5 s is not "< 0.5 s".
        let s = run(
            &[lm(10.0, 11.0, Side::Left), lm(11.5, 12.1, Side::Right)],
            &r,
        );
        assert_eq!(s.candidate_movements.len(), 2);
    }

    #[test]
    fn same_leg_join_then_short_lms_dropped() {
        let r = Rules::wasm2016();
        // 0.3 s + 0.3 s with a 0.2 s gap: joined into 0.8 s, kept.
        let s = run(
            &[lm(10.0, 10.3, Side::Left), lm(10.5, 10.8, Side::Left)],
            &r,
        );
        assert_eq!(s.leg_movements.len(), 1);
        assert!((s.leg_movements[0].duration_s() - 0.8).abs() < 1e-12);
        // Alone, a 0.3 s LM is not an LM.
        assert_eq!(
            run(&[lm(10.0, 10.3, Side::Left)], &r).leg_movements.len(),
            0
        );
        assert_eq!(
            run(&[lm(10.0, 10.5, Side::Left)], &r).leg_movements.len(),
            1
        );
    }

    #[test]
    fn long_lm_is_a_nonclm_that_breaks_the_series() {
        let r = Rules::wasm2016();
        let mut lms = train(100.0, 20.0, 4);
        lms.push(lm(180.0, 190.01, Side::Right)); // 10.01 s
        lms.extend(train(200.0, 20.0, 3));
        let s = run(&lms, &r);
        let c = &s.candidate_movements;
        assert_eq!(c.len(), 8);
        assert!(!c[4].clm && c[4].imi_s.is_none());
        assert_eq!(c[5].imi_s, None, "no IMI across a nonCLM");
        assert_eq!(
            periodic(&s),
            vec![true, true, true, true, false, false, false, false]
        );
        // A 10 s LM is still a CLM; under AASM the long LM is discarded and does not break.
        let s = run(&lms, &Rules::aasm());
        assert_eq!(s.candidate_movements.len(), 7);
        assert_eq!(s.summary.plm_count, 7);
    }

    #[test]
    fn five_part_bilateral_is_a_nonclm() {
        let r = Rules::wasm2016();
        let parts = [
            lm(10.0, 11.0, Side::Left),
            lm(10.8, 12.0, Side::Right),
            lm(12.2, 13.0, Side::Left),
            lm(12.9, 14.0, Side::Right),
        ];
        let s = run(&parts, &r);
        assert_eq!(s.candidate_movements.len(), 1);
        assert!(s.candidate_movements[0].clm);
        assert_eq!(s.candidate_movements[0].parts, 4);
        let mut five = parts.to_vec();
        five.push(lm(14.3, 15.0, Side::Left));
        let s = run(&five, &r);
        assert_eq!(s.candidate_movements.len(), 1);
        assert_eq!(s.candidate_movements[0].parts, 5);
        assert!(!s.candidate_movements[0].clm);
        // A bilateral over 15 s is a nonCLM too.
        let s = run(
            &[lm(10.0, 19.0, Side::Left), lm(18.0, 25.1, Side::Right)],
            &r,
        );
        assert!(!s.candidate_movements[0].clm);
    }

    #[test]
    fn short_imi_restarts_a_series_per_plmscore() {
        // 3 periodic, a short IMI, then 3 more: the CLM after the short IMI starts a new
        // series of 4 (PLMScoRe); the first 3 are not enough.
        let mut lms = train(100.0, 20.0, 3);
        lms.extend(train(145.0, 20.0, 4)); // 145 - 140 = 5 s IMI
        let s = run(&lms, &Rules::wasm2016());
        assert_eq!(
            periodic(&s),
            vec![false, false, false, true, true, true, true]
        );
        assert_eq!(s.summary.series_count, 1);
        // SOMAS reading: the CLM after the short IMI cannot start a series.
        let mut r = Rules::wasm2016();
        r.short_imi = ShortImi::Break;
        assert_eq!(run(&lms, &r).summary.plm_count, 0);
        // WASM 2006: the intervening CLM is skipped and the next IMI (from 140) is 25 s.
        r.short_imi = ShortImi::Intervening;
        let s = run(&lms, &r);
        assert_eq!(
            periodic(&s),
            vec![true, true, true, false, true, true, true]
        );
        assert_eq!(s.candidate_movements[4].imi_s, Some(25.0));
    }

    #[test]
    fn aasm_bilateral_uses_onsets_within_5_s() {
        let r = Rules::aasm();
        let s = run(
            &[lm(10.0, 11.0, Side::Left), lm(14.9, 16.0, Side::Right)],
            &r,
        );
        assert_eq!(s.candidate_movements.len(), 1);
        let s = run(
            &[lm(10.0, 11.0, Side::Left), lm(15.0, 16.0, Side::Right)],
            &r,
        );
        assert_eq!(s.candidate_movements.len(), 2);
        // Same leg never combines under AASM.
        let s = run(
            &[lm(10.0, 11.0, Side::Left), lm(13.0, 14.0, Side::Left)],
            &r,
        );
        assert_eq!(s.candidate_movements.len(), 2);
    }

    #[test]
    fn respiratory_window_and_nr_rebuild() {
        let lms = train(100.0, 20.0, 6); // onsets 100,120,...,200
        // Event ending at 150: WASM window [148, 160.25] catches the LM at 160–161.
        let ctx = Context {
            respiratory: vec![RespiratoryEvent {
                onset_s: 130.5,
                offset_s: 150.0,
                kind: None,
            }],
            ..Context::default()
        };
        let s = score(
            &lms,
            &ctx,
            &Rules::wasm2016(),
            Span {
                duration_s: 3600.0,
                excluded: &[],
            },
        )
        .unwrap();
        let resp: Vec<bool> = s
            .candidate_movements
            .iter()
            .map(|c| c.respiratory)
            .collect();
        assert_eq!(resp, vec![false, false, false, true, false, false]);
        assert_eq!(
            s.summary.plms_count, 6,
            "plms_index keeps respiratory-related PLMs"
        );
        // nr: remove 160 → IMI 140→180 = 40 s, series of 5 remains.
        assert_eq!(s.summary.plmsnr_count, 5);
        // Edge: window end is inclusive-by-overlap: LM starting exactly at 160.25 counts.
        let ctx2 = Context {
            respiratory: vec![RespiratoryEvent {
                onset_s: 100.0,
                offset_s: 109.75,
                kind: None,
            }],
            ..Context::default()
        };
        let s = score(
            &[lm(120.0, 121.0, Side::Left)],
            &ctx2,
            &Rules::wasm2016(),
            Span {
                duration_s: 3600.0,
                excluded: &[],
            },
        )
        .unwrap();
        assert!(s.candidate_movements[0].respiratory);
    }

    #[test]
    fn arousal_association_is_strictly_below_half_a_second() {
        let ctx = |on: f64, off: f64| Context {
            arousals: vec![Interval {
                onset_s: on,
                offset_s: off,
            }],
            ..Context::default()
        };
        let sp = Span {
            duration_s: 3600.0,
            excluded: &[],
        };
        let r = Rules::wasm2016();
        let one = [lm(100.0, 101.0, Side::Left)];
        assert!(
            score(&one, &ctx(101.499, 105.0), &r, sp)
                .unwrap()
                .candidate_movements[0]
                .arousal
        );
        assert!(
            !score(&one, &ctx(101.5, 105.0), &r, sp)
                .unwrap()
                .candidate_movements[0]
                .arousal
        );
        assert!(
            score(&one, &ctx(95.0, 99.6), &r, sp)
                .unwrap()
                .candidate_movements[0]
                .arousal
        );
        assert!(
            !score(&one, &ctx(95.0, 99.5), &r, sp)
                .unwrap()
                .candidate_movements[0]
                .arousal
        );
    }

    #[test]
    fn stage_by_onset_and_indices_per_hour() {
        // 2 h: first hour wake, second hour N2.
        let mut stages = vec![Stage::W; 120];
        stages.extend(vec![Stage::N2; 120]);
        let ctx = Context {
            hypnogram: Some(Hypnogram::from_stages(30.0, &stages)),
            ..Context::default()
        };
        // A series crossing the wake→sleep boundary at 3600 s: onsets 3540..3640 step 20.
        let lms = train(3540.0, 20.0, 6);
        let s = score(
            &lms,
            &ctx,
            &Rules::wasm2016(),
            Span {
                duration_s: 7200.0,
                excluded: &[],
            },
        )
        .unwrap();
        assert_eq!(s.summary.plm_count, 6);
        assert_eq!(s.summary.plmw_count, 3);
        assert_eq!(s.summary.plms_count, 3);
        assert!((s.summary.plms_index.unwrap() - 3.0).abs() < 1e-12);
        assert!((s.summary.plmw_index.unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(s.summary.plms_rem_index, None);
        assert_eq!(s.summary.sleep_source, SleepSource::Hypnogram);
    }

    #[test]
    fn periodicity_index_counts_runs_of_three() {
        // IMIs: 20,20,20 (run of 3) then 5 (breaks) then 20,20 (run of 2).
        let mut lms = train(100.0, 20.0, 4); // IMIs 20,20,20
        lms.extend(train(165.0, 20.0, 3)); // 165-160=5, then 20, 20
        let s = run(&lms, &Rules::wasm2016());
        assert_eq!(s.summary.imi_count, 6);
        assert!((s.summary.periodicity_index.unwrap() - 3.0 / 6.0).abs() < 1e-12);
        // IMI of exactly 10 s is not > 10: not periodic for the PI.
        let s = run(&train(100.0, 10.0, 5), &Rules::wasm2016());
        assert_eq!(s.summary.periodicity_index, Some(0.0));
        assert_eq!(s.summary.plm_clm_ratio, Some(1.0));
    }

    #[test]
    fn excluded_stretch_breaks_series_and_shrinks_denominator() {
        let lms = train(100.0, 20.0, 6);
        let ex = [Interval {
            onset_s: 145.0,
            offset_s: 155.0,
        }];
        let s = score(
            &lms,
            &Context::default(),
            &Rules::wasm2016(),
            Span {
                duration_s: 3600.0,
                excluded: &ex,
            },
        )
        .unwrap();
        assert_eq!(s.candidate_movements[3].imi_s, None);
        assert_eq!(s.summary.plm_count, 0);
        assert!((s.summary.scored_sleep_time_h - 3590.0 / 3600.0).abs() < 1e-12);
    }

    #[test]
    fn histograms() {
        let s = run(&train(100.0, 20.0, 3), &Rules::wasm2016());
        assert_eq!(s.summary.imi_histogram.counts[10], 2);
        let ln20 = 20f64.ln();
        assert_eq!(s.summary.log_imi_histogram.counts[(ln20 / 0.1) as usize], 2);
        assert!((s.summary.log_imi_mean.unwrap() - ln20).abs() < 1e-12);
    }

    #[test]
    fn bad_lists_are_errors_not_panics() {
        let sp = Span {
            duration_s: 3600.0,
            excluded: &[],
        };
        let e = score(
            &[lm(5.0, 4.0, Side::Left)],
            &Context::default(),
            &Rules::wasm2016(),
            sp,
        )
        .unwrap_err();
        assert!(e.to_string().contains("leg movement #1"), "{e}");
        assert!(
            score(
                &[lm(f64::NAN, 4.0, Side::Left)],
                &Context::default(),
                &Rules::wasm2016(),
                sp
            )
            .is_err()
        );
        let sp0 = Span {
            duration_s: 0.0,
            excluded: &[],
        };
        assert!(score(&[], &Context::default(), &Rules::wasm2016(), sp0).is_err());
    }
}
