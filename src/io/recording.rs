//! A night of leg EMG on a uniform time grid: [`Recording`].
//!
//! Samples are microvolts (`_uv`) at `sample_rate_hz`; sample `i` is at
//! [`Recording::time_s`]`(i)` seconds from the start: `i / sample_rate_hz`, unless a long
//! gap before it is not stored. `NaN` marks a gap (a missing sample or an empty cell): no
//! leg movement may cross a gap, and gaps are reported as excluded time. A gap longer
//! than 5 minutes in a file is stored as one `NaN` (memory follows the data, not the span
//! the file claims); [`Recording::duration_s`] and the reports count it whole. Index →
//! seconds conversions use the true rate (rules digest §8).
//!
//! A recording is checked when it is built — a positive rate, one or two legs (at most
//! one per side), every leg the same non-zero length, no infinite sample — so everything
//! downstream can rely on it.

use ndarray::ArrayView2;

use super::frame::Frame;
use super::grid::TimeBase;
use super::grid::skips::Skips;
use crate::error::{Error, Location, Result};
use crate::events::Side;

/// One leg's EMG.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    name: String,
    side: Side,
    samples_uv: Vec<f64>,
}

impl Channel {
    /// The column name or signal label in the source file (`left`/`right` in memory).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The leg.
    #[must_use]
    pub fn side(&self) -> Side {
        self.side
    }

    /// The samples, µV; `NaN` = gap.
    #[must_use]
    pub fn samples_uv(&self) -> &[f64] {
        &self.samples_uv
    }

    /// The samples, given up (to be filtered in place).
    pub(crate) fn into_samples(self) -> Vec<f64> {
        self.samples_uv
    }
}

/// A night of one- or two-leg EMG.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    channels: Vec<Channel>,
    frame: Frame,
}

impl Recording {
    /// A recording of per-leg samples (µV, `NaN` = gap) at `sample_rate_hz`. At least one
    /// leg.
    ///
    /// # Errors
    /// [`Error::Input`] when no leg is given, lengths differ, a sample is infinite, the
    /// rate is not positive, or there are no samples.
    pub fn from_slices(
        sample_rate_hz: f64,
        left_uv: Option<&[f64]>,
        right_uv: Option<&[f64]>,
    ) -> Result<Self> {
        Self::in_memory(
            sample_rate_hz,
            [left_uv, right_uv].map(|l| l.map(<[f64]>::to_vec)),
        )
    }

    /// [`Recording::from_slices`] of `f32` samples: recorders store 16-bit samples, which
    /// `f32` holds exactly, so a caller can keep its night at half the memory of `f64`.
    /// The recording holds the samples as `f64`, which every stage computes in.
    ///
    /// # Errors
    /// As [`Recording::from_slices`].
    pub fn from_slices_f32(
        sample_rate_hz: f64,
        left_uv: Option<&[f32]>,
        right_uv: Option<&[f32]>,
    ) -> Result<Self> {
        Self::in_memory(
            sample_rate_hz,
            [left_uv, right_uv].map(|l| l.map(|s| s.iter().map(|&v| f64::from(v)).collect())),
        )
    }

    /// A recording of a `(samples, legs)` array whose columns are the legs in `sides`
    /// order (µV, `NaN` = gap).
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
        let legs = sides
            .iter()
            .zip(samples_uv.columns())
            .map(|(&side, col)| (side, side.as_str().to_owned(), col.to_vec()));
        Self::from_legs(
            sample_rate_hz,
            legs,
            None,
            TimeBase::InMemory,
            &Location::default(),
            false,
        )
    }

    /// The in-memory recording of the left and right legs' samples.
    fn in_memory(sample_rate_hz: f64, [left, right]: [Option<Vec<f64>>; 2]) -> Result<Self> {
        let legs = [(Side::Left, left), (Side::Right, right)]
            .into_iter()
            .filter_map(|(side, samples)| samples.map(|s| (side, side.as_str().to_owned(), s)));
        Self::from_legs(
            sample_rate_hz,
            legs,
            None,
            TimeBase::InMemory,
            &Location::default(),
            false,
        )
    }

    /// A recording of one channel per `(side, name, samples µV)`, checked (module docs);
    /// an input error is placed in the file `loc`. With `finite`, the maker vouches that
    /// no sample is infinite (a reader that refused infinite cells, the simulator), and
    /// the samples are not scanned for one (a night-long scan of both legs is ≈ 8 ms of
    /// memory traffic).
    pub(crate) fn from_legs(
        sample_rate_hz: f64,
        legs: impl IntoIterator<Item = (Side, String, Vec<f64>)>,
        start_time: Option<String>,
        time_base: TimeBase,
        loc: &Location,
        finite: bool,
    ) -> Result<Self> {
        let rec = Recording {
            channels: legs
                .into_iter()
                .map(|(side, name, samples_uv)| Channel {
                    name,
                    side,
                    samples_uv,
                })
                .collect(),
            frame: Frame::new(sample_rate_hz, start_time, time_base),
        };
        let sides: Vec<Side> = rec.channels.iter().map(|c| c.side).collect();
        let series: Vec<(&str, &[f64])> = rec
            .channels
            .iter()
            .map(|c| (c.name.as_str(), c.samples_uv.as_slice()))
            .collect();
        validate_layout(sample_rate_hz, &sides, "leg channel", &series, !finite)
            .map_err(|e| e.located(loc))?;
        Ok(rec)
    }

    /// Sample rate, Hz.
    #[must_use]
    pub fn sample_rate_hz(&self) -> f64 {
        self.frame.sample_rate_hz
    }

    /// The legs: one or two channels, at most one per side, all the same length.
    #[must_use]
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The channel of `side`, if recorded.
    #[must_use]
    pub fn channel(&self, side: Side) -> Option<&Channel> {
        self.channels.iter().find(|c| c.side == side)
    }

    /// Wall-clock time of the first sample, when the file gave one (ISO 8601).
    #[must_use]
    pub fn start_time(&self) -> Option<&str> {
        self.frame.start_time.as_deref()
    }

    /// How the time grid was built.
    #[must_use]
    pub fn time_base(&self) -> TimeBase {
        self.frame.time_base
    }

    /// Number of samples stored per channel (a long gap counts one: module docs).
    #[must_use]
    pub fn len(&self) -> usize {
        self.channels.first().map_or(0, |c| c.samples_uv.len())
    }

    /// Number of samples on the night's grid, long gaps included.
    #[must_use]
    pub fn grid_len(&self) -> usize {
        self.frame.grid_len(self.len())
    }

    /// `true` when there are no samples (never, for a recording that was built).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Duration, s (`grid_len / rate`).
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.grid_len() as f64 / self.frame.sample_rate_hz
    }

    /// Time of stored sample `idx`, s.
    #[must_use]
    pub fn time_s(&self, idx: usize) -> f64 {
        self.frame.skips.grid_index(idx) as f64 / self.frame.sample_rate_hz
    }

    /// The grid and what the reader noted.
    pub(crate) fn frame(&self) -> &Frame {
        &self.frame
    }

    /// What the reader noticed about the file that a report must say (a column that looks
    /// like a leg but was not taken, ...).
    #[must_use]
    pub fn notes(&self) -> &[String] {
        &self.frame.notes
    }

    /// The same recording, with `note` for its reports (a reader's).
    pub(crate) fn with_note(mut self, note: String) -> Self {
        self.frame.notes.push(note);
        self
    }

    /// The same recording, with the long gaps `skips` not stored (a reader's).
    pub(crate) fn with_skips(mut self, skips: Skips) -> Self {
        self.frame.skips = skips;
        self
    }

    /// The channels, given up (their samples to be filtered in place).
    pub(crate) fn into_channels(self) -> Vec<Channel> {
        self.channels
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
    check_rate(sample_rate_hz).map_err(|m| Error::input(loc.clone(), m))?;
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
            return Err(Error::input(
                Location::default(),
                format!("`{name}`: sample {i} is infinite"),
            ));
        }
    }
    Ok(())
}

/// The sample rates a recording may have, Hz: 1 Hz (the slowest accelerometer export)
/// to 100 kHz (beyond any EMG amplifier). Outside, a rate is a broken header or stamp.
pub const RATE_RANGE_HZ: [f64; 2] = [1.0, 100_000.0];

/// `Ok` when `fs_hz` lies in [`RATE_RANGE_HZ`], else the message saying so.
pub(crate) fn check_rate(fs_hz: f64) -> std::result::Result<(), String> {
    let [min, max] = RATE_RANGE_HZ;
    if (min..=max).contains(&fs_hz) {
        Ok(())
    } else {
        Err(format!(
            "a sample rate of {} Hz is outside [{min}, {max}] Hz",
            crate::error::num(fs_hz)
        ))
    }
}

/// Index of the first infinite value of `x`. Blocks are screened with a branch-free test
/// the compiler vectorises (a night-long signal is scanned in a few milliseconds); only a
/// block that holds one is searched.
fn first_infinite(x: &[f64]) -> Option<usize> {
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
            r.channel(Side::Right).unwrap().samples_uv(),
            &[2.0, 4.0, 6.0]
        );
        let f = Recording::from_slices_f32(100.0, None, Some(&[0.5f32, -1.25])).unwrap();
        assert_eq!(f.channels()[0].samples_uv(), &[0.5, -1.25]);
        assert_eq!(f.channels()[0].side(), Side::Right);
    }

    #[test]
    fn rejects_bad_recordings() {
        assert!(Recording::from_slices(200.0, None, None).is_err());
        assert!(Recording::from_slices(0.0, Some(&[1.0]), None).is_err());
        assert!(Recording::from_slices(200.0, Some(&[1.0]), Some(&[1.0, 2.0])).is_err());
        assert!(Recording::from_slices(200.0, Some(&[f64::INFINITY]), None).is_err());
        assert!(Recording::from_slices_f32(200.0, Some(&[f32::NEG_INFINITY]), None).is_err());
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
