//! A recording: leg-EMG channels on a uniform time grid.
//!
//! Samples are microvolts (`_uv`) at `sample_rate_hz`; sample `i` is at `i / sample_rate_hz`
//! seconds from the start. `NaN` marks a gap (a missing sample or an empty cell); no leg
//! movement may cross a gap and gaps are reported as excluded time. Index → seconds
//! conversions happen only through [`Recording::time_s`] and the detector's one
//! equivalent, with the true rate (SCORING.md §8).

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};
use crate::events::Side;

/// One leg's EMG.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// Column name in the source file (or `left`/`right`).
    pub name: String,
    /// The leg.
    pub side: Side,
    /// Samples, µV; `NaN` = gap.
    pub samples_uv: Vec<f64>,
}

/// How the time grid was obtained from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBase {
    /// The sample rate was given; rows are consecutive samples.
    GivenRate,
    /// Rows placed on the grid by their time stamps (rate estimated from all of them).
    TimeColumn,
    /// Time stamps too irregular for direct placement: values were linearly interpolated
    /// onto the uniform grid.
    Resampled,
    /// Built in memory.
    InMemory,
    /// Read from an EDF/EDF+ file: samples in data-record order, each EDF+D record at its
    /// own onset (the gaps between records are `NaN`).
    EdfRecords,
}

/// A night of one- or two-leg EMG.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// One or two channels, at most one per side, all the same length.
    pub channels: Vec<Channel>,
    /// Wall-clock time of the first sample, when the file gave date-times (ISO 8601).
    pub start_time: Option<String>,
    /// How the grid was built.
    pub time_base: TimeBase,
}

impl Recording {
    /// Builds a recording from per-leg sample slices (µV, `NaN` = gap). At least one leg.
    ///
    /// # Errors
    /// [`Error::Input`] when no leg is given, lengths differ, a sample is infinite, the
    /// rate is not positive, or the recording is empty.
    pub fn from_slices(
        sample_rate_hz: f64,
        left_uv: Option<&[f64]>,
        right_uv: Option<&[f64]>,
    ) -> Result<Self> {
        let mut channels = Vec::new();
        if let Some(l) = left_uv {
            channels.push(Channel {
                name: "left".into(),
                side: Side::Left,
                samples_uv: l.to_vec(),
            });
        }
        if let Some(r) = right_uv {
            channels.push(Channel {
                name: "right".into(),
                side: Side::Right,
                samples_uv: r.to_vec(),
            });
        }
        let rec = Self {
            sample_rate_hz,
            channels,
            start_time: None,
            time_base: TimeBase::InMemory,
        };
        rec.validate()?;
        Ok(rec)
    }

    /// Builds a recording from a `(samples, legs)` array whose columns are the legs in
    /// `sides` order (µV, `NaN` = gap).
    ///
    /// # Errors
    /// As [`Recording::from_slices`], and when `sides` does not match the column count or
    /// names a leg twice.
    pub fn from_array(
        sample_rate_hz: f64,
        samples_uv: ArrayView2<'_, f64>,
        sides: &[Side],
    ) -> Result<Self> {
        if samples_uv.ncols() != sides.len() {
            return Err(Error::input(
                Location::default(),
                format!(
                    "{} columns but {} sides given",
                    samples_uv.ncols(),
                    sides.len()
                ),
            ));
        }
        let channels = sides
            .iter()
            .zip(samples_uv.columns())
            .map(|(&side, col)| Channel {
                name: side.as_str().into(),
                side,
                samples_uv: col.to_vec(),
            })
            .collect();
        let rec = Self {
            sample_rate_hz,
            channels,
            start_time: None,
            time_base: TimeBase::InMemory,
        };
        rec.validate()?;
        Ok(rec)
    }

    /// Checks the invariants listed on the fields.
    ///
    /// # Errors
    /// [`Error::Input`] describing the first violation.
    pub fn validate(&self) -> Result<()> {
        self.check(true)
    }

    /// [`Recording::validate`] without the scan for infinite samples (the detector finds
    /// them in its scan for gaps).
    pub(crate) fn check_layout(&self) -> Result<()> {
        self.check(false)
    }

    /// [`Recording::validate`], scanning the samples for infinite values only `with_scan`.
    fn check(&self, with_scan: bool) -> Result<()> {
        let sides: Vec<Side> = self.channels.iter().map(|c| c.side).collect();
        let series: Vec<(&str, &[f64])> = self
            .channels
            .iter()
            .map(|c| (c.name.as_str(), c.samples_uv.as_slice()))
            .collect();
        validate_layout(
            self.sample_rate_hz,
            &sides,
            "leg channel",
            &series,
            with_scan,
        )
    }

    /// Number of samples per channel.
    #[must_use]
    pub fn len(&self) -> usize {
        self.channels.first().map_or(0, |c| c.samples_uv.len())
    }

    /// `true` when there are no samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Duration, s (`len / rate`).
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.len() as f64 / self.sample_rate_hz
    }

    /// Time of sample `idx`, s.
    #[must_use]
    pub fn time_s(&self, idx: usize) -> f64 {
        idx as f64 / self.sample_rate_hz
    }

    /// The channel of `side`, if recorded.
    #[must_use]
    pub fn channel(&self, side: Side) -> Option<&Channel> {
        self.channels.iter().find(|c| c.side == side)
    }
}

impl Recording {
    /// A recording read from a file: one channel per `(side, name, samples µV)`, checked
    /// with [`Recording::validate`]; an input error is placed in the file `loc`. With
    /// `finite`, the reader vouches that no sample is infinite, and the samples are not
    /// scanned for one (a night-long scan of both legs is ≈ 8 ms of memory traffic, and
    /// [`crate::Detector::run`] scans again anyway).
    pub(crate) fn from_file(
        sample_rate_hz: f64,
        legs: impl IntoIterator<Item = (Side, String, Vec<f64>)>,
        start_time: Option<String>,
        time_base: TimeBase,
        loc: &Location,
        finite: bool,
    ) -> Result<Self> {
        let rec = Recording {
            sample_rate_hz,
            channels: legs
                .into_iter()
                .map(|(side, name, samples_uv)| Channel {
                    name,
                    side,
                    samples_uv,
                })
                .collect(),
            start_time,
            time_base,
        };
        rec.check(!finite).map_err(|e| match e {
            Error::Input { message, .. } => Error::input(loc.clone(), message),
            other => other,
        })?;
        Ok(rec)
    }
}

/// The invariants every recording shares: a positive rate; one or two legs, at most one
/// per side; every series (`(name, samples)`) the same non-zero length; no infinite sample.
/// `what` names a leg's signal in messages ("leg channel", "leg accelerometer"). The
/// samples are scanned for infinite values only `with_scan`.
pub(crate) fn validate_layout(
    sample_rate_hz: f64,
    sides: &[Side],
    what: &str,
    series: &[(&str, &[f64])],
    with_scan: bool,
) -> Result<()> {
    let loc = Location::default();
    if !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
        return Err(Error::input(
            loc,
            format!("sample rate must be positive, got {sample_rate_hz} Hz"),
        ));
    }
    match sides {
        [] => return Err(Error::input(loc, format!("no {what}"))),
        [a, b] if a == b => {
            return Err(Error::input(
                loc,
                format!("two {what}s for the {} leg", a.as_str()),
            ));
        }
        [_, _, _, ..] => {
            return Err(Error::input(
                loc,
                format!("{} {what}s; expected one per leg", sides.len()),
            ));
        }
        _ => {}
    }
    let n = series.first().map_or(0, |s| s.1.len());
    if n == 0 {
        return Err(Error::input(loc, "the recording has no samples"));
    }
    for (name, samples) in series {
        if samples.len() != n {
            return Err(Error::input(
                loc,
                format!("`{name}` has {} samples, expected {n}", samples.len()),
            ));
        }
        if !with_scan {
            continue;
        }
        // Scanned on all cores: a night-long series is tens of MB of memory traffic.
        let first = crate::par::ranges(samples.len(), |r| {
            first_infinite(&samples[r.clone()]).map(|i| r.start + i)
        });
        if let Some(i) = first.into_iter().flatten().next() {
            return Err(infinite_sample(name, i));
        }
    }
    Ok(())
}

/// The error for sample `i` of the series `name` being infinite.
pub(crate) fn infinite_sample(name: &str, i: usize) -> Error {
    Error::input(
        Location::default(),
        format!("`{name}`: sample {i} is infinite"),
    )
}

/// Index of the first infinite value of `x`. Blocks are screened with a branch-free test
/// the compiler vectorises (a night-long signal is scanned in a few milliseconds); only a
/// block that holds one is searched.
pub(crate) fn first_infinite(x: &[f64]) -> Option<usize> {
    const BLOCK: usize = 256;
    // ±∞ are the values whose bits, sign cleared, are those of +∞ (integer lanes
    // vectorise where float comparisons folded into a bool do not).
    const MAGNITUDE: u64 = !(1 << 63);
    let inf = f64::INFINITY.to_bits();
    x.chunks(BLOCK).enumerate().find_map(|(b, chunk)| {
        let any = chunk.iter().fold(0u64, |any, v| {
            any | u64::from(v.to_bits() & MAGNITUDE == inf)
        });
        (any != 0).then(|| b * BLOCK + chunk.iter().position(|v| v.is_infinite()).unwrap_or(0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn builds_from_slices_and_arrays() {
        let r = Recording::from_slices(200.0, Some(&[1.0, 2.0]), None).unwrap();
        assert_eq!(r.len(), 2);
        assert!((r.duration_s() - 0.01).abs() < 1e-15);
        let a = Array2::from_shape_vec((3, 2), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let r = Recording::from_array(100.0, a.view(), &[Side::Left, Side::Right]).unwrap();
        assert_eq!(
            r.channel(Side::Right).unwrap().samples_uv,
            vec![2.0, 4.0, 6.0]
        );
    }

    #[test]
    fn rejects_bad_recordings() {
        assert!(Recording::from_slices(200.0, None, None).is_err());
        assert!(Recording::from_slices(0.0, Some(&[1.0]), None).is_err());
        assert!(Recording::from_slices(200.0, Some(&[1.0]), Some(&[1.0, 2.0])).is_err());
        assert!(Recording::from_slices(200.0, Some(&[f64::INFINITY]), None).is_err());
        assert!(Recording::from_slices(200.0, Some(&[]), None).is_err());
        let a = Array2::<f64>::zeros((3, 2));
        assert!(Recording::from_array(100.0, a.view(), &[Side::Left, Side::Left]).is_err());
        assert!(Recording::from_array(100.0, a.view(), &[Side::Left]).is_err());
    }

    #[test]
    fn finds_the_first_infinite_sample_anywhere() {
        let n = 1000;
        assert_eq!(first_infinite(&vec![f64::NAN; n]), None);
        assert_eq!(first_infinite(&[]), None);
        for at in [0, 1, 255, 256, 257, 511, 512, 999] {
            for inf in [f64::INFINITY, f64::NEG_INFINITY] {
                let mut x = vec![1.0; n];
                x[at] = inf;
                x[(at + 300).min(n - 1)] = inf;
                assert_eq!(first_infinite(&x), Some(at), "{at}");
            }
        }
        let mut x = vec![0.5; 700];
        x[600] = f64::INFINITY;
        let err = Recording::from_slices(100.0, Some(&x), None).unwrap_err();
        assert!(err.to_string().contains("sample 600 is infinite"), "{err}");
    }
}
