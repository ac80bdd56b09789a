//! Counts and indices of a scored night (rules digest §5), per hour of the matching
//! denominator.
//!
//! Sleep indices are per hour of *scored* sleep (total sleep time minus sleep inside
//! excluded stretches), wake indices per hour of scored wake, stage indices per hour of
//! scored NREM or REM. Without a hypnogram the whole recording counts as sleep
//! ([`Summary::sleep_source`] says so). An index whose denominator is zero is `None`.

use serde::{Deserialize, Serialize};

use super::candidates::CandidateMovement;
use super::rules::{LongMovement, Rules};
use crate::events::{Interval, LegMovement};
use crate::io::context::{Context, Stage};

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

/// Counts and indices of a scored night (rules digest §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Where sleep time came from.
    pub sleep_source: SleepSource,
    /// Total sleep time (N1+N2+N3+REM) within the recording, h; without a hypnogram, the
    /// whole recording less its excluded stretches (gaps are no sleep time).
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

/// Seconds of `[a, b]` covered by the excluded stretches.
fn excluded_within(excluded: &[Interval], a: f64, b: f64) -> f64 {
    excluded
        .iter()
        .map(|e| (e.offset_s.min(b) - e.onset_s.max(a)).max(0.0))
        .sum()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn summarise(
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
            h.epochs()
                .iter()
                .filter(|(_, s)| pred(*s))
                .map(|&(start, _)| {
                    let (a, b) = (start.max(0.0), (start + h.epoch_s()).min(duration_s));
                    if b > a {
                        b - a - excluded_within(excluded, a, b)
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
                // An empty sum is −0.0: reported as 0.
                + 0.0
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
        // The whole recording counts as sleep, but not its excluded stretches: a gap of
        // hours in an EDF+D file is no sleep time.
        let scored = duration_s - excluded_within(excluded, 0.0, duration_s);
        (
            SleepSource::WholeRecording,
            scored,
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
