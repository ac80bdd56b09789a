//! Events on a night's time axis, shared by every stage: monolateral leg movements, the
//! leg they are on, and time intervals.
//!
//! All times are seconds from the start of the recording (`_s`); amplitudes are µV of the
//! band-passed, rectified EMG (`_uv`) or mg of dynamic acceleration (`_mg`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};

/// Which leg a monolateral leg movement was recorded on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Left leg.
    Left,
    /// Right leg.
    Right,
}

impl Side {
    /// `"left"` or `"right"`, as in the report.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }

    /// Parses `left`/`right` and the usual abbreviations (`l`, `r`, `lat`, `rat`, `sx`,
    /// `dx`, case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Side> {
        match s.trim().to_ascii_lowercase().as_str() {
            "left" | "l" | "lat" | "sx" | "sin" | "left leg" => Some(Side::Left),
            "right" | "r" | "rat" | "dx" | "right leg" => Some(Side::Right),
            _ => None,
        }
    }
}

/// A monolateral leg movement (LM): one leg, onset to offset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LegMovement {
    /// Onset, s from the start of the recording.
    pub onset_s: f64,
    /// Offset, s (the start of the ≥ 0.5 s quiet period that ends it).
    pub offset_s: f64,
    /// The leg.
    pub side: Side,
    /// Largest envelope amplitude inside the LM, µV; `None` for hand-scored lists.
    pub peak_uv: Option<f64>,
    /// Mean envelope amplitude inside the LM, µV; `None` for hand-scored lists.
    pub mean_uv: Option<f64>,
    /// Resting level at the onset, µV; `None` for hand-scored lists.
    pub rest_uv: Option<f64>,
    /// Largest dynamic-acceleration amplitude inside the LM, mg (accelerometers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_mg: Option<f64>,
    /// Mean dynamic-acceleration amplitude inside the LM, mg (accelerometers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_mg: Option<f64>,
    /// Noise floor at the onset, mg (accelerometers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_mg: Option<f64>,
}

impl LegMovement {
    /// A leg movement with no amplitude information (e.g. from a hand-scored list).
    #[must_use]
    pub fn new(onset_s: f64, offset_s: f64, side: Side) -> Self {
        Self {
            onset_s,
            offset_s,
            side,
            peak_uv: None,
            mean_uv: None,
            rest_uv: None,
            peak_mg: None,
            mean_mg: None,
            rest_mg: None,
        }
    }

    /// Duration, s.
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.offset_s - self.onset_s
    }
}

/// A leg movement of a reference scoring (an expert's, or a simulator's truth), with
/// whether it is certain: a barely visible movement (`certain` false, as simulated truth
/// marks them) counts neither way when a detection is compared with the reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReferenceMovement {
    /// The movement.
    pub lm: LegMovement,
    /// `false` for a barely visible movement.
    pub certain: bool,
}

/// A closed time interval `[onset_s, offset_s]` in seconds (an arousal, an excluded
/// stretch of signal, ...).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Start, s.
    pub onset_s: f64,
    /// End, s.
    pub offset_s: f64,
}

impl Interval {
    /// Length, s.
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.offset_s - self.onset_s
    }
}

/// Total length of `intervals`, s (`0.0`, not the `-0.0` of an empty `f64` sum).
#[must_use]
pub fn total_s(intervals: &[Interval]) -> f64 {
    intervals
        .iter()
        .map(Interval::duration_s)
        .fold(0.0, |a, b| a + b)
}

/// Checks that every interval is finite, non-negative and not reversed; `what` names the
/// list in messages ("leg movement", "arousal", ...). Returns the 1-based position of the
/// offender in the message.
pub(crate) fn validate_intervals<'a>(
    what: &str,
    items: impl Iterator<Item = (f64, f64)> + 'a,
) -> Result<()> {
    for (i, (on, off)) in items.enumerate() {
        let n = i + 1;
        if !on.is_finite() || !off.is_finite() {
            return Err(Error::input(
                Location::default(),
                format!("{what} #{n}: times must be finite numbers"),
            ));
        }
        if on < 0.0 {
            return Err(Error::input(
                Location::default(),
                format!("{what} #{n}: onset {on} s is negative"),
            ));
        }
        if off < on {
            return Err(Error::input(
                Location::default(),
                format!("{what} #{n}: offset {off} s is before onset {on} s"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_parsing() {
        assert_eq!(Side::parse(" Left "), Some(Side::Left));
        assert_eq!(Side::parse("R"), Some(Side::Right));
        assert_eq!(Side::parse("dx"), Some(Side::Right));
        assert_eq!(Side::parse("middle"), None);
    }

    #[test]
    fn interval_validation_names_the_item() {
        let e = validate_intervals("arousal", [(1.0, 2.0), (5.0, 4.0)].into_iter()).unwrap_err();
        assert!(e.to_string().contains("arousal #2"), "{e}");
        assert!(validate_intervals("x", [(f64::NAN, 1.0)].into_iter()).is_err());
        assert!(validate_intervals("x", [(0.0, 0.0)].into_iter()).is_ok());
    }
}
