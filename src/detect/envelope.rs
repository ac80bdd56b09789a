//! The envelope of one leg: the amplitude the +8/+2 µV rules are applied to, its local
//! resting level, and the offset margins.
//!
//! Input: the band-passed EMG of one leg, µV at `fs_hz` (`NaN` = gap), or for
//! accelerometers the dynamic-acceleration magnitude in mg ([`super::accel`]; every
//! amplitude below is then in mg, and the µV numbers quoted are the EMG defaults). Output:
//! an [`Envelope`] in blocks of `block` samples (≈ 10 ms): block `k` covers samples
//! `[k·block, (k+1)·block)` and its time is its centre, `(k + 0.5) · block / fs_hz` s.
//!
//! 1. **Block means** of the rectified signal ([`crate::dsp::smooth`]).
//! 2. **Spikes** — isolated transients shorter than `spike_max_s` rising above a
//!    provisional resting level: ECG QRS complexes, electrode pops — are clipped in the
//!    block means ([`super::spikes`]).
//! 3. **Amplitude**: a centred running median of the block means over
//!    `envelope_median_s` (0.25 s). The median ignores anything occupying less than half
//!    its window, so QRS complexes (≈ 0.1 s) and pops (< 0.2 s) do not lift it, while the
//!    edges of a sustained burst stay where they are. Its scale is that of the mean
//!    rectified EMG, the amplitude the +8/+2 µV of the rules digest (§1) refer to.
//! 4. **Edge amplitude**: a 40-ms centred moving average of the block means, used only to
//!    place a movement's edges ([`super::edges`]), with its own margin.
//! 5. **Resting level and margins** per 5-s segment ([`super::rest`]), held as
//!    [`Profile`]s: the resting level; the offset margin, `max(+2 µV, noise_factor ×
//!    the resting fluctuation)` — exactly +2 µV on a clean baseline, growing with the noise
//!    on a noisy one (ECG, drifting noise) as in S-PLMAD, so noise does not hold LMs open;
//!    and the edge amplitude's margin from its own fluctuation.
//!
//! After spike clipping only what a clipped block can change is computed again: the
//! running median over each clipped span (widened by half a window), and the statistics of
//! the segments whose percentiles a changed value can move.
//!
//! Memory: the three series computed from the samples (block means, amplitude, edge
//! amplitude) share one buffer — the leg's own sample buffer, whose pages are already in
//! memory — and the three per-segment ones are [`Profile`]s, so an 8-hour 256 Hz leg's
//! envelope lives in the 59 MB its samples held.

use super::config::EnvelopeConfig;
use super::profile::{Profile, Store, nan_runs};
use super::rest::{SegmentStats, smooth_segments};
use super::spikes::suppress_spikes;
use crate::dsp::running_median::{running_median, running_median_respan, window_median};
use crate::dsp::smooth::{RunningMean, block_means_in_place, moving_average};
use crate::error::{Error, Location, Result};

/// Amplitude, resting level and edge amplitude of one leg, per block, in the unit of the
/// input (µV for EMG, mg of dynamic acceleration for accelerometers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    /// Sample rate of the input, Hz: the one rate every time below derives from.
    fs_hz: f64,
    /// Input samples per block.
    block: usize,
    /// Input samples (the last block may be partial).
    n_samples: usize,
    /// Half the morphology window, blocks.
    morphology_half_blocks: usize,
    /// Block means, amplitude and edge amplitude, one after the other.
    series: Vec<f64>,
    rest: Profile,
    margin: Profile,
    fine_margin: Profile,
}

/// The per-block series of an [`Envelope`] given one by one ([`Envelope::from_parts`]):
/// for envelopes made up in tests. All have one value per block.
#[cfg(any(test, feature = "internals"))]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvelopeParts {
    /// Amplitude (`NaN` in gaps).
    pub amplitude: Vec<f64>,
    /// Rectified mean per block (the input of the morphology median).
    pub block_mean: Vec<f64>,
    /// Edge-locating amplitude.
    pub fine: Vec<f64>,
    /// Resting level (`NaN` where unknown).
    pub rest: Vec<f64>,
    /// Offset margin above rest.
    pub margin: Vec<f64>,
    /// Offset margin of the edge amplitude.
    pub fine_margin: Vec<f64>,
}

impl Envelope {
    /// An envelope of `parts` for `n_samples` samples at `fs_hz` in blocks of `block`
    /// samples, with a morphology half-window of `morphology_half_blocks`.
    ///
    /// # Errors
    /// [`Error::Input`] when the rate is not positive or a series does not hold one value
    /// per block.
    #[cfg(any(test, feature = "internals"))]
    pub fn from_parts(
        fs_hz: f64,
        block: usize,
        n_samples: usize,
        morphology_half_blocks: usize,
        parts: EnvelopeParts,
    ) -> Result<Self> {
        if !(fs_hz.is_finite() && fs_hz > 0.0 && block > 0) {
            return Err(Error::input(
                Location::default(),
                format!("envelope of {block}-sample blocks at {fs_hz} Hz"),
            ));
        }
        let n = n_samples.div_ceil(block);
        let lengths = [
            ("amplitude", parts.amplitude.len()),
            ("block_mean", parts.block_mean.len()),
            ("fine", parts.fine.len()),
            ("rest", parts.rest.len()),
            ("margin", parts.margin.len()),
            ("fine_margin", parts.fine_margin.len()),
        ];
        if let Some((name, len)) = lengths.into_iter().find(|&(_, len)| len != n) {
            return Err(Error::input(
                Location::default(),
                format!("envelope series `{name}` has {len} blocks, expected {n}"),
            ));
        }
        let mut series = parts.block_mean;
        series.extend_from_slice(&parts.amplitude);
        series.extend_from_slice(&parts.fine);
        Ok(Self {
            fs_hz,
            block,
            n_samples,
            morphology_half_blocks,
            series,
            rest: Profile::from(parts.rest),
            margin: Profile::from(parts.margin),
            fine_margin: Profile::from(parts.fine_margin),
        })
    }

    /// Input samples per block.
    #[must_use]
    pub fn block(&self) -> usize {
        self.block
    }

    /// Blocks per second.
    #[must_use]
    pub fn rate_hz(&self) -> f64 {
        self.fs_hz / self.block as f64
    }

    /// Length of the input signal, s (the last block may be partial, so its centre can lie
    /// past this). Movement edges are kept within `[0, duration_s]`.
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.n_samples as f64 / self.fs_hz
    }

    /// Time of block `k`'s centre, s.
    #[must_use]
    pub fn time_s(&self, k: usize) -> f64 {
        (k as f64 + 0.5) / self.rate_hz()
    }

    /// Time of block `k`'s start, s, never past the end of the signal.
    #[must_use]
    pub fn start_s(&self, k: usize) -> f64 {
        ((k * self.block) as f64 / self.fs_hz).min(self.duration_s())
    }

    /// Number of blocks.
    #[must_use]
    pub fn blocks(&self) -> usize {
        self.series.len() / 3
    }

    /// Rectified mean per block after spike clipping (the input of both medians).
    #[must_use]
    pub fn block_mean(&self) -> &[f64] {
        &self.series[..self.blocks()]
    }

    /// Amplitude (`NaN` in gaps).
    #[must_use]
    pub fn amplitude(&self) -> &[f64] {
        let n = self.blocks();
        &self.series[n..2 * n]
    }

    /// A lightly smoothed amplitude for locating edges: centred moving average of the
    /// block means over `edge_smooth_s`.
    #[must_use]
    pub fn fine(&self) -> &[f64] {
        &self.series[2 * self.blocks()..]
    }

    /// Resting level (`NaN` where unknown, and in gaps of the amplitude).
    #[must_use]
    pub fn rest(&self) -> &Profile {
        &self.rest
    }

    /// Offset margin above rest: the offset level (+2 µV for EMG), or `noise_factor` ×
    /// the resting fluctuation where that is larger.
    #[must_use]
    pub fn margin(&self) -> &Profile {
        &self.margin
    }

    /// The offset margin for the edge amplitude (from its own resting fluctuation).
    #[must_use]
    pub fn fine_margin(&self) -> &Profile {
        &self.fine_margin
    }

    /// The morphology median at block `k`: the median of the block means over the
    /// morphology window centred there (`NaN` as for [`running_median`]). Computed on
    /// demand — only blocks inside candidate LMs ever need it. `buf` is scratch space.
    #[must_use]
    pub fn morphology_at(&self, k: usize, buf: &mut Vec<f64>) -> f64 {
        window_median(self.block_mean(), k, self.morphology_half_blocks, buf)
    }

    /// The median resting level over the night (see [`Profile::median_finite`]), using
    /// the envelope's own buffer as scratch: the envelope is given up, and the emptied
    /// buffer is returned for reuse.
    pub(crate) fn into_median_rest(self) -> (Option<f64>, Vec<f64>) {
        let mut buffer = self.series;
        let median = self.rest.median_finite(&mut buffer);
        buffer.clear();
        (median, buffer)
    }
}

/// Computes the envelope of the band-passed samples `y` at `fs_hz` (module docs), in the
/// buffer `y` itself; `morphology_s` is the morphology-median window and
/// `offset_level` the offset level (rules digest §1: 0.5 s and +2 µV).
///
/// # Errors
/// [`Error::Config`] for invalid settings, [`Error::Input`] for a non-positive rate.
pub fn envelope(
    mut y: Vec<f64>,
    fs_hz: f64,
    cfg: &EnvelopeConfig,
    morphology_s: f64,
    offset_level: f64,
) -> Result<Envelope> {
    cfg.validate()?;
    if !(fs_hz.is_finite() && fs_hz > 0.0) {
        return Err(Error::input(
            Location::default(),
            format!("sample rate must be positive, got {fs_hz}"),
        ));
    }
    let block = ((fs_hz * cfg.block_s).round() as usize).max(1);
    let n_samples = y.len();
    block_means_in_place(&mut y, block);
    Ok(from_means(
        y,
        block,
        n_samples,
        fs_hz,
        cfg,
        (morphology_s, offset_level),
    ))
}

/// The envelope from the means of `block`-sample blocks of `n_samples` samples at
/// `fs_hz`, held in `series` (which then also receives the amplitude and the edge
/// amplitude, so its spare capacity is used first); `(morphology_s, offset_level)` as for
/// [`envelope`].
fn from_means(
    mut series: Vec<f64>,
    block: usize,
    n_samples: usize,
    fs_hz: f64,
    cfg: &EnvelopeConfig,
    (morphology_s, offset_level): (f64, f64),
) -> Envelope {
    let rate = fs_hz / block as f64;
    let nb = series.len();
    let odd = |seconds: f64| ((seconds * rate).round() as usize).max(1) | 1;
    series.resize(3 * nb, 0.0);
    let (means, rest_of) = series.split_at_mut(nb);
    let (amplitude, fine) = rest_of.split_at_mut(nb);
    let (median_w, fine_w) = (odd(cfg.envelope_median_s), odd(cfg.edge_smooth_s).max(3));
    running_median(means, median_w, amplitude);
    moving_average(means, fine_w, fine);
    let guard = (cfg.spike_guard_s * rate).round() as usize;
    let max_w = (cfg.spike_max_s * rate).round() as usize;
    let seg = ((cfg.rest_segment_s * rate).round() as usize).max(1);
    let mut amp_stats = SegmentStats::new(amplitude, seg, cfg);
    let mut fine_stats = SegmentStats::new(fine, seg, cfg);
    // Where the amplitude and the edge amplitude are unknown: the `NaN`s of the block
    // means decide it, and spike clipping never touches those.
    let (amp_gaps, fine_gaps) = (nan_runs(amplitude), nan_runs(fine));
    let profile = |gaps: &[std::ops::Range<usize>], per_segment: &[f64], store: Store| {
        Profile::with_gaps(nb, gaps, smooth_segments(per_segment, cfg), store, seg)
    };
    let margin = |floor: f64| Store::Margin {
        floor,
        factor: cfg.noise_factor,
    };
    // Spikes are judged against a provisional resting level (the first-pass median is
    // itself lifted by a cluster of spikes).
    let clipped = {
        let rest = profile(&amp_gaps, &amp_stats.level, Store::Level);
        let level = profile(&fine_gaps, &fine_stats.spread, margin(cfg.spike_level_uv));
        suppress_spikes(means, &rest, fine, max_w, guard, &level)
    };
    if !clipped.is_empty() {
        // Only the windows holding a clipped block change: the median is computed again
        // over each clipped span widened by half a window, starting from the unchanged
        // median beside it. A segment needs its statistics again only where a value
        // changed in a way that can move them ([`SegmentStats::keeps`]).
        let h = median_w / 2;
        let mut stale = vec![false; amp_stats.level.len()];
        let mut before: Vec<f64> = Vec::new();
        let mut done = 0usize; // first block not yet recomputed
        for &(a, b) in &clipped {
            let (from, to) = (a.saturating_sub(h).max(done), (b + h).min(nb));
            if from < to {
                before.clear();
                before.extend_from_slice(&amplitude[from..to]);
                running_median_respan(means, median_w, amplitude, from..to);
                for (i, (&old, &new)) in (from..to).zip(before.iter().zip(&amplitude[from..to])) {
                    stale[i / seg] |= !amp_stats.keeps(i / seg, old, new);
                }
            }
            done = done.max(to);
        }
        amp_stats.recompute(amplitude, &stale, cfg);
        // The moving average is a running sum, so it rounds differently from the first
        // clipped block on: nearly every value changes in its last bits, the values at
        // the percentiles included, so the statistics of every segment where a value
        // changed are computed again. The new values are made a segment at a time and
        // compared with the old ones in one sweep.
        let mut pending = vec![0.0; seg];
        let mut running = RunningMean::new(means, fine_w);
        for (j, old) in fine.chunks_mut(seg).enumerate() {
            let new = &mut pending[..old.len()];
            running.fill(new);
            stale[j] = old
                .iter()
                .zip(&*new)
                .any(|(a, b)| a.to_bits() != b.to_bits());
            if stale[j] {
                old.copy_from_slice(new);
            }
        }
        fine_stats.recompute(fine, &stale, cfg);
    }
    let rest = profile(&amp_gaps, &amp_stats.level, Store::Level);
    let offset_margin = profile(&amp_gaps, &amp_stats.spread, margin(offset_level));
    let fine_margin = profile(&fine_gaps, &fine_stats.spread, margin(offset_level));
    Envelope {
        fs_hz,
        block,
        n_samples,
        morphology_half_blocks: odd(morphology_s) / 2,
        series,
        rest,
        margin: offset_margin,
        fine_margin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After spike clipping, the amplitude is the running median of the clipped block
    /// means, bit for bit, however much of it was recomputed or left alone: nights of
    /// heartbeats (clipped) on a noisy rest, some movements (not clipped), gaps, and
    /// heartbeats close enough for their windows to meet.
    #[test]
    fn amplitude_after_clipping_is_the_running_median_of_the_clipped_means() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let cfg = EnvelopeConfig::default();
        let fs = 256.0;
        let mut clipped_blocks = 0;
        for case in 0..12 {
            let n = 256 * rng.random_range(20..120);
            let mut y: Vec<f64> = (0..n).map(|_| rng.random_range(-6.0..6.0)).collect();
            // Heartbeats: ~0.06–0.1 s bursts, 0.35–1.2 s apart.
            let mut t = rng.random_range(0..256);
            while t + 40 < n {
                let width = rng.random_range(15..26);
                let height = rng.random_range(20.0..200.0);
                for v in &mut y[t..t + width] {
                    *v += height * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                }
                t += rng.random_range(90..300);
            }
            // A few movements, too long to be clipped.
            for _ in 0..3 {
                let at = rng.random_range(0..n - 600);
                for v in &mut y[at..at + rng.random_range(200..600)] {
                    *v *= 4.0;
                }
            }
            if case % 3 == 1 {
                let at = rng.random_range(0..n - 300);
                y[at..at + rng.random_range(1..300)].fill(f64::NAN);
            }
            let env = envelope(y.clone(), fs, &cfg, 0.5, 2.0).unwrap();
            let mut raw = y;
            block_means_in_place(&mut raw, env.block());
            clipped_blocks += raw
                .iter()
                .zip(env.block_mean())
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            let w = ((cfg.envelope_median_s * env.rate_hz()).round() as usize).max(1) | 1;
            let mut want = vec![0.0; env.blocks()];
            running_median(env.block_mean(), w, &mut want);
            for (k, (a, b)) in env.amplitude().iter().zip(&want).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "case {case}, block {k}: {a} vs {b}"
                );
            }
        }
        assert!(clipped_blocks > 1000, "{clipped_blocks}");
    }

    #[test]
    fn envelopes_from_parts_check_their_series() {
        let parts = |n: usize, rest: usize| EnvelopeParts {
            amplitude: vec![1.0; n],
            block_mean: vec![1.0; n],
            fine: vec![1.0; n],
            rest: vec![0.5; rest],
            margin: vec![2.0; n],
            fine_margin: vec![2.0; n],
        };
        let e = Envelope::from_parts(100.0, 1, 10, 25, parts(10, 10)).unwrap();
        assert_eq!(
            (e.blocks(), e.amplitude().len(), e.fine().len()),
            (10, 10, 10)
        );
        assert_eq!(e.rest().at(3), 0.5);
        assert_eq!((e.rate_hz(), e.duration_s()), (100.0, 0.1));
        let err = Envelope::from_parts(100.0, 1, 10, 25, parts(10, 9)).unwrap_err();
        assert!(err.to_string().contains("`rest` has 9 blocks"), "{err}");
        assert!(Envelope::from_parts(0.0, 1, 10, 25, parts(10, 10)).is_err());
        assert_eq!(Envelope::default().blocks(), 0);
    }

    #[test]
    fn envelope_scale_is_mean_rectified() {
        let fs = 256.0;
        let y: Vec<f64> = (0..2560)
            .map(|i| 10.0 * (2.0 * std::f64::consts::PI * 40.0 * f64::from(i) / fs).sin())
            .collect();
        let env = envelope(y.clone(), fs, &EnvelopeConfig::default(), 0.5, 2.0).unwrap();
        assert_eq!(env.block(), 3);
        let mid = env.amplitude()[400];
        assert!(
            (mid - 10.0 * 2.0 / std::f64::consts::PI).abs() < 0.8,
            "{mid}"
        );
        assert!(envelope(y, 0.0, &EnvelopeConfig::default(), 0.5, 2.0).is_err());
    }
}
