//! Time stamps to a uniform grid: the sample rate estimated from all the stamps, rows
//! placed on the grid, and stamps too irregular for that resampled.
//!
//! Input: the time stamps of a CSV night, s from its first row, and its value columns.
//! Output: the rate, Hz, the columns on the grid `k / rate` (`NaN` where no row falls),
//! and how they got there ([`TimeBase`]).
//!
//! * **Rate**: rows per second over the gap-free stretches of *all* stamps (a step over
//!   1.5 median steps starts a new stretch), never from the first two rows: exported
//!   stamps are rounded (rules digest §8), and rounding then errs only at stretch ends.
//! * **Placement**: a row goes to the grid point `round(t · rate)` when every stamp lies
//!   within 0.45 sample of a distinct point; a jump between rows leaves `NaN`s (a gap).
//! * **Resampling**: stamps too irregular for that (jitter of 0.45 sample or more) are
//!   interpolated linearly onto the grid; a step up to 2.5 median steps (jitter, one
//!   dropped sample) is bridged, anything longer is a gap.
//! * **Coarse stamps**: stamps rounded coarser than the sample period repeat (2-decimal
//!   stamps at 200 Hz); the rows are then consecutive samples when every stamp is within
//!   one rounding step of a uniform grid, and refused with an explanation when not.
//!
//! [`check::GridCheck`] decides, while the stamps are parsed, whether a night is on the
//! grid it is expected on, so that its stamps need not be stored at all.

pub(crate) mod check;
pub(crate) mod skips;

use self::skips::{GapFill, Skips};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};
use crate::par;

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
    /// Read from accelerometer device files: each sample placed by the device's time
    /// stamps and read onto one uniform grid (`io/device`).
    DeviceClock,
}

/// The longest a recording may last, s (two days): a longer span is a broken stamp or
/// header, not a night.
pub(crate) const MAX_SPAN_S: f64 = 2.0 * 86_400.0;

/// Stamps (from 0) that repeat because they are rounded coarser than the sample period:
/// the rate is rows per second over the whole span (or `given`), and the rows are accepted
/// as consecutive samples when every stamp is within one rounding step (the smallest
/// positive step) plus half a sample of that uniform grid. Otherwise (missing rows, or an
/// irregular clock hidden by the rounding) the message says what to do.
pub(crate) fn coarse_stamps(
    times: &[f64],
    given: Option<f64>,
) -> std::result::Result<(f64, TimeBase), String> {
    let n = times.len();
    let span = times.last().copied().unwrap_or(0.0);
    if span <= 0.0 || n < 3 {
        return Err("every time stamp is the same: give the sample rate (--fs) instead".into());
    }
    let fs = given.unwrap_or((n - 1) as f64 / span);
    let quantum = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    let tolerance = quantum + 0.5 / fs;
    let worst = times
        .iter()
        .enumerate()
        .map(|(i, t)| (t - i as f64 / fs).abs())
        .fold(0.0, f64::max);
    if worst <= tolerance {
        Ok((fs, TimeBase::TimeColumn))
    } else {
        Err(format!(
            "time stamps repeat (rounded to {quantum} s, coarser than the {:.4} s sample period) and drift {worst:.3} s from a uniform grid: rows may be missing; give the sample rate (--fs) and no time column, or export finer stamps",
            1.0 / fs
        ))
    }
}

/// Median of the positive steps between time stamps.
pub(crate) fn median_step(times: &[f64]) -> Option<f64> {
    if times.len() < 2 {
        return None;
    }
    // A strided sample of at most 100 000 steps is plenty for a median.
    let stride = (times.len() / 100_000).max(1);
    let mut steps: Vec<f64> = times
        .windows(2)
        .step_by(stride)
        .map(|w| w[1] - w[0])
        .collect();
    let mid = steps.len() / 2;
    let (_, m, _) = steps.select_nth_unstable_by(mid, f64::total_cmp);
    (*m > 0.0).then_some(*m)
}

/// Sample rate from all time stamps: rows per second over gap-free stretches (a step over
/// 1.5 median steps starts a new stretch). Rounded stamps only err at the stretch ends.
#[must_use]
pub(crate) fn estimate_rate(times: &[f64]) -> Option<f64> {
    let step = median_step(times)?;
    // Where stretches end (found on all cores), then their lengths summed in order.
    let ends = par::ranges(times.len(), |r| {
        r.filter(|&i| i > 0 && times[i] - times[i - 1] > 1.5 * step)
            .collect::<Vec<usize>>()
    });
    let (mut steps, mut span) = (0usize, 0.0f64);
    let mut start = 0;
    for i in ends.into_iter().flatten().chain([times.len()]) {
        if i - 1 > start {
            steps += i - 1 - start;
            span += times[i - 1] - times[start];
        }
        start = i;
    }
    (span > 0.0).then(|| steps as f64 / span)
}

/// Whether `x` is within 0.45 of the nearest integer: `|x − x.round()| < 0.45`, without
/// the library call `round` needs on baseline x86-64 (a night has millions of stamps).
/// For `0 ≤ x < 2⁵²`, the fraction `f = x − trunc(x)` is exact, `round` adds 1 to
/// `trunc(x)` exactly when `f ≥ 0.5`, and then `x − round(x) = f − 1` is exact too
/// (Sterbenz), so the two tests below are the same comparison; anything else (negative,
/// huge, `NaN`, infinite) takes the original expression.
#[inline]
fn near_integer(x: f64) -> bool {
    if (0.0..4.5e15).contains(&x) {
        // 0 ≤ x < 2⁵²: the conversion truncates without saturating.
        let f = x - (x as i64) as f64;
        f < 0.45 || 1.0 - f < 0.45
    } else {
        (x - x.round()).abs() < 0.45
    }
}

/// Whether every stamp lies within 0.45 sample of a grid point of `fs` (a rate the
/// stamps agree with, gaps or not).
pub(crate) fn near_grid(times: &[f64], fs: f64) -> bool {
    par::ranges(times.len(), |r| {
        times[r].iter().all(|&t| near_integer(t * fs))
    })
    .into_iter()
    .all(|ok| ok)
}

/// Rows on the grid: the columns as stored, and the stretches of the grid skipped.
pub(crate) struct Placed {
    pub time_base: TimeBase,
    pub values: Vec<Vec<f64>>,
    pub skips: Skips,
}

/// Places rows on the uniform grid `k / fs` (see module docs); a long gap is stored as
/// one `NaN` ([`skips`]), so memory follows the rows, whatever span the stamps claim.
///
/// # Errors
/// Stamps spanning more than [`MAX_SPAN_S`], in the file `loc`.
pub(crate) fn place_on_grid(
    times: &[f64],
    values: Vec<Vec<f64>>,
    fs: f64,
    loc: &Location,
) -> Result<Placed> {
    let last = *times.last().unwrap_or(&0.0);
    if last.is_nan() || last > MAX_SPAN_S {
        return Err(Error::input(
            loc.clone(),
            format!(
                "time stamps span {} s, more than the {} h a recording may last",
                crate::error::num(last),
                MAX_SPAN_S / 3600.0
            ),
        ));
    }
    let n_grid = (last * fs).round() as usize + 1;
    // Direct placement when every stamp is within 0.45 sample of a distinct grid point.
    let direct = near_grid(times, fs);
    if direct && n_grid == times.len() {
        return Ok(Placed {
            time_base: TimeBase::TimeColumn,
            values,
            skips: Skips::default(),
        });
    }
    if direct {
        let mut out = vec![Vec::with_capacity(times.len()); values.len()];
        let mut fill = GapFill::new(fs);
        let mut prev = usize::MAX;
        let mut unique = true;
        for (i, &t) in times.iter().enumerate() {
            let k = (t * fs).round() as usize;
            if k == prev {
                unique = false;
                break;
            }
            prev = k;
            let nan = fill.gap_to(k);
            for (o, v) in out.iter_mut().zip(&values) {
                o.extend(std::iter::repeat_n(f64::NAN, nan));
                o.push(v[i]);
            }
            fill.stored(1);
        }
        if unique {
            return Ok(Placed {
                time_base: TimeBase::TimeColumn,
                values: out,
                skips: fill.finish(),
            });
        }
    }
    // Irregular stamps: values are interpolated anyway, so a step of up to 2.5 median steps
    // (jitter, or one dropped sample) is bridged; anything longer is a gap.
    let gap = 2.5 * median_step(times).unwrap_or(1.0 / fs);
    let mut out = vec![Vec::with_capacity(times.len()); values.len()];
    let mut fill = GapFill::new(fs);
    let mut j = 0;
    let mut k = 0;
    while k < n_grid {
        let t = k as f64 / fs;
        while j + 1 < times.len() && times[j + 1] < t {
            j += 1;
        }
        let value = |o: &mut Vec<f64>, v: &[f64]| {
            if j + 1 >= times.len() {
                o.push(if (times[j] - t).abs() < 1e-9 {
                    v[j]
                } else {
                    f64::NAN
                });
                return;
            }
            let (ta, tb) = (times[j], times[j + 1]);
            let w = (t - ta) / (tb - ta);
            o.push(if t < ta {
                f64::NAN
            } else {
                v[j] + w * (v[j + 1] - v[j])
            });
        };
        if j + 1 < times.len() && times[j + 1] - times[j] > gap {
            // A gap: no value up to and including the grid point on its far stamp.
            let tb = times[j + 1];
            let mut end = ((tb * fs).floor() as usize).max(k);
            while end as f64 / fs <= tb {
                end += 1;
            }
            let end = end.min(n_grid);
            let nan = fill.gap_to(end);
            for o in &mut out {
                o.extend(std::iter::repeat_n(f64::NAN, nan));
            }
            k = end;
            continue;
        }
        for (o, v) in out.iter_mut().zip(&values) {
            value(o, v);
        }
        fill.stored(1);
        k += 1;
    }
    Ok(Placed {
        time_base: TimeBase::Resampled,
        values: out,
        skips: fill.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_integer_is_the_rounding_test_it_replaces() {
        let reference = |x: f64| (x - x.round()).abs() < 0.45;
        let mut xs = vec![
            0.0,
            -0.0,
            0.45,
            0.55,
            0.5,
            0.5f64.next_down(),
            1.45,
            1.55,
            2.0f64.powi(52) - 0.5,
            4.5e15,
            1e300,
            -0.3,
            -1.6,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ];
        for x in [0.45f64, 0.55, 0.5, 1.45, 1e6 + 0.45, 7_372_799.55] {
            xs.extend([x.next_down(), x.next_up()]);
        }
        // Stamps of a 256 Hz night written with 6 decimals, times rates near 256 Hz.
        for i in (0..7_372_800u64).step_by(997) {
            let t = (i as f64 / 256.0 * 1e6).round() / 1e6;
            xs.extend([t * 256.0, t * 256.01, t * 255.3]);
        }
        for x in xs {
            assert_eq!(near_integer(x), reference(x), "{x:e}");
        }
    }
}
