//! The report: one type for every input modality, with JSON, per-movement CSV and a human
//! summary.
//!
//! Input: the recording description, the rules and settings used, the context and the
//! [`Scored`] night. Output: a [`Report`], serialisable with serde (`to_json`), a CSV table
//! with one row per candidate movement ([`Report::write_events_csv`]) and a short text
//! summary ([`Report::summary_text`]). Times are seconds from the start of the recording,
//! amplitudes µV, indices per hour (denominators in [`Summary`]).

use std::fmt::Write as _;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::detector::DetectorConfig;
use crate::error::{Error, Result};
use crate::events::{Interval, LegMovement, Side};
use crate::filter::MainsLine;
use crate::rules::Rules;
use crate::scoring::{CandidateMovement, Scored, Series, SleepSource, Summary};
use crate::signal::TimeBase;

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
}

/// What context scoring had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextInfo {
    /// A hypnogram was given.
    pub hypnogram: bool,
    /// Number of hypnogram epochs.
    pub epochs: usize,
    /// Number of respiratory events.
    pub respiratory_events: usize,
    /// Number of arousals.
    pub arousals: usize,
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
    /// Assembles a report and its notes.
    #[must_use]
    pub fn new(
        modality: Modality,
        recording: RecordingInfo,
        rules: Rules,
        detector: Option<DetectorConfig>,
        context: &Context,
        scored: Scored,
    ) -> Self {
        let mut notes = Vec::new();
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
                epochs: context.hypnogram.as_ref().map_or(0, |h| h.epochs.len()),
                respiratory_events: context.respiratory.len(),
                arousals: context.arousals.len(),
            },
            leg_movements: scored.leg_movements,
            candidate_movements: scored.candidate_movements,
            series: scored.series,
            summary: scored.summary,
            notes,
        }
    }

    /// The report as pretty-printed JSON.
    ///
    /// # Errors
    /// Never in practice (all fields serialise); kept fallible for the writer variant.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::io(None, std::io::Error::other(e)))
    }

    /// Writes the JSON report to `w`.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_json<W: Write>(&self, mut w: W) -> Result<()> {
        serde_json::to_writer_pretty(&mut w, self)
            .map_err(|e| Error::io(None, std::io::Error::other(e)))?;
        w.write_all(b"\n").map_err(|e| Error::io(None, e))
    }

    /// Writes one CSV row per candidate movement: `onset_s, offset_s, duration_s, side,
    /// parts, clm, imi_s, periodic, series, stage, respiratory, arousal, periodic_nr`.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_events_csv<W: Write>(&self, w: W) -> Result<()> {
        let io = |e: csv::Error| Error::io(None, std::io::Error::other(e));
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "onset_s",
            "offset_s",
            "duration_s",
            "side",
            "parts",
            "clm",
            "imi_s",
            "periodic",
            "series",
            "stage",
            "respiratory",
            "arousal",
            "periodic_nr",
        ])
        .map_err(io)?;
        for c in &self.candidate_movements {
            out.write_record([
                format!("{:.3}", c.onset_s),
                format!("{:.3}", c.offset_s),
                format!("{:.3}", c.offset_s - c.onset_s),
                c.side.as_str().to_owned(),
                c.parts.to_string(),
                c.clm.to_string(),
                c.imi_s.map_or(String::new(), |v| format!("{v:.3}")),
                c.periodic.to_string(),
                c.series.map_or(String::new(), |v| v.to_string()),
                c.stage.map_or(String::new(), |s| format!("{s:?}")),
                c.respiratory.to_string(),
                c.arousal.to_string(),
                c.periodic_nr.to_string(),
            ])
            .map_err(io)?;
        }
        out.flush().map_err(|e| Error::io(None, e))
    }

    /// A short human summary: recording, rules, counts, indices, caveats.
    #[must_use]
    pub fn summary_text(&self) -> String {
        let s = &self.summary;
        let r = &self.recording;
        let idx = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.1}/h"));
        let mut t = String::new();
        let hours = r.duration_s / 3600.0;
        let kind = match self.modality {
            Modality::Emg => "EMG",
            Modality::Accelerometer => "accelerometer",
            Modality::LegMovementList => "leg-movement list",
        };
        let _ = write!(t, "recording   {hours:.2} h {kind}");
        if let Some(fs) = r.sample_rate_hz {
            let _ = write!(t, ", {fs:.2} Hz");
        }
        if !r.channels.is_empty() {
            let legs: Vec<String> = r
                .channels
                .iter()
                .map(|c| {
                    let notch = if c.notch_hz.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", notch {}",
                            c.notch_hz
                                .iter()
                                .map(|f| format!("{f:.0}"))
                                .collect::<Vec<_>>()
                                .join("/")
                        )
                    };
                    if self.modality == Modality::Accelerometer {
                        format!(
                            "{} `{}` (≤ {:.0} Hz, {} posture changes)",
                            c.side.as_str(),
                            c.name,
                            c.band_hz[1],
                            c.posture_changes.unwrap_or(0)
                        )
                    } else {
                        format!(
                            "{} `{}` ({:.0}–{:.0} Hz{notch})",
                            c.side.as_str(),
                            c.name,
                            c.band_hz[0],
                            c.band_hz[1]
                        )
                    }
                })
                .collect();
            let _ = write!(t, ", {}", legs.join(", "));
        }
        t.push('\n');
        if r.excluded_s > 0.0 {
            let _ = writeln!(
                t,
                "excluded    {:.1} s ({:.1}% of the recording)",
                r.excluded_s,
                100.0 * r.excluded_s / r.duration_s
            );
        }
        let _ = writeln!(
            t,
            "rules       {} (IMI {}–{} s, ≥ {} CLMs)",
            self.rules.name, self.rules.imi_min_s, self.rules.imi_max_s, self.rules.min_series_len
        );
        let sleep = match s.sleep_source {
            SleepSource::Hypnogram => {
                format!("sleep {:.2} h from the hypnogram", s.total_sleep_time_h)
            }
            SleepSource::WholeRecording => {
                "no hypnogram: whole recording counted as sleep".to_owned()
            }
        };
        let _ = writeln!(
            t,
            "context     {sleep}; {} respiratory events, {} arousals",
            self.context.respiratory_events, self.context.arousals
        );
        let _ = writeln!(
            t,
            "movements   {} LMs, {} candidates ({} CLM, {} nonCLM), {} PLM in {} series",
            s.lm_count, s.candidate_count, s.clm_count, s.nonclm_count, s.plm_count, s.series_count
        );
        let _ = writeln!(
            t,
            "PLMS index  {}   (CLMS {}, PLMSnr {}, PLMS-arousal {}, PLMW {})",
            idx(s.plms_index),
            idx(s.clms_index),
            idx(s.plmsnr_index),
            idx(s.plms_arousal_index),
            idx(s.plmw_index)
        );
        let pi = s
            .periodicity_index
            .map_or("n/a".to_owned(), |v| format!("{v:.2}"));
        let ratio = s
            .plm_clm_ratio
            .map_or("n/a".to_owned(), |v| format!("{v:.2}"));
        let _ = writeln!(
            t,
            "periodicity index {pi} (Ferri 2006), PLM/CLM ratio {ratio}"
        );
        for n in &self.notes {
            let _ = writeln!(t, "note: {n}");
        }
        t
    }
}
