//! A night of one or two ankle devices on one grid: [`ankle_night`].
//!
//! The devices' clocks are aligned by their time stamps: each leg is read at the same
//! clock times `start + k / fs` through its own time line (`timeline.rs`), so devices
//! that started at different times, at different rates, or whose sample clocks drift,
//! land on one grid. The grid's rate is the higher nominal rate (a slower device is
//! interpolated up, never a faster one down), at most 200 Hz (a faster device is read at
//! 100 Hz). Stretches where neither device has data for more than five minutes are
//! stored as one sample (`io/grid/skips.rs`), so memory follows the data.

use super::timeline::{Sampler, coverage};
use super::{DeviceFile, iso};
use crate::error::{Error, Location, Result};
use crate::events::Side;
use crate::io::accel_recording::AccelRecording;
use crate::io::grid::TimeBase;
use crate::io::grid::skips::{FILL_MAX_S, GapFill};

/// The grid rate of devices of nominal rates `rates` (module docs).
#[must_use]
pub fn grid_rate_hz(rates: impl IntoIterator<Item = f64>) -> f64 {
    let top = rates.into_iter().fold(0.0, f64::max);
    if top > 200.0 { 100.0 } else { top }
}

/// An ankle of a night: its side, its device, and the clock stretches `[from, to)` s it
/// was not worn.
pub type Ankle<'a> = (Side, &'a DeviceFile, &'a [(f64, f64)]);

/// The recording of the ankles `(side, device, stretches not worn [from, to) s)` over the
/// clock window `[from_s, to_s)`, on one grid at `fs_hz`: the not-worn stretches are gaps.
///
/// # Errors
/// [`Error::Input`] when the window is empty or holds no sample of any device.
pub fn ankle_night(
    ankles: &[Ankle<'_>],
    from_s: f64,
    to_s: f64,
    fs_hz: f64,
) -> Result<AccelRecording> {
    // Stamps are quantized (a CWA's to 1/32768 s): a window end within a thousandth of a
    // sample of a grid point reaches it.
    let n = ((to_s - from_s) * fs_hz + 1e-3).floor().max(0.0) as usize;
    let loc = Location::default();
    if n < 2 {
        return Err(Error::input(
            loc,
            format!(
                "the window {} to {} holds no samples",
                iso(from_s),
                iso(to_s)
            ),
        ));
    }
    // Grid points any device covers; gaps shorter than FILL_MAX_S are stored as NaN.
    let mut ranges: Vec<(usize, usize)> = ankles
        .iter()
        .flat_map(|(_, d, _)| coverage(&d.runs, from_s, n, fs_hz))
        .collect();
    ranges.sort_unstable();
    let bridge = (FILL_MAX_S * fs_hz) as usize;
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(l) if a <= l.1 + bridge => l.1 = l.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    if merged.is_empty() {
        return Err(Error::input(
            loc,
            format!(
                "no device has data between {} and {}",
                iso(from_s),
                iso(to_s)
            ),
        ));
    }
    let stored: usize = merged.iter().map(|(a, b)| b - a).sum::<usize>() + merged.len() + 1;
    let mut legs = Vec::with_capacity(ankles.len());
    let mut skips = None;
    for (side, device, not_worn) in ankles {
        let mut axes: [Vec<f64>; 3] = std::array::from_fn(|_| Vec::with_capacity(stored));
        let mut fill = GapFill::new(fs_hz);
        let mut sampler = Sampler::new(&device.runs, |i, a| device.g(i, a));
        let mut worn = not_worn.iter().peekable();
        for &(a, b) in &merged {
            let nan = fill.gap_to(a);
            for x in &mut axes {
                x.extend(std::iter::repeat_n(f64::NAN, nan));
            }
            for k in a..b {
                let t = from_s + k as f64 / fs_hz;
                while worn.peek().is_some_and(|w| w.1 <= t) {
                    worn.next();
                }
                let off = worn.peek().is_some_and(|w| w.0 <= t);
                let v = sampler.at(t);
                for (x, v) in axes.iter_mut().zip(v) {
                    x.push(if off { f64::NAN } else { v });
                }
            }
            fill.stored(b - a);
        }
        let nan = fill.gap_to(n);
        for x in &mut axes {
            x.extend(std::iter::repeat_n(f64::NAN, nan));
        }
        skips = Some(fill.finish());
        let names = ["x", "y", "z"].map(|a| format!("{}_{a}", side.as_str()));
        legs.push((*side, names, axes));
    }
    let rec =
        AccelRecording::from_legs(fs_hz, legs, Some(iso(from_s)), TimeBase::DeviceClock, &loc)?;
    Ok(rec.with_skips(skips.unwrap_or_default()))
}
