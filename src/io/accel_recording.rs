//! A night of leg accelerometry on a uniform time grid: [`AccelRecording`].
//!
//! Acceleration per axis in g at `sample_rate_hz` (`NaN` = gap), three axes per leg, one
//! or two legs. Checked when built, and long gaps stored as one `NaN`, as in a
//! [`Recording`](super::Recording).

use ndarray::ArrayView2;

use super::device::info::{DeviceInfo, SleepWindow};
use super::frame::Frame;
use super::grid::TimeBase;
use super::grid::skips::Skips;
use super::recording::validate_layout;
use crate::error::{Error, Location, Result};
use crate::events::Side;

/// One leg's 3-axis acceleration.
#[derive(Debug, Clone, PartialEq)]
pub struct AccelLeg {
    names: [String; 3],
    side: Side,
    axes_g: [Vec<f64>; 3],
}

impl AccelLeg {
    /// Column names (or signal labels) of the x, y, z axes.
    #[must_use]
    pub fn names(&self) -> &[String; 3] {
        &self.names
    }

    /// The leg.
    #[must_use]
    pub fn side(&self) -> Side {
        self.side
    }

    /// Acceleration per axis (x, y, z), g; `NaN` = gap.
    #[must_use]
    pub fn axes_g(&self) -> &[Vec<f64>; 3] {
        &self.axes_g
    }
}

/// A night of one- or two-leg accelerometry.
#[derive(Debug, Clone, PartialEq)]
pub struct AccelRecording {
    legs: Vec<AccelLeg>,
    frame: Frame,
}

impl AccelRecording {
    /// A recording of per-leg `[x, y, z]` slices in g (`NaN` = gap).
    ///
    /// # Errors
    /// [`Error::Input`] when no leg is given, lengths differ, a value is infinite, the
    /// rate is not positive, or there are no samples.
    pub fn from_slices(
        sample_rate_hz: f64,
        left_g: Option<[&[f64]; 3]>,
        right_g: Option<[&[f64]; 3]>,
    ) -> Result<Self> {
        let axes = |a: [&[f64]; 3]| a.map(<[f64]>::to_vec);
        Self::in_memory(sample_rate_hz, [left_g.map(axes), right_g.map(axes)])
    }

    /// [`AccelRecording::from_slices`] of `f32` samples, which a caller can keep at half
    /// the memory of `f64`; the recording holds them as `f64`.
    ///
    /// # Errors
    /// As [`AccelRecording::from_slices`].
    pub fn from_slices_f32(
        sample_rate_hz: f64,
        left_g: Option<[&[f32]; 3]>,
        right_g: Option<[&[f32]; 3]>,
    ) -> Result<Self> {
        let axes = |a: [&[f32]; 3]| a.map(|s| s.iter().map(|&v| f64::from(v)).collect());
        Self::in_memory(sample_rate_hz, [left_g.map(axes), right_g.map(axes)])
    }

    /// A recording of `(samples, 3)` arrays per leg (columns x, y, z, in g).
    ///
    /// # Errors
    /// As [`AccelRecording::from_slices`], and when an array does not have 3 columns.
    pub fn from_array<'a>(
        sample_rate_hz: f64,
        left_g: Option<ArrayView2<'a, f64>>,
        right_g: Option<ArrayView2<'a, f64>>,
    ) -> Result<Self> {
        let cols = |a: ArrayView2<'_, f64>| -> Result<[Vec<f64>; 3]> {
            if a.ncols() != 3 {
                return Err(Error::input(
                    Location::default(),
                    format!("expected 3 columns (x, y, z), got {}", a.ncols()),
                ));
            }
            Ok([
                a.column(0).to_vec(),
                a.column(1).to_vec(),
                a.column(2).to_vec(),
            ])
        };
        let left = left_g.map(cols).transpose()?;
        let right = right_g.map(cols).transpose()?;
        Self::in_memory(sample_rate_hz, [left, right])
    }

    /// The in-memory recording of the left and right legs' axes, named `left_x` …
    /// `right_z`.
    fn in_memory(sample_rate_hz: f64, [left, right]: [Option<[Vec<f64>; 3]>; 2]) -> Result<Self> {
        let legs = [(Side::Left, left), (Side::Right, right)]
            .into_iter()
            .filter_map(|(side, axes)| {
                let names = ["x", "y", "z"].map(|a| format!("{}_{a}", side.as_str()));
                axes.map(|a| (side, names, a))
            });
        Self::from_legs(
            sample_rate_hz,
            legs,
            None,
            TimeBase::InMemory,
            &Location::default(),
        )
    }

    /// A recording of one leg per `(side, axis names, axes g)`, checked (module docs); an
    /// input error is placed in the file `loc`.
    pub(crate) fn from_legs(
        sample_rate_hz: f64,
        legs: impl IntoIterator<Item = (Side, [String; 3], [Vec<f64>; 3])>,
        start_time: Option<String>,
        time_base: TimeBase,
        loc: &Location,
    ) -> Result<Self> {
        let rec = Self {
            legs: legs
                .into_iter()
                .map(|(side, names, axes_g)| AccelLeg {
                    names,
                    side,
                    axes_g,
                })
                .collect(),
            frame: Frame::new(sample_rate_hz, start_time, time_base),
        };
        let sides: Vec<Side> = rec.legs.iter().map(|l| l.side).collect();
        let series: Vec<(&str, &[f64])> = rec
            .legs
            .iter()
            .flat_map(|l| {
                l.names
                    .iter()
                    .zip(&l.axes_g)
                    .map(|(n, a)| (n.as_str(), a.as_slice()))
            })
            .collect();
        validate_layout(sample_rate_hz, &sides, "leg accelerometer", &series, true)
            .map_err(|e| e.located(loc))?;
        Ok(rec)
    }

    /// Sample rate, Hz.
    #[must_use]
    pub fn sample_rate_hz(&self) -> f64 {
        self.frame.sample_rate_hz
    }

    /// The legs: one or two, at most one per side, all axes the same length.
    #[must_use]
    pub fn legs(&self) -> &[AccelLeg] {
        &self.legs
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

    /// Samples stored per axis (a long gap counts one).
    #[must_use]
    pub fn len(&self) -> usize {
        self.legs.first().map_or(0, |l| l.axes_g[0].len())
    }

    /// Number of samples on the night's grid, long gaps included.
    #[must_use]
    pub fn grid_len(&self) -> usize {
        self.frame.grid_len(self.len())
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

    /// The same recording, with the long gaps `skips` not stored (a reader's).
    pub(crate) fn with_skips(mut self, skips: Skips) -> Self {
        self.frame.skips = skips;
        self
    }

    /// The same recording, read from the ankle devices `devices` over the window `window`,
    /// with what the devices' readers noted.
    #[must_use]
    pub fn with_devices(
        mut self,
        devices: Vec<DeviceInfo>,
        window: Option<SleepWindow>,
        notes: impl IntoIterator<Item = String>,
    ) -> Self {
        self.frame.devices = devices;
        self.frame.sleep_window = window;
        self.frame.notes.extend(notes);
        self
    }

    /// The ankle devices the night was read from (device files only).
    #[must_use]
    pub fn devices(&self) -> &[DeviceInfo] {
        &self.frame.devices
    }

    /// The window of a device night that is scored (device files only).
    #[must_use]
    pub fn sleep_window(&self) -> Option<&SleepWindow> {
        self.frame.sleep_window.as_ref()
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_and_constructors() {
        assert!(AccelRecording::from_slices(50.0, None, None).is_err());
        let x = [0.0; 100];
        let r = AccelRecording::from_slices(50.0, Some([&x, &x, &x]), None).unwrap();
        assert_eq!(r.len(), 100);
        assert_eq!(r.legs()[0].names()[2], "left_z");
        assert!(AccelRecording::from_slices(50.0, Some([&x, &x, &x[..50]]), None).is_err());
        let a = ndarray::Array2::<f64>::zeros((10, 3));
        assert!(AccelRecording::from_array(50.0, Some(a.view()), Some(a.view())).is_ok());
        let b = ndarray::Array2::<f64>::zeros((10, 2));
        assert!(AccelRecording::from_array(50.0, Some(b.view()), None).is_err());
        let y = [1.0f32; 10];
        let r = AccelRecording::from_slices_f32(50.0, None, Some([&y, &y, &y])).unwrap();
        assert_eq!(
            (r.legs()[0].side(), r.legs()[0].axes_g()[1][9]),
            (Side::Right, 1.0)
        );
        let inf = [f32::INFINITY; 10];
        assert!(AccelRecording::from_slices_f32(50.0, Some([&y, &inf, &y]), None).is_err());
    }
}
