//! What a night's signal columns hold, and their units: [`SignalKind`], [`Unit`].
//!
//! Input: a unit as a file or a user states it (`uV`, `mV`, `V` for EMG; `g`, `mg`,
//! `m/s2` for accelerometers). Output: the factor to the library's units, µV for EMG
//! (the unit of the +8/+2 µV rules, rules digest §1) and g for accelerometers
//! (1 g = 9.806 65 m/s²). A unit of the other kind of signal has no factor, so an
//! accelerometer unit is never applied to EMG or the reverse.

use serde::{Deserialize, Serialize};

/// What a night's signal columns hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalKind {
    /// Leg EMG, one column per leg.
    Emg,
    /// Leg accelerometers, three axis columns per leg.
    Accel,
}

impl SignalKind {
    /// Parses `emg` or `accel` (`acc`, `accelerometer`).
    #[must_use]
    pub fn parse(s: &str) -> Option<SignalKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "emg" => Some(SignalKind::Emg),
            "accel" | "acc" | "accelerometer" | "acceleration" => Some(SignalKind::Accel),
            _ => None,
        }
    }
}

/// Unit of the signal columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Microvolts (EMG default).
    #[serde(rename = "uV")]
    Microvolt,
    /// Millivolts.
    #[serde(rename = "mV")]
    Millivolt,
    /// Volts.
    #[serde(rename = "V")]
    Volt,
    /// Standard gravity (accelerometer default).
    #[serde(rename = "g")]
    G,
    /// Thousandths of g.
    #[serde(rename = "mg")]
    MilliG,
    /// Metres per second squared (1 g = 9.80665 m/s²).
    #[serde(rename = "m/s2")]
    MetersPerSecondSquared,
}

impl Unit {
    /// Factor to the library's unit for `kind` (µV for EMG, g for accelerometers); `None`
    /// when the unit does not belong to that kind of signal.
    #[must_use]
    pub fn factor(self, kind: SignalKind) -> Option<f64> {
        match (kind, self) {
            (SignalKind::Emg, Unit::Microvolt) | (SignalKind::Accel, Unit::G) => Some(1.0),
            (SignalKind::Emg, Unit::Millivolt) => Some(1e3),
            (SignalKind::Emg, Unit::Volt) => Some(1e6),
            (SignalKind::Accel, Unit::MilliG) => Some(1e-3),
            (SignalKind::Accel, Unit::MetersPerSecondSquared) => Some(1.0 / 9.806_65),
            _ => None,
        }
    }

    /// The default unit of `kind`.
    #[must_use]
    pub fn default_for(kind: SignalKind) -> Unit {
        match kind {
            SignalKind::Emg => Unit::Microvolt,
            SignalKind::Accel => Unit::G,
        }
    }

    /// Parses `uV`/`µV`/`mV`/`V`/`g`/`mg`/`m/s2`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Unit> {
        match s.trim() {
            "uV" | "µV" | "uv" | "UV" | "microvolt" => Some(Unit::Microvolt),
            "mV" | "mv" | "millivolt" => Some(Unit::Millivolt),
            "V" | "v" | "volt" => Some(Unit::Volt),
            "g" | "G" => Some(Unit::G),
            "mg" | "mG" => Some(Unit::MilliG),
            "m/s2" | "m/s^2" | "m/s²" | "mps2" | "ms2" => Some(Unit::MetersPerSecondSquared),
            _ => None,
        }
    }
}
