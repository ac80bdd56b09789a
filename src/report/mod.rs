//! The report of a night: one type for every input — EMG, accelerometers, a list of leg
//! movements scored elsewhere — and its forms.
//!
//! Input: the recording as analysed, the rules and settings used, the context and the
//! scored night. Output: a [`Report`] — serialisable with serde, the JSON `plm detect
//! --json` writes — and its other forms: a CSV table with one row per candidate movement
//! and a text summary ([`Report::write_events_csv`], [`Report::summary_text`]), and an
//! SVG figure of the night ([`Report::svg`]). Times are seconds from the start of the recording, amplitudes µV (EMG) or
//! mg (accelerometers), indices per hour (denominators in [`Summary`]).

mod export;
mod figure;
mod review;
mod summary;
mod write;

use serde::{Deserialize, Serialize};

use crate::detect::DetectorConfig;
use crate::dsp::mains::MainsLine;
use crate::events::{Interval, LegMovement, Side};
use crate::io::{Context, DeviceInfo, Hypnogram, SleepWindow, TimeBase};
use crate::score::Scored;
use crate::score::{CandidateMovement, Rules, Series, SleepSource, Summary};

/// What the leg movements were derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Tibialis-anterior surface EMG.
    Emg,
    /// Ankle/leg 3-axis accelerometers.
    Accelerometer,
    /// A list of leg movements scored elsewhere (`plm score`).
    LegMovementList,
}

/// One analysed channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// Column name.
    pub name: String,
    /// Leg.
    pub side: Side,
    /// Band-pass edges actually used, Hz.
    pub band_hz: [f64; 2],
    /// Butterworth order.
    pub filter_order: usize,
    /// Notched frequencies, Hz.
    pub notch_hz: Vec<f64>,
    /// Mains lines found (auto notch), with prominence in dB.
    pub mains: Vec<MainsLine>,
    /// Median resting level over the night, µV (EMG).
    pub median_rest_uv: Option<f64>,
    /// Median noise floor over the night, mg (accelerometers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_rest_mg: Option<f64>,
    /// Bursts left out as posture changes (accelerometers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posture_changes: Option<usize>,
    /// Time excluded on this channel, s.
    pub excluded_s: f64,
    /// Leg movements detected on this channel.
    pub leg_movements: usize,
}

/// The recording as analysed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingInfo {
    /// Length, s.
    pub duration_s: f64,
    /// Sample rate, Hz (none for an LM list).
    pub sample_rate_hz: Option<f64>,
    /// Samples per channel.
    pub samples: Option<usize>,
    /// Wall-clock start (ISO 8601) when the file had date-times.
    pub start_time: Option<String>,
    /// How the time grid was built.
    pub time_base: Option<TimeBase>,
    /// Total excluded time (union over channels), s.
    pub excluded_s: f64,
    /// The excluded stretches, s.
    pub excluded: Vec<Interval>,
    /// The channels.
    pub channels: Vec<ChannelInfo>,
    /// The ankle devices the night was read from (device files only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceInfo>,
    /// The window of a device night that was scored (device files only): the report's
    /// t = 0 is its start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sleep_window: Option<SleepWindow>,
}

/// What context scoring had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextInfo {
    /// A hypnogram was given.
    pub hypnogram: bool,
    /// Number of hypnogram epochs with a stage.
    pub epochs: usize,
    /// Hypnogram epochs the file marked unscored, movement time or artifact (no stage).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unstaged_epochs: usize,
    /// Number of respiratory events.
    pub respiratory_events: usize,
    /// Number of arousals.
    pub arousals: usize,
    /// The files the context was read from, one entry per part, as the caller recorded
    /// them (the `plm` binary does; the library is given a [`Context`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ContextSource>,
    /// Where t = 0 of clock-time context files came from (`EDF start
    /// 2013-07-26T22:00:00`, `--start-time 22:00:00`, …), when one had clock times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_origin: Option<String>,
}

/// One part of the context and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSource {
    /// `hypnogram`, `respiratory`, `arousals` or `leg_movements`.
    pub part: String,
    /// The file.
    pub file: String,
    /// The format recognised (`CSV`, `NSRR XML`, `Compumedics Profusion XML`, …).
    pub format: String,
    /// Items read: epochs with a stage, events or movements.
    pub count: usize,
}

impl std::fmt::Display for ContextSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} ({}, {})",
            self.part, self.file, self.format, self.count
        )
    }
}

/// Whether `n` is zero (a field left out of the JSON then).
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The full result of one night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `plm-detect` version that wrote it.
    pub version: String,
    /// What the leg movements came from.
    pub modality: Modality,
    /// The recording.
    pub recording: RecordingInfo,
    /// The full scoring rules used.
    pub rules: Rules,
    /// The signal-processing settings used (none for an LM list).
    pub detector: Option<DetectorConfig>,
    /// The context.
    pub context: ContextInfo,
    /// Monolateral leg movements (after same-leg joining, ≥ 0.5 s), sorted by onset.
    pub leg_movements: Vec<LegMovement>,
    /// Candidate movements (CLMs and nonCLMs) after combining legs, in time order.
    pub candidate_movements: Vec<CandidateMovement>,
    /// PLM series.
    pub series: Vec<Series>,
    /// Counts and indices.
    pub summary: Summary,
    /// Caveats a reader must know (no hypnogram, excluded time, ...).
    pub notes: Vec<String>,
}

impl Report {
    /// Assembles a report and its notes: `reader_notes` (what the reader of the night
    /// noticed) first, then the scoring's.
    pub(crate) fn new(
        modality: Modality,
        recording: RecordingInfo,
        rules: Rules,
        detector: Option<DetectorConfig>,
        context: &Context,
        scored: Scored,
        reader_notes: Vec<String>,
    ) -> Self {
        let mut notes = reader_notes;
        if modality == Modality::Accelerometer {
            notes.push(
                "accelerometer-derived indices: the AASM advises against actigraphy as a substitute for EMG in diagnosing PLMD"
                    .to_owned(),
            );
        }
        if scored.summary.sleep_source == SleepSource::WholeRecording {
            notes.push(
                "no hypnogram: the whole recording counts as sleep; indices are per hour of recording and no wake indices are given"
                    .to_owned(),
            );
        }
        if recording.excluded_s > 0.0 {
            notes.push(format!(
                "{:.1} s excluded from scoring (gaps or unscorable noise): no IMI is computed across it and it is not in the denominators",
                recording.excluded_s
            ));
        }
        if let Some(h) = &context.hypnogram {
            notes.extend(hypnogram_notes(h, recording.duration_s));
        }
        if recording.channels.len() == 1 {
            notes.push(format!(
                "one leg only ({}): no bilateral movements can be formed",
                recording.channels[0].side.as_str()
            ));
        }
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            modality,
            recording,
            rules,
            detector,
            context: ContextInfo {
                hypnogram: context.hypnogram.is_some(),
                epochs: context.hypnogram.as_ref().map_or(0, |h| h.epochs().len()),
                unstaged_epochs: context
                    .hypnogram
                    .as_ref()
                    .map_or(0, Hypnogram::unstaged_epochs),
                respiratory_events: context.respiratory.len(),
                arousals: context.arousals.len(),
                sources: Vec::new(),
                clock_origin: None,
            },
            leg_movements: scored.leg_movements,
            candidate_movements: scored.candidate_movements,
            series: scored.series,
            summary: scored.summary,
            notes,
        }
    }
}

/// What a reader must know about how the hypnogram fits the recording: epochs without a
/// stage, a hypnogram that stops early (the rest has no stage) or runs past the end (its
/// epochs there are not counted).
fn hypnogram_notes(h: &Hypnogram, duration_s: f64) -> Vec<String> {
    let mut notes = Vec::new();
    if h.unstaged_epochs() > 0 {
        let n = h.unstaged_epochs();
        notes.push(format!(
            "{n} hypnogram epoch{} unscored, movement time or artifact: no stage, and LMs there count neither in sleep nor in wake",
            if n == 1 { " is" } else { "s are" }
        ));
    }
    let end_s = h.end_s();
    let first_s = h.epochs().first().map_or(0.0, |e| e.0);
    let epoch_s = h.epoch_s();
    if end_s < duration_s - epoch_s || first_s >= epoch_s {
        let covered = (end_s.min(duration_s) - first_s.min(duration_s)).max(0.0);
        notes.push(format!(
            "the hypnogram covers {:.2} h ({:.0} % of the {:.2}-h recording, from {first_s:.0} s to {end_s:.0} s): the rest has no stage, and LMs there count neither in sleep nor in wake",
            covered / 3600.0,
            100.0 * covered / duration_s,
            duration_s / 3600.0
        ));
    }
    if end_s > duration_s + epoch_s {
        let beyond = h.epochs().iter().filter(|e| e.0 >= duration_s).count();
        notes.push(format!(
            "the hypnogram runs to {end_s:.0} s, {:.2} h past the recording's end: its {beyond} epochs there are ignored",
            (end_s - duration_s) / 3600.0
        ));
    }
    notes
}
