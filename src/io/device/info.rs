//! What a report says about the ankle devices of a night ([`DeviceInfo`]) and the window
//! scored ([`SleepWindow`]).

use serde::{Deserialize, Serialize};

use super::{DeviceFile, DeviceFormat, iso};
use crate::events::Side;

/// One ankle's device in a night's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The leg.
    pub side: Side,
    /// The file's format.
    pub format: DeviceFormat,
    /// The device model.
    pub model: String,
    /// Serial number, when the file gives one.
    pub serial: Option<String>,
    /// The file, as given.
    pub file: Option<String>,
    /// The configured rate, Hz.
    pub nominal_rate_hz: f64,
    /// The sample clock against the device's time stamps over the whole file, ppm
    /// (positive: fast).
    pub clock_drift_ppm: f64,
    /// How far a clock running at the nominal rate would have drifted from the stamps over
    /// this night's window, s — what aligning by time stamps corrected.
    pub drift_over_window_s: f64,
    /// The file's first sample (local time, ISO 8601).
    pub first_sample: String,
    /// Just after the file's last sample.
    pub end: String,
}

/// Where a night's sleep window came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSource {
    /// The span of the hypnogram given.
    Hypnogram,
    /// The clock times given (`--from`/`--to`).
    Given,
    /// Estimated from the sensors' orientation (HDCZA adapted for the ankle): an estimate.
    Estimated,
    /// The whole night (its part of the recording), nothing narrower being known.
    Whole,
}

/// The window of a device night that was scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SleepWindow {
    /// The night's number among the recording's nights scored (1-based; nights run noon
    /// to noon).
    pub night: usize,
    /// Start of the window (local time, ISO 8601): the report's t = 0.
    pub start: String,
    /// End of the window.
    pub end: String,
    /// Where the window came from.
    pub source: WindowSource,
    /// How it was found, in words (the method and its parameters, for an estimate).
    pub method: String,
    /// Time within the window when a device was not worn (excluded from scoring), s.
    pub non_wear_s: f64,
}

/// The info of `device` worn on `side` (read from `file`) for a window `[from_s, to_s)`.
#[must_use]
pub fn device_info(
    device: &DeviceFile,
    side: Side,
    file: Option<String>,
    from_s: f64,
    to_s: f64,
) -> DeviceInfo {
    let ppm = device.drift_ppm();
    DeviceInfo {
        side,
        format: device.format,
        model: device.model.clone(),
        serial: device.serial.clone(),
        file,
        nominal_rate_hz: device.nominal_rate_hz,
        clock_drift_ppm: ppm,
        drift_over_window_s: ppm * 1e-6 * (to_s - from_s).max(0.0),
        first_sample: iso(device.first_s()),
        end: iso(device.end_s()),
    }
}
