//! Envelope and resting baseline.
//!
//! Input: band-passed EMG of one leg, µV, at `fs` Hz (`NaN` = gap) — or, for
//! accelerometers, the dynamic-acceleration magnitude in mg ([`crate::accel`]); every
//! amplitude below is then in mg, and the µV numbers quoted are the EMG defaults. Output:
//! an [`Envelope`] sampled in blocks of `block` input samples (≈ 10 ms): the amplitude, the
//! local resting level, the offset margins, and the block means behind the 0.5-s median
//! of the WASM 2016 morphology check. Block `k` covers input samples `[k·block, (k+1)·block)`; its time is the
//! block centre, `(k + 0.5) · block / fs` seconds.
//!
//! * **Spikes**: isolated transients shorter than `spike_max_s` (0.3 s) rising more than
//!   `spike_level_uv` (or the baseline's own fluctuation, if larger) above a provisional
//!   resting level — ECG QRS complexes, electrode pops, a pop next to a QRS — are
//!   clipped to the running amplitude before the final median, so a strong ECG cannot
//!   hold an LM open or lift the resting level.
//! * **Amplitude**: mean of the rectified signal over each block, then a centred running
//!   median over `envelope_median_s` (0.25 s). The median ignores anything occupying less
//!   than half its window, so ECG QRS complexes (≈ 0.1 s) and electrode pops (< 0.2 s) do
//!   not lift the amplitude, while the edges of a sustained burst stay where they are.
//!   Its scale is that of the mean rectified EMG, the amplitude SCORING.md §1's +8/+2 µV
//!   refer to.
//! * **Resting level** (SCORING.md §1: local and adaptive, not one global value): the
//!   `rest_percentile` (30th) percentile of the amplitude in consecutive `rest_segment_s`
//!   (5 s) segments, then the lower quartile (`rest_window_quantile`) of those over
//!   ±`rest_half_window_s` (30 s), linearly interpolated between segment centres. A
//!   movement lifts only the segments it covers; with 13 segments in the window, the level
//!   stays at rest under movements up to ~45 s long (nonCLMs must stay visible: they break
//!   series) and under dense PLM, while it follows drift and any steady ECG/hum floor
//!   within a few tens of seconds.
//! * **Edge amplitude**: a 40-ms centred moving average of the block means, used only to
//!   place the edges of a movement found on the amplitude (see [`crate::detect`]), with
//!   its own margin from its own (larger) resting fluctuation.
//! * **Offset margin**: the standard's +2 µV resting tolerance presumes a baseline that
//!   fluctuates less than that. The resting fluctuation (30th − 5th percentile of the
//!   amplitude per segment, windowed like the resting level; from the lower tail, which
//!   movements leave alone) is measured, and the offset
//!   margin is `max(+2 µV, noise_factor × fluctuation)`: on a clean baseline it is exactly
//!   +2 µV; on a noisy one (ECG, drifting noise) it grows with the noise as in S-PLMAD, so
//!   noise does not hold LMs open.
//! * **Unscorable**: blocks whose resting level exceeds `max_rest_uv` (MATPLM uses 15 µV,
//!   S-PLMAD ~50 µV) or whose offset margin reaches the onset level (the noise alone would
//!   cross +8 µV) are flagged; the detector reports them as excluded time.

use crate::error::{Error, Location, Result};

/// Parameters of the envelope and baseline (all in seconds or µV).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeConfig {
    /// Block length for the rectified mean, s. Default 0.01.
    pub block_s: f64,
    /// Running-median window of the amplitude, s. Default 0.25 (twice a QRS complex).
    pub envelope_median_s: f64,
    /// Segment over which the resting percentile is taken, s. Default 5.
    pub rest_segment_s: f64,
    /// Half-width of the window over segment percentiles, s. Default 30.
    pub rest_half_window_s: f64,
    /// Quantile (0–1) of the segment percentiles in that window. Default 0.25.
    pub rest_window_quantile: f64,
    /// Percentile (0–1) of the amplitude taken as resting level. Default 0.3.
    pub rest_percentile: f64,
    /// Resting level above which a stretch is too noisy to score, µV. Default 20.
    pub max_rest_uv: f64,
    /// Moving-average window of the edge-locating amplitude, s. Default 0.04.
    pub edge_smooth_s: f64,
    /// Longest transient clipped as a spike (QRS, pop), s. Default 0.3: pops are < 0.2 s
    /// (SCORING.md §1) and a QRS ≈ 0.1 s, but a pop next to a QRS, widened by the
    /// filter's ringing, lasts up to ~0.3 s; anything this short is not an LM (≥ 0.5 s).
    pub spike_max_s: f64,
    /// Quiet needed on each side of a spike, s. Default 0.15.
    pub spike_guard_s: f64,
    /// How far above the resting level a transient must rise to be clipped, µV (at least;
    /// more on a noisy baseline, see `noise_factor`). Default 4.
    pub spike_level_uv: f64,
    /// Lower percentile (0–1) of the resting amplitude for its fluctuation. Default 0.05.
    pub noise_percentile: f64,
    /// The offset margin is at least this many times the resting fluctuation
    /// (p30 − p5 ≈ 1.1 σ, so 3 × ≈ 3.4 σ, above the 99th percentile of rest even with the
    /// right skew of a rectified amplitude). Default 3.
    pub noise_factor: f64,
}

impl Default for EnvelopeConfig {
    fn default() -> Self {
        Self {
            block_s: 0.01,
            envelope_median_s: 0.25,
            rest_segment_s: 5.0,
            rest_half_window_s: 30.0,
            rest_window_quantile: 0.25,
            rest_percentile: 0.3,
            max_rest_uv: 20.0,
            edge_smooth_s: 0.04,
            spike_max_s: 0.3,
            spike_guard_s: 0.15,
            spike_level_uv: 4.0,
            noise_percentile: 0.05,
            noise_factor: 3.0,
        }
    }
}

impl EnvelopeConfig {
    /// Checks ranges.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let pos = Error::require_positive;
        pos("block_s", self.block_s)?;
        pos("envelope_median_s", self.envelope_median_s)?;
        pos("rest_segment_s", self.rest_segment_s)?;
        pos("rest_half_window_s", self.rest_half_window_s)?;
        pos("max_rest_uv", self.max_rest_uv)?;
        pos("edge_smooth_s", self.edge_smooth_s)?;
        pos("spike_max_s", self.spike_max_s)?;
        pos("spike_guard_s", self.spike_guard_s)?;
        pos("spike_level_uv", self.spike_level_uv)?;
        if !self.noise_factor.is_finite() || self.noise_factor < 0.0 {
            return Err(Error::config(
                "noise_factor",
                format!("must be ≥ 0, got {}", self.noise_factor),
            ));
        }
        if !(self.noise_percentile >= 0.0 && self.noise_percentile < self.rest_percentile) {
            return Err(Error::config(
                "noise_percentile",
                "must lie between 0 and rest_percentile",
            ));
        }
        if !(0.0..=1.0).contains(&self.rest_window_quantile) {
            return Err(Error::config(
                "rest_window_quantile",
                format!("must be in [0, 1], got {}", self.rest_window_quantile),
            ));
        }
        if !(self.rest_percentile > 0.0 && self.rest_percentile < 1.0) {
            return Err(Error::config(
                "rest_percentile",
                format!("must be in (0, 1), got {}", self.rest_percentile),
            ));
        }
        Ok(())
    }
}

/// Amplitude, resting level and edge amplitude of one leg, per block.
///
/// Values are in the unit of the input: µV for EMG, mg of dynamic acceleration for
/// accelerometers ([`crate::accel`]).
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// Input samples per block.
    pub block: usize,
    /// Blocks per second (`fs / block`).
    pub rate_hz: f64,
    /// Length of the input signal, s (samples / `fs`; the last block may be partial, so
    /// its centre can lie past this). Movement edges are kept within `[0, duration_s]`.
    pub duration_s: f64,
    /// Amplitude (`NaN` in gaps).
    pub amplitude: Vec<f64>,
    /// Resting level (`NaN` where unknown).
    pub rest: Vec<f64>,
    /// Rectified mean per block after spike clipping (the input of both medians).
    pub block_mean: Vec<f64>,
    /// Half the morphology window, blocks.
    pub morphology_half_blocks: usize,
    /// Offset margin above rest: the offset level (+2 µV for EMG), or `noise_factor` ×
    /// the resting fluctuation where that is larger.
    pub margin: Vec<f64>,
    /// A lightly smoothed amplitude for locating edges: centred moving average of the
    /// block means over `edge_smooth_s`.
    pub fine: Vec<f64>,
    /// The offset margin for the edge amplitude (from its own resting fluctuation).
    pub fine_margin: Vec<f64>,
}

impl Envelope {
    /// Time of block `k`'s centre, s.
    #[must_use]
    pub fn time_s(&self, k: usize) -> f64 {
        (k as f64 + 0.5) / self.rate_hz
    }

    /// Number of blocks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.amplitude.len()
    }

    /// `true` when there are no blocks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.amplitude.is_empty()
    }

    /// The morphology median at block `k`: the median of the block means over the
    /// morphology window centred there (`NaN` as for [`running_median`]). Computed on
    /// demand — only blocks inside candidate LMs ever need it. `buf` is scratch space.
    #[must_use]
    pub fn morphology_at(&self, k: usize, buf: &mut Vec<f64>) -> f64 {
        window_median(&self.block_mean, k, self.morphology_half_blocks, buf)
    }
}

/// Computes the envelope of band-passed samples `y_uv` at `fs_hz`; `morphology_s` is the
/// morphology-median window and `offset_level_uv` the offset level (SCORING.md §1: 0.5 s
/// and +2 µV).
///
/// # Errors
/// [`Error::Config`] for invalid parameters, [`Error::Input`] for a non-positive rate.
pub fn envelope(
    y_uv: &[f64],
    fs_hz: f64,
    cfg: &EnvelopeConfig,
    morphology_s: f64,
    offset_level_uv: f64,
) -> Result<Envelope> {
    let block = block_len(fs_hz, cfg)?;
    let means = block_means(y_uv, block);
    Ok(from_means(
        means,
        block,
        y_uv.len(),
        fs_hz,
        cfg,
        (morphology_s, offset_level_uv),
    ))
}

/// [`envelope`] of a signal the caller gives up: its buffer then holds the block means,
/// so a night-long array of them is never allocated (the block means are written over the
/// samples they summarise, then the buffer is shrunk to them).
///
/// # Errors
/// As [`envelope`].
pub fn envelope_owned(
    mut y_uv: Vec<f64>,
    fs_hz: f64,
    cfg: &EnvelopeConfig,
    morphology_s: f64,
    offset_level_uv: f64,
) -> Result<Envelope> {
    let block = block_len(fs_hz, cfg)?;
    let n_samples = y_uv.len();
    block_means_in_place(&mut y_uv, block);
    Ok(from_means(
        y_uv,
        block,
        n_samples,
        fs_hz,
        cfg,
        (morphology_s, offset_level_uv),
    ))
}

/// Input samples per block, after checking `cfg` and the rate.
fn block_len(fs_hz: f64, cfg: &EnvelopeConfig) -> Result<usize> {
    cfg.validate()?;
    if !(fs_hz.is_finite() && fs_hz > 0.0) {
        return Err(Error::input(
            Location::default(),
            format!("sample rate must be positive, got {fs_hz}"),
        ));
    }
    Ok(((fs_hz * cfg.block_s).round() as usize).max(1))
}

/// The envelope from the means of `block`-sample blocks ([`block_len`]) of `n_samples`
/// samples at `fs_hz`; `(morphology_s, offset_level_uv)` as for [`envelope`].
fn from_means(
    mut means: Vec<f64>,
    block: usize,
    n_samples: usize,
    fs_hz: f64,
    cfg: &EnvelopeConfig,
    (morphology_s, offset_level_uv): (f64, f64),
) -> Envelope {
    let rate = fs_hz / block as f64;
    let nb = means.len();
    let odd = |seconds: f64| ((seconds * rate).round() as usize).max(1) | 1;
    let mut amplitude = vec![0.0; nb];
    let mut fine = vec![0.0; nb];
    let (median_w, fine_w) = (odd(cfg.envelope_median_s), odd(cfg.edge_smooth_s).max(3));
    running_median(&means, median_w, &mut amplitude);
    moving_average(&means, fine_w, &mut fine);
    let guard = (cfg.spike_guard_s * rate).round() as usize;
    let max_w = (cfg.spike_max_s * rate).round() as usize;
    let seg = ((cfg.rest_segment_s * rate).round() as usize).max(1);
    let mut amp_stats = SegmentStats::new(&amplitude, seg, cfg);
    let mut fine_stats = SegmentStats::new(&fine, seg, cfg);
    // Spikes are judged against a provisional resting level (the first-pass median is
    // itself lifted by a cluster of spikes). Its buffer and the spike level's are reused
    // below (for the resting level and the offset margin), so a night's worth of blocks
    // is allocated (and its pages touched) as few times as possible.
    let margin_store = |floor: f64| Store::Margin {
        floor,
        factor: cfg.noise_factor,
    };
    let (mut rest, mut margin) = (Vec::new(), Vec::new());
    windowed(
        &amplitude,
        [&amp_stats.level],
        [Store::Level],
        [&mut rest],
        seg,
        cfg,
    );
    windowed(
        &fine,
        [&fine_stats.spread],
        [margin_store(cfg.spike_level_uv)],
        [&mut margin],
        seg,
        cfg,
    );
    let clipped = suppress_spikes(&mut means, &rest, &fine, max_w, guard, &margin);
    if !clipped.is_empty() {
        // Only windows that contain a clipped block change, and only the segments they
        // overlap need their statistics again.
        let h = median_w / 2;
        let mut spans = Vec::with_capacity(clipped.len());
        let mut done = 0usize; // first block not yet recomputed
        for (a, b) in clipped {
            let from = a.saturating_sub(h).max(done);
            let to = (b + h).min(nb);
            if from < to {
                running_median_span(&means, median_w, &mut amplitude, from..to);
                spans.push(from..to);
            }
            done = done.max(to);
        }
        amp_stats.recompute(&amplitude, &spans, cfg);
        // The moving average is a running sum, so it may round differently anywhere after
        // the first clipped block: it is recomputed (into the provisional level's buffer,
        // rewritten below) and compared segment by segment.
        let new_fine = &mut rest;
        moving_average(&means, fine_w, new_fine);
        fine_stats.update(&fine, new_fine, cfg);
        std::mem::swap(&mut fine, new_fine);
    }
    windowed(
        &amplitude,
        [&amp_stats.level, &amp_stats.spread],
        [Store::Level, margin_store(offset_level_uv)],
        [&mut rest, &mut margin],
        seg,
        cfg,
    );
    let mut fine_margin = Vec::new();
    windowed(
        &fine,
        [&fine_stats.spread],
        [margin_store(offset_level_uv)],
        [&mut fine_margin],
        seg,
        cfg,
    );
    Envelope {
        block,
        rate_hz: rate,
        duration_s: n_samples as f64 / fs_hz,
        amplitude,
        rest,
        block_mean: means,
        morphology_half_blocks: odd(morphology_s) / 2,
        margin,
        fine,
        fine_margin,
    }
}

/// Mean of `|y|` over consecutive blocks of `block` samples (the last one possibly
/// shorter); `NaN` propagates. Summed left to right in every block; the common block
/// lengths get a fixed-length loop the compiler unrolls.
fn block_means(y: &[f64], block: usize) -> Vec<f64> {
    fn fixed<const B: usize>(y: &[f64], out: &mut Vec<f64>) {
        let chunks = y.chunks_exact(B);
        let rest = chunks.remainder();
        for chunk in chunks {
            let mut s = 0.0;
            for v in chunk {
                s += v.abs();
            }
            out.push(s / B as f64);
        }
        if !rest.is_empty() {
            out.push(rest.iter().fold(0.0, |s, v| s + v.abs()) / rest.len() as f64);
        }
    }
    let mut out = Vec::with_capacity(y.len().div_ceil(block.max(1)));
    match block {
        2 => fixed::<2>(y, &mut out),
        3 => fixed::<3>(y, &mut out),
        4 => fixed::<4>(y, &mut out),
        5 => fixed::<5>(y, &mut out),
        _ => {
            for chunk in y.chunks(block.max(1)) {
                out.push(chunk.iter().fold(0.0, |s, v| s + v.abs()) / chunk.len() as f64);
            }
        }
    }
    out
}

/// [`block_means`] written over `y` itself (block `k`'s mean goes to `y[k]`, never past
/// the samples still to be read), which is then cut to the means and shrunk: the same
/// values, summed in the same order.
fn block_means_in_place(y: &mut Vec<f64>, block: usize) {
    let block = block.max(1);
    let n = y.len();
    let nb = n.div_ceil(block);
    for k in 0..nb {
        let chunk = &y[k * block..((k + 1) * block).min(n)];
        let mean = chunk.iter().fold(0.0, |s, v| s + v.abs()) / chunk.len() as f64;
        y[k] = mean;
    }
    y.truncate(nb);
    y.shrink_to_fit();
}

/// Centred running median over an odd window `w` of `x` into `out`. `NaN`s are ignored;
/// the output is `NaN` where fewer than half the window's values are finite or `x` itself
/// is `NaN`. (An even `w` acts as `w + 1`: the window is `x[i - w/2 ..= i + w/2]`, clipped
/// to the slice.)
///
/// Where the whole window is finite — nearly everywhere — the median is tracked by rank:
/// one value leaves and one enters per step, so the median either stays or moves to the
/// next value below or above it, found by one branch-free scan of the window. Elsewhere
/// (gaps, the ends) a sorted window is updated in place. O(n·w) at worst, with a small
/// constant (w ≈ 25–50 here). Both give the middle value of the window, so a window
/// holding both `-0.0` and `0.0` as its median may give either zero.
pub fn running_median(x: &[f64], w: usize, out: &mut [f64]) {
    running_median_span(x, w, out, 0..x.len());
}

/// [`running_median`] at the positions `span` only (`out` is indexed like `x`; other
/// positions are left alone): the same values, for the price of one window sort per
/// stretch plus the slide across `span`.
fn running_median_span(x: &[f64], w: usize, out: &mut [f64], span: std::ops::Range<usize>) {
    let n = x.len();
    let h = w / 2;
    let (mut i, to) = (span.start.min(n), span.end.min(n));
    // First non-finite value in `x[a..b]` (`b` if none).
    let bad_in = |a: usize, b: usize| {
        x[a..b]
            .iter()
            .position(|v| !v.is_finite())
            .map_or(b, |p| a + p)
    };
    while i < to {
        // The first position from `i` on (before `to`) whose whole window is inside `x`
        // and finite.
        let mut start = i.max(h);
        while start < to && start + h < n {
            let bad = bad_in(start - h, start + h + 1);
            if bad > start + h {
                break;
            }
            start = bad + h + 1;
        }
        let start = if start + h < n { start.min(to) } else { to };
        sorted_window_span(x, w, out, i..start);
        if start == to {
            break;
        }
        // Up to the first position whose window reaches a non-finite value or the end.
        let end = (bad_in(start + h, (to + h).min(n)) - h).min(to);
        rank_tracked_span(x, h, out, start..end);
        i = end;
    }
}

/// [`running_median`] over `span`, where every window `x[i - h ..= i + h]` lies inside `x`
/// and is finite: the median `m` is the value of rank `h`, kept with the counts of the
/// window's values below it (`below`) and equal to it (`equal`), so that
/// `below ≤ h < below + equal`.
fn rank_tracked_span(x: &[f64], h: usize, out: &mut [f64], span: std::ops::Range<usize>) {
    let (from, to) = (span.start, span.end);
    if from >= to {
        return;
    }
    let first = &x[from - h..=from + h];
    let mut sorted = first.to_vec();
    let mut m = *sorted.select_nth_unstable_by(h, f64::total_cmp).1;
    let mut below = first.iter().filter(|&&v| v < m).count();
    let mut equal = count_equal(first, m);
    out[from] = m;
    for i in from + 1..to {
        let (old, new) = (x[i - h - 1], x[i + h]);
        below = below + usize::from(new < m) - usize::from(old < m);
        equal = equal + usize::from(new == m) - usize::from(old == m);
        let win = &x[i - h..=i + h];
        if below > h {
            // One rank down: the largest value below `m`.
            m = max_below(win, m);
            equal = count_equal(win, m);
            below -= equal;
        } else if below + equal <= h {
            // One rank up: the smallest value above `m`.
            m = min_above(win, m);
            below += equal;
            equal = count_equal(win, m);
        }
        out[i] = m;
    }
}

/// How many values of `win` equal `m`.
#[inline]
fn count_equal(win: &[f64], m: f64) -> usize {
    win.iter().fold(0, |c, &v| c + usize::from(v == m))
}

/// The largest value of `win` below `m` (`-∞` if none).
#[inline]
fn max_below(win: &[f64], m: f64) -> f64 {
    neighbour::<true>(win, m)
}

/// The smallest value of `win` above `m` (`+∞` if none).
#[inline]
fn min_above(win: &[f64], m: f64) -> f64 {
    neighbour::<false>(win, m)
}

/// The value of `win` nearest to `m` below it (`BELOW`) or above it, `∓∞` if none: four
/// independent lanes of branch-free selects, so the scan is not one long dependency chain.
#[inline]
fn neighbour<const BELOW: bool>(win: &[f64], m: f64) -> f64 {
    let none = if BELOW {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    // Whether `v` is on the wanted side of `m` and nearer to it than `best`.
    let nearer = |v: f64, best: f64| {
        if BELOW {
            v < m && v > best
        } else {
            v > m && v < best
        }
    };
    let mut lanes = [none; 4];
    let chunks = win.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = if nearer(v, *l) { v } else { *l };
        }
    }
    for &v in rest {
        lanes[0] = if nearer(v, lanes[0]) { v } else { lanes[0] };
    }
    let pick = |a: f64, b: f64| if (a > b) == BELOW { a } else { b };
    pick(pick(lanes[0], lanes[1]), pick(lanes[2], lanes[3]))
}

/// [`running_median`] over `span` with a sorted window updated in place: each step
/// replaces the outgoing value by the incoming one, shifting only the values between the
/// two. Handles `NaN`s and the clipped windows at the ends.
fn sorted_window_span(x: &[f64], w: usize, out: &mut [f64], span: std::ops::Range<usize>) {
    let n = x.len();
    let h = w / 2;
    let (from, to) = (span.start.min(n), span.end.min(n));
    if from >= to {
        return;
    }
    let mut win: Vec<f64> = Vec::with_capacity(w + 1);
    let finite = |v: f64| v.is_finite().then_some(v);
    for &v in &x[from.saturating_sub(h)..(from + h).min(n)] {
        if let Some(v) = finite(v) {
            sorted_insert(&mut win, v);
        }
    }
    for i in from..to {
        let incoming = if i + h < n { finite(x[i + h]) } else { None };
        let outgoing = if i > h && i > from {
            finite(x[i - h - 1])
        } else {
            None
        };
        match (incoming, outgoing) {
            (Some(new), Some(old)) => sorted_replace(&mut win, old, new),
            (Some(new), None) => sorted_insert(&mut win, new),
            (None, Some(old)) => {
                let p = win.partition_point(|&a| a < old);
                if p < win.len() {
                    win.remove(p);
                }
            }
            (None, None) => {}
        }
        let span = (i + h).min(n - 1) + 1 - i.saturating_sub(h);
        out[i] = if x[i].is_nan() || win.len() * 2 < span || win.is_empty() {
            f64::NAN
        } else {
            let m = win.len();
            if m % 2 == 1 {
                win[m / 2]
            } else {
                0.5 * (win[m / 2 - 1] + win[m / 2])
            }
        };
    }
}

/// Inserts `v` into the sorted `win`.
fn sorted_insert(win: &mut Vec<f64>, v: f64) {
    let p = win.partition_point(|&a| a < v);
    win.insert(p, v);
}

/// Replaces one copy of `old` (present) in the sorted `win` by `new`, keeping it sorted.
fn sorted_replace(win: &mut [f64], old: f64, new: f64) {
    // A branch-free count beats a binary search on windows this small.
    let mut p = win.iter().fold(0, |n, &a| n + usize::from(a < old));
    if p >= win.len() {
        return;
    }
    if new >= old {
        while p + 1 < win.len() && win[p + 1] < new {
            win[p] = win[p + 1];
            p += 1;
        }
    } else {
        while p > 0 && win[p - 1] > new {
            win[p] = win[p - 1];
            p -= 1;
        }
    }
    win[p] = new;
}

/// Clips isolated narrow transients (ECG QRS complexes, electrode pops) in the block means
/// `means`: a cluster of blocks where the edge amplitude `fine` exceeds the provisional
/// resting level `rest` by more than `level_uv` (per block: `spike_level_uv`, or
/// `noise_factor` × the edge amplitude's resting fluctuation where larger; runs less than
/// `guard` apart count as one), at most `max_w` blocks long, with `guard` blocks on each side below that level, is replaced by the median of those guard blocks
/// (widened by one block each side for the filter's ringing). A sustained burst is longer than `max_w` and never
/// isolated, so it is left alone. Returns whether anything changed.
fn suppress_spikes(
    means: &mut [f64],
    rest: &[f64],
    fine: &[f64],
    max_w: usize,
    guard: usize,
    level_uv: &[f64],
) -> Vec<(usize, usize)> {
    let n = means.len();
    let high =
        |b: usize| fine[b].is_finite() && rest[b].is_finite() && fine[b] > rest[b] + level_uv[b];
    let quiet =
        |b: usize| fine[b].is_finite() && rest[b].is_finite() && fine[b] <= rest[b] + level_uv[b];
    let mut changed = Vec::new();
    let mut around: Vec<f64> = Vec::with_capacity(2 * guard);
    let mut k = 0;
    while k < n {
        if !high(k) {
            k += 1;
            continue;
        }
        // A cluster: high runs separated by less than `guard` quiet blocks (a pop next to
        // a QRS is one transient).
        let start = k;
        let mut end;
        loop {
            while k < n && high(k) {
                k += 1;
            }
            end = k; // exclusive
            match (end..(end + guard).min(n)).find(|&b| high(b)) {
                Some(next) if next - start <= max_w => k = next,
                _ => break,
            }
        }
        if end - start > max_w || start < guard || end + guard > n {
            // Too long to be a spike: skip past the rest of this activity.
            while k < n && !quiet(k) {
                k += 1;
            }
            continue;
        }
        if (start - guard..start).all(quiet) && (end..end + guard).all(quiet) {
            // The quiet level around the spike: median of the guard blocks.
            around.clear();
            around.extend(
                (start - guard..start)
                    .chain(end..end + guard)
                    .map(|b| means[b])
                    .filter(|v| v.is_finite()),
            );
            if around.is_empty() {
                continue;
            }
            let mid = around.len() / 2;
            let level = *around.select_nth_unstable_by(mid, f64::total_cmp).1;
            let (a, b) = (start.saturating_sub(1), (end + 1).min(n));
            for m in &mut means[a..b] {
                *m = level;
            }
            changed.push((a, b));
        }
    }
    changed
}

/// The value [`running_median`] with window `2h + 1` gives at `i`: the median of the
/// finite values of `x[i-h..=i+h]` (clipped to the slice), `NaN` when `x[i]` is `NaN` or
/// fewer than half the window's values are finite. O(h) with `buf` as scratch.
#[must_use]
pub fn window_median(x: &[f64], i: usize, h: usize, buf: &mut Vec<f64>) -> f64 {
    let n = x.len();
    if i >= n || x[i].is_nan() {
        return f64::NAN;
    }
    let (a, b) = (i.saturating_sub(h), (i + h).min(n - 1) + 1);
    buf.clear();
    buf.extend(x[a..b].iter().copied().filter(|v| v.is_finite()));
    let m = buf.len();
    if m == 0 || m * 2 < b - a {
        return f64::NAN;
    }
    let (lower, mid, _) = buf.select_nth_unstable_by(m / 2, f64::total_cmp);
    let mid = *mid;
    if m % 2 == 1 {
        mid
    } else {
        0.5 * (lower.iter().copied().fold(f64::NEG_INFINITY, f64::max) + mid)
    }
}

/// Centred moving average over an odd window `w`, shrinking at the ends; `NaN` where any
/// value in the window is `NaN`. O(n).
pub fn moving_average(x: &[f64], w: usize, out: &mut [f64]) {
    let n = x.len();
    let h = w / 2;
    let (mut sum, mut nans, mut count) = (0.0, 0usize, 0usize);
    let add = |v: f64, sign: f64, sum: &mut f64, nans: &mut usize, count: &mut usize| {
        if v.is_nan() {
            if sign > 0.0 { *nans += 1 } else { *nans -= 1 }
        } else {
            *sum += sign * v;
        }
        if sign > 0.0 { *count += 1 } else { *count -= 1 }
    };
    for &v in x.iter().take(h.min(n)) {
        add(v, 1.0, &mut sum, &mut nans, &mut count);
    }
    for i in 0..n {
        if i + h < n {
            add(x[i + h], 1.0, &mut sum, &mut nans, &mut count);
        }
        if i > h {
            add(x[i - h - 1], -1.0, &mut sum, &mut nans, &mut count);
        }
        out[i] = if nans > 0 || count == 0 {
            f64::NAN
        } else {
            sum / count as f64
        };
    }
}

/// Per-segment statistics of an amplitude (see module docs): the resting percentile and
/// the resting spread (resting − noise percentile) of each `seg`-block segment, `NaN` for
/// a segment less than half finite.
struct SegmentStats {
    seg: usize,
    level: Vec<f64>,
    spread: Vec<f64>,
}

impl SegmentStats {
    /// Statistics of every segment of `amp`.
    fn new(amp: &[f64], seg: usize, cfg: &EnvelopeConfig) -> Self {
        let nseg = amp.len().div_ceil(seg);
        let mut stats = SegmentStats {
            seg,
            level: vec![f64::NAN; nseg],
            spread: vec![f64::NAN; nseg],
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
    }

    /// Recomputes the segments of `amp` that overlap the ascending `spans` of blocks,
    /// each once.
    fn recompute(&mut self, amp: &[f64], spans: &[std::ops::Range<usize>], cfg: &EnvelopeConfig) {
        let mut buf = Vec::with_capacity(self.seg);
        let mut next = 0; // first segment not yet recomputed
        for span in spans {
            for j in (span.start / self.seg).max(next)..span.end.div_ceil(self.seg) {
                self.compute(amp, j, cfg, &mut buf);
                next = j + 1;
            }
        }
    }

    /// Recomputes the segments where `new` differs from `old` (same length).
    fn update(&mut self, old: &[f64], new: &[f64], cfg: &EnvelopeConfig) {
        let mut buf = Vec::with_capacity(self.seg);
        for (j, (o, n)) in old.chunks(self.seg).zip(new.chunks(self.seg)).enumerate() {
            if o.iter().zip(n).any(|(a, b)| a.to_bits() != b.to_bits()) {
                self.compute(new, j, cfg, &mut buf);
            }
        }
    }
}

/// An integer whose order is [`f64::total_cmp`]'s: selecting on these keys is faster
/// than on floats with a comparison closure, and picks the same values.
#[inline]
pub(crate) fn order_key(v: f64) -> i64 {
    // Negative floats: flip every bit but the sign, so more negative sorts lower.
    let bits = i64::from_ne_bytes(v.to_ne_bytes());
    bits ^ ((bits >> 63) & i64::MAX)
}

/// The inverse of [`order_key`].
#[inline]
pub(crate) fn from_order_key(key: i64) -> f64 {
    f64::from_ne_bytes((key ^ ((key >> 63) & i64::MAX)).to_ne_bytes())
}

/// How a windowed per-segment value is stored per block.
#[derive(Debug, Clone, Copy)]
enum Store {
    /// As it is (`NaN` where unknown): a resting level.
    Level,
    /// As an offset margin: `max(floor, factor × spread)`, `floor` where unknown.
    Margin { floor: f64, factor: f64 },
}

impl Store {
    #[inline]
    fn apply(self, v: f64) -> f64 {
        match self {
            Store::Level => v,
            Store::Margin { floor, factor } => {
                if v.is_finite() {
                    floor.max(factor * v)
                } else {
                    floor
                }
            }
        }
    }
}

/// The lower quantile (`rest_window_quantile`) of the finite per-segment values over
/// ±`rest_half_window_s` around each segment (`NaN` where none is finite).
fn smooth_segments(per_segment: &[f64], cfg: &EnvelopeConfig) -> Vec<f64> {
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

/// Per block of `amp`, for each of the `K` per-segment series: its values smoothed over
/// segments ([`smooth_segments`]), linearly interpolated between segment centres and
/// stored as its [`Store`] says into its output (resized to `amp`); blocks where `amp` is
/// `NaN` (gaps) hold the store of `NaN`. One pass over the blocks writes all `K` outputs.
fn windowed<const K: usize>(
    amp: &[f64],
    per_segment: [&[f64]; K],
    stores: [Store; K],
    outs: [&mut Vec<f64>; K],
    seg: usize,
    cfg: &EnvelopeConfig,
) {
    let n = amp.len();
    let nseg = per_segment.first().map_or(0, |p| p.len());
    let smooth = per_segment.map(|p| smooth_segments(p, cfg));
    let mut t = 0;
    let outs = outs.map(|out| {
        out.clear();
        out.resize(n, stores[t].apply(f64::NAN));
        t += 1;
        out.as_mut_slice()
    });
    // Interpolate between segment centres; blocks in gaps keep their fill. Segment `j`
    // serves the blocks from its centre to the next centre (the first one also those
    // before it).
    let centre = |i: usize| (i * seg) as f64 + (seg.min(n - i * seg) as f64 - 1.0) / 2.0;
    let mut k = 0usize;
    for j in 0..nseg {
        let cj = centre(j);
        if j + 1 == nseg {
            for (i, v) in amp.iter().enumerate().skip(k) {
                if !v.is_nan() {
                    for t in 0..K {
                        outs[t][i] = stores[t].apply(smooth[t][j]);
                    }
                }
            }
            break;
        }
        let cn = centre(j + 1);
        let end = (cn.ceil() as usize).clamp(k, n);
        let span = cn - cj;
        let ends: [(f64, f64); K] = std::array::from_fn(|t| (smooth[t][j], smooth[t][j + 1]));
        for (i, v) in amp[..end].iter().enumerate().skip(k) {
            if v.is_nan() {
                continue;
            }
            let x = i as f64;
            for t in 0..K {
                let (a, b) = ends[t];
                let value = if x > cj {
                    match (a.is_finite(), b.is_finite()) {
                        (true, true) => a + (b - a) * (x - cj) / span,
                        (true, false) => a,
                        (false, true) => b,
                        _ => f64::NAN,
                    }
                } else {
                    a
                };
                outs[t][i] = stores[t].apply(value);
            }
        }
        k = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_median_suppresses_short_spikes_and_keeps_edges() {
        let mut x = vec![1.0; 100];
        x[30] = 100.0;
        x[31] = 100.0; // 2-sample spike in a 7-wide window
        for v in &mut x[60..80] {
            *v = 10.0;
        }
        let mut out = vec![0.0; 100];
        running_median(&x, 7, &mut out);
        assert!(out[25..40].iter().all(|&v| (v - 1.0).abs() < 1e-12));
        assert_eq!(out[59], 1.0);
        assert_eq!(out[60], 10.0);
        assert_eq!(out[79], 10.0);
        assert_eq!(out[80], 1.0);
    }

    #[test]
    fn running_median_handles_nan_and_tiny_inputs() {
        let x = [1.0, f64::NAN, 3.0];
        let mut out = [0.0; 3];
        running_median(&x, 3, &mut out);
        assert_eq!(out[0], 1.0);
        assert!(out[1].is_nan());
        assert_eq!(out[2], 3.0);
        let mut one = [0.0];
        running_median(&[5.0], 25, &mut one);
        assert_eq!(one[0], 5.0);
        running_median(&[], 5, &mut []);
    }

    #[test]
    fn window_median_equals_running_median() {
        let mut state = 99u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 40
        };
        // Scattered gaps; then many ties, a long gap, infinities and signed zeros.
        let scattered: Vec<f64> = (0..500)
            .map(|i| {
                let v = (next() % 1000) as f64 / 10.0;
                if i % 37 == 5 { f64::NAN } else { v }
            })
            .collect();
        let tied: Vec<f64> = (0..600)
            .map(|i| {
                let v = (next() % 5) as f64;
                match i {
                    200..260 => f64::NAN,
                    333 => f64::INFINITY,
                    334 => f64::NEG_INFINITY,
                    _ if v == 0.0 && i % 2 == 0 => -0.0,
                    _ => v,
                }
            })
            .collect();
        for x in [scattered, tied] {
            check_running_median(&x);
        }
    }

    /// [`running_median`] and its spans against [`window_median`] (zeros compared by
    /// value: a window holding both may give either).
    fn check_running_median(x: &[f64]) {
        let same =
            |a: f64, b: f64| a.to_bits() == b.to_bits() || a == b || (a.is_nan() && b.is_nan());
        let mut buf = Vec::new();
        for w in [1usize, 3, 7, 21, 51] {
            let mut out = vec![0.0; x.len()];
            running_median(x, w, &mut out);
            for (i, o) in out.iter().enumerate() {
                let m = window_median(x, i, w / 2, &mut buf);
                assert!(same(*o, m), "w {w} i {i}: {o} vs {m}");
            }
            // Any span gives the same values and leaves the rest alone.
            for (a, b) in [
                (0, 10),
                (3, 4),
                (17, 120),
                (190, 270),
                (480, 500),
                (499, 620),
            ] {
                let mut part = vec![-1.0; x.len()];
                running_median_span(x, w, &mut part, a..b);
                for (i, (p, o)) in part.iter().zip(&out).enumerate() {
                    let want = if (a..b).contains(&i) { *o } else { -1.0 };
                    assert!(same(*p, want), "w {w} span {a}..{b} i {i}: {p} vs {want}");
                }
            }
        }
    }

    #[test]
    fn moving_average_matches_direct_sums() {
        let x: Vec<f64> = (0..20).map(|i| f64::from(i * i % 7)).collect();
        let mut out = vec![0.0; 20];
        moving_average(&x, 5, &mut out);
        for (i, o) in out.iter().enumerate() {
            let (a, b) = (i.saturating_sub(2), (i + 3).min(20));
            let want = x[a..b].iter().sum::<f64>() / (b - a) as f64;
            assert!((o - want).abs() < 1e-12);
        }
        let mut y = x.clone();
        y[10] = f64::NAN;
        moving_average(&y, 3, &mut out);
        assert!(out[9].is_nan() && out[11].is_nan() && out[12].is_finite());
    }

    #[test]
    fn block_means_of_every_length_match_the_plain_loop() {
        let y: Vec<f64> = (0..103)
            .map(|i| {
                if i == 40 {
                    f64::NAN
                } else {
                    (f64::from(i) * 0.37).sin() * 9.0
                }
            })
            .collect();
        for block in 1..8 {
            let want: Vec<f64> = y
                .chunks(block)
                .map(|c| {
                    let mut s = 0.0;
                    for v in c {
                        s += v.abs();
                    }
                    s / c.len() as f64
                })
                .collect();
            let got = block_means(&y, block);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()));
            }
        }
    }

    #[test]
    fn order_keys_sort_like_total_cmp_and_invert() {
        let values = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -1e-310,
            -0.0,
            0.0,
            1e-310,
            2.5,
            1e300,
            f64::INFINITY,
        ];
        for w in values.windows(2) {
            assert!(order_key(w[0]) < order_key(w[1]), "{} {}", w[0], w[1]);
        }
        for v in values {
            assert_eq!(from_order_key(order_key(v)).to_bits(), v.to_bits());
        }
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
        let mut rest = Vec::new();
        windowed(
            &amp,
            [&SegmentStats::new(&amp, seg, &cfg).level],
            [Store::Level],
            [&mut rest],
            seg,
            &cfg,
        );
        for k in (3000..57_000).step_by(1000) {
            let want = 1.0 + 3.0 * (k as f64 / rate) / 600.0;
            assert!(
                (rest[k] - want).abs() < 0.2,
                "block {k}: {} vs {want}",
                rest[k]
            );
        }
    }

    #[test]
    fn block_means_in_place_equal_block_means() {
        let y: Vec<f64> = (0..1000)
            .map(|i| {
                if i % 97 == 13 {
                    f64::NAN
                } else {
                    (f64::from(i) * 0.37).sin() * 40.0
                }
            })
            .collect();
        for block in [1, 2, 3, 4, 5, 7, 10, 999, 1000, 1001] {
            for n in [0, 1, 2, 999, 1000] {
                let want = block_means(&y[..n], block);
                let mut got = y[..n].to_vec();
                block_means_in_place(&mut got, block);
                assert_eq!(got.len(), want.len(), "block {block} n {n}");
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        g.to_bits() == w.to_bits(),
                        "block {block} n {n}: {g} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn envelope_scale_is_mean_rectified() {
        let fs = 256.0;
        let y: Vec<f64> = (0..2560)
            .map(|i| 10.0 * (2.0 * std::f64::consts::PI * 40.0 * f64::from(i) / fs).sin())
            .collect();
        let env = envelope(&y, fs, &EnvelopeConfig::default(), 0.5, 2.0).unwrap();
        assert_eq!(env.block, 3);
        let mid = env.amplitude[400];
        assert!(
            (mid - 10.0 * 2.0 / std::f64::consts::PI).abs() < 0.8,
            "{mid}"
        );
        assert!(envelope(&y, 0.0, &EnvelopeConfig::default(), 0.5, 2.0).is_err());
    }
}
