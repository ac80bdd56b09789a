//! Centred running median of a series with gaps, and its simple oracle.
//!
//! **What it computes.** [`running_median`]: at every position `i`, the median of the
//! finite values of `x[i − w/2 ..= i + w/2]` (clipped to the series), the mean of the two
//! middle ones for an even count; `NaN` where `x[i]` is `NaN` or fewer than half the
//! window's values are finite. [`window_median`] is the same value at one position, by
//! selecting in a copy of the window: the oracle everything here is tested against.
//!
//! **Why it is fast.** Where a whole window is finite — nearly everywhere in a night — the
//! median is tracked by rank ([`RankTracker`]): one value leaves and one enters per step,
//! so the median either stays or moves to the next value below or above it, found by one
//! branch-free scan of the window (eight independent lanes of selects, so the scan is not
//! one long dependency chain). A long stretch is cut in three parts tracked in turn, which
//! keeps the core busy while each step waits on its previous median (31 ms instead of
//! 43 ms for an 8-hour leg's 2.5 M blocks). Elsewhere (gaps, the ends) a sorted window is
//! updated in place. O(n·w) at worst, with a small constant (w ≈ 25–50 here).
//!
//! Both paths give the middle value of the window, so a window holding both `-0.0` and
//! `0.0` as its median may give either zero.
//!
//! **Tested against** [`window_median`] at every position, for windows of 1–51 on series
//! with scattered and long gaps, ties, infinities and signed zeros, and for spans
//! recomputed after values changed ([`running_median_respan`]).

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
pub(crate) fn running_median_respan(
    x: &[f64],
    w: usize,
    out: &mut [f64],
    span: std::ops::Range<usize>,
) {
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

/// Puts fewer than `runs` gaps (runs of `NaN`) of up to `max_len` values into `x`: the
/// gapped series of the kernels' tests here and in [`crate::detect`].
#[cfg(test)]
pub(crate) fn add_gaps(rng: &mut impl rand::Rng, x: &mut [f64], runs: usize, max_len: usize) {
    let n = x.len();
    for _ in 0..rng.random_range(0..runs) {
        if n > 0 {
            let a = rng.random_range(0..n);
            let b = (a + rng.random_range(1..max_len)).min(n);
            x[a..b].fill(f64::NAN);
        }
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
}
