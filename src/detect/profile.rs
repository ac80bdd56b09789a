//! Per-block series defined per segment — the resting level and the offset margins of an
//! [`Envelope`](super::envelope::Envelope) — held as a few values per segment and
//! evaluated block by block where they are used.
//!
//! Input: one smoothed value per segment (µV or mg; [`super::rest`]), the segment length in
//! blocks, the blocks where the amplitude is unknown (gaps), and how a value is stored
//! ([`Store`]: as a level, or as a margin with its floor). Output: a [`Profile`] whose
//! value at block `k` is the linear interpolation between the centres of the segments
//! around `k`.
//!
//! Why: stored block by block, the resting level and the two margins of an 8-hour leg
//! are three fresh 20-MB arrays the kernel must hand out page by page; evaluated a few
//! hundred blocks at a time ([`Profile::values_into`], [`Cursor`], [`for_each_chunk`]) they
//! cost ≈ 1.3 ms per leg and pass, in loops the compiler vectorises. The evaluation is
//! tested bit for bit against the per-block interpolation it replaced (in this file's
//! tests).

/// A per-block series defined per segment — the resting level and the offset margins of
/// an [`Envelope`](super::envelope::Envelope) — evaluated on demand.
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
    /// The values are evaluated into `scratch` (pass a buffer whose pages are already in
    /// memory: an 8-hour leg's profile is 2.5 M values) and selected there.
    #[must_use]
    pub fn median_finite(&self, scratch: &mut Vec<f64>) -> Option<f64> {
        scratch.clear();
        scratch.extend(self.iter().filter(|v| v.is_finite()));
        let mid = scratch.len() / 2;
        (!scratch.is_empty()).then(|| *scratch.select_nth_unstable_by(mid, f64::total_cmp).1)
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
    fn segments(amp: &[f64], smooth: &[f64], store: Store, seg: usize) -> Self {
        Self::with_gaps(amp.len(), &nan_runs(amp), smooth.to_vec(), store, seg)
    }

    /// The profile of the smoothed per-segment values `smooth` over `n` blocks whose
    /// amplitude has the gaps `gaps` ([`nan_runs`]), interpolated and stored as `store`
    /// says.
    pub(crate) fn with_gaps(
        n: usize,
        gaps: &[std::ops::Range<usize>],
        smooth: Vec<f64>,
        store: Store,
        seg: usize,
    ) -> Self {
        let nseg = smooth.len();
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
            smooth,
            centre: centres,
            start,
            gaps: gaps.to_vec(),
            store,
        }))
    }
}

/// The runs of `NaN` in `x`, ascending.
pub(crate) fn nan_runs(x: &[f64]) -> Vec<std::ops::Range<usize>> {
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

/// How an interpolated per-segment value is stored per block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Store {
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::running_median::add_gaps;

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

    #[test]
    fn profiles_equal_the_stored_interpolation_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
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
            // Any per-segment values will do ([`super::super::rest`] smooths them).
            let smooth = per_segment;
            for store in STORES {
                let want = windowed_reference(&amp, &smooth, store, seg);
                let p = Profile::segments(&amp, &smooth, store, seg);
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

    /// The median selected among the profile's values is the one sorting gives, bit for
    /// bit: ties, unknowns and zeros of both signs.
    #[test]
    fn profile_medians_equal_sorting_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for case in 0..60 {
            let n = rng.random_range(0..5000);
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
                let p = Profile::segments(&amp, &per_segment, store, seg);
                let want = median_by_sorting(&p.to_vec());
                let got = p.median_finite(&mut Vec::new());
                assert_eq!(
                    got.map(f64::to_bits),
                    want.map(f64::to_bits),
                    "case {case}: n {n} seg {seg}: {got:?} vs {want:?}"
                );
                let blocks = Profile::from(p.to_vec());
                assert_eq!(
                    blocks.median_finite(&mut Vec::new()).map(f64::to_bits),
                    want.map(f64::to_bits)
                );
            }
        }
        assert_eq!(Profile::default().median_finite(&mut Vec::new()), None);
        assert_eq!(
            Profile::from(vec![f64::NAN; 3]).median_finite(&mut Vec::new()),
            None
        );
    }

    #[test]
    fn nan_runs_are_the_gaps() {
        let n = f64::NAN;
        let none: Vec<std::ops::Range<usize>> = Vec::new();
        assert_eq!(nan_runs(&[]), none);
        assert_eq!(nan_runs(&[1.0, 2.0]), none);
        assert_eq!(nan_runs(&[n, 1.0, n, n, 2.0, n]), vec![0..1, 2..4, 5..6]);
        assert_eq!(nan_runs(&[n, n]), vec![0..2]);
    }
}
