//! The resting level and its fluctuation, per segment (rules digest §1: the resting level is
//! local and adaptive; the standards leave the estimator open).
//!
//! Input: an amplitude per block (µV, or mg for accelerometers; `NaN` in gaps) and the
//! [`EnvelopeConfig`]. Output, per `rest_segment_s` (5-s) segment: the `rest_percentile`
//! (30th) percentile of its amplitude — the segment's resting level — and the spread
//! between that and the `noise_percentile` (5th), the resting fluctuation; then each
//! smoothed over ±`rest_half_window_s` (30 s) by its lower quartile
//! (`rest_window_quantile`). A movement lifts only the segments it covers: with 13
//! segments in the window the level stays at rest under movements up to ~45 s and under
//! dense PLM, while it follows drift and a steady ECG or hum floor within tens of seconds.
//! [`super::profile`] interpolates the smoothed values between segment centres.
//!
//! Percentiles are order statistics selected on integer keys ([`crate::dsp::select`]);
//! after spike clipping changes a few blocks, only the segments whose percentiles a change
//! can move are selected again ([`SegmentStats::keeps`]).

use super::config::EnvelopeConfig;
use crate::dsp::select::{from_order_key, order_key};

/// Per-segment statistics of an amplitude (see module docs): the resting percentile and
/// the resting spread (resting − noise percentile) of each `seg`-block segment, `NaN` for
/// a segment less than half finite.
pub(crate) struct SegmentStats {
    seg: usize,
    pub(crate) level: Vec<f64>,
    pub(crate) spread: Vec<f64>,
    /// The noise percentile itself, for [`SegmentStats::keeps`].
    low: Vec<f64>,
}

impl SegmentStats {
    /// Statistics of every segment of `amp`.
    pub(crate) fn new(amp: &[f64], seg: usize, cfg: &EnvelopeConfig) -> Self {
        let nseg = amp.len().div_ceil(seg);
        let mut stats = SegmentStats {
            seg,
            level: vec![f64::NAN; nseg],
            spread: vec![f64::NAN; nseg],
            low: vec![f64::NAN; nseg],
        };
        let mut buf = Vec::with_capacity(seg);
        for j in 0..nseg {
            stats.compute(amp, j, cfg, &mut buf);
        }
        stats
    }

    /// (Re)computes segment `j` of `amp`.
    fn compute(&mut self, amp: &[f64], j: usize, cfg: &EnvelopeConfig, buf: &mut Vec<i64>) {
        let chunk = &amp[j * self.seg..((j + 1) * self.seg).min(amp.len())];
        buf.clear();
        buf.extend(
            chunk
                .iter()
                .filter(|v| v.is_finite())
                .map(|&v| order_key(v)),
        );
        if buf.len() * 2 < chunk.len() || buf.is_empty() {
            self.level[j] = f64::NAN;
            self.spread[j] = f64::NAN;
            self.low[j] = f64::NAN;
            return;
        }
        // The noise percentile is an order statistic below the resting one, so it is
        // selected among the values the first selection put below it.
        let rank = |q: f64| ((buf.len() - 1) as f64 * q).round() as usize;
        let (hi, lo) = (rank(cfg.rest_percentile), rank(cfg.noise_percentile));
        let level = from_order_key(*buf.select_nth_unstable(hi).1);
        let low = from_order_key(*buf[..=hi].select_nth_unstable(lo).1);
        self.level[j] = level;
        self.spread[j] = level - low;
        self.low[j] = low;
    }

    /// Whether segment `j`'s statistics stay when one of its values changes from `old` to
    /// `new`. They do when both are finite (the segment keeps its count of finite values,
    /// and so its ranks) and, for each percentile, both lie strictly on the same side of
    /// it in [`f64::total_cmp`]'s order: the counts below and at each percentile stay, so
    /// the value of each rank stays. A segment without statistics keeps having none.
    #[inline]
    pub(crate) fn keeps(&self, j: usize, old: f64, new: f64) -> bool {
        if !(old.is_finite() && new.is_finite()) {
            return false;
        }
        let (a, b) = (order_key(old), order_key(new));
        let same_side = |stat: f64| {
            let s = order_key(stat);
            a != s && b != s && (a < s) == (b < s)
        };
        self.level[j].is_nan() || (same_side(self.level[j]) && same_side(self.low[j]))
    }

    /// Recomputes the segments `j` of `amp` where `stale[j]`.
    pub(crate) fn recompute(&mut self, amp: &[f64], stale: &[bool], cfg: &EnvelopeConfig) {
        let mut buf = Vec::with_capacity(self.seg);
        for j in (0..stale.len()).filter(|&j| stale[j]) {
            self.compute(amp, j, cfg, &mut buf);
        }
    }
}

/// The lower quantile (`rest_window_quantile`) of the finite per-segment values over
/// ±`rest_half_window_s` around each segment (`NaN` where none is finite).
pub(crate) fn smooth_segments(per_segment: &[f64], cfg: &EnvelopeConfig) -> Vec<f64> {
    let nseg = per_segment.len();
    let half = ((cfg.rest_half_window_s / cfg.rest_segment_s).round() as usize).max(1);
    let mut smooth = vec![f64::NAN; nseg];
    let mut win: Vec<f64> = Vec::with_capacity(2 * half + 1);
    for (i, s) in smooth.iter_mut().enumerate() {
        win.clear();
        win.extend(
            per_segment[i.saturating_sub(half)..(i + half + 1).min(nseg)]
                .iter()
                .copied()
                .filter(|v| v.is_finite()),
        );
        if win.is_empty() {
            continue;
        }
        let q = ((win.len() - 1) as f64 * cfg.rest_window_quantile).round() as usize;
        let (_, v, _) = win.select_nth_unstable_by(q, f64::total_cmp);
        *s = *v;
    }
    smooth
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::profile::{Profile, Store};
    use crate::dsp::running_median::add_gaps;

    #[test]
    fn kept_segment_statistics_equal_recomputed_ones() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let cfg = EnvelopeConfig::default();
        let (mut kept, mut stale) = (0, 0);
        for case in 0..1000 {
            let seg = rng.random_range(1..60);
            let n = rng.random_range(1..400);
            let levels = if case % 3 == 0 { 6 } else { 10_000 };
            let value = |rng: &mut rand_chacha::ChaCha8Rng| {
                let v = f64::from(rng.random_range(0..levels)) / 8.0;
                if v == 0.0 && rng.random_bool(0.5) {
                    -0.0
                } else {
                    v
                }
            };
            let mut amp: Vec<f64> = (0..n).map(|_| value(&mut rng)).collect();
            add_gaps(&mut rng, &mut amp, 4, 30);
            let stats = SegmentStats::new(&amp, seg, &cfg);
            let mut changed = amp.clone();
            let mut keeps = vec![true; stats.level.len()];
            let mut touched = vec![false; stats.level.len()];
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..n);
                let j = i / seg;
                changed[i] = match rng.random_range(0..8) {
                    0 => f64::NAN,
                    1 => stats.level[j],
                    2 => stats.low[j],
                    3 | 4 => value(&mut rng),
                    // A nudge, as rounding gives: mostly stays on its side.
                    _ => amp[i] * (1.0 + 1e-9 * rng.random_range(-1.0..1.0)),
                };
            }
            for (i, (&a, &b)) in amp.iter().zip(&changed).enumerate() {
                if a.to_bits() != b.to_bits() {
                    keeps[i / seg] &= stats.keeps(i / seg, a, b);
                    touched[i / seg] = true;
                }
            }
            let again = SegmentStats::new(&changed, seg, &cfg);
            for (j, &k) in keeps.iter().enumerate() {
                if !touched[j] {
                    continue;
                }
                if !k {
                    stale += 1;
                    continue;
                }
                kept += 1;
                for (x, y) in [
                    (stats.level[j], again.level[j]),
                    (stats.low[j], again.low[j]),
                    (stats.spread[j], again.spread[j]),
                ] {
                    assert_eq!(x.to_bits(), y.to_bits(), "case {case}, segment {j}");
                }
            }
        }
        // Both outcomes are exercised, among segments with a change.
        assert!(kept > 300 && stale > 300, "kept {kept}, stale {stale}");
    }

    #[test]
    fn resting_level_tracks_drift_not_bursts() {
        // 10-min envelope at 100 blocks/s: rest rises 1 → 4 µV; a 2-s burst of 30 µV every 20 s.
        let rate = 100.0;
        let n = 60_000;
        let amp: Vec<f64> = (0..n)
            .map(|k| {
                let t = f64::from(k) / rate;
                let rest = 1.0 + 3.0 * t / 600.0;
                if (t % 20.0) < 2.0 { 30.0 } else { rest }
            })
            .collect();
        let cfg = EnvelopeConfig::default();
        let seg = (cfg.rest_segment_s * rate) as usize;
        let smooth = smooth_segments(&SegmentStats::new(&amp, seg, &cfg).level, &cfg);
        let rest = Profile::with_gaps(amp.len(), &[], smooth, Store::Level, seg).to_vec();
        for k in (3000..57_000).step_by(1000) {
            let want = 1.0 + 3.0 * (k as f64 / rate) / 600.0;
            assert!(
                (rest[k] - want).abs() < 0.2,
                "block {k}: {} vs {want}",
                rest[k]
            );
        }
    }
}
