//! The detector's signal-processing settings: one typed config, every field with its
//! unit, its default and where the default comes from. (The scoring numbers — +8/+2 µV,
//! 0.5 s, IMIs — are the [`Rules`](crate::Rules), not settings of the detector.)
//!
//! * [`DetectorConfig`]: the EMG band-pass, mains hum removal and shortest stretch;
//! * [`EnvelopeConfig`]: amplitude, resting level, margins and spike clipping
//!   ([`super::envelope`], [`super::rest`], [`super::spikes`]);
//! * [`AccelConfig`]: the accelerometer path ([`super::accel`]), with its own envelope
//!   settings in mg.
//!
//! A JSON file may give any subset at any depth ([`DetectorConfig::from_json`]); unknown
//! fields are errors, so a typo never falls back to a default silently.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, num};

/// Which mains hum lines to remove (how: [`MainsRemoval`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotchMode {
    /// None.
    Off,
    /// Detect 50/60 Hz hum (and harmonics) from each channel's spectrum; remove what is
    /// found.
    Auto,
    /// This frequency (Hz, in [10, 50 000] and below Nyquist) and its harmonics up to the tenth, below
    /// 1.5 × the upper band edge.
    Fixed(f64),
}

/// How the mains hum lines found (or given) are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MainsRemoval {
    /// Subtract each line as a sinusoid tracked by running medians (`dsp/hum.rs`):
    /// transients such as ECG QRS complexes pass unchanged, with no ringing.
    Subtract,
    /// IIR notch per line (quality factor `notch_q`), zero-phase with the band-pass. It
    /// rings for about `notch_q / (π f0)` s after a transient at its frequency.
    Notch,
}

/// Signal-processing settings of the detector (the scoring numbers live in the
/// [`Rules`](crate::Rules)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// High-pass edge, Hz. Default 10 (AASM routine leg EMG filter, rules digest §1).
    /// Range: (0, 1000] Hz.
    pub highpass_hz: f64,
    /// Low-pass edge, Hz. Default 100 (AASM), capped at `max_upper_fraction` × rate.
    /// Range: (0, 50 000] Hz.
    pub lowpass_hz: f64,
    /// Largest upper edge as a fraction of the sample rate. Default 0.45 (90 Hz at 200 Hz).
    /// Range: (0, 0.5).
    pub max_upper_fraction: f64,
    /// Butterworth band-pass order (scipy's N: N sections, 2N poles). Default 4.
    /// Range: 1–12.
    pub filter_order: usize,
    /// Mains notch. Default `auto`.
    /// Range: a fixed line in [10, 50 000] Hz and below the Nyquist frequency.
    pub notch: NotchMode,
    /// How hum lines are removed. Default `subtract` (`dsp/hum.rs` says why not a
    /// notch).
    pub mains_removal: MainsRemoval,
    /// Running-median window tracking each hum line's amplitude and phase, s (with
    /// `mains_removal: subtract`). Default 2: about 20 blocks of 0.1 s, of which a
    /// heartbeat's QRS complex disturbs at most two per beat.
    /// Range: (0, 60] s.
    pub hum_window_s: f64,
    /// Notch quality factor (bandwidth = f0 / Q), with `mains_removal: notch`. Default 30.
    /// Range: [1, 1000].
    pub notch_q: f64,
    /// Prominence a spectral line needs to count as hum, dB. Default 10.
    /// Range: [0, 100] dB.
    pub notch_min_prominence_db: f64,
    /// Shortest gap-free stretch that is analysed, s. Default 2.
    /// Range: (0, 3600] s.
    pub min_stretch_s: f64,
    /// Envelope and resting-level settings.
    pub envelope: EnvelopeConfig,
    /// Settings of the accelerometer path (`detect/accel`).
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

    /// Checks ranges (rate-dependent checks happen when a night is run).
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let up_to = Error::require_up_to;
        up_to("highpass_hz", self.highpass_hz, 1_000.0, "Hz")?;
        up_to("lowpass_hz", self.lowpass_hz, 50_000.0, "Hz")?;
        Error::require_in("notch_q", self.notch_q, [1.0, 1_000.0], "")?;
        up_to("hum_window_s", self.hum_window_s, 60.0, "s")?;
        up_to("min_stretch_s", self.min_stretch_s, 3_600.0, "s")?;
        if !(self.max_upper_fraction > 0.0 && self.max_upper_fraction < 0.5) {
            return Err(Error::config(
                "max_upper_fraction",
                format!("must be in (0, 0.5), got {}", num(self.max_upper_fraction)),
            ));
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
            Error::require_in("notch", f, NOTCH_RANGE_HZ, "Hz")?;
        }
        Error::require_in(
            "notch_min_prominence_db",
            self.notch_min_prominence_db,
            [0.0, 100.0],
            "dB",
        )?;
        self.envelope.validate()?;
        self.accel.validate()
    }
}

/// The mains frequencies a fixed notch may name, Hz: 16.7 Hz railway mains is the lowest
/// in use; a run also checks that the line lies below the night's Nyquist frequency.
pub(crate) const NOTCH_RANGE_HZ: [f64; 2] = [10.0, 50_000.0];

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

/// Parameters of the envelope and resting level (`detect/envelope.rs`), in seconds and in
/// the unit of the signal (µV for EMG; mg in [`AccelConfig::envelope`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeConfig {
    /// Block length for the rectified mean, s. Default 0.01.
    /// Range: [0.001, 1] s.
    pub block_s: f64,
    /// Running-median window of the amplitude, s. Default 0.25 (twice a QRS complex).
    /// Range: (0, 60] s.
    pub envelope_median_s: f64,
    /// Segment over which the resting percentile is taken, s. Default 5.
    /// Range: (0, 600] s.
    pub rest_segment_s: f64,
    /// Half-width of the window over segment percentiles, s. Default 30.
    /// Range: (0, 3600] s.
    pub rest_half_window_s: f64,
    /// Quantile (0–1) of the segment percentiles in that window. Default 0.25.
    /// Range: [0, 1].
    pub rest_window_quantile: f64,
    /// Percentile (0–1) of the amplitude taken as resting level. Default 0.3.
    /// Range: (0, 1).
    pub rest_percentile: f64,
    /// Resting level above which a stretch is too noisy to score, µV. Default 20.
    /// Range: (0, 10⁶] µV.
    pub max_rest_uv: f64,
    /// Moving-average window of the edge-locating amplitude, s. Default 0.04.
    /// Range: (0, 10] s.
    pub edge_smooth_s: f64,
    /// Longest transient clipped as a spike (QRS, pop), s. Default 0.3: pops are < 0.2 s
    /// (rules digest §1) and a QRS ≈ 0.1 s, but a pop next to a QRS, widened by the
    /// filter's ringing, lasts up to ~0.3 s; anything this short is not an LM (≥ 0.5 s).
    /// Range: (0, 10] s.
    pub spike_max_s: f64,
    /// Quiet needed on each side of a spike, s. Default 0.15.
    /// Range: (0, 10] s.
    pub spike_guard_s: f64,
    /// How far above the resting level a transient must rise to be clipped, µV (at least;
    /// more on a noisy baseline, see `noise_factor`). Default 4.
    /// Range: (0, 10⁶] µV.
    pub spike_level_uv: f64,
    /// Lower percentile (0–1) of the resting amplitude for its fluctuation. Default 0.05.
    /// Range: [0, `rest_percentile`).
    pub noise_percentile: f64,
    /// The offset margin is at least this many times the resting fluctuation
    /// (p30 − p5 ≈ 1.1 σ, so 3 × ≈ 3.4 σ, above the 99th percentile of rest even with the
    /// right skew of a rectified amplitude). Default 3.
    /// Range: [0, 100].
    pub noise_factor: f64,
}

impl Default for EnvelopeConfig {
    fn default() -> Self {
        Self {
            block_s: 0.01,
            envelope_median_s: 0.25,
            rest_segment_s: 5.0,
            rest_half_window_s: 30.0,
            rest_window_quantile: 0.25,
            rest_percentile: 0.3,
            max_rest_uv: 20.0,
            edge_smooth_s: 0.04,
            spike_max_s: 0.3,
            spike_guard_s: 0.15,
            spike_level_uv: 4.0,
            noise_percentile: 0.05,
            noise_factor: 3.0,
        }
    }
}

impl EnvelopeConfig {
    /// Checks ranges.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let up_to = Error::require_up_to;
        Error::require_in("block_s", self.block_s, [0.001, 1.0], "s")?;
        up_to("envelope_median_s", self.envelope_median_s, 60.0, "s")?;
        up_to("rest_segment_s", self.rest_segment_s, 600.0, "s")?;
        up_to("rest_half_window_s", self.rest_half_window_s, 3_600.0, "s")?;
        up_to("max_rest_uv", self.max_rest_uv, 1e6, "µV (mg)")?;
        up_to("edge_smooth_s", self.edge_smooth_s, 10.0, "s")?;
        up_to("spike_max_s", self.spike_max_s, 10.0, "s")?;
        up_to("spike_guard_s", self.spike_guard_s, 10.0, "s")?;
        up_to("spike_level_uv", self.spike_level_uv, 1e6, "µV (mg)")?;
        Error::require_in("noise_factor", self.noise_factor, [0.0, 100.0], "")?;
        if !(self.noise_percentile >= 0.0 && self.noise_percentile < self.rest_percentile) {
            return Err(Error::config(
                "noise_percentile",
                format!(
                    "must lie in [0, rest_percentile), got {}",
                    num(self.noise_percentile)
                ),
            ));
        }
        Error::require_in(
            "rest_window_quantile",
            self.rest_window_quantile,
            [0.0, 1.0],
            "",
        )?;
        if !(self.rest_percentile > 0.0 && self.rest_percentile < 1.0) {
            return Err(Error::config(
                "rest_percentile",
                format!("must be in (0, 1), got {}", num(self.rest_percentile)),
            ));
        }
        Ok(())
    }
}

/// Settings of the accelerometer path (`detect/accel` gives each default's reason).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccelConfig {
    /// Running-median window of the gravity estimate, s. Default 2.
    /// Range: (0, 600] s.
    pub gravity_window_s: f64,
    /// Low-pass edge of the dynamic acceleration, Hz (capped at 0.45 × rate). Default 8.
    /// Range: (0, 1000] Hz.
    pub lowpass_hz: f64,
    /// Smallest onset above the noise floor, mg. Default 12.
    /// Range: (0, 10⁵] mg.
    pub onset_mg: f64,
    /// The onset is at least this many times the offset margin (which follows the floor's
    /// fluctuation). Default 3.
    /// Range: (0, 100].
    pub onset_noise_factor: f64,
    /// Smallest offset level above the noise floor, mg. Default 4.
    /// Range: (0, `onset_mg`].
    pub offset_mg: f64,
    /// Largest back-extrapolation of a movement's edges along its flanks, s; `null` keeps
    /// the threshold edges. Default 0.3.
    /// Range: [0, 2] s.
    pub flank_extrapolation_s: Option<f64>,
    /// Floor above which a stretch is too noisy to score, mg. Default 100.
    /// Range: (0, 10⁵] mg.
    pub max_floor_mg: f64,
    /// A burst across which gravity turns by more than this is a posture change, degrees;
    /// `null` disables the rule. Default 30.
    /// Range: (0, 180)°.
    pub posture_change_deg: Option<f64>,
    /// Envelope and floor settings, in mg (block 20 ms, spike level 8 mg, edge window
    /// 0.2 s).
    pub envelope: EnvelopeConfig,
}

impl Default for AccelConfig {
    fn default() -> Self {
        Self {
            gravity_window_s: 2.0,
            lowpass_hz: 8.0,
            onset_mg: 12.0,
            onset_noise_factor: 3.0,
            offset_mg: 4.0,
            flank_extrapolation_s: Some(0.3),
            max_floor_mg: 100.0,
            posture_change_deg: Some(30.0),
            envelope: EnvelopeConfig {
                block_s: 0.02,
                spike_level_uv: 8.0,
                max_rest_uv: 100.0,
                edge_smooth_s: 0.2,
                ..EnvelopeConfig::default()
            },
        }
    }
}

impl AccelConfig {
    /// Checks ranges.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let up_to = Error::require_up_to;
        up_to("accel.gravity_window_s", self.gravity_window_s, 600.0, "s")?;
        up_to("accel.lowpass_hz", self.lowpass_hz, 1_000.0, "Hz")?;
        up_to("accel.onset_mg", self.onset_mg, 1e5, "mg")?;
        up_to("accel.offset_mg", self.offset_mg, 1e5, "mg")?;
        up_to(
            "accel.onset_noise_factor",
            self.onset_noise_factor,
            100.0,
            "",
        )?;
        up_to("accel.max_floor_mg", self.max_floor_mg, 1e5, "mg")?;
        if self.offset_mg > self.onset_mg {
            return Err(Error::config("accel.offset_mg", "must not exceed onset_mg"));
        }
        if let Some(x) = self.flank_extrapolation_s {
            if !(x.is_finite() && (0.0..=2.0).contains(&x)) {
                return Err(Error::config(
                    "accel.flank_extrapolation_s",
                    format!("must be 0–2 s, got {}", num(x)),
                ));
            }
        }
        if let Some(d) = self.posture_change_deg {
            if !(d.is_finite() && d > 0.0 && d < 180.0) {
                return Err(Error::config(
                    "accel.posture_change_deg",
                    format!("must be in (0, 180), got {}", num(d)),
                ));
            }
        }
        self.envelope.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
