//! Smoothing kernels: block means of the rectified signal, and the centred moving average.
//!
//! Inputs and outputs are in the unit of the input (µV, mg); `NaN` marks a gap and
//! propagates. Both sum left to right, one addition per value, so a value does not depend
//! on where a computation was split into stretches.

/// Mean of `|y|` over consecutive blocks of `block` samples (the last one possibly
/// shorter), written over `y` itself — block `k`'s mean goes to `y[k]`, never past the
/// samples still to be read — which is then cut to the means, keeping its capacity for
/// the series that follow them. Each block is summed left to right; `NaN` propagates.
pub fn block_means_in_place(y: &mut Vec<f64>, block: usize) {
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

/// value in the window is `NaN`. O(n).
///
/// # Panics
/// When `out` is shorter than `x`.
pub fn moving_average(x: &[f64], w: usize, out: &mut [f64]) {
    RunningMean::new(x, w).fill(&mut out[..x.len()]);
}

/// The running sum behind [`moving_average`], filled into the output a stretch at a
/// time (the same additions in the same order whatever the stretches).
pub(crate) struct RunningMean<'a> {
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
    pub(crate) fn new(x: &'a [f64], w: usize) -> Self {
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
    /// alone). Never inlined: inlined into the envelope's computation, the loop kept its running sum
    /// in memory and took 14 ms a night instead of 4 ms.
    #[inline(never)]
    pub(crate) fn fill(&mut self, out: &mut [f64]) {
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
#[cfg(test)]
mod tests {
    use super::*;

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
    fn block_means_in_place_equal_a_plain_loop() {
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
                let want: Vec<f64> = y[..n]
                    .chunks(block)
                    .map(|c| {
                        let mut s = 0.0;
                        for v in c {
                            s += v.abs();
                        }
                        s / c.len() as f64
                    })
                    .collect();
                let mut got = y[..n].to_vec();
                block_means_in_place(&mut got, block);
                assert_eq!(got.len(), want.len(), "block {block} n {n}");
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                        "block {block} n {n}: {g} vs {w}"
                    );
                }
            }
        }
    }
}
