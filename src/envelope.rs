//! Envelope and resting baseline.
//!
//! Input: band-passed EMG of one leg, µV, at `fs` Hz (`NaN` = gap) — or, for
//! accelerometers, the dynamic-acceleration magnitude in mg ([`crate::accel`]); every
//! amplitude below is then in mg, and the µV numbers quoted are the EMG defaults. Output:
//! an [`Envelope`] sampled in blocks of `block` input samples (≈ 10 ms): the amplitude, the
//! local resting level, the offset margins, and the block means behind the 0.5-s median
//! of the WASM 2016 morphology check (the resting level and margins are per-segment values,
//! held as [`Profile`]s and evaluated block by block where they are used). Block `k` covers
//! input samples `[k·block, (k+1)·block)`; its time is the block centre,
//! `(k + 0.5) · block / fs` seconds.
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
///
/// The three series computed from the samples (block means, amplitude, edge amplitude)
/// share one buffer — for [`envelope_owned`], the caller's own sample buffer, whose pages
/// are already in memory — and the three defined per 5-s segment (resting level, offset
/// margins) are [`Profile`]s evaluated on demand. An 8-hour 256 Hz leg's envelope thus
/// lives in the 59 MB its samples held, where five fresh 20-MB arrays (24 k pages the
/// kernel must hand out, ≈ 1.4 µs each) were needed before.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    /// Input samples per block.
    pub block: usize,
    /// Blocks per second (`fs / block`).
    pub rate_hz: f64,
    /// Length of the input signal, s (samples / `fs`; the last block may be partial, so
    /// its centre can lie past this). Movement edges are kept within `[0, duration_s]`.
    pub duration_s: f64,
    /// Half the morphology window, blocks.
    pub morphology_half_blocks: usize,
    /// Block means, amplitude and edge amplitude, one after the other.
    series: Vec<f64>,
    rest: Profile,
    margin: Profile,
    fine_margin: Profile,
}

/// The per-block series of an [`Envelope`] given one by one ([`Envelope::from_parts`]):
/// for envelopes computed elsewhere, or made up in tests. All have one value per block.
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
    /// An envelope of `parts` at `rate_hz` blocks per second, `block` input samples per
    /// block, over `duration_s` seconds, with a morphology half-window of
    /// `morphology_half_blocks`.
    ///
    /// # Errors
    /// [`Error::Input`] when the series differ in length or the rate is not positive.
    pub fn from_parts(
        block: usize,
        rate_hz: f64,
        duration_s: f64,
        morphology_half_blocks: usize,
        parts: EnvelopeParts,
    ) -> Result<Self> {
        let n = parts.amplitude.len();
        let lengths = [
            ("block_mean", parts.block_mean.len()),
            ("fine", parts.fine.len()),
            ("rest", parts.rest.len()),
            ("margin", parts.margin.len()),
            ("fine_margin", parts.fine_margin.len()),
        ];
        if let Some((name, len)) = lengths.into_iter().find(|&(_, len)| len != n) {
            return Err(Error::input(
                Location::default(),
                format!("envelope series `{name}` has {len} blocks, `amplitude` {n}"),
            ));
        }
        if !(rate_hz.is_finite() && rate_hz > 0.0) {
            return Err(Error::input(
                Location::default(),
                format!("envelope rate must be positive, got {rate_hz} blocks/s"),
            ));
        }
        let mut series = parts.block_mean;
        series.extend_from_slice(&parts.amplitude);
        series.extend_from_slice(&parts.fine);
        Ok(Self {
            block,
            rate_hz,
            duration_s,
            morphology_half_blocks,
            series,
            rest: Profile::from(parts.rest),
            margin: Profile::from(parts.margin),
            fine_margin: Profile::from(parts.fine_margin),
        })
    }

    /// Frees the series buffer's spare capacity, for an envelope kept by the caller.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.series.shrink_to_fit();
    }

    /// The buffer that held the envelope's series, emptied, for reuse
    /// ([`crate::detector::Workspace`]); its capacity is the leg's sample count or more.
    pub(crate) fn into_buffer(self) -> Vec<f64> {
        let mut series = self.series;
        series.clear();
        series
    }

    /// Time of block `k`'s centre, s.
    #[must_use]
    pub fn time_s(&self, k: usize) -> f64 {
        (k as f64 + 0.5) / self.rate_hz
    }

    /// Number of blocks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.series.len() / 3
    }

    /// `true` when there are no blocks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Rectified mean per block after spike clipping (the input of both medians).
    #[must_use]
    pub fn block_mean(&self) -> &[f64] {
        &self.series[..self.len()]
    }

    /// Amplitude (`NaN` in gaps).
    #[must_use]
    pub fn amplitude(&self) -> &[f64] {
        let n = self.len();
        &self.series[n..2 * n]
    }

    /// A lightly smoothed amplitude for locating edges: centred moving average of the
    /// block means over `edge_smooth_s`.
    #[must_use]
    pub fn fine(&self) -> &[f64] {
        &self.series[2 * self.len()..]
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
}

/// A per-block series defined per segment — the resting level and the offset margins of
/// an [`Envelope`] — evaluated on demand.
///
/// Each segment's value (see the module docs) is linearly interpolated between segment
/// centres: segment `j` serves the blocks from its centre to the next centre (the first
/// segment also the blocks before its centre, the last one every block after its
/// centre, unchanged). Blocks where the amplitude it belongs to is `NaN` (gaps) hold the
/// unknown value: `NaN` for a resting level, the floor for a margin. A profile may also
/// hold its values block by block ([`From<Vec<f64>>`](#impl-From%3CVec%3Cf64%3E%3E-for-Profile)).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile(Repr);

#[derive(Debug, Clone, PartialEq)]
enum Repr {
    Blocks(Vec<f64>),
    Segments(Segments),
}

/// See [`Profile`].
#[derive(Debug, Clone, PartialEq)]
struct Segments {
    /// Blocks.
    n: usize,
    /// Blocks per segment.
    seg: usize,
    /// The smoothed value of each segment.
    smooth: Vec<f64>,
    /// Centre of each segment, blocks.
    centre: Vec<f64>,
    /// `start[j]`: the first block segment `j` serves; `start[nseg] = n`.
    start: Vec<usize>,
    /// Blocks holding the unknown value (gaps of the amplitude), ascending, disjoint.
    gaps: Vec<std::ops::Range<usize>>,
    store: Store,
}

impl Default for Profile {
    fn default() -> Self {
        Self(Repr::Blocks(Vec::new()))
    }
}

impl From<Vec<f64>> for Profile {
    /// A profile holding `values`, one per block.
    fn from(values: Vec<f64>) -> Self {
        Self(Repr::Blocks(values))
    }
}

impl Profile {
    /// Number of blocks.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Blocks(v) => v.len(),
            Repr::Segments(s) => s.n,
        }
    }

    /// `true` when there are no blocks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at block `k`, `None` past the end.
    #[must_use]
    pub fn get(&self, k: usize) -> Option<f64> {
        match &self.0 {
            Repr::Blocks(v) => v.get(k).copied(),
            Repr::Segments(s) => (k < s.n).then(|| s.at(k)),
        }
    }

    /// The value at block `k`.
    ///
    /// # Panics
    /// When `k` is not below [`Profile::len`], like a slice index.
    #[must_use]
    pub fn at(&self, k: usize) -> f64 {
        match &self.0 {
            Repr::Blocks(v) => v[k],
            Repr::Segments(s) => {
                assert!(k < s.n, "block {k} past the profile's {} blocks", s.n);
                s.at(k)
            }
        }
    }

    /// The values block by block (evaluated a few hundred blocks at a time, as by a
    /// [`Cursor`]).
    #[must_use]
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            cursor: self.cursor(),
            next: 0,
            end: self.len(),
        }
    }

    /// Writes the values of blocks `from .. from + out.len()` into `out`: a tight loop per
    /// stretch of one segment, the fastest way to read many blocks.
    ///
    /// # Panics
    /// When the blocks run past the profile's length, like a slice index.
    pub fn values_into(&self, from: usize, out: &mut [f64]) {
        let s = match &self.0 {
            Repr::Blocks(v) => {
                out.copy_from_slice(&v[from..from + out.len()]);
                return;
            }
            Repr::Segments(s) => s,
        };
        let end = from + out.len();
        assert!(
            end <= s.n,
            "blocks up to {end} past the profile's {} blocks",
            s.n
        );
        let mut k = from;
        while k < end {
            let (stretch, j, fill) = s.stretch(k);
            let hi = stretch.end.min(end);
            let dst = &mut out[k - from..hi - from];
            if let Some(v) = fill {
                dst.fill(v);
            } else {
                s.values_of(j, k, dst);
            }
            k = hi;
        }
    }

    /// The median of the finite values: the value of rank ⌊m/2⌋ (counting from 0) among
    /// the `m` finite values ordered by [`f64::total_cmp`], `None` when there are none.
    ///
    /// A profile defined per segment is made of runs of blocks whose values are sorted
    /// (constant, or one segment's interpolation, monotone in the block number), so the
    /// median is selected among the runs by binary searches, evaluating a few hundred
    /// blocks per run instead of sorting out millions of values.
    #[must_use]
    pub fn median_finite(&self) -> Option<f64> {
        match &self.0 {
            Repr::Blocks(v) => {
                let mut keys: Vec<i64> = v
                    .iter()
                    .filter(|x| x.is_finite())
                    .map(|&x| order_key(x))
                    .collect();
                let mid = keys.len() / 2;
                (!keys.is_empty()).then(|| from_order_key(*keys.select_nth_unstable(mid).1))
            }
            Repr::Segments(s) => s.median_finite(),
        }
    }

    /// The values as a vector.
    #[must_use]
    pub fn to_vec(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.len());
        out.extend(self.iter());
        out
    }

    /// [`Profile::with_gaps`] with the gaps of `amp`.
    #[cfg(test)]
    fn segments(
        amp: &[f64],
        per_segment: &[f64],
        store: Store,
        seg: usize,
        cfg: &EnvelopeConfig,
    ) -> Self {
        Self::with_gaps(amp.len(), &nan_runs(amp), per_segment, store, seg, cfg)
    }

    /// The profile of the per-segment values `per_segment` over `n` blocks whose amplitude
    /// has the gaps `gaps` ([`nan_runs`]): smoothed ([`smooth_segments`]), interpolated and
    /// stored as `store` says.
    fn with_gaps(
        n: usize,
        gaps: &[std::ops::Range<usize>],
        per_segment: &[f64],
        store: Store,
        seg: usize,
        cfg: &EnvelopeConfig,
    ) -> Self {
        let nseg = per_segment.len();
        let centre = |j: usize| (j * seg) as f64 + (seg.min(n - j * seg) as f64 - 1.0) / 2.0;
        let centres: Vec<f64> = (0..nseg).map(centre).collect();
        let mut start = Vec::with_capacity(nseg + 1);
        let mut k = 0usize;
        for j in 0..nseg {
            start.push(k);
            if j + 1 < nseg {
                k = (centres[j + 1].ceil() as usize).clamp(k, n);
            }
        }
        start.push(n);
        Self(Repr::Segments(Segments {
            n,
            seg,
            smooth: smooth_segments(per_segment, cfg),
            centre: centres,
            start,
            gaps: gaps.to_vec(),
            store,
        }))
    }
}

/// The runs of `NaN` in `x`, ascending.
fn nan_runs(x: &[f64]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while let Some(p) = x[i..].iter().position(|v| v.is_nan()) {
        let a = i + p;
        let len = x[a..]
            .iter()
            .position(|v| !v.is_nan())
            .unwrap_or(x.len() - a);
        runs.push(a..a + len);
        i = a + len;
    }
    runs
}

impl Segments {
    /// The segment serving block `k` (`k < n`).
    #[inline]
    fn segment_of(&self, k: usize) -> usize {
        let last = self.smooth.len() - 1;
        let mut j = (k / self.seg).min(last);
        while self.start[j] > k {
            j -= 1;
        }
        while j < last && self.start[j + 1] <= k {
            j += 1;
        }
        j
    }

    /// The value at block `k < n` of segment `j`'s span.
    #[inline]
    fn value(&self, k: usize, j: usize) -> f64 {
        let a = self.smooth[j];
        if j + 1 == self.smooth.len() {
            return self.store.apply(a);
        }
        let (cj, b) = (self.centre[j], self.smooth[j + 1]);
        let x = k as f64;
        let value = if x > cj {
            let span = self.centre[j + 1] - cj;
            match (a.is_finite(), b.is_finite()) {
                (true, true) => a + (b - a) * (x - cj) / span,
                (true, false) => a,
                (false, true) => b,
                _ => f64::NAN,
            }
        } else {
            a
        };
        self.store.apply(value)
    }

    /// [`Segments::value`] of the blocks `k0 ..` (outside gaps) of segment `j` into
    /// `out`: the same arithmetic, with the per-segment choices made once.
    fn values_of(&self, j: usize, k0: usize, out: &mut [f64]) {
        match self.store {
            Store::Level => self.values_with(j, k0, out, |v| v),
            // `Store::apply`, with the store's fields bound once.
            Store::Margin { floor, factor } => self.values_with(j, k0, out, |v| {
                if v.is_finite() {
                    floor.max(factor * v)
                } else {
                    floor
                }
            }),
        }
    }

    #[inline]
    fn values_with(&self, j: usize, k0: usize, out: &mut [f64], apply: impl Fn(f64) -> f64) {
        let a = self.smooth[j];
        if j + 1 == self.smooth.len() {
            out.fill(apply(a));
            return;
        }
        let (cj, b) = (self.centre[j], self.smooth[j + 1]);
        let span = self.centre[j + 1] - cj;
        // Blocks up to the centre (`k ≤ cj`, the centre being ≥ 0) take `a`.
        let split = (cj.floor() as usize + 1).saturating_sub(k0).min(out.len());
        let (before, after) = out.split_at_mut(split);
        before.fill(apply(a));
        let right = match (a.is_finite(), b.is_finite()) {
            (true, true) => None,
            (true, false) => Some(a),
            (false, true) => Some(b),
            _ => Some(f64::NAN),
        };
        if let Some(v) = right {
            after.fill(apply(v));
            return;
        }
        // Block `k`'s `x` is `base + i` (both integers far below 2^53, so exactly
        // `k as f64`), with a 32-bit `i` the compiler converts two at a time.
        for (c, chunk) in after.chunks_mut(1 << 30).enumerate() {
            let base = (k0 + split + (c << 30)) as f64;
            for (i, o) in (0i32..).zip(chunk) {
                let x = base + f64::from(i);
                *o = apply(a + (b - a) * (x - cj) / span);
            }
        }
    }

    /// The value at block `k < n`.
    fn at(&self, k: usize) -> f64 {
        let (_, j, fill) = self.stretch(k);
        fill.unwrap_or_else(|| self.value(k, j))
    }

    /// The blocks around `k < n` that share its segment and its being in a gap or not:
    /// `(range, Some(fill))` in a gap, `(range, None)` with `j` outside.
    fn stretch(&self, k: usize) -> (std::ops::Range<usize>, usize, Option<f64>) {
        let p = self.gaps.partition_point(|g| g.end <= k);
        if let Some(g) = self.gaps.get(p).filter(|g| g.start <= k) {
            return (g.clone(), 0, Some(self.store.apply(f64::NAN)));
        }
        let j = self.segment_of(k);
        let lo = p
            .checked_sub(1)
            .map_or(self.start[j], |q| self.start[j].max(self.gaps[q].end));
        let hi = self
            .gaps
            .get(p)
            .map_or(self.start[j + 1], |g| self.start[j + 1].min(g.start));
        (lo..hi, j, None)
    }
}

/// Blocks of a [`Segments`] profile whose values are sorted by block number.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// First block.
    first: usize,
    /// Blocks.
    len: usize,
    /// Segment serving them.
    segment: usize,
    order: RunOrder,
}

#[derive(Debug, Clone, Copy)]
enum RunOrder {
    /// Every block holds this key ([`order_key`]).
    Constant(i64),
    /// Non-decreasing with the block number.
    Rising,
    /// Non-increasing with the block number.
    Falling,
}

impl Segments {
    /// The finite values as sorted runs, in block order (see [`Profile::median_finite`]).
    fn runs(&self) -> Vec<Run> {
        let mut runs = Vec::with_capacity(2 * self.smooth.len() + self.gaps.len());
        let mut push = |first: usize, len: usize, segment: usize, order: RunOrder| {
            if len > 0 {
                runs.push(Run {
                    first,
                    len,
                    segment,
                    order,
                });
            }
        };
        let constant = |v: f64| v.is_finite().then(|| RunOrder::Constant(order_key(v)));
        let mut k = 0;
        while k < self.n {
            let (stretch, j, fill) = self.stretch(k);
            let hi = stretch.end;
            if let Some(v) = fill {
                if let Some(order) = constant(v) {
                    push(k, hi - k, j, order);
                }
                k = hi;
                continue;
            }
            // The split of `values_with`: `a` up to the centre, then the interpolation.
            let a = self.smooth[j];
            if j + 1 == self.smooth.len() {
                if let Some(order) = constant(self.store.apply(a)) {
                    push(k, hi - k, j, order);
                }
                k = hi;
                continue;
            }
            let (cj, b) = (self.centre[j], self.smooth[j + 1]);
            let split = (cj.floor() as usize + 1).saturating_sub(k).min(hi - k);
            if let Some(order) = constant(self.store.apply(a)) {
                push(k, split, j, order);
            }
            let after = (k + split, hi - k - split);
            match (a.is_finite(), b.is_finite()) {
                // `a + (b − a)·(x − cj)/span` with every step monotone in `x`; the
                // stores are non-decreasing functions of it.
                (true, true) => {
                    let order = if b - a < 0.0 {
                        RunOrder::Falling
                    } else {
                        RunOrder::Rising
                    };
                    push(after.0, after.1, j, order);
                }
                (true, false) | (false, true) => {
                    let v = if a.is_finite() { a } else { b };
                    if let Some(order) = constant(self.store.apply(v)) {
                        push(after.0, after.1, j, order);
                    }
                }
                (false, false) => {
                    if let Some(order) = constant(self.store.apply(f64::NAN)) {
                        push(after.0, after.1, j, order);
                    }
                }
            }
            k = hi;
        }
        runs
    }

    /// The key of the value of rank `r` within `run`.
    #[inline]
    fn run_key(&self, run: &Run, r: usize) -> i64 {
        match run.order {
            RunOrder::Constant(key) => key,
            RunOrder::Rising => order_key(self.value(run.first + r, run.segment)),
            RunOrder::Falling => order_key(self.value(run.first + run.len - 1 - r, run.segment)),
        }
    }

    /// See [`Profile::median_finite`]: a selection among sorted runs. Each round takes the
    /// median of the runs' middle values as a pivot, counts the values below and up to it
    /// by a binary search per run, and keeps the side holding the wanted rank; a few
    /// thousand values left are selected directly.
    fn median_finite(&self) -> Option<f64> {
        let runs = self.runs();
        let m: usize = runs.iter().map(|r| r.len).sum();
        if m == 0 {
            return None;
        }
        let mut rank = m / 2;
        // The window of ranks still in play in each run.
        let mut window: Vec<(usize, usize)> = runs.iter().map(|r| (0, r.len)).collect();
        let mut keys: Vec<i64> = Vec::new();
        let mut below = Vec::with_capacity(runs.len());
        for _ in 0..200 {
            let left: usize = window.iter().map(|&(lo, hi)| hi - lo).sum();
            if left <= 4096 {
                break;
            }
            keys.clear();
            keys.extend(
                runs.iter()
                    .zip(&window)
                    .filter(|(_, (lo, hi))| lo < hi)
                    .map(|(run, &(lo, hi))| self.run_key(run, lo + (hi - lo) / 2)),
            );
            let mid = keys.len() / 2;
            let pivot = *keys.select_nth_unstable(mid).1;
            below.clear();
            let (mut lt, mut le) = (0usize, 0usize);
            for (run, &(lo, hi)) in runs.iter().zip(&window) {
                let count = |up_to: bool| {
                    let (mut a, mut b) = (lo, hi);
                    while a < b {
                        let c = a + (b - a) / 2;
                        let key = self.run_key(run, c);
                        if key < pivot || (up_to && key == pivot) {
                            a = c + 1;
                        } else {
                            b = c;
                        }
                    }
                    a
                };
                let (l, e) = if lo < hi {
                    (count(false), count(true))
                } else {
                    (lo, lo)
                };
                lt += l - lo;
                le += e - lo;
                below.push((l, e));
            }
            if rank < lt {
                for (w, &(l, _)) in window.iter_mut().zip(&below) {
                    w.1 = l;
                }
            } else if rank < le {
                return Some(from_order_key(pivot));
            } else {
                rank -= le;
                for (w, &(_, e)) in window.iter_mut().zip(&below) {
                    w.0 = e;
                }
            }
        }
        keys.clear();
        for (run, &(lo, hi)) in runs.iter().zip(&window) {
            keys.extend((lo..hi).map(|r| self.run_key(run, r)));
        }
        Some(from_order_key(*keys.select_nth_unstable(rank).1))
    }
}

/// Reads a [`Profile`] block by block, fastest in ascending order: values are evaluated
/// [`CURSOR_BLOCKS`] at a time ([`Profile::values_into`]), from a little before the block
/// asked for, and kept.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    profile: &'a Profile,
    /// First block held in `buf`.
    base: usize,
    /// Blocks held.
    held: usize,
    buf: [f64; CURSOR_BLOCKS],
}

impl<'a> IntoIterator for &'a Profile {
    type Item = f64;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Calls `f(k, chunks)` over the blocks from `from` on, a few hundred at a time: `chunks`
/// holds the values of each of the `K` profiles (all of one length) at blocks `k ..`.
pub(crate) fn for_each_chunk<const K: usize>(
    profiles: [&Profile; K],
    from: usize,
    mut f: impl FnMut(usize, [&[f64]; K]),
) {
    let n = profiles.first().map_or(0, |p| p.len());
    let mut bufs = [[0.0; CURSOR_BLOCKS]; K];
    let mut k = from;
    while k < n {
        let m = CURSOR_BLOCKS.min(n - k);
        for (p, buf) in profiles.iter().zip(bufs.iter_mut()) {
            p.values_into(k, &mut buf[..m]);
        }
        f(k, std::array::from_fn(|i| &bufs[i][..m]));
        k += m;
    }
}

/// The values of a [`Profile`] block by block ([`Profile::iter`]).
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    cursor: Cursor<'a>,
    /// Next block.
    next: usize,
    /// Blocks.
    end: usize,
}

impl Iterator for Iter<'_> {
    type Item = f64;

    #[inline]
    fn next(&mut self) -> Option<f64> {
        let k = self.next;
        if k >= self.end {
            return None;
        }
        self.next += 1;
        Some(self.cursor.at(k))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }

    /// A run of [`Profile::values_into`] calls (what `sum`, `for_each`, `collect` and
    /// most consumers use).
    fn fold<B, F: FnMut(B, f64) -> B>(self, init: B, mut f: F) -> B {
        let mut acc = init;
        let mut buf = [0.0; CURSOR_BLOCKS];
        let mut k = self.next;
        while k < self.end {
            let m = CURSOR_BLOCKS.min(self.end - k);
            self.cursor.profile.values_into(k, &mut buf[..m]);
            for &v in &buf[..m] {
                acc = f(acc, v);
            }
            k += m;
        }
        acc
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Blocks a [`Cursor`] evaluates at a time.
pub const CURSOR_BLOCKS: usize = 256;

impl Cursor<'_> {
    /// The value at block `k`, as [`Profile::at`].
    ///
    /// # Panics
    /// When `k` is not below the profile's length, like a slice index.
    #[inline]
    pub fn at(&mut self, k: usize) -> f64 {
        let i = k.wrapping_sub(self.base);
        if let Some(&v) = self.buf[..self.held].get(i) {
            return v;
        }
        self.fill(k);
        self.buf[k - self.base]
    }

    /// Evaluates the blocks around `k` (a few before it, for short look-backs).
    #[cold]
    fn fill(&mut self, k: usize) {
        let n = self.profile.len();
        assert!(k < n, "block {k} past the profile's {n} blocks");
        self.base = k.saturating_sub(CURSOR_BLOCKS / 8);
        self.held = CURSOR_BLOCKS.min(n - self.base);
        self.profile
            .values_into(self.base, &mut self.buf[..self.held]);
    }
}

impl Profile {
    /// A [`Cursor`] over the profile.
    #[must_use]
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            profile: self,
            base: 0,
            held: 0,
            buf: [0.0; CURSOR_BLOCKS],
        }
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
    let mut env = from_means(
        means,
        block,
        y_uv.len(),
        fs_hz,
        cfg,
        (morphology_s, offset_level_uv),
    );
    env.shrink_to_fit();
    Ok(env)
}

/// [`envelope`] of a signal the caller gives up: its buffer then holds the block means,
/// so a night-long array of them is never allocated (the block means are written over the
/// samples they summarise, then the buffer is shrunk to them).
///
/// # Errors
/// As [`envelope`].
pub fn envelope_owned(
    y_uv: Vec<f64>,
    fs_hz: f64,
    cfg: &EnvelopeConfig,
    morphology_s: f64,
    offset_level_uv: f64,
) -> Result<Envelope> {
    let mut env = envelope_in(y_uv, fs_hz, cfg, morphology_s, offset_level_uv)?;
    env.shrink_to_fit();
    Ok(env)
}

/// [`envelope_owned`] without shrinking the buffer: the detector hands it back for the
/// next night ([`Envelope::into_buffer`]), so its capacity — the leg's sample count, or
/// more where `3 × blocks` exceeds it — is kept.
pub(crate) fn envelope_in(
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
/// samples at `fs_hz`, held in `series` (which then also receives the amplitude and the
/// edge amplitude, so its spare capacity is used first); `(morphology_s,
/// offset_level_uv)` as for [`envelope`].
fn from_means(
    mut series: Vec<f64>,
    block: usize,
    n_samples: usize,
    fs_hz: f64,
    cfg: &EnvelopeConfig,
    (morphology_s, offset_level_uv): (f64, f64),
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
    let margin_store = |floor: f64| Store::Margin {
        floor,
        factor: cfg.noise_factor,
    };
    // Spikes are judged against a provisional resting level (the first-pass median is
    // itself lifted by a cluster of spikes).
    let (clipped, clipped_old) = {
        let rest = Profile::with_gaps(nb, &amp_gaps, &amp_stats.level, Store::Level, seg, cfg);
        let level = Profile::with_gaps(
            nb,
            &fine_gaps,
            &fine_stats.spread,
            margin_store(cfg.spike_level_uv),
            seg,
            cfg,
        );
        suppress_spikes(means, &rest, fine, max_w, guard, &level)
    };
    if !clipped.is_empty() {
        // Only windows that contain a clipped block change. A segment needs its
        // statistics again only where a value changed in a way that can move them
        // ([`SegmentStats::keeps`]).
        let h = median_w / 2;
        let mut stale = vec![false; amp_stats.level.len()];
        let mut before: Vec<f64> = Vec::new();
        let mut done = 0usize; // first block not yet recomputed
        let mut held = clipped_old.as_slice(); // the values the spans held, span by span
        for (k, &(a, b)) in clipped.iter().enumerate() {
            let (old_ab, rest) = held.split_at(b - a);
            held = rest;
            let from = a.saturating_sub(h).max(done);
            let to = (b + h).min(nb);
            // Where a window's clipped blocks all held values above its median and were
            // clipped to no less than it, the median stays (an order statistic keeps its
            // value when elements above it move down to it, no further): such windows at
            // the ends of the span keep their median, and only those between are
            // recomputed. A window must also be whole and finite (an even count of
            // finite values averages two middle ones), and clear of the next span.
            let next_a = clipped.get(k + 1).map_or(usize::MAX, |s| s.0);
            let stays = |j: usize| {
                let m = amplitude[j];
                j >= h
                    && j + h < nb.min(next_a)
                    && means[j - h..=j + h].iter().all(|v| v.is_finite())
                    && (a.max(j - h)..b.min(j + h + 1)).all(|i| old_ab[i - a] > m && means[i] >= m)
            };
            let mut p = from;
            while p < to && stays(p) {
                p += 1;
            }
            let mut q = to;
            while q > p && stays(q - 1) {
                q -= 1;
            }
            if p < q {
                before.clear();
                before.extend_from_slice(&amplitude[p..q]);
                running_median_respan(means, median_w, amplitude, p..q);
                for (i, (&old, &new)) in (p..q).zip(before.iter().zip(&amplitude[p..q])) {
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
    let rest = Profile::with_gaps(nb, &amp_gaps, &amp_stats.level, Store::Level, seg, cfg);
    let margin = Profile::with_gaps(
        nb,
        &amp_gaps,
        &amp_stats.spread,
        margin_store(offset_level_uv),
        seg,
        cfg,
    );
    let fine_margin = Profile::with_gaps(
        nb,
        &fine_gaps,
        &fine_stats.spread,
        margin_store(offset_level_uv),
        seg,
        cfg,
    );
    Envelope {
        block,
        rate_hz: rate,
        duration_s: n_samples as f64 / fs_hz,
        morphology_half_blocks: odd(morphology_s) / 2,
        series,
        rest,
        margin,
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
    // Room for the amplitude and edge amplitude that follow the means (`from_means`).
    let mut out = Vec::with_capacity(3 * y.len().div_ceil(block.max(1)));
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
/// the samples still to be read), which is then cut to the means (keeping its capacity
/// for the series that follow them): the same values, summed in the same order.
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

/// [`running_median_span`] where `out[span.start - 1]` already holds the running median
/// of `x` at that position, as when medians are recomputed after spike clipping: a span
/// starts next to a window that no clipped block touches, or one already recomputed. Where
/// that window and all of the span's are finite and inside `x`, the tracker starts from
/// that median and only counts its window (the 10 k short spans of a night with ECG
/// otherwise each begin with a selection); elsewhere this is [`running_median_span`].
fn running_median_respan(x: &[f64], w: usize, out: &mut [f64], span: std::ops::Range<usize>) {
    let (h, n) = (w / 2, x.len());
    let (from, to) = (span.start, span.end.min(n));
    if from > h && from < to && to + h <= n && x[from - 1 - h..to + h].iter().all(|v| v.is_finite())
    {
        let mut tracker = RankTracker::at(x, h, from - 1, out[from - 1]);
        tracker.slide(x, h, out, from..to);
    } else {
        running_median_span(x, w, out, span);
    }
}

/// [`running_median`] over `span`, where every window `x[i - h ..= i + h]` lies inside `x`
/// and is finite, by rank tracking ([`RankTracker`]). A long span is cut in three parts
/// tracked in turn: each step of a tracker waits on its previous median, so one tracker
/// leaves the core idle between steps and three fill those gaps (31 ms instead of 43 ms
/// for an 8-hour leg's 2.5 M blocks; two trackers give 34 ms, four no more than three).
fn rank_tracked_span(x: &[f64], h: usize, out: &mut [f64], span: std::ops::Range<usize>) {
    /// Trackers per long span.
    const K: usize = 3;
    /// Below this many positions the other trackers' window selections are not worth it.
    const MIN_SPLIT: usize = 256;
    let (from, to) = (span.start, span.end);
    if from >= to {
        return;
    }
    if to - from < MIN_SPLIT {
        let mut tracker = RankTracker::new(x, h, from);
        out[from] = tracker.median;
        tracker.slide(x, h, out, from + 1..to);
        return;
    }
    // Tracker `k` starts at `from + k·part`; the last one also takes the remainder.
    let part = (to - from) / K;
    let starts: [usize; K] = std::array::from_fn(|k| from + k * part);
    let mut trackers = starts.map(|start| RankTracker::new(x, h, start));
    for (tracker, &start) in trackers.iter().zip(&starts) {
        out[start] = tracker.median;
    }
    for s in 1..part {
        for (tracker, &start) in trackers.iter_mut().zip(&starts) {
            out[start + s] = tracker.step(x, h, start + s);
        }
    }
    trackers[K - 1].slide(x, h, out, starts[K - 1] + part..to);
}

/// The median `median` of a finite window `x[i - h ..= i + h]` as it slides right: the
/// value of rank `h`, kept with the counts of the window's values below it (`below`) and
/// equal to it (`equal`), so that `below ≤ h < below + equal`. One value leaves and one
/// enters per step, so the median either stays or moves to the next value below or above
/// it, found by one branch-free scan of the window.
struct RankTracker {
    median: f64,
    below: usize,
    equal: usize,
}

impl RankTracker {
    /// The tracker at position `i` whose window's median is known to be `median`: only
    /// the counts are taken.
    fn at(x: &[f64], h: usize, i: usize, median: f64) -> Self {
        let window = &x[i - h..=i + h];
        let tracker = Self {
            median,
            below: window.iter().filter(|&&v| v < median).count(),
            equal: count_equal(window, median),
        };
        debug_assert!(tracker.below <= h && h < tracker.below + tracker.equal);
        tracker
    }

    /// The tracker at position `i` (a selection in a copy of the window).
    fn new(x: &[f64], h: usize, i: usize) -> Self {
        /// Windows up to this long are copied to the stack (the spans recomputed after
        /// spike clipping start thousands of trackers a night).
        const SMALL: usize = 64;
        let first = &x[i - h..=i + h];
        let mut small = [0.0; SMALL];
        let mut large = Vec::new();
        let copy = if first.len() <= SMALL {
            let copy = &mut small[..first.len()];
            copy.copy_from_slice(first);
            copy
        } else {
            large.extend_from_slice(first);
            &mut large[..]
        };
        let median = *copy.select_nth_unstable_by(h, f64::total_cmp).1;
        Self {
            median,
            below: first.iter().filter(|&&v| v < median).count(),
            equal: count_equal(first, median),
        }
    }

    /// Slides over `span` (starting one past the tracker's position), writing the medians
    /// to `out` (indexed like `x`).
    fn slide(&mut self, x: &[f64], h: usize, out: &mut [f64], span: std::ops::Range<usize>) {
        let from = span.start;
        for (i, o) in out[span].iter_mut().enumerate() {
            *o = self.step(x, h, from + i);
        }
    }

    /// Slides from position `i - 1` to `i` and returns the median there.
    #[inline]
    fn step(&mut self, x: &[f64], h: usize, i: usize) -> f64 {
        let (old, new, m) = (x[i - h - 1], x[i + h], self.median);
        self.below = self.below + usize::from(new < m) - usize::from(old < m);
        self.equal = self.equal + usize::from(new == m) - usize::from(old == m);
        let win = &x[i - h..=i + h];
        if self.below > h {
            // One rank down: the largest value below `m`.
            self.median = max_below(win, m);
            self.equal = count_equal(win, self.median);
            self.below -= self.equal;
        } else if self.below + self.equal <= h {
            // One rank up: the smallest value above `m`.
            self.median = min_above(win, m);
            self.below += self.equal;
            self.equal = count_equal(win, self.median);
        }
        self.median
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

/// The value of `win` nearest to `m` below it (`BELOW`) or above it, `∓∞` if none: eight
/// independent lanes of branch-free selects, so the scan is not one long dependency chain.
#[inline]
fn neighbour<const BELOW: bool>(win: &[f64], m: f64) -> f64 {
    let none = if BELOW {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    // Whether `v` is on the wanted side of `m` and nearer to it than `best`: both
    // comparisons always evaluated (`&`, not `&&`), so the scan has no branch to mispredict
    // (34 ms instead of 39 ms for an 8-hour leg's running median).
    #[allow(
        clippy::needless_bitwise_bool,
        reason = "a branch here is mispredicted"
    )]
    let nearer = |v: f64, best: f64| {
        if BELOW {
            (v < m) & (v > best)
        } else {
            (v > m) & (v < best)
        }
    };
    let mut lanes = [none; 8];
    let chunks = win.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = if nearer(v, *l) { v } else { *l };
        }
    }
    for (l, &v) in lanes.iter_mut().zip(rest) {
        *l = if nearer(v, *l) { v } else { *l };
    }
    let pick = |a: f64, b: f64| if (a > b) == BELOW { a } else { b };
    let q = [
        pick(lanes[0], lanes[4]),
        pick(lanes[1], lanes[5]),
        pick(lanes[2], lanes[6]),
        pick(lanes[3], lanes[7]),
    ];
    pick(pick(q[0], q[1]), pick(q[2], q[3]))
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
/// isolated, so it is left alone. Returns the clipped spans of blocks, ascending, and
/// the values they held before, span after span.
fn suppress_spikes(
    means: &mut [f64],
    rest: &Profile,
    fine: &[f64],
    max_w: usize,
    guard: usize,
    level_uv: &Profile,
) -> (Vec<(usize, usize)>, Vec<f64>) {
    const UNKNOWN: u8 = 0;
    const QUIET: u8 = 1;
    const HIGH: u8 = 2;
    let n = means.len();
    // Where each block's edge amplitude stands: above the level over rest, at or below it,
    // or unknown (no edge amplitude or resting level); evaluated once, in chunks.
    let mut standing: Vec<u8> = Vec::with_capacity(n);
    for_each_chunk([rest, level_uv], 0, |k0, [rest, level]| {
        let fine = &fine[k0..k0 + rest.len()];
        // Without branches: UNKNOWN (0) unless both are known, then QUIET (1) or HIGH (2).
        standing.extend(fine.iter().zip(rest).zip(level).map(|((&f, &r), &l)| {
            let known = f.is_finite() & r.is_finite();
            u8::from(known) * (QUIET + u8::from(f > r + l))
        }));
    });
    const { assert!(UNKNOWN == 0 && HIGH == QUIET + 1) };
    let side = |b: usize, high: bool| standing[b] == if high { HIGH } else { QUIET };
    let mut changed = Vec::new();
    let mut before = Vec::new();
    let mut around: Vec<f64> = Vec::with_capacity(2 * guard);
    let mut k = 0;
    while k < n {
        if !side(k, true) {
            // Quiet stretches are passed over 32 blocks at a time.
            let high_in = |c: &[u8]| c.iter().fold(0, |h, &s| h | u8::from(s == HIGH)) != 0;
            while k + 32 <= n && !high_in(&standing[k..k + 32]) {
                k += 32;
            }
            while k < n && !side(k, true) {
                k += 1;
            }
            continue;
        }
        // A cluster: high runs separated by less than `guard` quiet blocks (a pop next to
        // a QRS is one transient).
        let start = k;
        let mut end;
        loop {
            while k < n && side(k, true) {
                k += 1;
            }
            end = k; // exclusive
            match (end..(end + guard).min(n)).find(|&b| side(b, true)) {
                Some(next) if next - start <= max_w => k = next,
                _ => break,
            }
        }
        if end - start > max_w || start < guard || end + guard > n {
            // Too long to be a spike: skip past the rest of this activity.
            while k < n && !side(k, false) {
                k += 1;
            }
            continue;
        }
        if (start - guard..start).all(|b| side(b, false))
            && (end..end + guard).all(|b| side(b, false))
        {
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
            before.extend_from_slice(&means[a..b]);
            for m in &mut means[a..b] {
                *m = level;
            }
            changed.push((a, b));
        }
    }
    (changed, before)
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
///
/// # Panics
/// When `out` is shorter than `x`.
pub fn moving_average(x: &[f64], w: usize, out: &mut [f64]) {
    RunningMean::new(x, w).fill(&mut out[..x.len()]);
}

/// The running sum behind [`moving_average`], filled into the output a stretch at a
/// time (the same additions in the same order whatever the stretches).
struct RunningMean<'a> {
    x: &'a [f64],
    h: usize,
    /// Next output position.
    i: usize,
    sum: f64,
    nans: usize,
    count: usize,
}

impl<'a> RunningMean<'a> {
    /// Window `w` (odd; an even `w` acts as `w + 1`) over `x`, at position 0.
    fn new(x: &'a [f64], w: usize) -> Self {
        let mut r = Self {
            x,
            h: w / 2,
            i: 0,
            sum: 0.0,
            nans: 0,
            count: 0,
        };
        for &v in x.iter().take(r.h.min(x.len())) {
            r.add(v, 1.0);
        }
        r
    }

    #[inline]
    fn add(&mut self, v: f64, sign: f64) {
        if v.is_nan() {
            if sign > 0.0 {
                self.nans += 1;
            } else {
                self.nans -= 1;
            }
        } else {
            self.sum += sign * v;
        }
        if sign > 0.0 {
            self.count += 1;
        } else {
            self.count -= 1;
        }
    }

    /// The next `out.len()` values (at most to the end of `x`; the rest of `out` is left
    /// alone). Never inlined: inlined into [`from_means`], the loop kept its running sum
    /// in memory and took 14 ms a night instead of 4 ms.
    #[inline(never)]
    fn fill(&mut self, out: &mut [f64]) {
        let (n, h) = (self.x.len(), self.h);
        let end = (self.i + out.len()).min(n);
        for (o, i) in out.iter_mut().zip(self.i..end) {
            if i + h < n {
                self.add(self.x[i + h], 1.0);
            }
            if i > h {
                self.add(self.x[i - h - 1], -1.0);
            }
            *o = if self.nans > 0 || self.count == 0 {
                f64::NAN
            } else {
                self.sum / self.count as f64
            };
        }
        self.i = end;
    }
}

/// Per-segment statistics of an amplitude (see module docs): the resting percentile and
/// the resting spread (resting − noise percentile) of each `seg`-block segment, `NaN` for
/// a segment less than half finite.
struct SegmentStats {
    seg: usize,
    level: Vec<f64>,
    spread: Vec<f64>,
    /// The noise percentile itself, for [`SegmentStats::keeps`].
    low: Vec<f64>,
}

impl SegmentStats {
    /// Statistics of every segment of `amp`.
    fn new(amp: &[f64], seg: usize, cfg: &EnvelopeConfig) -> Self {
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
    fn keeps(&self, j: usize, old: f64, new: f64) -> bool {
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
    fn recompute(&mut self, amp: &[f64], stale: &[bool], cfg: &EnvelopeConfig) {
        let mut buf = Vec::with_capacity(self.seg);
        for j in (0..stale.len()).filter(|&j| stale[j]) {
            self.compute(amp, j, cfg, &mut buf);
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

/// How an interpolated per-segment value is stored per block.
#[derive(Debug, Clone, Copy, PartialEq)]
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
        // Long gap-free stretches, where the rank tracking splits in two trackers; ties
        // on one side of the middle gap, distinct values on the other.
        let long: Vec<f64> = (0..3000)
            .map(|i| match i {
                1400 => f64::NAN,
                _ if i < 1400 => (next() % 40) as f64,
                _ => (next() % 1_000_000) as f64 / 7.0,
            })
            .collect();
        for x in [scattered, tied, long] {
            check_running_median(&x);
        }
    }

    /// Medians recomputed span by span after clipping, the way `from_means` does it
    /// (each tracker started from the median just before its span where it can be), equal
    /// a fresh running median of the clipped series: spans near the ends, next to gaps,
    /// touching the previous one, with ties and both zeros.
    #[test]
    fn respans_after_clipping_equal_a_fresh_running_median() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let same =
            |a: f64, b: f64| a.to_bits() == b.to_bits() || a == b || (a.is_nan() && b.is_nan());
        for case in 0..300 {
            let n = rng.random_range(1..600);
            let w = [3usize, 7, 21, 25][case % 4];
            let h = w / 2;
            let levels = if case % 2 == 0 { 5 } else { 100_000 };
            let mut x: Vec<f64> = (0..n)
                .map(|_| {
                    let v = f64::from(rng.random_range(0..levels));
                    if v == 0.0 && rng.random_bool(0.3) {
                        -0.0
                    } else {
                        v
                    }
                })
                .collect();
            add_gaps(&mut rng, &mut x, 3, 20);
            let mut out = vec![0.0; n];
            running_median(&x, w, &mut out);
            // Ascending clipped ranges, as spike clipping gives them.
            let mut clips = Vec::new();
            let mut a = rng.random_range(0..n);
            while a < n {
                let b = (a + rng.random_range(1..6)).min(n);
                let level = f64::from(rng.random_range(0..levels));
                x[a..b]
                    .iter_mut()
                    .filter(|v| v.is_finite())
                    .for_each(|v| *v = level);
                clips.push((a, b));
                a = b + rng.random_range(0..3 * w);
            }
            let mut done = 0;
            for (a, b) in clips {
                let (from, to) = (a.saturating_sub(h).max(done), (b + h).min(n));
                if from < to {
                    running_median_respan(&x, w, &mut out, from..to);
                }
                done = done.max(to);
            }
            let mut fresh = vec![0.0; n];
            running_median(&x, w, &mut fresh);
            for (i, (&got, &want)) in out.iter().zip(&fresh).enumerate() {
                assert!(
                    same(got, want),
                    "case {case}, w {w}, at {i}: {got} vs {want}"
                );
            }
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

    /// The per-block interpolation as it was once computed and stored (one pass writing
    /// every block), kept as the reference that [`Profile`] must reproduce bit for bit.
    fn windowed_reference(amp: &[f64], smooth: &[f64], store: Store, seg: usize) -> Vec<f64> {
        let n = amp.len();
        let nseg = smooth.len();
        let mut out = vec![store.apply(f64::NAN); n];
        let centre = |i: usize| (i * seg) as f64 + (seg.min(n - i * seg) as f64 - 1.0) / 2.0;
        let mut k = 0usize;
        for j in 0..nseg {
            let cj = centre(j);
            if j + 1 == nseg {
                for i in k..n {
                    if !amp[i].is_nan() {
                        out[i] = store.apply(smooth[j]);
                    }
                }
                break;
            }
            let cn = centre(j + 1);
            let end = (cn.ceil() as usize).clamp(k, n);
            let span = cn - cj;
            let (a, b) = (smooth[j], smooth[j + 1]);
            for i in k..end {
                if amp[i].is_nan() {
                    continue;
                }
                let x = i as f64;
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
                out[i] = store.apply(value);
            }
            k = end;
        }
        out
    }

    /// Both kinds of store, for tests over either.
    const STORES: [Store; 2] = [
        Store::Level,
        Store::Margin {
            floor: 2.0,
            factor: 3.0,
        },
    ];

    /// Puts fewer than `runs` gaps (runs of `NaN`) of up to `max_len` blocks into `amp`.
    fn add_gaps(rng: &mut impl rand::Rng, amp: &mut [f64], runs: usize, max_len: usize) {
        let n = amp.len();
        for _ in 0..rng.random_range(0..runs) {
            if n > 0 {
                let a = rng.random_range(0..n);
                let b = (a + rng.random_range(1..max_len)).min(n);
                amp[a..b].fill(f64::NAN);
            }
        }
    }

    #[test]
    fn profiles_equal_the_stored_interpolation_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let cfg = EnvelopeConfig::default();
        for case in 0..300 {
            let n: usize = rng.random_range(0..3000);
            let seg = rng.random_range(1..400);
            // Amplitudes with gaps (runs of NaN, some at the ends), and segment values
            // with unknowns, so every branch of the interpolation is taken.
            let mut amp: Vec<f64> = (0..n).map(|_| rng.random_range(0.5..30.0)).collect();
            add_gaps(&mut rng, &mut amp, 4, 600);
            let per_segment: Vec<f64> = (0..n.div_ceil(seg))
                .map(|_| {
                    if rng.random_bool(0.15) {
                        f64::NAN
                    } else {
                        rng.random_range(0.5..10.0)
                    }
                })
                .collect();
            let smooth = smooth_segments(&per_segment, &cfg);
            for store in STORES {
                let want = windowed_reference(&amp, &smooth, store, seg);
                let p = Profile::segments(&amp, &per_segment, store, seg, &cfg);
                assert_eq!(p.len(), n);
                let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
                let iter: Vec<f64> = p.iter().collect();
                let mut cursor = p.cursor();
                for k in 0..n {
                    assert!(same(p.at(k), want[k]), "case {case} block {k}: at");
                    assert!(same(iter[k], want[k]), "case {case} block {k}: iter");
                    assert!(same(cursor.at(k), want[k]), "case {case} block {k}: cursor");
                }
                // Random access through one cursor, backwards and forwards.
                for _ in 0..50.min(n) {
                    let k = rng.random_range(0..n);
                    assert!(same(cursor.at(k), want[k]), "case {case} block {k}");
                }
                assert_eq!(p.get(n), None);
                if n > 10 {
                    let mut part = vec![0.0; n / 2];
                    p.values_into(n / 3, &mut part);
                    assert!(part.iter().zip(&want[n / 3..]).all(|(&a, &b)| same(a, b)));
                }
            }
        }
    }

    /// Brute-force median in the sense of [`Profile::median_finite`].
    fn median_by_sorting(v: &[f64]) -> Option<f64> {
        let mut finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        finite.sort_by(f64::total_cmp);
        finite.get(finite.len() / 2).copied()
    }

    /// Where [`SegmentStats::keeps`] says a change leaves a segment's statistics alone,
    /// computing them again gives the same values, bit for bit: changes that stay on
    /// their side of the percentiles, that cross them, that land on them or leave them,
    /// ties, both zeros, and values that become or stop being `NaN`.
    /// After spike clipping, the amplitude is the running median of the clipped block
    /// means, bit for bit, however much of it was recomputed, kept because it provably
    /// stays, or left alone: nights of heartbeats (clipped) on a noisy rest, some
    /// movements (not clipped), gaps, and heartbeats close enough for their windows to
    /// meet.
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
            let raw = block_means(&y, block_len(fs, &cfg).unwrap());
            let env = envelope_owned(y, fs, &cfg, 0.5, 2.0).unwrap();
            clipped_blocks += raw
                .iter()
                .zip(env.block_mean())
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            let w = ((cfg.envelope_median_s * env.rate_hz).round() as usize).max(1) | 1;
            let mut want = vec![0.0; env.len()];
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
    fn profile_medians_equal_sorting_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let cfg = EnvelopeConfig::default();
        for case in 0..60 {
            // Small profiles (selected directly) and large ones (selected in rounds).
            let n = if case % 3 == 0 {
                rng.random_range(0..5000)
            } else {
                rng.random_range(20_000..200_000)
            };
            let seg = rng.random_range(1..600);
            let mut amp: Vec<f64> = vec![1.0; n];
            add_gaps(&mut rng, &mut amp, 6, 5000);
            // Levels on a coarse grid (ties between and within runs), with unknowns and,
            // now and then, zeros of both signs.
            let per_segment: Vec<f64> = (0..n.div_ceil(seg))
                .map(|_| match rng.random_range(0..20) {
                    0 => f64::NAN,
                    1 => 0.0,
                    2 => -0.0,
                    _ => f64::from(rng.random_range(1..40)) / 8.0,
                })
                .collect();
            for store in STORES {
                let p = Profile::segments(&amp, &per_segment, store, seg, &cfg);
                let want = median_by_sorting(&p.to_vec());
                let got = p.median_finite();
                assert_eq!(
                    got.map(f64::to_bits),
                    want.map(f64::to_bits),
                    "case {case}: n {n} seg {seg}: {got:?} vs {want:?}"
                );
                let blocks = Profile::from(p.to_vec());
                assert_eq!(
                    blocks.median_finite().map(f64::to_bits),
                    want.map(f64::to_bits)
                );
            }
        }
        assert_eq!(Profile::default().median_finite(), None);
        assert_eq!(Profile::from(vec![f64::NAN; 3]).median_finite(), None);
    }

    #[test]
    fn nan_runs_are_the_gaps() {
        let n = f64::NAN;
        assert_eq!(nan_runs(&[]), vec![]);
        assert_eq!(nan_runs(&[1.0, 2.0]), vec![]);
        assert_eq!(nan_runs(&[n, 1.0, n, n, 2.0, n]), vec![0..1, 2..4, 5..6]);
        assert_eq!(nan_runs(&[n, n]), vec![0..2]);
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
        let e = Envelope::from_parts(1, 100.0, 0.1, 25, parts(10, 10)).unwrap();
        assert_eq!((e.len(), e.amplitude().len(), e.fine().len()), (10, 10, 10));
        assert_eq!(e.rest().at(3), 0.5);
        let err = Envelope::from_parts(1, 100.0, 0.1, 25, parts(10, 9)).unwrap_err();
        assert!(err.to_string().contains("`rest` has 9 blocks"), "{err}");
        assert!(Envelope::from_parts(1, 0.0, 0.1, 25, parts(10, 10)).is_err());
        assert!(Envelope::default().is_empty());
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
        let rest = Profile::segments(
            &amp,
            &SegmentStats::new(&amp, seg, &cfg).level,
            Store::Level,
            seg,
            &cfg,
        )
        .to_vec();
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
        let mid = env.amplitude()[400];
        assert!(
            (mid - 10.0 * 2.0 / std::f64::consts::PI).abs() < 0.8,
            "{mid}"
        );
        assert!(envelope(&y, 0.0, &EnvelopeConfig::default(), 0.5, 2.0).is_err());
    }
}
