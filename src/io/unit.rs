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

/// The unit a column name states, and the name without it: `left_mV`, `Left (uV)`,
/// `left [mV]`, `left-µV`, `x_g`, `left_x_mps2` (a unit after `_`, `-` or a space, or in
/// brackets; case-insensitive: `MV` is mV, not megavolts). A name without one is
/// returned whole.
#[must_use]
pub(crate) fn split_unit(name: &str) -> (String, Option<Unit>) {
    let t = name.trim();
    let (stem, token) = if let Some(inner) = t
        .strip_suffix(')')
        .and_then(|r| r.rsplit_once('('))
        .or_else(|| t.strip_suffix(']').and_then(|r| r.rsplit_once('[')))
    {
        inner
    } else if let Some(cut) = t.rfind(['_', '-', ' ']) {
        (&t[..cut], &t[cut + 1..])
    } else {
        return (t.to_owned(), None);
    };
    let unit = match token.trim().to_lowercase().as_str() {
        "uv" | "µv" | "μv" | "microvolt" | "microvolts" => Unit::Microvolt,
        "mv" | "millivolt" | "millivolts" => Unit::Millivolt,
        "v" | "volt" | "volts" => Unit::Volt,
        "g" => Unit::G,
        "mg" => Unit::MilliG,
        "m/s2" | "m/s^2" | "m/s²" | "mps2" | "ms2" | "ms-2" => Unit::MetersPerSecondSquared,
        _ => return (t.to_owned(), None),
    };
    let stem = stem.trim_end_matches(['_', '-', ' ']).trim();
    if stem.is_empty() {
        return (t.to_owned(), None);
    }
    (stem.to_owned(), Some(unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_state_their_units() {
        let cases = [
            ("left_mV", "left", Some(Unit::Millivolt)),
            ("right_uv", "right", Some(Unit::Microvolt)),
            ("Left (uV)", "Left", Some(Unit::Microvolt)),
            ("EMG L [mV]", "EMG L", Some(Unit::Millivolt)),
            ("tib_r-µV", "tib_r", Some(Unit::Microvolt)),
            ("left_V", "left", Some(Unit::Volt)),
            ("left_x_g", "left_x", Some(Unit::G)),
            ("acc_z_mps2", "acc_z", Some(Unit::MetersPerSecondSquared)),
            ("LeftAnkle_X (mg)", "LeftAnkle_X", Some(Unit::MilliG)),
            ("time_s", "time_s", None),
            ("left", "left", None),
            ("_mV", "_mV", None),
            ("leftuv", "leftuv", None),
        ];
        for (name, stem, unit) in cases {
            assert_eq!(split_unit(name), (stem.to_owned(), unit), "{name}");
        }
    }
}
