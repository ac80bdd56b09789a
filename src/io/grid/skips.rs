//! Long gaps that are not stored, so that memory follows the data and never the time span
//! that stamps or record onsets claim.
//!
//! **What it computes.** A reader places samples on the grid through a [`GapFill`]. A gap
//! of at most [`FILL_MAX_S`] (and [`FILL_MAX_SAMPLES`]) is stored as `NaN` samples, as long
//! as the `NaN`s stored stay within the samples stored so far plus that much grid: every stage then sees the
//! gap at its true length. Any other gap is stored as one `NaN`, and the grid samples
//! after it are recorded as skipped ([`Skips`]). A gap of any length thus costs one
//! sample, and the stored samples are at most twice the data plus a constant.
//!
//! **Why it is sound.** Every stage treats a `NaN` as a gap: nothing is filtered across
//! it and no movement crosses it, so a skipped stretch changes only how far apart two
//! stretches of data look to the resting-level windows (which then see data from both
//! sides of a gap longer than [`FILL_MAX_S`] as if it were one sample long). The pipeline
//! maps every time it reports back to the grid ([`Skips::grid_s`]), so movements, excluded
//! stretches and the night's duration are those of the grid.
//!
//! **Tested against** filling every gap with `NaN`s (below): the same stored samples
//! whenever no gap is skipped, and the same grid times for every stored sample.

/// The longest gap stored as `NaN` samples, s (5 minutes: longer than any window of the
/// detector, so that the stages see such a gap exactly as before).
pub(crate) const FILL_MAX_S: f64 = 300.0;
/// ... and at most this many samples (4 Mi, 32 MiB of `f64`: 5 minutes up to 14 kHz), so
/// that the constant in the memory bound stays small at any rate.
pub(crate) const FILL_MAX_SAMPLES: usize = 1 << 22;

/// The stretches of the grid not stored: after stored sample `at − 1` (a `NaN` that
/// stands for the gap), `skipped` grid samples follow that are not stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Skips {
    /// Stored index of the first sample after each skipped stretch, increasing.
    at: Vec<usize>,
    /// Grid samples skipped before `at[i]`, cumulative.
    skipped: Vec<usize>,
}

impl Skips {
    /// Grid samples skipped in all.
    pub(crate) fn total(&self) -> usize {
        self.skipped.last().copied().unwrap_or(0)
    }

    /// Whether nothing is skipped.
    pub(crate) fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Grid samples skipped before stored sample `idx`.
    fn before(&self, idx: usize) -> usize {
        match self.at.partition_point(|&a| a <= idx) {
            0 => 0,
            k => self.skipped[k - 1],
        }
    }

    /// The grid index of stored sample `idx`.
    pub(crate) fn grid_index(&self, idx: usize) -> usize {
        idx + self.before(idx)
    }

    /// The stretches of stored samples between skips: for each, its first stored sample
    /// and that sample's grid index, in order, the first at `(0, 0)`.
    pub(crate) fn stretches(&self) -> Vec<(usize, usize)> {
        let mut out = vec![(0, 0)];
        out.extend(self.at.iter().zip(&self.skipped).map(|(&a, &s)| (a, a + s)));
        out
    }

    /// The grid time of `t_s`, a time on the stored samples' axis (`index / fs_hz`): a
    /// time at or after a skipped stretch's end moves by the stretch.
    pub(crate) fn grid_s(&self, t_s: f64, fs_hz: f64) -> f64 {
        if self.at.is_empty() {
            return t_s;
        }
        // A stretch's end is computed as `at / fs` by every stage: within rounding (a
        // few ulps of the index, which reaches 10¹⁰ for two days at 100 kHz).
        let x = t_s * fs_hz;
        let k = self
            .at
            .partition_point(|&a| a as f64 <= x + 1e-6 + x.abs() * 1e-12);
        match k {
            0 => t_s,
            k => t_s + self.skipped[k - 1] as f64 / fs_hz,
        }
    }
}

/// Decides, gap by gap, whether a gap is stored or skipped (module docs).
#[derive(Debug, Clone)]
pub(crate) struct GapFill {
    /// The longest gap stored, grid samples.
    max_fill: usize,
    /// Samples stored so far.
    stored: usize,
    /// `NaN`s stored for gaps so far.
    filled: usize,
    /// The grid index of the next sample stored.
    grid: usize,
    skips: Skips,
}

impl GapFill {
    /// Nothing placed yet, on the grid of `fs_hz`.
    pub(crate) fn new(fs_hz: f64) -> Self {
        Self {
            max_fill: ((FILL_MAX_S * fs_hz) as usize).min(FILL_MAX_SAMPLES),
            stored: 0,
            filled: 0,
            grid: 0,
            skips: Skips::default(),
        }
    }

    /// The grid index of the next sample stored.
    pub(crate) fn next_grid(&self) -> usize {
        self.grid
    }

    /// The next samples belong at grid index `k` (at least [`GapFill::next_grid`]): how
    /// many `NaN`s to store before them.
    pub(crate) fn gap_to(&mut self, k: usize) -> usize {
        let gap = k.saturating_sub(self.grid);
        if gap == 0 {
            return 0;
        }
        let data = self.stored - self.filled;
        let stored = if gap <= self.max_fill && self.filled + gap <= data + self.max_fill {
            gap
        } else {
            let total = self.skips.total() + gap - 1;
            self.skips.at.push(self.stored + 1);
            self.skips.skipped.push(total);
            1
        };
        self.stored += stored;
        self.filled += stored;
        self.grid = k;
        stored
    }

    /// `n` samples were stored at the next grid indices.
    pub(crate) fn stored(&mut self, n: usize) {
        self.stored += n;
        self.grid += n;
    }

    /// The stretches skipped.
    pub(crate) fn finish(self) -> Skips {
        self.skips
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Places runs of samples `(grid index, length)` both ways: every gap filled with
    /// `NaN`, and through a [`GapFill`]. Returns both sample vectors and the skips.
    fn place(fs: f64, runs: &[(usize, usize)]) -> (Vec<f64>, Vec<f64>, Skips) {
        let (mut full, mut stored) = (Vec::new(), Vec::new());
        let mut fill = GapFill::new(fs);
        for &(k, n) in runs {
            full.resize(k, f64::NAN);
            full.extend((k..k + n).map(|i| i as f64));
            let nan = fill.gap_to(k);
            stored.extend(std::iter::repeat_n(f64::NAN, nan));
            stored.extend((k..k + n).map(|i| i as f64));
            fill.stored(n);
        }
        (full, stored, fill.finish())
    }

    #[test]
    fn short_gaps_are_stored_whole() {
        let (full, stored, skips) = place(10.0, &[(0, 100), (150, 50), (3_100, 10)]);
        assert!(skips.is_empty());
        assert_eq!(
            full.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            stored.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn long_gaps_cost_one_sample_and_times_map_back() {
        // 1 Hz: gaps of 299 (stored), 10⁹ (skipped) and 400 (> 300: skipped) samples.
        let runs = [
            (0, 1_000),
            (1_299, 5),
            (1_000_001_304, 3),
            (1_000_001_707, 2),
        ];
        let (full, stored, skips) = place(1.0, &runs);
        assert_eq!(stored.len(), 1_000 + 299 + 5 + 1 + 3 + 1 + 2);
        assert_eq!(skips.total() + stored.len(), full.len());
        for (i, v) in stored.iter().enumerate() {
            let k = skips.grid_index(i);
            if v.is_nan() {
                assert!(full[k].is_nan());
            } else {
                assert_eq!(*v, k as f64, "stored {i}");
                assert_eq!(skips.grid_s(i as f64, 1.0), k as f64);
            }
        }
        // The end of the separator sample is the end of the gap.
        let sep: usize = 1_000 + 299 + 5;
        assert_eq!(skips.grid_s((sep + 1) as f64, 1.0), 1_000_001_304.0);
        assert_eq!(skips.grid_s(sep as f64, 1.0), sep as f64);
    }

    #[test]
    fn the_nan_stored_stay_within_the_data() {
        // One sample, then gaps of 200 s again and again: at most the data plus 300 s.
        let runs: Vec<(usize, usize)> = (0..1_000).map(|i| (i * 201, 1)).collect();
        let (full, stored, skips) = place(1.0, &runs);
        assert_eq!(full.len(), 999 * 201 + 1);
        let nan = stored.iter().filter(|v| v.is_nan()).count();
        assert!(nan <= 1_000 + 300 + 1_000, "{nan}");
        assert_eq!(skips.total() + stored.len(), full.len());
    }
}
