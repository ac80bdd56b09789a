//! The pipeline: a night in, a [`Report`] out. Wiring only — each stage is its module's.
//!
//! [`Detector`] runs, for every leg in parallel (one leg per core),
//! [`crate::detect`]'s per-leg detection, then combines the legs' leg movements and
//! excluded stretches and scores them with [`crate::score`](mod@crate::score) into a [`Report`]. [`score`]
//! does the second half alone, for leg movements scored elsewhere.
//!
//! Excluded time (gaps, too-short stretches, stretches too noisy to score) is reported per
//! channel; the union over the channels is excluded from scoring: no IMI is measured
//! across it and it is not in the index denominators.
//!
//! Memory: each leg is filtered in one night-long buffer, which then holds its envelope
//! ([`crate::detect::envelope`]). [`Detector::run`] copies each leg into a fresh buffer,
//! [`Detector::run_owned`] filters the recording's own samples, and [`Detector::run_with`]
//! keeps the buffers in a [`Workspace`] from one night to the next. The buffers are freed
//! once both legs are done, on a thread of their own when large: unmapping 59 MB
//! interrupts every core the process runs on, and slowed the leg still running.

pub(crate) mod ankles;

use crate::detect::accel::detect_accel_leg;
use crate::detect::emg::detect_emg_leg;
use crate::detect::plausibility;
use crate::detect::{DetectorConfig, LegOutcome, LegTrace, LmThresholds, Piece};
use crate::error::{Error, Location, Result};
use crate::events::{Interval, LegMovement, Side, total_s, validate_intervals};
use crate::io::frame::Frame;
use crate::io::{AccelRecording, Context, Night, Recording};
use crate::report::{ChannelInfo, Modality, RecordingInfo, Report};
use crate::score::{Rules, Span, score_night};

/// Detects and scores leg movements: plan once, run on many nights.
///
/// ```
/// use plm_detect::{Context, Detector, DetectorConfig, Rules, SimConfig, simulate};
///
/// let night = simulate(&SimConfig { duration_s: 600.0, ..SimConfig::default() })?;
/// let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default())?;
/// let context = Context { hypnogram: Some(night.hypnogram), ..Context::default() };
/// let report = detector.run(&night.recording, &context)?;
/// println!("PLMS index {:?}/h", report.summary.plms_index);
/// # Ok::<(), plm_detect::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Detector {
    rules: Rules,
    config: DetectorConfig,
    /// The leg-movement rule of `rules`, in µV.
    thresholds: LmThresholds,
}

/// What the report says about a recording, whatever its modality: its grid (every time
/// a leg reports is mapped back to it, past the long gaps not stored) and what the reader
/// noted, and the samples on the grid.
struct Meta {
    frame: Frame,
    samples: usize,
}

impl Meta {
    fn of(frame: &Frame, stored: usize) -> Self {
        Self {
            frame: frame.clone(),
            samples: frame.grid_len(stored),
        }
    }

    fn duration_s(&self) -> f64 {
        self.samples as f64 / self.frame.sample_rate_hz
    }
}

/// One EMG leg to detect: its side, name and samples (µV), in a buffer the detection may
/// filter in place.
type EmgLeg = (Side, String, Vec<f64>);

/// The EMG leg-movement thresholds of `rules` (µV and s, rules digest §1): the one place
/// the rules reach per-leg detection.
#[must_use]
pub fn lm_thresholds(rules: &Rules) -> LmThresholds {
    LmThresholds {
        onset_above_rest: rules.onset_above_rest_uv,
        offset_above_rest: rules.offset_above_rest_uv,
        offset_quiet_s: rules.offset_quiet_s,
        min_lm_s: rules.min_lm_s,
        morphology_check: rules.morphology_check,
        morphology_window_s: rules.morphology_window_s,
        flank_extrapolation_s: None,
        onset_noise_factor: None,
    }
}

impl Detector {
    /// A detector scoring with `rules` and processing signals with `config`.
    ///
    /// # Errors
    /// [`Error::Config`] when either holds a value out of its range.
    pub fn new(rules: Rules, config: DetectorConfig) -> Result<Self> {
        rules.validate()?;
        config.validate()?;
        let thresholds = lm_thresholds(&rules);
        Ok(Self {
            rules,
            config,
            thresholds,
        })
    }

    /// The scoring rules.
    #[must_use]
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The signal-processing settings.
    #[must_use]
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Detects the leg movements of every leg of an EMG night, then scores them with
    /// `context`.
    ///
    /// # Errors
    /// [`Error::Input`] when a leg is sampled too slowly for the band or too short to
    /// filter (no gap-free stretch of `min_stretch_s`), or no part of the night can be
    /// scored — the first leg's fault first; context errors as in [`score`].
    pub fn run(&self, recording: &Recording, context: &Context) -> Result<Report> {
        let legs = recording
            .channels()
            .iter()
            .map(|c| (c.side(), c.name().to_owned(), c.samples_uv().to_vec()))
            .collect();
        self.run_emg(
            Meta::of(recording.frame(), recording.len()),
            legs,
            context,
            None,
            false,
        )
        .map(|(report, _)| report)
    }

    /// [`Detector::run`] on a recording it may consume: each leg is filtered in its own
    /// samples instead of in a copy (one night-long buffer per leg less: 59 MB for an
    /// 8-hour 256 Hz leg). The report is the same.
    ///
    /// # Errors
    /// As [`Detector::run`].
    pub fn run_owned(&self, recording: Recording, context: &Context) -> Result<Report> {
        let (meta, legs) = owned_legs(recording);
        self.run_emg(meta, legs, context, None, false)
            .map(|(report, _)| report)
    }

    /// [`Detector::run`] with the night-long buffers kept in `workspace` between calls:
    /// each leg is copied into a buffer of the workspace and processed there, and the
    /// buffer is kept for the next night. Over a cohort, no night after the first asks
    /// the kernel for fresh memory (for an 8-hour 256 Hz night, 2 × 59 MB whose first
    /// touch costs more than the copy). The report is the same as [`Detector::run`]'s.
    ///
    /// ```
    /// use plm_detect::{Context, Detector, DetectorConfig, Rules, SimConfig, Workspace, simulate};
    ///
    /// let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default())?;
    /// let mut workspace = Workspace::new();
    /// for seed in 1..=3 {
    ///     // A cohort would read each night from its file here.
    ///     let night = simulate(&SimConfig { duration_s: 600.0, seed, ..SimConfig::default() })?;
    ///     let context = Context { hypnogram: Some(night.hypnogram), ..Context::default() };
    ///     let report = detector.run_with(&night.recording, &context, &mut workspace)?;
    ///     println!("night {seed}: PLMS index {:?}/h", report.summary.plms_index);
    /// }
    /// // Two legs of 600 s at 256 Hz, 8 bytes per sample, kept for the next night.
    /// assert!(workspace.capacity_bytes() >= 2 * 600 * 256 * 8);
    /// # Ok::<(), plm_detect::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Detector::run`]. The buffers of a night that fails are freed; the workspace
    /// stays usable.
    pub fn run_with(
        &self,
        recording: &Recording,
        context: &Context,
        workspace: &mut Workspace,
    ) -> Result<Report> {
        let mut spare = std::mem::take(&mut workspace.legs).into_iter();
        let legs = recording
            .channels()
            .iter()
            .map(|c| {
                let mut buffer = spare.next().unwrap_or_default();
                buffer.clear();
                buffer.extend_from_slice(c.samples_uv());
                (c.side(), c.name().to_owned(), buffer)
            })
            .collect();
        // Buffers not needed tonight stay for the next night.
        let rest: Vec<Vec<f64>> = spare.collect();
        let mut kept = Vec::new();
        let report = self.run_emg(
            Meta::of(recording.frame(), recording.len()),
            legs,
            context,
            Some(&mut kept),
            false,
        );
        kept.extend(rest);
        workspace.legs = kept;
        report.map(|(report, _)| report)
    }

    /// Detects the leg movements of every leg of an accelerometer night
    /// (the method: `detect/accel`), then scores them with `context` as EMG's are.
    ///
    /// # Errors
    /// [`Error::Input`] when a leg is sampled below 10 Hz or too short to filter, or no
    /// part of the night can be scored; context errors as in [`score`].
    pub fn run_accel(&self, recording: &AccelRecording, context: &Context) -> Result<Report> {
        self.accel(recording, context, false)
            .map(|(report, _)| report)
    }

    /// Detects and scores a night of either kind as [`Detector::run_owned`] and
    /// [`Detector::run_accel`] do — the same report — and keeps what each leg's detection
    /// saw, for [`Report::review_html`]: the band-passed EMG (or the accelerometer
    /// magnitude), the envelope, resting level and margins, one [`LegTrace`] per leg in
    /// channel order. It needs 4 bytes a sample and about 32 bytes a 10-ms block more per
    /// leg than a plain run (about 120 MB for an 8-hour 256 Hz leg).
    ///
    /// ```
    /// use plm_detect::{Context, Detector, DetectorConfig, Night, Rules, SimConfig, simulate};
    ///
    /// let sim = simulate(&SimConfig { duration_s: 600.0, ..SimConfig::default() })?;
    /// let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default())?;
    /// let context = Context { hypnogram: Some(sim.hypnogram), ..Context::default() };
    /// let (report, traces) = detector.run_traced(Night::Emg(sim.recording), &context)?;
    /// let mut html = Vec::new();
    /// report.review_html("night", &context, &traces, &mut html)?;
    /// assert!(html.starts_with(b"<!DOCTYPE html>"));
    /// # Ok::<(), plm_detect::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Detector::run`] and [`Detector::run_accel`].
    pub fn run_traced(&self, night: Night, context: &Context) -> Result<(Report, Vec<LegTrace>)> {
        match night {
            Night::Emg(recording) => {
                let (meta, legs) = owned_legs(recording);
                self.run_emg(meta, legs, context, None, true)
            }
            Night::Accel(recording) => self.accel(&recording, context, true),
        }
    }

    /// [`Detector::run_accel`], with the legs' traces when `trace`.
    fn accel(
        &self,
        recording: &AccelRecording,
        context: &Context,
        trace: bool,
    ) -> Result<(Report, Vec<LegTrace>)> {
        let fs = recording.sample_rate_hz();
        let outcomes = crate::par::map(recording.legs().iter().collect(), |leg| {
            let name = leg.names().join(",");
            let outcome = detect_accel_leg(
                leg.axes_g(),
                fs,
                leg.side(),
                &name,
                &self.config.accel,
                &self.thresholds,
                trace,
            )?;
            Ok((leg.side(), name, outcome))
        })
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        let mut meta = Meta::of(recording.frame(), recording.len());
        for leg in recording.legs() {
            let magnitude = plausibility::median_magnitude_g(leg.axes_g());
            meta.frame.notes.extend(
                magnitude.and_then(|g| plausibility::accel_note(&leg.names().join(","), g)),
            );
        }
        self.report(meta, Modality::Accelerometer, outcomes, context)
    }

    /// Detects each EMG leg in its buffer, the legs in parallel, and scores them (with
    /// the legs' traces when `trace`). The legs' night-long buffers are freed once both
    /// legs are done, except the sample buffers, which go (emptied) to `keep` when given.
    fn run_emg(
        &self,
        meta: Meta,
        legs: Vec<EmgLeg>,
        context: &Context,
        keep: Option<&mut Vec<Vec<f64>>>,
        trace: bool,
    ) -> Result<(Report, Vec<LegTrace>)> {
        let fs = meta.frame.sample_rate_hz;
        let results = crate::par::map(legs, |(side, name, samples)| {
            let (outcome, buffer, unscorable) = detect_emg_leg(
                samples,
                fs,
                side,
                &name,
                &self.config,
                &self.thresholds,
                trace,
            )?;
            Ok(((side, name, outcome), buffer, unscorable))
        });
        let mut outcomes = Vec::with_capacity(results.len());
        let mut buffers = Vec::with_capacity(results.len());
        let mut flags = Vec::with_capacity(results.len());
        for result in results {
            let (outcome, buffer, unscorable) = result?;
            outcomes.push(outcome);
            buffers.push(buffer);
            flags.push(unscorable);
        }
        let large = flags.iter().any(|f| f.len() >= RELEASE_MIN_BLOCKS);
        match keep {
            Some(keep) => {
                *keep = buffers;
                release(flags, large);
            }
            None => release((buffers, flags), large),
        }
        self.report(meta, Modality::Emg, outcomes, context)
    }

    /// Combines the legs' outcomes and scores them with `context`; the legs' traces, on
    /// the grid, come along.
    fn report(
        &self,
        meta: Meta,
        modality: Modality,
        legs: Vec<(Side, String, LegOutcome)>,
        context: &Context,
    ) -> Result<(Report, Vec<LegTrace>)> {
        let duration_s = meta.duration_s();
        let mut traces = Vec::new();
        let mut lms: Vec<LegMovement> = Vec::new();
        let mut excluded: Vec<Interval> = Vec::new();
        let mut channels = Vec::with_capacity(legs.len());
        let mut notes = meta.frame.notes;
        for (side, name, mut leg) in legs {
            if modality == Modality::Emg {
                notes.extend(
                    leg.median_rest
                        .and_then(|r| plausibility::emg_note(&name, r)),
                );
            }
            if !meta.frame.skips.is_empty() {
                let (skips, fs) = (&meta.frame.skips, meta.frame.sample_rate_hz);
                // A movement lies between two gaps: both edges move with its onset.
                for m in &mut leg.movements {
                    let shift = skips.grid_s(m.onset_s, fs) - m.onset_s;
                    m.onset_s += shift;
                    m.offset_s += shift;
                }
                for x in &mut leg.excluded {
                    x.onset_s = skips.grid_s(x.onset_s, fs);
                    x.offset_s = skips.grid_s(x.offset_s, fs);
                }
                if let Some(trace) = &mut leg.trace {
                    trace.pieces = skips
                        .stretches()
                        .into_iter()
                        .map(|(start, grid)| Piece {
                            start,
                            grid_s: grid as f64 / fs,
                        })
                        .collect();
                    for x in &mut trace.posture_changes {
                        x.onset_s = skips.grid_s(x.onset_s, fs);
                        x.offset_s = skips.grid_s(x.offset_s, fs);
                    }
                }
            }
            traces.extend(leg.trace.take().map(|t| *t));
            let (rest_uv, rest_mg) = match modality {
                Modality::Accelerometer => (None, leg.median_rest),
                _ => (leg.median_rest, None),
            };
            channels.push(ChannelInfo {
                name,
                side,
                band_hz: leg.band_hz,
                filter_order: leg.filter_order,
                notch_hz: leg.mains.iter().map(|l| l.frequency_hz).collect(),
                mains: leg.mains,
                median_rest_uv: rest_uv,
                median_rest_mg: rest_mg,
                posture_changes: leg.posture_changes.as_ref().map(Vec::len),
                excluded_s: total_s(&leg.excluded),
                leg_movements: leg.movements.len(),
            });
            lms.extend(leg.movements);
            excluded.extend(leg.excluded);
        }
        let excluded = merge_intervals(excluded);
        if total_s(&excluded) >= duration_s - 1e-9 {
            // A level far from a leg's (a unit mistake) is the likely reason: say it.
            let levels: Vec<&String> = notes.iter().filter(|n| n.contains("--unit")).collect();
            let mut message = "no part of the recording can be scored (all of it is gaps, too short or too noisy)".to_owned();
            if let Some(n) = levels.first() {
                message.push_str("; ");
                message.push_str(n);
            }
            return Err(Error::input(Location::default(), message));
        }
        let scored = score_night(&lms, context, &self.rules, duration_s, &excluded)?;
        let info = RecordingInfo {
            duration_s,
            sample_rate_hz: Some(meta.frame.sample_rate_hz),
            samples: Some(meta.samples),
            start_time: meta.frame.start_time,
            time_base: Some(meta.frame.time_base),
            excluded_s: total_s(&excluded),
            excluded,
            channels,
            devices: meta.frame.devices,
            sleep_window: meta.frame.sleep_window,
        };
        let report = Report::new(
            modality,
            info,
            self.rules.clone(),
            Some(self.config.clone()),
            context,
            scored,
            notes,
        );
        Ok((report, traces))
    }
}

/// Night-long buffers kept between nights by [`Detector::run_with`]: one per leg, each
/// growing to the longest leg run with it (8 bytes per sample: 59 MB for an 8-hour leg at
/// 256 Hz) and never shrinking; drop the workspace to free them. Nights of any length,
/// rate or number of legs can share one workspace; one workspace serves one run at a
/// time (`&mut`), so give each worker thread its own.
#[derive(Debug, Default)]
pub struct Workspace {
    /// One buffer per leg, in channel order.
    legs: Vec<Vec<f64>>,
}

impl Workspace {
    /// An empty workspace: the first night run with it allocates its buffers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes the buffers hold (their capacity).
    #[must_use]
    pub fn capacity_bytes(&self) -> usize {
        self.legs
            .iter()
            .map(|b| b.capacity() * std::mem::size_of::<f64>())
            .sum()
    }
}

/// Scores a list of monolateral leg movements — hand-scored, or detected elsewhere — as
/// PLMScoRe does, over `span`: the recording's length (by default the hypnogram's end,
/// else the last offset) and the stretches excluded from scoring.
///
/// ```
/// use plm_detect::{Context, LegMovement, Rules, Side, Span, score};
///
/// let lms = [
///     LegMovement::new(100.0, 101.0, Side::Left),
///     LegMovement::new(120.0, 121.5, Side::Right),
///     LegMovement::new(140.0, 141.0, Side::Left),
///     LegMovement::new(160.0, 160.8, Side::Left),
/// ];
/// let span = Span { duration_s: Some(600.0), ..Span::default() };
/// let report = score(&lms, &Context::default(), &Rules::aasm(), span)?;
/// assert_eq!(report.summary.plm_count, 4);
/// # Ok::<(), plm_detect::Error>(())
/// ```
///
/// # Errors
/// [`Error::Input`] when a movement, a context item or an excluded stretch has times that
/// are not finite, a negative onset or an offset before its onset, or when no length can
/// be found; [`Error::Config`] when the rules are invalid.
pub fn score(
    lms: &[LegMovement],
    context: &Context,
    rules: &Rules,
    span: Span<'_>,
) -> Result<Report> {
    let duration_s = span
        .duration_s
        .or_else(|| context.hypnogram.as_ref().map(crate::io::Hypnogram::end_s))
        .or_else(|| lms.iter().map(|m| m.offset_s).reduce(f64::max))
        .filter(|d| *d > 0.0)
        .ok_or_else(|| {
            Error::input(
                Location::default(),
                "cannot tell the recording length: give a duration or a hypnogram",
            )
        })?;
    validate_intervals(
        "excluded stretch",
        span.excluded.iter().map(|e| (e.onset_s, e.offset_s)),
    )?;
    let excluded = merge_intervals(span.excluded.to_vec());
    let scored = score_night(lms, context, rules, duration_s, &excluded)?;
    let info = RecordingInfo {
        duration_s,
        sample_rate_hz: None,
        samples: None,
        start_time: None,
        time_base: None,
        excluded_s: total_s(&excluded),
        excluded,
        channels: Vec::new(),
        devices: Vec::new(),
        sleep_window: None,
    };
    Ok(Report::new(
        Modality::LegMovementList,
        info,
        rules.clone(),
        None,
        context,
        scored,
        Vec::new(),
    ))
}

/// A recording given up: its metadata and its legs, each in its own sample buffer.
fn owned_legs(recording: Recording) -> (Meta, Vec<EmgLeg>) {
    let meta = Meta::of(recording.frame(), recording.len());
    let legs = recording
        .into_channels()
        .into_iter()
        .map(|c| (c.side(), c.name().to_owned(), c.into_samples()))
        .collect();
    (meta, legs)
}

/// Sorts and merges overlapping or touching intervals.
fn merge_intervals(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for iv in v {
        match out.last_mut() {
            Some(last) if iv.onset_s <= last.offset_s => {
                last.offset_s = last.offset_s.max(iv.offset_s);
            }
            _ => out.push(iv),
        }
    }
    out
}

/// Legs of at least this many envelope blocks (about 1.7 hours at 256 Hz; a 13-MB
/// sample buffer) have their buffers freed on a thread of their own; smaller ones cost
/// less to free than a thread to start.
const RELEASE_MIN_BLOCKS: usize = 1 << 19;

/// Frees night-long buffers without making the caller wait: on a thread of their own when
/// `large` (unmapping an 8-hour leg's 59 MB took 4–6 ms, the kernel also flushing the
/// other cores' address translations), else here. Where no thread can be started, they
/// are freed here too (the failed spawn drops them).
fn release<T: Send + 'static>(buffers: T, large: bool) {
    if large {
        let _ = std::thread::Builder::new()
            .name("plm-release".into())
            .spawn(move || drop(buffers));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{SimConfig, simulate};

    fn detector() -> Detector {
        Detector::new(Rules::wasm2016(), DetectorConfig::default()).unwrap()
    }

    /// The context of a simulated night.
    fn context(night: &crate::sim::SimNight) -> Context {
        Context {
            hypnogram: Some(night.hypnogram.clone()),
            respiratory: night.respiratory.clone(),
            arousals: vec![],
        }
    }

    #[test]
    fn run_owned_gives_the_same_report_as_run() {
        let night = simulate(&SimConfig {
            duration_s: 600.0,
            ..SimConfig::default()
        })
        .unwrap();
        let ctx = context(&night);
        let det = detector();
        let borrowed = det.run(&night.recording, &ctx).unwrap();
        let owned = det.run_owned(night.recording.clone(), &ctx).unwrap();
        assert!(!borrowed.leg_movements.is_empty());
        assert_eq!(
            serde_json::to_string(&borrowed).unwrap(),
            serde_json::to_string(&owned).unwrap()
        );
    }

    /// A workspace reused across nights of different lengths, rates and leg counts, and
    /// after a night that fails, gives each night the report [`Detector::run`] gives.
    #[test]
    fn run_with_a_reused_workspace_gives_the_same_reports_as_run() {
        let det = detector();
        let mut ws = Workspace::new();
        let json = |r: &Report| serde_json::to_string(r).unwrap();
        let nights = [(900.0, 256.0, 1), (300.0, 200.0, 2), (600.0, 512.0, 3)];
        let mut movements = 0;
        for (i, &(duration_s, sample_rate_hz, seed)) in nights.iter().enumerate() {
            let night = simulate(&SimConfig {
                seed,
                duration_s,
                sample_rate_hz,
                ..SimConfig::default()
            })
            .unwrap();
            let legs = &night.recording.channels()[..if i == 1 { 1 } else { 2 }];
            let leg = |k: usize| legs.get(k).map(crate::io::Channel::samples_uv);
            let recording = Recording::from_slices(sample_rate_hz, leg(0), leg(1)).unwrap();
            let ctx = context(&night);
            let with = det.run_with(&recording, &ctx, &mut ws).unwrap();
            movements += with.leg_movements.len();
            assert_eq!(json(&with), json(&det.run(&recording, &ctx).unwrap()));
            let n = recording.len() * recording.channels().len();
            assert!(ws.capacity_bytes() >= n * 8);
            // A failing night (too short to filter) leaves the workspace usable.
            let short = |k: usize| leg(k).map(|s| &s[..100]);
            let short = Recording::from_slices(sample_rate_hz, short(0), short(1)).unwrap();
            assert!(det.run_with(&short, &ctx, &mut ws).is_err());
        }
        assert!(movements > 0);
    }

    /// ECG and 60-Hz hum sampled at 200 Hz (the third harmonic folds to 20 Hz, where QRS
    /// complexes carry their energy), and no movement at all: the folded line is found and
    /// removed, and no heartbeat becomes a leg movement. (The development night where a
    /// 20-Hz notch's ringing did make beats into movements is described in
    /// [`crate::dsp::hum`].)
    #[test]
    fn hum_removal_does_not_turn_heartbeats_into_movements() {
        let fs = 200.0;
        let n = 600 * 200;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let samples: Vec<f64> = (0..n)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let noise = ((state >> 11) as f64 / (1u64 << 52) as f64 - 1.0) * 2.0;
                let t = f64::from(i) / fs;
                let tau = std::f64::consts::TAU;
                let hum = 150.0 * (tau * 60.0 * t).sin() + 45.0 * (tau * 180.0 * t + 1.0).sin();
                // A 300-µV, ~20-ms QRS-like spike every 0.9 s.
                let beat = (t % 0.9 - 0.45) / 0.008;
                noise + hum + 300.0 * (-beat * beat).exp()
            })
            .collect();
        let rec = Recording::from_slices(fs, Some(&samples), None).unwrap();
        let report = detector().run(&rec, &Context::default()).unwrap();
        let notched = &report.recording.channels[0].notch_hz;
        assert!(
            notched.iter().any(|f| (f - 20.0).abs() < 0.5),
            "{notched:?}"
        );
        assert_eq!(report.leg_movements.len(), 0);
    }

    #[test]
    fn merges_intervals() {
        let iv = |onset_s, offset_s| Interval { onset_s, offset_s };
        let m = merge_intervals(vec![iv(5.0, 6.0), iv(1.0, 2.0), iv(1.5, 3.0)]);
        assert_eq!(m, vec![iv(1.0, 3.0), iv(5.0, 6.0)]);
    }

    /// A leg's faults come through in leg order: the first leg's first.
    #[test]
    fn too_slow_or_too_short_recordings_are_errors_of_the_first_leg_at_fault() {
        let d = detector();
        let ctx = Context::default();
        let noise =
            |n: usize| -> Vec<f64> { (0..n).map(|i| (i as f64 * 0.7).sin() * 5.0).collect() };
        let gaps = |mut v: Vec<f64>| {
            // Nothing long enough to filter: a NaN every second.
            for i in (0..v.len()).step_by(256) {
                v[i] = f64::NAN;
            }
            v
        };
        let slow = Recording::from_slices(20.0, Some(&noise(2000)), Some(&noise(2000))).unwrap();
        let e = d.run_owned(slow, &ctx).unwrap_err().to_string();
        assert!(e.contains("`left`") && e.contains("too low"), "{e}");
        let n = 256 * 60;
        let short = Recording::from_slices(256.0, Some(&noise(n)), Some(&gaps(noise(n)))).unwrap();
        let e = d.run(&short, &ctx).unwrap_err().to_string();
        assert!(e.contains("`right` is too short to filter"), "{e}");
        let both = Recording::from_slices(256.0, Some(&gaps(noise(n))), Some(&gaps(noise(n))));
        let e = d.run(&both.unwrap(), &ctx).unwrap_err().to_string();
        assert!(e.contains("`left` is too short to filter"), "{e}");
    }

    #[test]
    fn lists_are_scored_over_their_span() {
        let lms: Vec<LegMovement> = (0..6)
            .map(|k| {
                LegMovement::new(
                    100.0 + 20.0 * f64::from(k),
                    101.0 + 20.0 * f64::from(k),
                    Side::Left,
                )
            })
            .collect();
        let ctx = Context::default();
        let whole = score(&lms, &ctx, &Rules::wasm2016(), Span::default()).unwrap();
        assert_eq!(whole.recording.duration_s, 201.0);
        assert_eq!(whole.summary.plm_count, 6);
        let cut = [Interval {
            onset_s: 145.0,
            offset_s: 155.0,
        }];
        let span = Span {
            duration_s: Some(3600.0),
            excluded: &cut,
        };
        let report = score(&lms, &ctx, &Rules::wasm2016(), span).unwrap();
        assert_eq!(
            (report.recording.excluded_s, report.summary.plm_count),
            (10.0, 0)
        );
        let bad = [Interval {
            onset_s: 5.0,
            offset_s: 4.0,
        }];
        let span = Span {
            excluded: &bad,
            ..span
        };
        let e = score(&lms, &ctx, &Rules::wasm2016(), span).unwrap_err();
        assert!(e.to_string().contains("excluded stretch #1"), "{e}");
        assert!(score(&[], &ctx, &Rules::wasm2016(), Span::default()).is_err());
    }
}
