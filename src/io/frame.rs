//! What a recording of either kind holds besides its samples: [`Frame`] — the grid's
//! rate and start, how the grid was built, the long gaps not stored, and what the reader
//! noticed for the report.

use super::device::info::{DeviceInfo, SleepWindow};
use super::grid::TimeBase;
use super::grid::skips::Skips;

/// The grid and provenance of a [`super::Recording`] or [`super::AccelRecording`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// Sample rate, Hz.
    pub(crate) sample_rate_hz: f64,
    /// Wall-clock time of the first sample, when the file gave one (ISO 8601).
    pub(crate) start_time: Option<String>,
    /// How the grid was built.
    pub(crate) time_base: TimeBase,
    /// The long gaps not stored.
    pub(crate) skips: Skips,
    /// What the reader noticed that a report must say.
    pub(crate) notes: Vec<String>,
    /// The ankle devices the night was read from (device files only).
    pub(crate) devices: Vec<DeviceInfo>,
    /// The window of a device night that is scored (device files only).
    pub(crate) sleep_window: Option<SleepWindow>,
}

impl Frame {
    /// A grid of `sample_rate_hz` from `start_time`, built as `time_base` says, with no
    /// gap skipped and nothing noted.
    pub(crate) fn new(
        sample_rate_hz: f64,
        start_time: Option<String>,
        time_base: TimeBase,
    ) -> Self {
        Self {
            sample_rate_hz,
            start_time,
            time_base,
            skips: Skips::default(),
            notes: Vec::new(),
            devices: Vec::new(),
            sleep_window: None,
        }
    }

    /// Samples on the grid when `stored` are stored (the long gaps included).
    pub(crate) fn grid_len(&self, stored: usize) -> usize {
        stored + self.skips.total()
    }
}
