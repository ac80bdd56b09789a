//! Filtering: Butterworth design as second-order sections (SOS), IIR notch, zero-phase
//! forward–backward filtering, and mains-hum detection.
//!
//! Inputs: samples (any unit, typically µV) at a sample rate in Hz. Outputs: filtered
//! samples in the same unit, with zero phase shift (so event times are not delayed).
//!
//! # Why hand-written
//! No crate designs order-N Butterworth band-pass filters as SOS and returns an error (not
//! a panic) on bad input: the DSP crates either stop at biquads of fixed type or assert on
//! their parameters. The design here follows the classic analog-prototype route that scipy
//! uses (`buttap` → `lp2bp`/`lp2hp` → bilinear transform with pre-warping), and the
//! zero-phase filter reproduces `scipy.signal.sosfiltfilt` (odd extension of `3 ·
//! (2·sections + 1)` samples, steady-state initial conditions from `sosfilt_zi`), so the
//! output matches scipy's to rounding: `tests/golden_filter.rs` checks both against values
//! committed from scipy.
//!
//! # Conventions
//! * A section is `[b0, b1, b2, a0, a1, a2]` with `a0 = 1`, as in scipy.
//! * Sections are run in transposed direct form II, pipelined (section `k` on sample
//!   `t − k` at step `t`, state in registers, one pass over memory per direction), with
//!   the same operations per section as sample by sample, so the same output.
//! * "Order N" of a band-pass is scipy's: N sections, 2N poles.
//! * The band-pass gain is exactly 1 at the geometric centre of the pre-warped edges.

use realfft::RealFftPlanner;
use rustfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One second-order section `[b0, b1, b2, a0, a1, a2]`, `a0 = 1`.
pub type Section = [f64; 6];

/// The kind of a Butterworth filter, with its edge frequencies in Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Band {
    /// Low-pass below `f_hz`.
    LowPass(f64),
    /// High-pass above `f_hz`.
    HighPass(f64),
    /// Band-pass between two edges.
    BandPass(f64, f64),
}

/// Designs an order-`order` Butterworth filter at sample rate `fs_hz` as SOS.
///
/// # Errors
/// [`Error::Config`] when `fs_hz` is not positive, an edge is not in `(0, fs/2)`, the
/// band-pass edges are not increasing, or the order is not in `1..=12`.
pub fn butterworth(order: usize, band: Band, fs_hz: f64) -> Result<Vec<Section>> {
    if !(fs_hz.is_finite() && fs_hz > 0.0) {
        return Err(Error::config(
            "sample_rate_hz",
            format!("must be positive, got {fs_hz}"),
        ));
    }
    if !(1..=12).contains(&order) {
        return Err(Error::config(
            "filter_order",
            format!("must be 1–12, got {order}"),
        ));
    }
    let nyq = fs_hz / 2.0;
    let check = |f: f64| -> Result<()> {
        if f.is_finite() && f > 0.0 && f < nyq {
            Ok(())
        } else {
            Err(Error::config(
                "filter band",
                format!(
                    "edge {f} Hz must lie strictly between 0 and the Nyquist frequency ({nyq} Hz)"
                ),
            ))
        }
    };
    let fs2 = 2.0 * fs_hz;
    let warp = |f: f64| fs2 * (std::f64::consts::PI * f / fs_hz).tan();
    // Analog prototype poles (scipy buttap): -exp(j·π·m/(2N)), m = -N+1, -N+3, ..., N-1.
    let proto: Vec<Complex64> = (0..order)
        .map(|i| {
            let m = -(order as f64) + 1.0 + 2.0 * i as f64;
            -Complex64::from_polar(1.0, std::f64::consts::PI * m / (2.0 * order as f64))
        })
        .collect();
    let (analog_poles, ref_omega, zero_pair): (Vec<Complex64>, f64, [f64; 3]) = match band {
        Band::LowPass(f) => {
            check(f)?;
            let w = warp(f);
            (proto.iter().map(|p| p * w).collect(), 0.0, [1.0, 2.0, 1.0])
        }
        Band::HighPass(f) => {
            check(f)?;
            let w = warp(f);
            (
                proto.iter().map(|p| w / p).collect(),
                std::f64::consts::PI,
                [1.0, -2.0, 1.0],
            )
        }
        Band::BandPass(lo, hi) => {
            check(lo)?;
            check(hi)?;
            if lo >= hi {
                return Err(Error::config(
                    "filter band",
                    format!("low edge {lo} Hz must be below high edge {hi} Hz"),
                ));
            }
            let (w1, w2) = (warp(lo), warp(hi));
            let bw = w2 - w1;
            let w0 = (w1 * w2).sqrt();
            let mut v = Vec::with_capacity(2 * order);
            for p in &proto {
                let half = p * (bw / 2.0);
                let root = (half * half - w0 * w0).sqrt();
                v.push(half + root);
                v.push(half - root);
            }
            // Centre frequency in the digital domain.
            (v, 2.0 * (w0 / fs2).atan(), [1.0, 0.0, -1.0])
        }
    };
    // Bilinear transform: z = (2fs + s) / (2fs - s).
    let zpoles: Vec<Complex64> = analog_poles
        .iter()
        .map(|&s| (fs2 + s) / (fs2 - s))
        .collect();
    let mut sections = Vec::new();
    for (a1, a2, first_order) in pair_poles(&zpoles) {
        let (b, a) = if first_order {
            // First-order section: zero at -1 (low-pass) or +1 (high-pass).
            let b1 = if zero_pair[1] > 0.0 { 1.0 } else { -1.0 };
            ([1.0, b1, 0.0], [1.0, a1, 0.0])
        } else {
            (zero_pair, [1.0, a1, a2])
        };
        let g = 1.0 / section_response(&[b[0], b[1], b[2], a[0], a[1], a[2]], ref_omega).norm();
        if !g.is_finite() {
            return Err(Error::config(
                "filter band",
                "the design is numerically degenerate (edges too close to 0 or Nyquist)",
            ));
        }
        sections.push([g * b[0], g * b[1], g * b[2], a[0], a[1], a[2]]);
    }
    Ok(sections)
}

/// Groups digital poles into sections: returns `(a1, a2, first_order)` per section,
/// sorted so the poles closest to the unit circle come last (as scipy's `zpk2sos`).
fn pair_poles(poles: &[Complex64]) -> Vec<(f64, f64, bool)> {
    const TOL: f64 = 1e-10;
    let mut complex: Vec<Complex64> = poles.iter().copied().filter(|p| p.im > TOL).collect();
    let mut real: Vec<f64> = poles
        .iter()
        .filter(|p| p.im.abs() <= TOL)
        .map(|p| p.re)
        .collect();
    complex.sort_by(|a, b| a.norm().total_cmp(&b.norm()));
    real.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let mut out: Vec<(f64, f64, bool, f64)> = complex
        .iter()
        .map(|p| (-2.0 * p.re, p.norm_sqr(), false, p.norm()))
        .collect();
    let mut chunks = real.chunks_exact(2);
    for pair in &mut chunks {
        out.push((
            -(pair[0] + pair[1]),
            pair[0] * pair[1],
            false,
            pair[1].abs(),
        ));
    }
    if let [p] = chunks.remainder() {
        out.push((-p, 0.0, true, p.abs()));
    }
    out.sort_by(|a, b| a.3.total_cmp(&b.3));
    out.into_iter().map(|(a1, a2, f, _)| (a1, a2, f)).collect()
}

/// `H(e^{jω})` of one section.
fn section_response(s: &Section, omega: f64) -> Complex64 {
    let z1 = Complex64::from_polar(1.0, -omega);
    let z2 = z1 * z1;
    (s[0] + s[1] * z1 + s[2] * z2) / (s[3] + s[4] * z1 + s[5] * z2)
}

/// Frequency response of a cascade at `f_hz`.
#[must_use]
pub fn response(sos: &[Section], f_hz: f64, fs_hz: f64) -> Complex64 {
    let omega = 2.0 * std::f64::consts::PI * f_hz / fs_hz;
    sos.iter().map(|s| section_response(s, omega)).product()
}

/// An IIR notch at `f0_hz` with quality factor `q` (scipy `iirnotch`): −3 dB bandwidth
/// `f0/q`.
///
/// # Errors
/// [`Error::Config`] unless `0 < f0 < fs/2` and `q > 0`.
pub fn notch(f0_hz: f64, q: f64, fs_hz: f64) -> Result<Section> {
    if !(fs_hz.is_finite()
        && fs_hz > 0.0
        && f0_hz.is_finite()
        && f0_hz > 0.0
        && f0_hz < fs_hz / 2.0)
    {
        return Err(Error::config(
            "notch",
            format!(
                "{f0_hz} Hz must lie strictly between 0 and Nyquist ({} Hz)",
                fs_hz / 2.0
            ),
        ));
    }
    if !(q.is_finite() && q > 0.0) {
        return Err(Error::config(
            "notch_q",
            format!("must be positive, got {q}"),
        ));
    }
    let w0 = std::f64::consts::PI * f0_hz / (fs_hz / 2.0);
    let bw = w0 / q;
    let beta = (bw / 2.0).tan();
    let gain = 1.0 / (1.0 + beta);
    Ok([
        gain,
        -2.0 * gain * w0.cos(),
        gain,
        1.0,
        -2.0 * gain * w0.cos(),
        2.0 * gain - 1.0,
    ])
}

/// Zero-phase filter: a cascade with its precomputed initial conditions. Plan once, apply
/// to many channels.
#[derive(Debug, Clone)]
pub struct ZeroPhase {
    sos: Vec<Section>,
    /// Steady-state initial conditions for a unit step (scipy `sosfilt_zi`).
    zi: Vec<[f64; 2]>,
    padlen: usize,
}

impl ZeroPhase {
    /// Prepares `sos` for forward–backward filtering.
    ///
    /// # Errors
    /// [`Error::Config`] when `sos` is empty, a coefficient is not finite or `a0 != 1`.
    pub fn new(sos: Vec<Section>) -> Result<Self> {
        if sos.is_empty() {
            return Err(Error::config("filter", "no filter sections"));
        }
        if sos
            .iter()
            .any(|s| s.iter().any(|c| !c.is_finite()) || (s[3] - 1.0).abs() > 1e-12)
        {
            return Err(Error::config(
                "filter",
                "sections must be finite with a0 = 1",
            ));
        }
        let mut zi = Vec::with_capacity(sos.len());
        let mut scale = 1.0;
        for s in &sos {
            let (b, a) = (&s[0..3], &s[3..6]);
            let h = (b[0] + b[1] + b[2]) / (a[0] + a[1] + a[2]);
            // Transposed DF-II steady state for a unit step with DC gain h.
            let z2 = b[2] - a[2] * h;
            let z1 = b[1] - a[1] * h + z2;
            zi.push([scale * z1, scale * z2]);
            scale *= h;
        }
        let trailing_zero = |i: usize| sos.iter().filter(|s| s[i] == 0.0).count();
        let ntaps = 2 * sos.len() + 1 - trailing_zero(2).min(trailing_zero(5));
        Ok(Self {
            sos,
            zi,
            padlen: 3 * ntaps,
        })
    }

    /// The sections.
    #[must_use]
    pub fn sections(&self) -> &[Section] {
        &self.sos
    }

    /// Fewest samples [`ZeroPhase::apply`] accepts (`padlen + 1`, as scipy).
    #[must_use]
    pub fn min_len(&self) -> usize {
        self.padlen + 1
    }

    /// Filters `x` forward and backward into `out` (same length), in place there, using
    /// `scratch` for the two odd-extension pads (`padlen` samples each; reused across
    /// calls). No padded copy of the signal is made.
    ///
    /// # Errors
    /// [`Error::Input`] when `x` is shorter than [`ZeroPhase::min_len`] or lengths differ.
    pub fn apply(&self, x: &[f64], out: &mut [f64], scratch: &mut Vec<f64>) -> Result<()> {
        let n = x.len();
        if n < self.min_len() {
            return Err(Error::input(
                crate::error::Location::default(),
                format!(
                    "a stretch of {n} samples is too short to filter (needs at least {})",
                    self.min_len()
                ),
            ));
        }
        if out.len() != n {
            return Err(Error::input(
                crate::error::Location::default(),
                "output length differs from input length",
            ));
        }
        out.copy_from_slice(x);
        self.filter_in_place(out, scratch);
        Ok(())
    }

    /// [`ZeroPhase::apply`] in place on `y` (at least [`ZeroPhase::min_len`] samples).
    fn filter_in_place(&self, y: &mut [f64], scratch: &mut Vec<f64>) {
        let (n, p) = (y.len(), self.padlen);
        // Odd extension: 2·y[0] − y[p..1], y, 2·y[n−1] − y[n−2..n−p−1]. The pads live in
        // `scratch`; the signal itself is filtered where it is.
        scratch.clear();
        scratch.extend((1..=p).rev().map(|i| 2.0 * y[0] - y[i]));
        scratch.extend((1..=p).map(|i| 2.0 * y[n - 1] - y[n - 1 - i]));
        let (left, right) = scratch.split_at_mut(p);
        let first = left.first().copied().unwrap_or(y[0]);
        self.run([&mut *left, &mut *y, &mut *right], false, first);
        let last = right.last().copied().unwrap_or(y[n - 1]);
        self.run([right, y, left], true, last);
    }

    /// Filters, in place, every gap-free stretch (no `NaN`) of `y` that is at least
    /// `min_len` samples long, and sets shorter stretches to `NaN` (too short to filter:
    /// they become gaps). `name` and `fs_hz` are for the error messages. Filtering in place
    /// saves a night-long buffer: callers filter a copy of the raw signal.
    ///
    /// # Errors
    /// [`Error::Input`] for an infinite sample (the first one; `y` is then partly
    /// filtered), or when no stretch is long enough ("too short to filter").
    pub fn filter_stretches(
        &self,
        y: &mut [f64],
        min_len: usize,
        scratch: &mut Vec<f64>,
        name: &str,
        fs_hz: f64,
    ) -> Result<()> {
        let min_len = min_len.max(self.min_len());
        self.filter_stretches_scan(y, min_len, scratch)
            .map_err(|stop| match stop {
                Stop::Infinite(i) => Error::input(
                    crate::error::Location::default(),
                    format!("{name}: sample {i} is infinite"),
                ),
                Stop::TooShort => too_short(name, min_len, fs_hz),
            })
    }

    /// [`ZeroPhase::filter_stretches`] with `min_len` already at least
    /// [`ZeroPhase::min_len`], saying why it stopped. The scan for the gaps is also the
    /// scan for infinite samples, so a leg needs no pass of its own for them.
    pub(crate) fn filter_stretches_scan(
        &self,
        y: &mut [f64],
        min_len: usize,
        scratch: &mut Vec<f64>,
    ) -> std::result::Result<(), Stop> {
        let mut any = false;
        let mut i = 0;
        while i < y.len() {
            if y[i].is_nan() {
                i += 1;
                continue;
            }
            if y[i].is_infinite() {
                return Err(Stop::Infinite(i));
            }
            let start = i;
            i = first_non_finite(y, i);
            let stretch = &mut y[start..i];
            if stretch.len() >= min_len {
                self.filter_in_place(stretch, scratch);
                any = true;
            } else {
                stretch.fill(f64::NAN);
            }
        }
        if any { Ok(()) } else { Err(Stop::TooShort) }
    }

    /// Runs the cascade in place over `parts` one after the other (each backwards when
    /// `reverse`), as over one signal, starting from steady state for `x0`.
    fn run(&self, parts: [&mut [f64]; 3], reverse: bool, x0: f64) {
        match self.sos.len() {
            // Monomorphic pipelines for the usual sizes: 1–8 sections cover every
            // band-pass order up to 4 with up to four notches.
            1 => self.run_n::<1>(parts, reverse, x0),
            2 => self.run_n::<2>(parts, reverse, x0),
            3 => self.run_n::<3>(parts, reverse, x0),
            4 => self.run_n::<4>(parts, reverse, x0),
            5 => self.run_n::<5>(parts, reverse, x0),
            6 => self.run_n::<6>(parts, reverse, x0),
            7 => self.run_n::<7>(parts, reverse, x0),
            8 => self.run_n::<8>(parts, reverse, x0),
            _ => self.run_dyn(parts, reverse, x0),
        }
    }

    fn run_n<const N: usize>(&self, parts: [&mut [f64]; 3], reverse: bool, x0: f64) {
        let mut lanes = Lanes::<N> {
            b0: [0.0; N],
            b1: [0.0; N],
            b2: [0.0; N],
            a1: [0.0; N],
            a2: [0.0; N],
            z0: [0.0; N],
            z1: [0.0; N],
        };
        for (k, (s, zi)) in self.sos.iter().zip(&self.zi).enumerate().take(N) {
            lanes.b0[k] = s[0];
            lanes.b1[k] = s[1];
            lanes.b2[k] = s[2];
            lanes.a1[k] = s[4];
            lanes.a2[k] = s[5];
            lanes.z0[k] = zi[0] * x0;
            lanes.z1[k] = zi[1] * x0;
        }
        for part in parts {
            if reverse {
                lanes.pipeline::<Backward>(part);
            } else {
                lanes.pipeline::<Forward>(part);
            }
        }
    }

    fn run_dyn(&self, parts: [&mut [f64]; 3], reverse: bool, x0: f64) {
        let mut z: Vec<[f64; 2]> = self.zi.iter().map(|zi| [zi[0] * x0, zi[1] * x0]).collect();
        let step = |z: &mut [[f64; 2]], v: &mut f64| {
            let mut x = *v;
            for (s, zk) in self.sos.iter().zip(z.iter_mut()) {
                let y = s[0] * x + zk[0];
                zk[0] = s[1] * x - s[4] * y + zk[1];
                zk[1] = s[2] * x - s[5] * y;
                x = y;
            }
            *v = x;
        };
        for part in parts {
            if reverse {
                for v in part.iter_mut().rev() {
                    step(&mut z, v);
                }
            } else {
                for v in part.iter_mut() {
                    step(&mut z, v);
                }
            }
        }
    }
}

/// The error for a signal (`name`, as it should read in the message) with no gap-free
/// stretch of `min_len` samples at `fs_hz`.
pub(crate) fn too_short(name: &str, min_len: usize, fs_hz: f64) -> Error {
    Error::input(
        crate::error::Location::default(),
        format!(
            "{name} is too short to filter: no gap-free stretch of {:.1} s ({min_len} samples at {fs_hz} Hz)",
            min_len as f64 / fs_hz
        ),
    )
}

/// Why [`ZeroPhase::filter_stretches_scan`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Sample `i` (the first such) is infinite.
    Infinite(usize),
    /// No gap-free stretch is long enough to filter.
    TooShort,
}

/// The index of the first `NaN` or infinite value in `y` from `from` on (`y.len()` if
/// none): 64 values at a time without a branch, then the one that holds it (a night is
/// tens of MB to scan).
fn first_non_finite(y: &[f64], from: usize) -> usize {
    const CHUNK: usize = 64;
    let mut i = from;
    while i + CHUNK <= y.len() {
        let chunk = &y[i..i + CHUNK];
        if chunk.iter().fold(false, |any, v| any | !v.is_finite()) {
            break;
        }
        i += CHUNK;
    }
    y[i..]
        .iter()
        .position(|v| !v.is_finite())
        .map_or(y.len(), |p| i + p)
}

/// The direction of a pass: which sample of a stretch of `n` is the `t`-th visited.
trait Direction {
    fn sample(n: usize, t: usize) -> usize;
}

/// First sample to last.
struct Forward;

/// Last sample to first.
struct Backward;

impl Direction for Forward {
    #[inline]
    fn sample(_n: usize, t: usize) -> usize {
        t
    }
}

impl Direction for Backward {
    #[inline]
    fn sample(n: usize, t: usize) -> usize {
        n - 1 - t
    }
}

/// `N` sections laid out lane by lane (one array per coefficient and state), with their
/// state.
///
/// # Why a pipeline
/// Run sample by sample, a cascade is one long chain of multiplications and additions
/// that depend on each other. Here section `k` works on sample `t − k` at step `t`, so
/// the `N` sections of a step are independent and the compiler does them side by side in
/// vector registers: the two passes over an 8-hour leg take 41 ms instead of 68 ms. Each
/// section still sees its samples in order and does exactly the same operations on them
/// (`y = b0·x + z0`, `z0 = b1·x − a1·y + z1`, `z1 = b2·x − a2·y`, no fused
/// multiply-add), so the output is identical bit for bit to the sample-by-sample cascade.
struct Lanes<const N: usize> {
    b0: [f64; N],
    b1: [f64; N],
    b2: [f64; N],
    a1: [f64; N],
    a2: [f64; N],
    z0: [f64; N],
    z1: [f64; N],
}

impl<const N: usize> Lanes<N> {
    /// Section `k` on input `x` (transposed direct form II), updating its state.
    #[inline]
    fn section(&mut self, k: usize, x: f64) -> f64 {
        let y = self.b0[k] * x + self.z0[k];
        self.z0[k] = self.b1[k] * x - self.a1[k] * y + self.z1[k];
        self.z1[k] = self.b2[k] * x - self.a2[k] * y;
        y
    }

    /// Runs the cascade in place over `y` in direction `D`, state carried in and out.
    /// The pipeline fills over the first `N − 1` steps and drains over the last `N − 1`,
    /// so any length works (shorter than `N` included).
    fn pipeline<D: Direction>(&mut self, y: &mut [f64]) {
        let n = y.len();
        if n == 0 {
            return;
        }
        // `last[k]`: the output of section `k` at the previous step, the input of
        // section `k + 1` at this one.
        let mut last = [0.0; N];
        let mut t = 0;
        while t < (N - 1).min(n) {
            self.partial_step::<D>(&mut last, y, t);
            t += 1;
        }
        while t < n {
            let mut x = [0.0; N];
            x[0] = y[D::sample(n, t)];
            x[1..].copy_from_slice(&last[..N - 1]);
            let mut out = [0.0; N];
            for k in 0..N {
                out[k] = self.b0[k] * x[k] + self.z0[k];
            }
            for k in 0..N {
                self.z0[k] = self.b1[k] * x[k] - self.a1[k] * out[k] + self.z1[k];
            }
            for k in 0..N {
                self.z1[k] = self.b2[k] * x[k] - self.a2[k] * out[k];
            }
            last = out;
            y[D::sample(n, t + 1 - N)] = out[N - 1];
            t += 1;
        }
        while t < n + N - 1 {
            self.partial_step::<D>(&mut last, y, t);
            t += 1;
        }
    }

    /// Step `t` while the pipeline fills or drains: only sections `k` with a sample
    /// `t − k` in `0..n` work.
    #[inline]
    fn partial_step<D: Direction>(&mut self, last: &mut [f64; N], y: &mut [f64], t: usize) {
        let n = y.len();
        let (first, end) = ((t + 1).saturating_sub(n), (t + 1).min(N));
        let mut out = *last;
        for k in first..end {
            let x = if k == 0 {
                y[D::sample(n, t)]
            } else {
                last[k - 1]
            };
            out[k] = self.section(k, x);
        }
        *last = out;
        if end == N {
            y[D::sample(n, t + 1 - N)] = out[N - 1];
        }
    }
}

/// A spectral line found by [`detect_mains`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MainsLine {
    /// Line frequency, Hz (50, 60 or a harmonic).
    pub frequency_hz: f64,
    /// Peak power over the median of the neighbouring ±8 Hz (excluding ±2 Hz), dB.
    pub prominence_db: f64,
}

/// Looks for mains hum (50 or 60 Hz and harmonics up to `max_hz`) in `x` sampled at
/// `fs_hz`: a Welch spectrum (Hann window, 1-s segments, at most 256 segments spread over
/// the signal, segments containing a NaN skipped). A line is reported when its peak stands
/// `min_prominence_db` above the median of its neighbourhood. Returns the lines of the
/// fundamental (50 or 60 Hz, whichever is more prominent) and of its harmonics 2–10,
/// including harmonics above Nyquist folded back into the band (an amplifier with a weak
/// anti-aliasing filter puts 60 Hz × 3 = 180 Hz at 76 Hz when sampling at 256 Hz); empty
/// when there is no hum or not enough clean signal.
#[must_use]
pub fn detect_mains(x: &[f64], fs_hz: f64, max_hz: f64, min_prominence_db: f64) -> Vec<MainsLine> {
    let Some(psd) = welch(x, fs_hz) else {
        return Vec::new();
    };
    let df = fs_hz / ((psd.len() - 1) * 2) as f64;
    let prominence = |f: f64| -> Option<f64> {
        if f + 10.0 >= fs_hz / 2.0 {
            return None;
        }
        let bin = |hz: f64| (hz / df).round() as usize;
        let peak = (bin(f - 1.0)..=bin(f + 1.0))
            .filter_map(|i| psd.get(i))
            .copied()
            .fold(0.0, f64::max);
        let mut near: Vec<f64> = (bin(f - 8.0)..=bin(f + 8.0))
            .filter(|&i| (i as f64 * df - f).abs() > 2.0)
            .filter_map(|i| psd.get(i).copied())
            .collect();
        if near.is_empty() {
            return None;
        }
        let mid = near.len() / 2;
        let (_, med, _) = near.select_nth_unstable_by(mid, f64::total_cmp);
        (*med > 0.0 && peak > 0.0).then(|| 10.0 * (peak / *med).log10())
    };
    let best = [50.0, 60.0]
        .into_iter()
        .filter_map(|f| prominence(f).map(|p| (f, p)))
        .filter(|&(_, p)| p >= min_prominence_db)
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((f0, p0)) = best else {
        return Vec::new();
    };
    let mut lines = vec![MainsLine {
        frequency_hz: f0,
        prominence_db: p0,
    }];
    for k in 2..=10u32 {
        // Fold k·f0 into [0, fs/2].
        let f = (f64::from(k) * f0) % fs_hz;
        let f = if f > fs_hz / 2.0 { fs_hz - f } else { f };
        if !(10.0..=max_hz).contains(&f) || lines.iter().any(|l| (l.frequency_hz - f).abs() < 1.0) {
            continue;
        }
        if let Some(p) = prominence(f).filter(|&p| p >= min_prominence_db) {
            lines.push(MainsLine {
                frequency_hz: f,
                prominence_db: p,
            });
        }
    }
    lines
}

/// Averaged Hann-windowed periodogram, segments of ~1 s (a power of two). `None` when no
/// clean segment exists.
fn welch(x: &[f64], fs_hz: f64) -> Option<Vec<f64>> {
    let nseg = (fs_hz.round() as usize).max(16).next_power_of_two();
    if x.len() < nseg {
        return None;
    }
    let available = x.len() / nseg;
    let used = available.min(256);
    let stride = available / used;
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(nseg);
    let window: Vec<f64> = (0..nseg)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / nseg as f64).cos())
        .collect();
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut psd = vec![0.0; spectrum.len()];
    let mut count = 0;
    for s in 0..used {
        let seg = &x[s * stride * nseg..(s * stride + 1) * nseg];
        if seg.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let mean = seg.iter().sum::<f64>() / nseg as f64;
        for ((o, &v), w) in input.iter_mut().zip(seg).zip(&window) {
            *o = (v - mean) * w;
        }
        if fft
            .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
            .is_err()
        {
            return None;
        }
        for (p, c) in psd.iter_mut().zip(&spectrum) {
            *p += c.norm_sqr();
        }
        count += 1;
    }
    (count > 0).then_some(psd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn bandpass_has_unit_gain_at_centre_and_nulls_at_dc_and_nyquist() {
        let fs = 256.0;
        let sos = butterworth(4, Band::BandPass(10.0, 100.0), fs).unwrap();
        assert_eq!(sos.len(), 4);
        // −3 dB at both edges (Butterworth).
        assert_relative_eq!(
            response(&sos, 10.0, fs).norm(),
            std::f64::consts::FRAC_1_SQRT_2,
            epsilon = 1e-9
        );
        assert_relative_eq!(
            response(&sos, 100.0, fs).norm(),
            std::f64::consts::FRAC_1_SQRT_2,
            epsilon = 1e-9
        );
        assert!(response(&sos, 0.0, fs).norm() < 1e-12);
        assert!(response(&sos, 128.0, fs).norm() < 1e-9);
    }

    #[test]
    fn lowpass_highpass_odd_orders() {
        let lp = butterworth(3, Band::LowPass(20.0), 100.0).unwrap();
        assert_eq!(lp.len(), 2);
        assert_relative_eq!(response(&lp, 0.0, 100.0).norm(), 1.0, epsilon = 1e-12);
        assert_relative_eq!(
            response(&lp, 20.0, 100.0).norm(),
            std::f64::consts::FRAC_1_SQRT_2,
            epsilon = 1e-9
        );
        let hp = butterworth(3, Band::HighPass(0.5), 50.0).unwrap();
        assert_relative_eq!(response(&hp, 25.0, 50.0).norm(), 1.0, epsilon = 1e-12);
        assert_relative_eq!(
            response(&hp, 0.5, 50.0).norm(),
            std::f64::consts::FRAC_1_SQRT_2,
            epsilon = 1e-9
        );
    }

    #[test]
    fn bad_designs_are_errors() {
        assert!(butterworth(4, Band::BandPass(10.0, 100.0), 200.0).is_err()); // 100 Hz = Nyquist
        assert!(butterworth(4, Band::BandPass(50.0, 10.0), 500.0).is_err());
        assert!(butterworth(0, Band::LowPass(10.0), 500.0).is_err());
        assert!(butterworth(4, Band::LowPass(f64::NAN), 500.0).is_err());
        assert!(butterworth(4, Band::LowPass(10.0), -1.0).is_err());
        assert!(notch(60.0, 30.0, 100.0).is_err());
        assert!(notch(50.0, 0.0, 500.0).is_err());
    }

    #[test]
    fn notch_kills_its_frequency() {
        let s = notch(60.0, 30.0, 256.0).unwrap();
        assert!(response(&[s], 60.0, 256.0).norm() < 1e-12);
        assert_relative_eq!(response(&[s], 30.0, 256.0).norm(), 1.0, epsilon = 0.01);
    }

    #[test]
    fn zero_phase_preserves_passband_sine_and_rejects_short_input() {
        let fs = 256.0;
        let zp = ZeroPhase::new(butterworth(4, Band::BandPass(10.0, 100.0), fs).unwrap()).unwrap();
        let x: Vec<f64> = (0..4096)
            .map(|i| (2.0 * std::f64::consts::PI * 30.0 * f64::from(i) / fs).sin())
            .collect();
        let mut y = vec![0.0; x.len()];
        let mut scratch = Vec::new();
        zp.apply(&x, &mut y, &mut scratch).unwrap();
        let g = response(zp.sections(), 30.0, fs).norm().powi(2);
        for i in 500..3500 {
            assert!((y[i] - g * x[i]).abs() < 1e-6, "sample {i}");
        }
        let mut short = vec![0.0; 10];
        assert!(zp.apply(&x[..10], &mut short, &mut scratch).is_err());
    }

    /// The pipelined cascade against the sample-by-sample one (`run_dyn`), bit for bit:
    /// 1–8 sections (band-pass orders 1–4, low- and high-pass, notches), both directions,
    /// parts shorter than the pipeline, and signals with spikes, zeros of both signs and
    /// steps.
    #[test]
    fn pipelined_cascade_is_bit_identical_to_sample_by_sample() {
        let fs = 256.0;
        let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
        let mut uniform = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 11) as f64 / (1_u64 << 53) as f64
        };
        let notches = [50.0, 60.0, 100.0, 120.0];
        let mut designs: Vec<Vec<Section>> = Vec::new();
        for order in 1..=4 {
            for n_notch in 0..=4 {
                let mut sos = butterworth(order, Band::BandPass(10.0, 100.0), fs).unwrap();
                sos.extend(
                    notches[..n_notch]
                        .iter()
                        .map(|&f| notch(f, 30.0, fs).unwrap()),
                );
                designs.push(sos);
            }
        }
        designs.push(butterworth(3, Band::LowPass(5.0), fs).unwrap());
        designs.push(butterworth(1, Band::HighPass(0.3), fs).unwrap());
        for sos in designs {
            let zp = ZeroPhase::new(sos).unwrap();
            for len in [0, 1, 2, 3, 5, 7, 8, 9, 31, 1000] {
                let x: Vec<f64> = (0..len)
                    .map(|i| match i % 97 {
                        13 => 0.0,
                        14 => -0.0,
                        40..=44 => 500.0,
                        _ => 40.0 * (uniform() - 0.5),
                    })
                    .collect();
                for reverse in [false, true] {
                    // Three parts, as the padded passes run them: a short one first.
                    let (mut a, mut b) = (x.clone(), x.clone());
                    let (a0, a_rest) = a.split_at_mut(len.min(3));
                    let (a1, a2) = a_rest.split_at_mut(a_rest.len() / 2);
                    let (b0, b_rest) = b.split_at_mut(len.min(3));
                    let (b1, b2) = b_rest.split_at_mut(b_rest.len() / 2);
                    zp.run([a0, a1, a2], reverse, 1.5);
                    zp.run_dyn([b0, b1, b2], reverse, 1.5);
                    let n = zp.sections().len();
                    for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                        assert_eq!(
                            p.to_bits(),
                            q.to_bits(),
                            "{n} sections, {len} samples, reverse {reverse}, sample {i}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn first_non_finite_is_found_wherever_it_is() {
        for n in [0, 1, 63, 64, 65, 200] {
            let clean = vec![1.0; n];
            for from in [0, 1, 64].into_iter().filter(|&f| f <= n) {
                assert_eq!(first_non_finite(&clean, from), n);
            }
            for (at, bad) in (0..n).zip([f64::NAN, f64::INFINITY, f64::NEG_INFINITY].iter().cycle())
            {
                let mut y = clean.clone();
                y[at] = *bad;
                if at + 3 < n {
                    y[at + 3] = f64::NAN;
                }
                for from in [0, at, at + 1] {
                    let want = (from..n).find(|&i| !y[i].is_finite()).unwrap_or(n);
                    assert_eq!(
                        first_non_finite(&y, from),
                        want,
                        "n {n}, {bad} at {at}, from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn infinite_samples_stop_the_stretch_filter_where_they_are() {
        let zp =
            ZeroPhase::new(butterworth(4, Band::BandPass(10.0, 100.0), 256.0).unwrap()).unwrap();
        let mut scratch = Vec::new();
        let signal: Vec<f64> = (0..2000).map(|i| (f64::from(i) * 0.3).sin()).collect();
        for at in [0, 5, 999, 1999] {
            let mut y = signal.clone();
            y[at] = if at % 2 == 0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            // Gaps before it do not hide it.
            y[at.saturating_sub(3)..at].fill(f64::NAN);
            assert_eq!(
                zp.filter_stretches_scan(&mut y, 100, &mut scratch),
                Err(Stop::Infinite(at))
            );
            let mut y = signal.clone();
            y[at] = f64::INFINITY;
            let e = zp
                .filter_stretches(&mut y, 100, &mut scratch, "leg `x`", 256.0)
                .unwrap_err()
                .to_string();
            assert!(
                e.ends_with(&format!("leg `x`: sample {at} is infinite")),
                "{e}"
            );
        }
        let mut y = signal.clone();
        y[50] = f64::NAN;
        y[1500] = f64::NAN;
        assert_eq!(
            zp.filter_stretches_scan(&mut y, 2000, &mut scratch),
            Err(Stop::TooShort)
        );
        let mut y = signal;
        assert_eq!(zp.filter_stretches_scan(&mut y, 100, &mut scratch), Ok(()));
    }

    #[test]
    fn finds_60_hz_hum_and_not_in_noise() {
        let fs = 500.0;
        let mut state = 12345u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let clean: Vec<f64> = (0..60_000).map(|_| noise()).collect();
        assert!(detect_mains(&clean, fs, 200.0, 10.0).is_empty());
        let hum: Vec<f64> = clean
            .iter()
            .enumerate()
            .map(|(i, v)| v + 0.2 * (2.0 * std::f64::consts::PI * 60.0 * i as f64 / fs).sin())
            .collect();
        let lines = detect_mains(&hum, fs, 200.0, 10.0);
        assert_eq!(lines.first().map(|l| l.frequency_hz), Some(60.0));
        // A 3rd harmonic above Nyquist at 256 Hz folds to 76 Hz and is found there.
        let fs = 256.0;
        let folded: Vec<f64> = clean
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let w = 2.0 * std::f64::consts::PI * 60.0 * i as f64 / fs;
                v + 0.2 * w.sin() + 0.2 * (3.0 * w).sin()
            })
            .collect();
        let freqs: Vec<f64> = detect_mains(&folded, fs, 120.0, 10.0)
            .iter()
            .map(|l| l.frequency_hz)
            .collect();
        assert!(freqs.contains(&60.0) && freqs.contains(&76.0), "{freqs:?}");
    }
}
