//! The sleep period and the time not worn, from a device's own samples, for nights that
//! come without a hypnogram or clock times: [`epochs`], [`non_wear`], [`sleep_period`].
//!
//! Both work on 5-s epochs (count, sum, sum of squares, minimum, maximum and orientation
//! per axis), gathered straight from the device's time line, so a week costs a few MB.
//!
//! **Non-wear** (after van Hees et al., `PLoS One` 2011 and 2013, as in GGIR): a 60-min
//! window, stepped by 15 min, is not worn when its axes have a standard deviation under
//! 13 mg and a range under 50 mg; the union of such windows is excluded from scoring. GGIR
//! asks this of two axes of a wrist sensor; at the ankle all three must be still, because
//! a leg movement in sleep may turn the shank about one axis only (a run of periodic limb
//! movements moved one axis while the other two stayed within the noise, and was taken
//! for non-wear with two). A sensor lying on a table is still on all three; a leg, even
//! asleep, is not for an hour (but a very still sleeper's hour can be taken for non-wear:
//! the report says how much was).
//!
//! **Sleep period** — HDCZA (van Hees et al., Sci Rep 2018, "Estimating sleep parameters
//! using an accelerometer without sleep diary", as used by GGIR), with its parameters:
//! 1. per 5-s epoch, the sensor's orientation (of signals smoothed by a 5-s rolling
//!    median, then averaged over the epoch);
//! 2. the absolute change of orientation between successive epochs, degrees;
//! 3. its rolling median over 5 minutes;
//! 4. a threshold of 15 × the night's 10th percentile of (3), kept within [0.13°,
//!    0.50°] (GGIR's bounds);
//! 5. runs below the threshold lasting more than 30 min are candidate blocks; blocks less
//!    than 60 min apart are joined;
//! 6. the longest joined block is the sleep period.
//!
//! **Adapted for the ankle**, because HDCZA was built on the wrist: (1) the orientation is
//! the direction of the epoch's median acceleration vector, per axis the median of its
//! ten 0.5-s means (like the 5-s rolling median it ignores a movement shorter than a
//! quarter of the epoch; unlike a median of samples it does not flip by a bit of the
//! device's resolution) and (2) the change is the 3-D angle
//! between successive directions, not the z-axis angle — an ankle sensor's axes are not
//! mounted alike from study to study (strapped laterally, in front, on the shin), while the
//! angle between directions does not depend on the mounting; (3) with two ankles, an
//! epoch's change is the larger of the two legs', so both must be still; (4) epochs not
//! worn never count as still (a sensor on a table is not asleep). It is an estimate, and
//! every report that uses it says so.

use crate::io::DeviceFile;

/// Epoch length, s.
pub const EPOCH_S: f64 = 5.0;
/// Non-wear window, s, and its step.
pub const NON_WEAR_WINDOW_S: f64 = 3600.0;
/// Step of the non-wear windows, s.
pub const NON_WEAR_STEP_S: f64 = 900.0;
/// An axis is still over a window when its standard deviation is under this, g …
/// (the window is not worn when all three are)
pub const NON_WEAR_SD_G: f64 = 0.013;
/// … and its range under this, g.
pub const NON_WEAR_RANGE_G: f64 = 0.050;
/// HDCZA: the rolling median's length, s.
pub const HDCZA_MEDIAN_S: f64 = 300.0;
/// HDCZA: the threshold is this many times the 10th percentile …
pub const HDCZA_FACTOR: f64 = 15.0;
/// … within these bounds, degrees.
pub const HDCZA_BOUNDS_DEG: [f64; 2] = [0.13, 0.50];
/// HDCZA: a still run must last more than this, s …
pub const HDCZA_MIN_BLOCK_S: f64 = 1800.0;
/// … and runs less than this apart are joined, s.
pub const HDCZA_JOIN_S: f64 = 3600.0;

/// The method of [`sleep_period`], in words, for the report.
pub const HDCZA_METHOD: &str = "estimated from the ankle sensors' orientation by HDCZA (van Hees et al., Sci Rep 2018; 5-s epochs, 5-min rolling median of the change of orientation, threshold 15 x its 10th percentile within 0.13-0.50 deg, still blocks > 30 min joined across < 60 min, the longest taken), adapted for the ankle (3-D angle between 5-s median acceleration directions, the larger of the two legs, not-worn time never still): an estimate, not a scored hypnogram";

/// Per 5-s epoch and axis: samples, sum, sum of squares, minimum, maximum, and the
/// orientation (g).
#[derive(Debug, Clone, Copy)]
pub struct Epoch {
    n: f64,
    sum: [f64; 3],
    sq: [f64; 3],
    min: [f64; 3],
    max: [f64; 3],
    orientation_g: Option<[f64; 3]>,
}

impl Default for Epoch {
    fn default() -> Self {
        Self {
            n: 0.0,
            sum: [0.0; 3],
            sq: [0.0; 3],
            min: [f64::INFINITY; 3],
            max: [f64::NEG_INFINITY; 3],
            orientation_g: None,
        }
    }
}

impl Epoch {
    fn add(&mut self, v: [f64; 3], weight: f64) {
        self.n += weight;
        for (a, x) in v.into_iter().enumerate() {
            self.sum[a] += weight * x;
            self.sq[a] += weight * x * x;
            self.min[a] = self.min[a].min(x);
            self.max[a] = self.max[a].max(x);
        }
    }

    fn merge(&mut self, o: &Epoch) {
        self.n += o.n;
        for a in 0..3 {
            self.sum[a] += o.sum[a];
            self.sq[a] += o.sq[a];
            self.min[a] = self.min[a].min(o.min[a]);
            self.max[a] = self.max[a].max(o.max[a]);
        }
    }

    /// The orientation: per axis the median of the epoch's ten 0.5-s means, g (`None`
    /// without samples). Like HDCZA's 5-s rolling median it ignores a movement shorter
    /// than a quarter of the epoch (a periodic limb movement), and, being a median of
    /// means, it does not flip by a whole bit of the device's resolution from epoch to
    /// epoch as a median of samples does (1/256 g is 0.22°, more than the threshold's lower
    /// bound).
    fn orientation(&self) -> Option<[f64; 3]> {
        self.orientation_g
            .or_else(|| (self.n > 0.0).then(|| self.sum.map(|s| s / self.n)))
    }
}

/// Sub-blocks an epoch's orientation is the median of (0.5 s each).
const SUB_BLOCKS: usize = 10;

/// The 5-s epochs of `device` from clock time `from_s` for `n` epochs.
#[must_use]
pub fn epochs(device: &DeviceFile, from_s: f64, n: usize) -> Vec<Epoch> {
    let mut out = vec![Epoch::default(); n];
    let sub_s = EPOCH_S / SUB_BLOCKS as f64;
    let n_sub = n * SUB_BLOCKS;
    // Per 0.5-s sub-block: samples and sums per axis.
    let mut sub = vec![(0.0f64, [0.0f64; 3]); n_sub];
    let to_s = from_s + n as f64 * EPOCH_S;
    for r in &device.runs {
        if r.end_s() <= from_s || r.t0_s >= to_s {
            continue;
        }
        // The first stored sample of sub-block k (clipped to the run).
        let index = |k: usize| -> usize {
            let t = from_s + k as f64 * sub_s;
            (((t - r.t0_s) * r.rate_hz).ceil().max(0.0) as usize).min(r.len)
        };
        let k0 = (((r.t0_s - from_s) / sub_s).floor().max(0.0) as usize).min(n_sub);
        let k1 = ((((r.last_s() - from_s) / sub_s).floor() + 1.0).max(0.0) as usize).min(n_sub);
        for k in k0..k1 {
            let (ia, ib) = (index(k), index(k + 1));
            if ib <= ia {
                continue;
            }
            let e = &mut out[k / SUB_BLOCKS];
            let s = &mut sub[k];
            device.samples.for_each(r.first + ia..r.first + ib, |v| {
                e.add(v, 1.0);
                s.0 += 1.0;
                for (x, v) in s.1.iter_mut().zip(v) {
                    *x += v;
                }
            });
        }
        if r.hold_s > 0.0 {
            let last = [0, 1, 2].map(|a| device.g(r.first + r.len - 1, a));
            let (a, b) = (
                (r.last_s() + 1.0 / r.rate_hz).max(from_s),
                r.end_s().min(to_s),
            );
            let mut t = a;
            while t < b {
                let k = ((t - from_s) / sub_s).floor();
                let edge = (from_s + (k + 1.0) * sub_s).min(b);
                if k >= 0.0 && (k as usize) < n_sub {
                    let w = (edge - t) * r.rate_hz;
                    out[k as usize / SUB_BLOCKS].add(last, w);
                    let s = &mut sub[k as usize];
                    s.0 += w;
                    for (x, v) in s.1.iter_mut().zip(last) {
                        *x += w * v;
                    }
                }
                t = edge;
            }
        }
    }
    // Orientation: per axis the median of the sub-block means.
    let mut means: [Vec<f64>; 3] = Default::default();
    for (e, epoch) in out.iter_mut().enumerate() {
        for m in &mut means {
            m.clear();
        }
        for s in &sub[e * SUB_BLOCKS..(e + 1) * SUB_BLOCKS] {
            if s.0 > 0.0 {
                for (m, x) in means.iter_mut().zip(s.1) {
                    m.push(x / s.0);
                }
            }
        }
        if !means[0].is_empty() {
            epoch.orientation_g = Some(means.each_mut().map(|m| {
                let mid = m.len() / 2;
                let (_, v, _) = m.select_nth_unstable_by(mid, f64::total_cmp);
                *v
            }));
        }
    }
    out
}

/// The stretches not worn, `[from, to)` clock s, of epochs starting at `from_s`.
#[must_use]
pub fn non_wear(epochs: &[Epoch], from_s: f64) -> Vec<(f64, f64)> {
    let window = (NON_WEAR_WINDOW_S / EPOCH_S) as usize;
    let step = (NON_WEAR_STEP_S / EPOCH_S) as usize;
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut start = 0;
    while start + window <= epochs.len() {
        let mut w = Epoch::default();
        let mut with_data = 0;
        for e in &epochs[start..start + window] {
            if e.n > 0.0 {
                with_data += 1;
                w.merge(e);
            }
        }
        if with_data * 10 >= window * 9 {
            let still = (0..3)
                .filter(|&a| {
                    let mean = w.sum[a] / w.n;
                    let sd = (w.sq[a] / w.n - mean * mean).max(0.0).sqrt();
                    sd < NON_WEAR_SD_G && w.max[a] - w.min[a] < NON_WEAR_RANGE_G
                })
                .count();
            if still == 3 {
                let (a, b) = (
                    from_s + start as f64 * EPOCH_S,
                    from_s + (start + window) as f64 * EPOCH_S,
                );
                match out.last_mut() {
                    Some(l) if a <= l.1 => l.1 = b,
                    _ => out.push((a, b)),
                }
            }
        }
        start += step;
    }
    out
}

/// The angle between two directions, degrees.
fn angle_deg(a: [f64; 3], b: [f64; 3]) -> f64 {
    let dot: f64 = (0..3).map(|k| a[k] * b[k]).sum();
    let na = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let nb = b.iter().map(|v| v * v).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        return f64::NAN;
    }
    (dot / (na * nb)).clamp(-1.0, 1.0).acos().to_degrees()
}

/// Clock stretches `[from, to)`, s.
pub type Stretches = [(f64, f64)];

/// The sleep period of one or two legs' epochs (same start `from_s`, same length), with
/// the stretches each leg was not worn: `[from, to)` clock s, or `None` when no still
/// block is long enough.
#[must_use]
pub fn sleep_period(legs: &[(&[Epoch], &Stretches)], from_s: f64) -> Option<(f64, f64)> {
    let n = legs.iter().map(|l| l.0.len()).min()?;
    // (1)-(2): per epoch the largest change of orientation of any leg; NaN if unknown.
    let mut change = vec![f64::NAN; n];
    for (epochs, off) in legs {
        let mut prev: Option<[f64; 3]> = None;
        let mut off = off.iter().peekable();
        for (e, c) in change.iter_mut().enumerate() {
            let t = from_s + e as f64 * EPOCH_S;
            while off.peek().is_some_and(|w| w.1 <= t) {
                off.next();
            }
            let worn = !off.peek().is_some_and(|w| w.0 <= t);
            let m = epochs[e].orientation().filter(|_| worn);
            let a = match (prev, m) {
                (Some(p), Some(m)) => angle_deg(p, m),
                (_, None) => f64::INFINITY, // not worn or no data: never still
                (None, Some(_)) => f64::NAN,
            };
            prev = m;
            if !a.is_nan() {
                *c = if c.is_nan() { a } else { c.max(a) };
            }
        }
    }
    // (3) rolling median over 5 minutes (centred), of the known values.
    let half = (HDCZA_MEDIAN_S / EPOCH_S / 2.0) as usize;
    let mut med = vec![f64::NAN; n];
    let mut buf = Vec::with_capacity(2 * half + 1);
    for (e, m) in med.iter_mut().enumerate() {
        buf.clear();
        buf.extend(
            change[e.saturating_sub(half)..(e + half + 1).min(n)]
                .iter()
                .copied()
                .filter(|v| !v.is_nan()),
        );
        if !buf.is_empty() {
            let mid = buf.len() / 2;
            let (_, v, _) = buf.select_nth_unstable_by(mid, f64::total_cmp);
            *m = *v;
        }
    }
    // (4) threshold.
    let mut finite: Vec<f64> = med.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    let k = finite.len() / 10;
    let (_, p10, _) = finite.select_nth_unstable_by(k, f64::total_cmp);
    let threshold = (*p10 * HDCZA_FACTOR).clamp(HDCZA_BOUNDS_DEG[0], HDCZA_BOUNDS_DEG[1]);
    // (5) still runs longer than 30 min, joined across less than 60 min.
    let min_block = (HDCZA_MIN_BLOCK_S / EPOCH_S) as usize;
    let join = (HDCZA_JOIN_S / EPOCH_S) as usize;
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut run_start = None;
    for e in 0..=n {
        let still = med.get(e).is_some_and(|&m| m < threshold);
        match (still, run_start) {
            (true, None) => run_start = Some(e),
            (false, Some(s)) => {
                if e - s > min_block {
                    match blocks.last_mut() {
                        Some(l) if s - l.1 < join => l.1 = e,
                        _ => blocks.push((s, e)),
                    }
                }
                run_start = None;
            }
            _ => {}
        }
    }
    // (6) the longest.
    let (a, b) = blocks.into_iter().max_by_key(|(a, b)| b - a)?;
    Some((from_s + a as f64 * EPOCH_S, from_s + b as f64 * EPOCH_S))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(v: [f64; 3]) -> Epoch {
        let mut e = Epoch::default();
        e.add(v, 100.0);
        e
    }

    #[test]
    fn a_still_stretch_between_restless_days_is_the_sleep_period() {
        // 24 h of epochs: restless (orientation changing by ~20°) except 23:00-07:00,
        // where it changes by 0.05° an epoch, with one turn over at 03:00.
        let n = (86_400.0 / EPOCH_S) as usize;
        let epochs: Vec<Epoch> = (0..n)
            .map(|e| {
                let t = e as f64 * EPOCH_S; // from noon
                let asleep = (11.0 * 3600.0..19.0 * 3600.0).contains(&t);
                let phase = if asleep {
                    0.05f64.to_radians() * (e % 2) as f64
                        + if t > 15.0 * 3600.0 { 1.2 } else { 0.0 }
                } else {
                    (e as f64 * 0.7).sin() * 0.6
                };
                epoch([phase.sin(), 0.0, phase.cos()])
            })
            .collect();
        let (a, b) = sleep_period(&[(&epochs, &[])], 0.0).unwrap();
        assert!((a - 11.0 * 3600.0).abs() < 600.0, "{a}");
        assert!((b - 19.0 * 3600.0).abs() < 600.0, "{b}");
        // Not worn all the time it was still: no sleep period.
        let off = [(0.0, 86_400.0)];
        assert_eq!(sleep_period(&[(&epochs, &off)], 0.0), None);
    }

    #[test]
    fn an_hour_on_the_table_is_not_worn() {
        let n = (4.0 * 3600.0 / EPOCH_S) as usize;
        let epochs: Vec<Epoch> = (0..n)
            .map(|e| {
                let t = e as f64 * EPOCH_S;
                if (3600.0..3.0 * 3600.0).contains(&t) {
                    let mut x = Epoch::default();
                    x.add([0.0, 0.001, 1.0], 50.0);
                    x.add([0.0, -0.001, 1.0], 50.0);
                    x
                } else {
                    let mut x = Epoch::default();
                    x.add([0.2 * (e as f64).sin(), 0.0, 1.0], 50.0);
                    x.add([-0.3, 0.1, 0.9], 50.0);
                    x
                }
            })
            .collect();
        let off = non_wear(&epochs, 0.0);
        assert_eq!(off, vec![(3600.0, 3.0 * 3600.0)]);
    }
}
