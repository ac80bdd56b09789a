//! The detector: recording → filtered EMG → envelope → leg movements → scored [`Report`].
//!
//! Input: a [`Recording`] (µV, Hz) and a [`Context`]. Output: a [`Report`]. Each leg is
//! processed independently up to its leg movements; both legs' movements then go through
//! the one scoring path ([`crate::scoring::score`]), which is also what
//! [`score_movements`] uses for hand-scored lists.
//!
//! Per leg:
//! 1. gap-free stretches shorter than `min_stretch_s` are excluded;
//! 2. mains hum is looked for in the raw signal ([`NotchMode::Auto`]), with its harmonics
//!    up to 1.5 × the upper band edge;
//! 3. Butterworth band-pass (`highpass_hz`–`lowpass_hz`, the upper edge capped at
//!    `max_upper_fraction` × rate so it stays below Nyquist), zero-phase, per stretch;
//!    the hum lines are then subtracted as tracked sinusoids ([`crate::hum`]; or, with
//!    [`MainsRemoval::Notch`], notched inside the band-pass);
//! 4. envelope and resting level ([`crate::envelope`]);
//! 5. leg movements ([`crate::detect`]).
//!
//! Excluded time (gaps, too-short stretches, stretches whose resting level is above
//! `max_rest_uv`) is reported per channel; the union over channels is excluded from
//! scoring: no IMI is computed across it and it is removed from the index denominators.

use serde::{Deserialize, Serialize};

use crate::accel::{self, AccelConfig, AccelRecording};
use crate::context::Context;
use crate::envelope::Envelope;
use crate::envelope::{self, EnvelopeConfig};
use crate::error::{Error, Location, Result};
use crate::events::{Interval, LegMovement, Side};
use crate::filter::{self, Band, MainsLine, ZeroPhase};
use crate::report::{ChannelInfo, Modality, RecordingInfo, Report};
use crate::rules::Rules;
use crate::scoring::{self, Span};
use crate::signal::{Channel, Recording};

/// Which mains hum lines to remove (how: [`MainsRemoval`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotchMode {
    /// None.
    Off,
    /// Detect 50/60 Hz hum (and harmonics) from each channel's spectrum; remove what is
    /// found.
    Auto,
    /// This frequency (Hz) and its harmonics below the band edge.
    Fixed(f64),
}

/// How the mains hum lines found (or given) are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MainsRemoval {
    /// Subtract each line as a sinusoid tracked by running medians ([`crate::hum`]):
    /// transients such as ECG QRS complexes pass unchanged, with no ringing.
    Subtract,
    /// IIR notch per line (quality factor `notch_q`), zero-phase with the band-pass. It
    /// rings for about `notch_q / (π f0)` s after a transient at its frequency.
    Notch,
}

/// Signal-processing settings of the detector (the scoring numbers live in [`Rules`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// High-pass edge, Hz. Default 10 (AASM routine leg EMG filter, SCORING.md §1).
    pub highpass_hz: f64,
    /// Low-pass edge, Hz. Default 100 (AASM), capped at `max_upper_fraction` × rate.
    pub lowpass_hz: f64,
    /// Largest upper edge as a fraction of the sample rate. Default 0.45 (90 Hz at 200 Hz).
    pub max_upper_fraction: f64,
    /// Butterworth band-pass order (scipy's N: N sections, 2N poles). Default 4.
    pub filter_order: usize,
    /// Mains notch. Default `auto`.
    pub notch: NotchMode,
    /// How hum lines are removed. Default `subtract` (see [`crate::hum`] for why not a
    /// notch).
    pub mains_removal: MainsRemoval,
    /// Running-median window tracking each hum line's amplitude and phase, s (with
    /// `mains_removal: subtract`). Default 2: about 20 blocks of 0.1 s, of which a
    /// heartbeat's QRS complex disturbs at most two per beat.
    pub hum_window_s: f64,
    /// Notch quality factor (bandwidth = f0 / Q), with `mains_removal: notch`. Default 30.
    pub notch_q: f64,
    /// Prominence a spectral line needs to count as hum, dB. Default 10.
    pub notch_min_prominence_db: f64,
    /// Shortest gap-free stretch that is analysed, s. Default 2.
    pub min_stretch_s: f64,
    /// Envelope and resting-level settings.
    pub envelope: EnvelopeConfig,
    /// Settings of the accelerometer path ([`crate::accel`]).
    pub accel: AccelConfig,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            highpass_hz: 10.0,
            lowpass_hz: 100.0,
            max_upper_fraction: 0.45,
            filter_order: 4,
            notch: NotchMode::Auto,
            mains_removal: MainsRemoval::Subtract,
            hum_window_s: 2.0,
            notch_q: 30.0,
            notch_min_prominence_db: 10.0,
            min_stretch_s: 2.0,
            envelope: EnvelopeConfig::default(),
            accel: AccelConfig::default(),
        }
    }
}

impl DetectorConfig {
    /// Parses a JSON object whose fields override the defaults at any depth (a partial
    /// `{"accel": {"onset_mg": 30}}` keeps every other default, including the
    /// accelerometer's own envelope settings), then validates the result.
    ///
    /// # Errors
    /// [`Error::Config`] for malformed JSON, unknown fields, wrong types or invalid values.
    pub fn from_json(json: &str) -> Result<Self> {
        let overlay: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::config("detector_config", format!("not valid JSON: {e}")))?;
        if !overlay.is_object() {
            return Err(Error::config("detector_config", "must be a JSON object"));
        }
        let mut merged = serde_json::to_value(Self::default())
            .map_err(|e| Error::config("detector_config", e.to_string()))?;
        deep_merge(&mut merged, overlay);
        let config: Self = serde_json::from_value(merged)
            .map_err(|e| Error::config("detector_config", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges (rate-dependent checks happen in [`Detector::run`]).
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let pos = Error::require_positive;
        pos("highpass_hz", self.highpass_hz)?;
        pos("lowpass_hz", self.lowpass_hz)?;
        pos("notch_q", self.notch_q)?;
        pos("hum_window_s", self.hum_window_s)?;
        pos("min_stretch_s", self.min_stretch_s)?;
        if !(self.max_upper_fraction > 0.0 && self.max_upper_fraction < 0.5) {
            return Err(Error::config("max_upper_fraction", "must be in (0, 0.5)"));
        }
        if self.highpass_hz >= self.lowpass_hz {
            return Err(Error::config("highpass_hz", "must be below lowpass_hz"));
        }
        if !(1..=12).contains(&self.filter_order) {
            return Err(Error::config(
                "filter_order",
                format!("must be 1–12, got {}", self.filter_order),
            ));
        }
        if let NotchMode::Fixed(f) = self.notch {
            pos("notch", f)?;
        }
        if !self.notch_min_prominence_db.is_finite() {
            return Err(Error::config("notch_min_prominence_db", "must be finite"));
        }
        self.envelope.validate()?;
        self.accel.validate()
    }
}

/// Detects and scores leg movements. Plan once, run on many recordings.
#[derive(Debug, Clone, Default)]
pub struct Detector {
    rules: Rules,
    config: DetectorConfig,
}

/// What the report says about a recording, whatever its modality.
struct Meta {
    duration_s: f64,
    sample_rate_hz: f64,
    samples: usize,
    start_time: Option<String>,
    time_base: crate::signal::TimeBase,
}

/// One leg after filtering: its envelope and what the filter did.
#[derive(Debug, Clone)]
pub struct Conditioned {
    /// Amplitude, resting level and edge amplitude per block, µV.
    pub envelope: envelope::Envelope,
    /// Mains lines notched.
    pub mains: Vec<MainsLine>,
    /// Band-pass edges used, Hz.
    pub band_hz: [f64; 2],
}

/// What detection found on one leg, before scoring.
#[derive(Debug, Clone)]
pub struct LegResult {
    /// Leg movements, s.
    pub movements: Vec<LegMovement>,
    /// Stretches excluded on this leg, s.
    pub excluded: Vec<Interval>,
    /// Channel details for the report.
    pub info: ChannelInfo,
}

impl Detector {
    /// A detector with the given rules and settings.
    ///
    /// # Errors
    /// [`Error::Config`] when either is invalid.
    pub fn new(rules: Rules, config: DetectorConfig) -> Result<Self> {
        rules.validate()?;
        config.validate()?;
        Ok(Self { rules, config })
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

    /// Detects leg movements on every channel, then scores them with `context`.
    ///
    /// # Errors
    /// [`Error::Input`] when the recording is invalid, too short to filter (no gap-free
    /// stretch of `min_stretch_s`), or sampled too slowly for the band; context errors as in
    /// [`crate::scoring::score`].
    pub fn run(&self, recording: &Recording, context: &Context) -> Result<Report> {
        recording.check_layout()?;
        let fs = recording.sample_rate_hz;
        let legs = self.legs_then_release(recording.channels.iter().collect(), |c| {
            (c.samples_uv.clone(), fs, c.side, &c.name)
        })?;
        self.score_legs(recording, legs, context)
    }

    /// Runs [`Detector::detect_leg_in`] on every leg, in parallel, on the samples and
    /// names `leg` gives; the night-long buffers are freed only once every leg is done,
    /// on a thread of their own when large ([`RELEASE_MIN_BLOCKS`]). Freed while the other
    /// leg still ran, they slowed it: unmapping 59 MB interrupts every core that runs the
    /// process (its address translations must be flushed), and the leg with more spikes,
    /// still running, took 11–12 ms instead of 7.5 ms for its unscorable flags.
    fn legs_then_release<'a, T: Send>(
        &self,
        legs: Vec<T>,
        leg: impl Fn(T) -> (Vec<f64>, f64, Side, &'a str) + Sync,
    ) -> Result<Vec<LegResult>> {
        let outs = first_error(crate::par::map(legs, |item| {
            let (samples, fs, side, name) = leg(item);
            self.detect_leg_in(samples, fs, side, name)
        }))?;
        let mut results = Vec::with_capacity(outs.len());
        let mut spent = Vec::with_capacity(outs.len());
        for (result, buffer, unscorable) in outs {
            results.push(result);
            if unscorable.len() >= RELEASE_MIN_BLOCKS {
                spent.push((buffer, unscorable));
            }
        }
        if !spent.is_empty() {
            release(spent);
        }
        Ok(results)
    }

    /// [`Detector::run`] with night-long buffers kept in `workspace` between calls: each
    /// leg is copied into a buffer of the workspace and processed there, and the buffer
    /// is kept for the next night instead of being freed. Over a cohort, no night after
    /// the first asks the kernel for fresh memory (for an 8-hour 256 Hz night, 2 × 59 MB
    /// whose first touch costs more than the copy). The report is the same as
    /// [`Detector::run`]'s.
    ///
    /// ```
    /// use plm_detect::simulate::{SimConfig, simulate};
    /// use plm_detect::{Context, Detector, Workspace};
    ///
    /// let detector = Detector::default();
    /// let mut workspace = Workspace::new();
    /// for seed in 1..=3 {
    ///     // A cohort would read each night from its file here.
    ///     let night = simulate(&SimConfig {
    ///         duration_s: 600.0,
    ///         seed,
    ///         ..SimConfig::default()
    ///     })?;
    ///     let context = Context {
    ///         hypnogram: Some(night.hypnogram),
    ///         ..Context::default()
    ///     };
    ///     let report = detector.run_with(&night.recording, &context, &mut workspace)?;
    ///     println!("night {seed}: PLMS index {:?}/h", report.summary.plms_index);
    /// }
    /// // Two legs of 600 s at 256 Hz, 8 bytes per sample, kept for the next night.
    /// assert!(workspace.capacity_bytes() >= 2 * 600 * 256 * 8);
    /// # Ok::<(), plm_detect::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Detector::run`]. The buffers of a leg that fails are freed; the workspace
    /// stays usable.
    pub fn run_with(
        &self,
        recording: &Recording,
        context: &Context,
        workspace: &mut Workspace,
    ) -> Result<Report> {
        recording.check_layout()?;
        let fs = recording.sample_rate_hz;
        let n = recording.channels.len();
        if workspace.legs.len() < n {
            workspace.legs.resize_with(n, Vec::new);
        }
        let jobs: Vec<(&Channel, Vec<f64>)> = recording
            .channels
            .iter()
            .zip(workspace.legs.iter_mut().map(std::mem::take))
            .collect();
        let mut outs = crate::par::map(jobs, |(c, mut buffer)| {
            buffer.clear();
            buffer.extend_from_slice(&c.samples_uv);
            self.detect_leg_in(buffer, fs, c.side, &c.name)
        });
        // The buffers of the legs that succeeded go back to the workspace either way.
        for (slot, out) in workspace.legs.iter_mut().zip(&mut outs) {
            if let Ok((_, buffer, _)) = out {
                *slot = std::mem::take(buffer);
            }
        }
        let legs = first_error(outs)?
            .into_iter()
            .map(|(leg, _, _)| leg)
            .collect();
        self.score_legs(recording, legs, context)
    }

    /// [`Detector::run`] on a recording it may consume: each leg is filtered in place in
    /// its own samples instead of in a copy (one night-long buffer per leg less: 59 MB for
    /// an 8-hour 256 Hz leg). The report is the same.
    ///
    /// # Errors
    /// As [`Detector::run`].
    pub fn run_owned(&self, recording: Recording, context: &Context) -> Result<Report> {
        let mut recording = recording;
        recording.check_layout()?;
        let meta = emg_meta(&recording);
        let fs = recording.sample_rate_hz;
        let mut channels = std::mem::take(&mut recording.channels);
        let legs = self.legs_then_release(channels.iter_mut().collect(), |c| {
            (
                std::mem::take(&mut c.samples_uv),
                fs,
                c.side,
                c.name.as_str(),
            )
        })?;
        self.score_with(meta, Modality::Emg, legs, context)
    }

    /// Scores per-leg detections of `recording` (the second half of [`Detector::run`]).
    ///
    /// # Errors
    /// As [`crate::scoring::score`].
    pub fn score_legs(
        &self,
        recording: &Recording,
        legs: Vec<LegResult>,
        context: &Context,
    ) -> Result<Report> {
        self.score_with(emg_meta(recording), Modality::Emg, legs, context)
    }

    /// Detects leg movements on every leg of an accelerometer night ([`crate::accel`]),
    /// then scores them with `context` through the same scoring as EMG.
    ///
    /// # Errors
    /// [`Error::Input`] when the recording is invalid, sampled below 10 Hz or too short to
    /// filter; context errors as in [`crate::scoring::score`].
    pub fn run_accel(&self, recording: &AccelRecording, context: &Context) -> Result<Report> {
        recording.validate()?;
        let fs = recording.sample_rate_hz;
        let legs = per_leg(recording.legs.iter().collect(), |leg| {
            let name = leg.names.join(",");
            let r = accel::detect_leg(
                &leg.axes_g,
                fs,
                leg.side,
                &self.config.accel,
                &self.rules,
                &name,
            )?;
            let info = ChannelInfo {
                name,
                side: leg.side,
                band_hz: [0.0, r.conditioned.lowpass_hz],
                filter_order: 4,
                notch_hz: Vec::new(),
                mains: Vec::new(),
                median_rest_uv: None,
                median_rest_mg: r.conditioned.envelope.rest().median_finite(),
                posture_changes: Some(r.posture_changes.len()),
                excluded_s: crate::events::total_s(&r.excluded),
                leg_movements: r.movements.len(),
            };
            Ok(LegResult {
                movements: r.movements,
                excluded: r.excluded,
                info,
            })
        })?;
        let meta = Meta {
            duration_s: recording.duration_s(),
            sample_rate_hz: fs,
            samples: recording.len(),
            start_time: recording.start_time.clone(),
            time_base: recording.time_base,
        };
        self.score_with(meta, Modality::Accelerometer, legs, context)
    }

    fn score_with(
        &self,
        meta: Meta,
        modality: Modality,
        legs: Vec<LegResult>,
        context: &Context,
    ) -> Result<Report> {
        let duration_s = meta.duration_s;
        let mut lms: Vec<LegMovement> = Vec::new();
        let mut excluded: Vec<Interval> = Vec::new();
        let mut channels = Vec::new();
        for leg in legs {
            lms.extend(leg.movements);
            excluded.extend(leg.excluded);
            channels.push(leg.info);
        }
        let excluded = merge_intervals(excluded);
        if crate::events::total_s(&excluded) >= duration_s - 1e-9 {
            return Err(Error::input(
                Location::default(),
                "no part of the recording can be scored (all of it is gaps, too short or too noisy)",
            ));
        }
        let scored = scoring::score(
            &lms,
            context,
            &self.rules,
            Span {
                duration_s,
                excluded: &excluded,
            },
        )?;
        let info = RecordingInfo {
            duration_s,
            sample_rate_hz: Some(meta.sample_rate_hz),
            samples: Some(meta.samples),
            start_time: meta.start_time,
            time_base: Some(meta.time_base),
            excluded_s: crate::events::total_s(&excluded),
            excluded,
            channels,
        };
        Ok(Report::new(
            modality,
            info,
            self.rules.clone(),
            Some(self.config.clone()),
            context,
            scored,
        ))
    }

    /// Filters one leg's raw samples (µV at `fs_hz`) and computes its envelope and resting
    /// level: steps 1–4 of the module docs. Useful for plotting what the detector saw.
    ///
    /// # Errors
    /// [`Error::Input`] when no stretch is long enough to filter or the rate is too low for
    /// the band; [`Error::Config`] for a bad design.
    pub fn envelope_leg(&self, samples_uv: &[f64], fs_hz: f64, name: &str) -> Result<Conditioned> {
        let mut conditioned = self
            .envelope_leg_owned(samples_uv.to_vec(), fs_hz, name)
            .map_err(Error::from)?;
        conditioned.envelope.shrink_to_fit();
        Ok(conditioned)
    }

    /// [`Detector::envelope_leg`], filtering in place in `samples_uv`.
    fn envelope_leg_owned(
        &self,
        samples_uv: Vec<f64>,
        fs_hz: f64,
        name: &str,
    ) -> std::result::Result<Conditioned, LegError> {
        let infinite = |i: usize| LegError::Infinite(crate::signal::infinite_sample(name, i));
        // Until the filter's scan, an error gives way to an infinite sample, as when the
        // recording is validated first ([`Recording::validate`]).
        let (mains, zp, min_len, upper) = match self.design_leg(&samples_uv, fs_hz, name) {
            Ok(design) => design,
            Err(e) => {
                return Err(
                    crate::signal::first_infinite(&samples_uv).map_or(LegError::Other(e), infinite)
                );
            }
        };
        let cfg = &self.config;

        // Filter each gap-free stretch in place; the scan for gaps also finds infinite
        // samples.
        let mut filtered = samples_uv;
        let mut scratch = Vec::new();
        match zp.filter_stretches_scan(&mut filtered, min_len, &mut scratch) {
            Ok(()) => {}
            Err(filter::Stop::Infinite(i)) => return Err(infinite(i)),
            Err(filter::Stop::TooShort) => {
                let what = format!("channel `{name}`");
                return Err(LegError::Other(filter::too_short(&what, min_len, fs_hz)));
            }
        }
        drop(scratch);
        if cfg.mains_removal == MainsRemoval::Subtract {
            for line in &mains {
                crate::hum::subtract_hum(
                    &mut filtered,
                    fs_hz,
                    line.frequency_hz,
                    cfg.hum_window_s,
                )?;
            }
        }
        let envelope = envelope::envelope_in(
            filtered,
            fs_hz,
            &cfg.envelope,
            self.rules.morphology_window_s,
            self.rules.offset_above_rest_uv,
        )?;
        Ok(Conditioned {
            envelope,
            mains,
            band_hz: [cfg.highpass_hz, upper],
        })
    }

    /// The leg's filter: the hum lines found (or given), the zero-phase band-pass (with
    /// notches where asked), the shortest stretch filtered, and the upper band edge, Hz.
    fn design_leg(
        &self,
        samples_uv: &[f64],
        fs_hz: f64,
        name: &str,
    ) -> Result<(Vec<MainsLine>, ZeroPhase, usize, f64)> {
        let cfg = &self.config;
        let upper = cfg.lowpass_hz.min(cfg.max_upper_fraction * fs_hz);
        if upper <= cfg.highpass_hz * 1.2 {
            return Err(Error::input(
                Location::default(),
                format!(
                    "channel `{name}`: a sample rate of {fs_hz} Hz is too low for a {}–{} Hz EMG band-pass (needs ≥ {:.0} Hz)",
                    cfg.highpass_hz,
                    cfg.lowpass_hz,
                    cfg.highpass_hz * 1.2 / cfg.max_upper_fraction
                ),
            ));
        }
        let mains: Vec<MainsLine> = match cfg.notch {
            NotchMode::Off => Vec::new(),
            NotchMode::Auto => filter::detect_mains(
                samples_uv,
                fs_hz,
                (1.5 * upper).min(fs_hz / 2.0 - 1.0),
                cfg.notch_min_prominence_db,
            ),
            NotchMode::Fixed(f0) => {
                let mut v = Vec::new();
                let mut k = 1.0;
                while k * f0 <= (1.5 * upper).min(fs_hz / 2.0 - 1.0) {
                    v.push(MainsLine {
                        frequency_hz: k * f0,
                        prominence_db: f64::NAN,
                    });
                    k += 1.0;
                }
                v
            }
        };
        let mut sos = filter::butterworth(
            cfg.filter_order,
            Band::BandPass(cfg.highpass_hz, upper),
            fs_hz,
        )?;
        if cfg.mains_removal == MainsRemoval::Notch {
            for line in &mains {
                sos.push(filter::notch(line.frequency_hz, cfg.notch_q, fs_hz)?);
            }
        }
        let zp = ZeroPhase::new(sos)?;
        let min_len = zp
            .min_len()
            .max((cfg.min_stretch_s * fs_hz).ceil() as usize);
        Ok((mains, zp, min_len, upper))
    }

    /// Runs filtering, envelope and detection on one leg's raw samples (µV at `fs_hz`).
    ///
    /// # Errors
    /// As [`Detector::envelope_leg`].
    pub fn detect_leg(
        &self,
        samples_uv: &[f64],
        fs_hz: f64,
        side: Side,
        name: &str,
    ) -> Result<LegResult> {
        self.detect_leg_owned(samples_uv.to_vec(), fs_hz, side, name)
    }

    /// [`Detector::detect_leg`], filtering in place in `samples_uv`; night-long buffers
    /// are then freed (on a thread of their own when large, see [`RELEASE_MIN_BLOCKS`]).
    fn detect_leg_owned(
        &self,
        samples_uv: Vec<f64>,
        fs_hz: f64,
        side: Side,
        name: &str,
    ) -> Result<LegResult> {
        let (leg, buffer, unscorable) = self
            .detect_leg_in(samples_uv, fs_hz, side, name)
            .map_err(Error::from)?;
        if unscorable.len() >= RELEASE_MIN_BLOCKS {
            release((buffer, unscorable));
        }
        Ok(leg)
    }

    /// [`Detector::detect_leg`], filtering in place in `samples_uv`: the leg's result, the
    /// emptied buffer that held `samples_uv` and then the envelope (for reuse, or to be
    /// freed), and the unscorable flags per block.
    fn detect_leg_in(
        &self,
        samples_uv: Vec<f64>,
        fs_hz: f64,
        side: Side,
        name: &str,
    ) -> std::result::Result<(LegResult, Vec<f64>, Vec<bool>), LegError> {
        let cfg = &self.config;
        let n_samples = samples_uv.len();
        let Conditioned {
            envelope: env,
            mains,
            band_hz,
        } = self.envelope_leg_owned(samples_uv, fs_hz, name)?;
        let (unscorable, excluded) = scorability(&env, fs_hz, n_samples, true, |r, m| {
            r > cfg.envelope.max_rest_uv || m >= self.rules.onset_above_rest_uv
        });
        let movements = crate::detect::detect(
            &env,
            side,
            &crate::detect::LmThresholds::emg(&self.rules),
            &unscorable,
        );

        let median_rest_uv = env.rest().median_finite();
        let info = ChannelInfo {
            name: name.to_owned(),
            side,
            band_hz,
            filter_order: cfg.filter_order,
            notch_hz: mains.iter().map(|l| l.frequency_hz).collect(),
            mains,
            median_rest_uv,
            median_rest_mg: None,
            posture_changes: None,
            excluded_s: crate::events::total_s(&excluded),
            leg_movements: movements.len(),
        };
        Ok((
            LegResult {
                movements,
                excluded,
                info,
            },
            env.into_buffer(),
            unscorable,
        ))
    }
}

/// Why a leg could not be processed.
enum LegError {
    /// An infinite sample: reported before any other fault of a recording, as
    /// [`Recording::validate`] does.
    Infinite(Error),
    /// Anything else.
    Other(Error),
}

impl From<Error> for LegError {
    fn from(e: Error) -> Self {
        LegError::Other(e)
    }
}

impl From<LegError> for Error {
    fn from(e: LegError) -> Self {
        match e {
            LegError::Infinite(e) | LegError::Other(e) => e,
        }
    }
}

/// The legs' results, or the error a validation of the recording followed by the legs in
/// order would have met first: the first leg's infinite sample, else the first leg's
/// error.
fn first_error<T>(outs: Vec<std::result::Result<T, LegError>>) -> Result<Vec<T>> {
    let mut done = Vec::with_capacity(outs.len());
    let mut other = None;
    for out in outs {
        match out {
            Ok(v) => done.push(v),
            Err(LegError::Infinite(e)) => return Err(e),
            Err(LegError::Other(e)) => {
                other.get_or_insert(e);
            }
        }
    }
    other.map_or(Ok(done), Err)
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

/// What the report says about an EMG recording.
fn emg_meta(recording: &Recording) -> Meta {
    Meta {
        duration_s: recording.duration_s(),
        sample_rate_hz: recording.sample_rate_hz,
        samples: recording.len(),
        start_time: recording.start_time.clone(),
        time_base: recording.time_base,
    }
}

/// Envelopes of at least this many blocks (about 1.7 hours at 256 Hz, 13 MB) are freed
/// by [`release`]; smaller ones cost less to free than a thread to start.
const RELEASE_MIN_BLOCKS: usize = 1 << 19;

/// Frees a leg's night-long buffers on a thread of their own, so that the leg's result
/// does not wait for it: unmapping the envelope's 59 MB (an 8-hour leg at 256 Hz) took
/// 4–6 ms, because the kernel must also flush the other cores' address translations.
/// Where no thread can be started, the buffers are freed here (the failed spawn drops
/// them).
fn release<T: Send + 'static>(buffers: T) {
    let _ = std::thread::Builder::new()
        .name("plm-release".into())
        .spawn(move || drop(buffers));
}

/// Runs `f` on every leg, the legs in parallel (one scoped thread each; a night has at most
/// two), returning the results in leg order — the same results as a sequential loop.
fn per_leg<T: Send, R: Send>(legs: Vec<T>, f: impl Fn(T) -> Result<R> + Sync) -> Result<Vec<R>> {
    crate::par::map(legs, f).into_iter().collect()
}

/// One pass over the blocks of `env`: which are unscorable (`unscorable(rest, margin)`),
/// and the excluded intervals in seconds (unscorable blocks, and those without amplitude or
/// resting level); block `k` covers `[k, k+1) · block / fs`, clipped to the `n_samples` of
/// the recording. The margin is read only when `with_margin`.
pub(crate) fn scorability(
    env: &Envelope,
    fs_hz: f64,
    n_samples: usize,
    with_margin: bool,
    unscorable: impl Fn(f64, f64) -> bool,
) -> (Vec<bool>, Vec<Interval>) {
    let secs = |k: usize| ((k * env.block) as f64 / fs_hz).min(n_samples as f64 / fs_hz);
    let amplitude = env.amplitude();
    let mut flags: Vec<bool> = Vec::with_capacity(env.len());
    let mut excluded = Vec::new();
    // The first block of the excluded run under way.
    let mut open: Option<usize> = None;
    // Per chunk: the flags in one sweep, then the runs of blocks that are unscorable or
    // unknown, looked at only where a run starts or ends.
    let mut scan = |k0: usize, rest: &[f64], margin: Option<&[f64]>| {
        let first = flags.len();
        match margin {
            Some(margin) => flags.extend(rest.iter().zip(margin).map(|(&r, &m)| unscorable(r, m))),
            None => flags.extend(rest.iter().map(|&r| unscorable(r, f64::NAN))),
        }
        let chunk = flags[first..].iter().zip(rest).zip(&amplitude[k0..]);
        for (i, ((&u, &r), &a)) in chunk.enumerate() {
            let bad = u | !a.is_finite() | !r.is_finite();
            if bad != open.is_some() {
                match open.take() {
                    None => open = Some(k0 + i),
                    Some(s) => excluded.push(Interval {
                        onset_s: secs(s),
                        offset_s: secs(k0 + i),
                    }),
                }
            }
        }
    };
    if with_margin {
        envelope::for_each_chunk([env.rest(), env.margin()], 0, |k0, [rest, margin]| {
            scan(k0, rest, Some(margin));
        });
    } else {
        envelope::for_each_chunk([env.rest()], 0, |k0, [rest]| scan(k0, rest, None));
    }
    if let Some(s) = open {
        excluded.push(Interval {
            onset_s: secs(s),
            offset_s: secs(env.len()),
        });
    }
    (flags, excluded)
}

/// Scores a list of monolateral leg movements (what PLMScoRe does). The recording length
/// is `duration_s` if given, else the hypnogram's end, else the last offset.
///
/// # Errors
/// As [`crate::scoring::score`]; [`Error::Input`] when no duration can be found.
pub fn score_movements(
    lms: &[LegMovement],
    context: &Context,
    rules: &Rules,
    duration_s: Option<f64>,
) -> Result<Report> {
    let duration_s = duration_s
        .or_else(|| {
            context
                .hypnogram
                .as_ref()
                .map(crate::context::Hypnogram::end_s)
        })
        .or_else(|| lms.iter().map(|m| m.offset_s).reduce(f64::max))
        .filter(|d| *d > 0.0)
        .ok_or_else(|| {
            Error::input(
                Location::default(),
                "cannot tell the recording length: give a duration or a hypnogram",
            )
        })?;
    let scored = scoring::score(
        lms,
        context,
        rules,
        Span {
            duration_s,
            excluded: &[],
        },
    )?;
    let info = RecordingInfo {
        duration_s,
        sample_rate_hz: None,
        samples: None,
        start_time: None,
        time_base: None,
        excluded_s: 0.0,
        excluded: Vec::new(),
        channels: Vec::new(),
    };
    Ok(Report::new(
        Modality::LegMovementList,
        info,
        rules.clone(),
        None,
        context,
        scored,
    ))
}

/// Overwrites `base` with `overlay`, recursing into objects present in both.
fn deep_merge(base: &mut serde_json::Value, overlay: serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => deep_merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_owned_gives_the_same_report_as_run() {
        let night = crate::simulate::simulate(&crate::simulate::SimConfig {
            duration_s: 600.0,
            ..crate::simulate::SimConfig::default()
        })
        .unwrap();
        let ctx = Context {
            hypnogram: Some(night.hypnogram.clone()),
            respiratory: night.respiratory.clone(),
            arousals: vec![],
        };
        let det = Detector::default();
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
        let det = Detector::default();
        let mut ws = Workspace::new();
        let json = |r: &Report| serde_json::to_string(r).unwrap();
        let nights = [(900.0, 256.0, 1), (300.0, 200.0, 2), (600.0, 512.0, 3)];
        let mut movements = 0;
        for (i, &(duration_s, sample_rate_hz, seed)) in nights.iter().enumerate() {
            let mut night = crate::simulate::simulate(&crate::simulate::SimConfig {
                seed,
                duration_s,
                sample_rate_hz,
                ..crate::simulate::SimConfig::default()
            })
            .unwrap();
            if i == 1 {
                night.recording.channels.truncate(1);
            }
            let ctx = Context {
                hypnogram: Some(night.hypnogram.clone()),
                respiratory: night.respiratory.clone(),
                arousals: vec![],
            };
            let with = det.run_with(&night.recording, &ctx, &mut ws).unwrap();
            movements += with.leg_movements.len();
            assert_eq!(json(&with), json(&det.run(&night.recording, &ctx).unwrap()));
            let n = night.recording.len() * night.recording.channels.len();
            assert!(ws.capacity_bytes() >= n * 8);
            // A failing night (too short to filter) leaves the workspace usable.
            let mut short = night.recording.clone();
            for c in &mut short.channels {
                c.samples_uv.truncate(100);
            }
            assert!(det.run_with(&short, &ctx, &mut ws).is_err());
        }
        assert!(movements > 0);
    }

    /// ECG and 60-Hz hum sampled at 200 Hz (the third harmonic folds to 20 Hz, where QRS
    /// complexes carry their energy), and no movement at all: the folded line is found and
    /// removed, and no heartbeat becomes a leg movement. (The development night where a
    /// 20-Hz notch's ringing did make beats into movements is described in `crate::hum`.)
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
        let lms = |mains_removal| {
            let config = DetectorConfig {
                mains_removal,
                ..DetectorConfig::default()
            };
            let report = Detector::new(Rules::default(), config)
                .unwrap()
                .run(&rec, &Context::default())
                .unwrap();
            let notched = &report.recording.channels[0].notch_hz;
            assert!(
                notched.iter().any(|f| (f - 20.0).abs() < 0.5),
                "{notched:?}"
            );
            report.leg_movements.len()
        };
        assert_eq!(lms(MainsRemoval::Subtract), 0);
    }

    #[test]
    fn merges_intervals() {
        let v = vec![
            Interval {
                onset_s: 5.0,
                offset_s: 6.0,
            },
            Interval {
                onset_s: 1.0,
                offset_s: 2.0,
            },
            Interval {
                onset_s: 1.5,
                offset_s: 3.0,
            },
        ];
        let m = merge_intervals(v);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].offset_s, 3.0);
    }

    #[test]
    fn too_slow_or_too_short_recordings_are_errors() {
        let d = Detector::default();
        let e = d
            .detect_leg(&[0.0; 1000], 20.0, Side::Left, "left")
            .unwrap_err();
        assert!(e.to_string().contains("too low"), "{e}");
        let e = d
            .detect_leg(&[0.0; 100], 256.0, Side::Left, "left")
            .unwrap_err();
        assert!(e.to_string().contains("too short to filter"), "{e}");
    }

    /// Infinite samples are found in the legs' scan for gaps, not by a pass of their own,
    /// yet every way of running reports the error a validation first would: the first
    /// leg's infinite sample before the second's, and before any other fault of either
    /// leg (a rate too low for the band, a leg too short to filter).
    #[test]
    fn infinite_samples_are_reported_as_validation_reports_them() {
        let d = Detector::default();
        let ctx = Context::default();
        let noise =
            |n: usize| -> Vec<f64> { (0..n).map(|i| (i as f64 * 0.7).sin() * 5.0).collect() };
        // Built field by field: `Recording::from_slices` would refuse infinite samples.
        let night = |fs: f64, left: Vec<f64>, right: Vec<f64>| Recording {
            sample_rate_hz: fs,
            channels: vec![
                Channel {
                    name: "left".into(),
                    side: Side::Left,
                    samples_uv: left,
                },
                Channel {
                    name: "right".into(),
                    side: Side::Right,
                    samples_uv: right,
                },
            ],
            start_time: None,
            time_base: crate::signal::TimeBase::InMemory,
        };
        let with = |mut v: Vec<f64>, at: usize, x: f64| {
            v[at] = x;
            v
        };
        let gaps = |mut v: Vec<f64>| {
            // Nothing long enough to filter: a NaN every second.
            for i in (0..v.len()).step_by(256) {
                v[i] = f64::NAN;
            }
            v
        };
        let n = 256 * 60;
        let cases = [
            night(256.0, with(noise(n), 5000, f64::INFINITY), noise(n)),
            night(256.0, noise(n), with(noise(n), 7, f64::NEG_INFINITY)),
            night(
                256.0,
                with(noise(n), 9000, f64::INFINITY),
                with(noise(n), 3, f64::INFINITY),
            ),
            // Too slow for the band, and infinite on the second leg.
            night(20.0, noise(2000), with(noise(2000), 1999, f64::INFINITY)),
            // The first leg too short to filter, the second infinite behind a gap.
            night(
                256.0,
                gaps(noise(n)),
                with(gaps(noise(n)), n - 1, f64::INFINITY),
            ),
        ];
        for recording in &cases {
            let want = recording.validate().unwrap_err().to_string();
            assert!(want.contains("is infinite"), "{want}");
            let mut ws = Workspace::new();
            for got in [
                d.run(recording, &ctx),
                d.run_owned(recording.clone(), &ctx),
                d.run_with(recording, &ctx, &mut ws),
            ] {
                assert_eq!(got.unwrap_err().to_string(), want);
            }
        }
        // Without infinite samples, the legs' own faults come through, the first leg's
        // first.
        let slow = night(20.0, noise(2000), noise(2000));
        let e = d.run_owned(slow, &ctx).unwrap_err().to_string();
        assert!(e.contains("`left`") && e.contains("too low"), "{e}");
        let short = night(256.0, noise(n), gaps(noise(n)));
        let e = d.run(&short, &ctx).unwrap_err().to_string();
        assert!(e.contains("`right` is too short to filter"), "{e}");
    }

    #[test]
    fn partial_json_configs_keep_the_other_defaults() {
        let c = DetectorConfig::from_json(
            r#"{"accel": {"onset_mg": 30, "envelope": {"edge_smooth_s": 0.1}}}"#,
        )
        .unwrap();
        assert_eq!(c.accel.onset_mg, 30.0);
        assert_eq!(c.accel.envelope.edge_smooth_s, 0.1);
        assert_eq!(
            c.accel.envelope.block_s,
            AccelConfig::default().envelope.block_s
        );
        assert_eq!(c.envelope, EnvelopeConfig::default());
        assert!(
            DetectorConfig::from_json(r#"{"accel": {"onset": 30}}"#)
                .unwrap_err()
                .to_string()
                .contains("onset")
        );
        assert!(DetectorConfig::from_json(r#"{"highpass_hz": -1}"#).is_err());
    }

    #[test]
    fn config_validation() {
        let c = DetectorConfig {
            highpass_hz: 200.0,
            ..DetectorConfig::default()
        };
        assert!(c.validate().is_err());
        assert!(
            DetectorConfig {
                filter_order: 0,
                ..DetectorConfig::default()
            }
            .validate()
            .is_err()
        );
        DetectorConfig::default().validate().unwrap();
    }
}
