//! The review page's signal data: what of each leg's trace goes into the page, and how it
//! is encoded so that an 8-hour two-leg 256 Hz night stays well under 15 MB.
//!
//! **What it computes.** Per leg, from its [`LegTrace`]:
//! * over the whole night, in bins of whole envelope blocks of at least [`BIN_S`]: the
//!   minimum and maximum of the signal (drawn as a band: at a 30-s epoch on a screen,
//!   a bin is about one pixel) and the maximum of the envelope;
//! * every [`LEVEL_S`]: the resting level and the offset margin (the onset level follows
//!   from them and the thresholds). Both are interpolated linearly between the 5-s
//!   segments' centres, which lie on this step, so the page's linear interpolation
//!   redraws them as detection saw them;
//! * around each leg movement, the signal at its full rate and the envelope per block,
//!   from [`PADS_S`] before the onset to as long after the offset: the largest pad whose
//!   windows, merged, fit [`FINE_MAX_SAMPLES`] over all legs; where even the smallest
//!   does not fit, the windows are kept in time order until the budget is spent (a note
//!   on the page says how many).
//!
//! Each series is a list of pieces (a start time on the recording's grid and a count;
//! the stored samples past a long gap start a new piece) and one array of codes.
//!
//! **Why it is small.** Values are companded: code `c = round(K · ln(1 + |v| / A))`, with
//! the sign kept, so the relative error is the same at every amplitude: 8-bit codes
//! (bins) resolve 5–10 % of a value, 16-bit codes (levels, full-rate windows) 0.03–0.06 %.
//! The largest code of each width stands for "no value" (a gap). The page decodes with a
//! table of every code. Base64 adds a third.
//!
//! **Tested against** the direct definitions (below): min/max over a bin's samples, the
//! code's round trip within its resolution, the windows' merge.

use base64::Engine as _;
use serde::Serialize;

use crate::detect::LegTrace;
use crate::events::{LegMovement, Side};

/// Shortest coarse bin, s: about one pixel of a 30-s epoch on a screen.
pub(super) const BIN_S: f64 = 0.04;
/// Step of the resting level and margin, s (the 5-s segments' centres lie on it).
pub(super) const LEVEL_S: f64 = 0.5;
/// Padding around a leg movement's full-rate window, longest first, s.
pub(super) const PADS_S: [f64; 5] = [3.0, 2.0, 1.0, 0.5, 0.25];
/// Full-rate samples kept around movements, over all legs (3 MB of 16-bit codes).
pub(super) const FINE_MAX_SAMPLES: usize = 1_500_000;

/// A code width and its companding constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Code {
    /// Unsigned 8-bit: 0..=254, 255 = no value.
    U8,
    /// Signed 8-bit: −127..=127, −128 = no value.
    I8,
    /// Unsigned 16-bit (little-endian): 0..=65534, 65535 = no value.
    U16,
    /// Signed 16-bit (little-endian): −32767..=32767, −32768 = no value.
    I16,
}

impl Code {
    /// `(A, largest magnitude code, K)`: `|v| = A · (exp(c / K) − 1)`.
    pub(super) fn constants(self) -> (f64, f64, f64) {
        let (a, top, max_value) = match self {
            Code::U8 => (0.5, 254.0, 1e5),
            Code::I8 => (0.5, 127.0, 1e5),
            Code::U16 => (0.001, 65534.0, 1e6),
            Code::I16 => (0.001, 32767.0, 1e6),
        };
        (a, top, top / (1.0 + max_value / a).ln())
    }

    /// The code of `v` (non-finite: the "no value" code), as its bytes.
    fn push(self, v: f64, out: &mut Vec<u8>) {
        let (a, top, k) = self.constants();
        let magnitude = |v: f64| (k * (v.abs() / a).ln_1p()).round().min(top);
        match self {
            Code::U8 => out.push(if v.is_finite() {
                magnitude(v.max(0.0)) as u8
            } else {
                255
            }),
            Code::I8 => {
                let c = if v.is_finite() {
                    (magnitude(v) as i8) * if v < 0.0 { -1 } else { 1 }
                } else {
                    i8::MIN
                };
                out.push(c.to_le_bytes()[0]);
            }
            Code::U16 => {
                let c = if v.is_finite() {
                    magnitude(v.max(0.0)) as u16
                } else {
                    u16::MAX
                };
                out.extend_from_slice(&c.to_le_bytes());
            }
            Code::I16 => {
                let c = if v.is_finite() {
                    (magnitude(v) as i16) * if v < 0.0 { -1 } else { 1 }
                } else {
                    i16::MIN
                };
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
    }

    /// The value of code bytes `c` (as the page decodes them), `NaN` for "no value".
    #[cfg(test)]
    fn decode(self, c: &[u8]) -> f64 {
        let (a, _, k) = self.constants();
        let value = |m: f64| a * (m / k).exp_m1();
        match self {
            Code::U8 if c[0] == 255 => f64::NAN,
            Code::U8 => value(f64::from(c[0])),
            Code::I8 if c[0] == 0x80 => f64::NAN,
            Code::I8 => {
                let m = i8::from_le_bytes([c[0]]);
                value(f64::from(m.unsigned_abs())).copysign(f64::from(m))
            }
            Code::U16 => match u16::from_le_bytes([c[0], c[1]]) {
                u16::MAX => f64::NAN,
                m => value(f64::from(m)),
            },
            Code::I16 => match i16::from_le_bytes([c[0], c[1]]) {
                i16::MIN => f64::NAN,
                m => value(f64::from(m.unsigned_abs())).copysign(f64::from(m)),
            },
        }
    }
}

/// One encoded series: pieces on the grid and their codes.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Series {
    /// Time between values, s.
    pub dt_s: f64,
    /// `[time of the first value (s, on the grid), count]` per piece, in order.
    pub pieces: Vec<(f64, usize)>,
    /// Code width.
    pub code: Code,
    /// The codes, base64.
    pub data: String,
    #[serde(skip)]
    bytes: Vec<u8>,
}

impl Series {
    fn new(dt_s: f64, code: Code) -> Self {
        Self {
            dt_s,
            pieces: Vec::new(),
            code,
            data: String::new(),
            bytes: Vec::new(),
        }
    }

    /// Starts a piece at `t_s`.
    fn piece(&mut self, t_s: f64) {
        self.pieces.push((t_s, 0));
    }

    /// Appends a value to the last piece.
    fn push(&mut self, v: f64) {
        self.code.push(v, &mut self.bytes);
        if let Some(p) = self.pieces.last_mut() {
            p.1 += 1;
        }
    }

    /// Encodes the codes as base64, dropping empty pieces.
    fn finish(mut self) -> Self {
        self.pieces.retain(|p| p.1 > 0);
        self.data = base64::engine::general_purpose::STANDARD.encode(&self.bytes);
        self.bytes = Vec::new();
        self
    }
}

/// One leg's series for the page.
#[derive(Debug, Clone, Serialize)]
pub(super) struct LegData {
    /// Signal minimum per bin.
    pub min: Series,
    /// Signal maximum per bin.
    pub max: Series,
    /// Envelope maximum per bin.
    pub env: Series,
    /// Resting level every [`LEVEL_S`].
    pub rest: Series,
    /// Offset margin above rest every [`LEVEL_S`].
    pub margin: Series,
    /// Full-rate signal around movements.
    pub fine: Series,
    /// Envelope per block around movements.
    pub fine_env: Series,
}

/// A stretch of stored samples `[start, end)` and the grid time of `start`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stretch {
    start: usize,
    end: usize,
    grid_s: f64,
}

/// The trace's stored samples in stretches without a skip.
fn stretches(trace: &LegTrace) -> Vec<Stretch> {
    let n = trace.signal.len();
    let pieces = &trace.pieces;
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| Stretch {
            start: p.start.min(n),
            end: pieces.get(i + 1).map_or(n, |q| q.start.min(n)),
            grid_s: p.grid_s,
        })
        .filter(|s| s.end > s.start)
        .collect()
}

/// The stored sample at grid time `t_s` (clamped into its stretch), and that stretch's
/// index, for the stretch holding `t_s` or the first after it.
fn stored_at(stretches: &[Stretch], t_s: f64, fs_hz: f64) -> Option<(usize, usize)> {
    let i = stretches
        .partition_point(|s| s.grid_s + (s.end - s.start) as f64 / fs_hz <= t_s)
        .min(stretches.len().checked_sub(1)?);
    let s = stretches[i];
    let offset = ((t_s - s.grid_s) * fs_hz).floor().max(0.0) as usize;
    Some((i, (s.start + offset).min(s.end)))
}

/// The whole-night series of one leg: bins, levels.
fn coarse(trace: &LegTrace, data: &mut LegData) {
    let env = &trace.envelope;
    let (fs, block) = (trace.fs_hz, env.block());
    let bin_blocks = block_bin_s(trace) * env.rate_hz();
    let bin_blocks = bin_blocks.round() as usize;
    let level_blocks = ((LEVEL_S * env.rate_hz()).round() as usize).max(1);
    let amplitude = env.amplitude();
    for s in stretches(trace) {
        // Bins and level steps aligned to the blocks, from the stretch's first sample.
        let first_block = s.start.div_ceil(block);
        let end_block = s.end.div_ceil(block).min(env.blocks());
        let t_of_sample = |i: usize| s.grid_s + (i as f64 - s.start as f64) / fs;
        let t_of_block = |k: usize| t_of_sample(k * block) + 0.5 * block as f64 / fs;
        data.min.piece(t_of_sample(first_block * block));
        data.max.piece(t_of_sample(first_block * block));
        data.env.piece(t_of_sample(first_block * block));
        let mut k = first_block;
        while k < end_block {
            let kb = (k + bin_blocks).min(end_block);
            let samples = &trace.signal[(k * block).min(s.end)..(kb * block).min(s.end)];
            let (lo, hi) = samples
                .iter()
                .filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(f64::from(v)), hi.max(f64::from(v)))
                });
            let peak = amplitude[k..kb]
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(f64::NEG_INFINITY, f64::max);
            data.min.push(lo);
            data.max.push(hi);
            data.env.push(peak);
            k = kb;
        }
        let first_level = first_block.div_ceil(level_blocks) * level_blocks;
        data.rest.piece(t_of_block(first_level));
        data.margin.piece(t_of_block(first_level));
        let mut k = first_level;
        while k < end_block {
            data.rest.push(env.rest().at(k));
            data.margin.push(env.margin().at(k));
            k += level_blocks;
        }
    }
}

/// The windows of `lms` (this leg's) padded by `pad_s`, merged, as stored sample ranges
/// within one stretch each, with the index of their first stretch.
fn windows(trace: &LegTrace, lms: &[&LegMovement], pad_s: f64) -> Vec<(usize, usize, usize)> {
    let st = stretches(trace);
    let mut out: Vec<(usize, usize, usize)> = Vec::new();
    for lm in lms {
        let Some((i, a)) = stored_at(&st, lm.onset_s - pad_s, trace.fs_hz) else {
            continue;
        };
        let Some((j, b)) = stored_at(&st, lm.offset_s + pad_s, trace.fs_hz) else {
            continue;
        };
        // A window never crosses a skip: it ends with its first stretch.
        let b = if j > i { st[i].end } else { b };
        if b <= a {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.2 == i && a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b, i)),
        }
    }
    out
}

/// The legs' series for the page, and a note when the full-rate windows had to be cut.
pub(super) fn pack(traces: &[LegTrace], lms: &[LegMovement]) -> (Vec<LegData>, Option<String>) {
    let of_side =
        |side: Side| -> Vec<&LegMovement> { lms.iter().filter(|m| m.side == side).collect() };
    let legs_lms: Vec<Vec<&LegMovement>> = traces.iter().map(|t| of_side(t.side)).collect();
    // The longest pad whose windows fit the budget.
    let count = |pad: f64| -> usize {
        traces
            .iter()
            .zip(&legs_lms)
            .map(|(t, l)| windows(t, l, pad).iter().map(|w| w.1 - w.0).sum::<usize>())
            .sum()
    };
    let pad = PADS_S
        .iter()
        .copied()
        .find(|&p| count(p) <= FINE_MAX_SAMPLES)
        .unwrap_or(PADS_S[PADS_S.len() - 1]);
    // The whole-night series of the legs, one core each (the page's largest part).
    let coarse_legs = crate::par::map(traces.iter().collect(), |trace: &LegTrace| {
        let block = trace.envelope.block();
        let mut data = LegData {
            min: Series::new(block_bin_s(trace), Code::I8),
            max: Series::new(block_bin_s(trace), Code::I8),
            env: Series::new(block_bin_s(trace), Code::U8),
            rest: Series::new(level_s(trace), Code::U16),
            margin: Series::new(level_s(trace), Code::U16),
            fine: Series::new(1.0 / trace.fs_hz, Code::I16),
            fine_env: Series::new(block as f64 / trace.fs_hz, Code::U16),
        };
        coarse(trace, &mut data);
        data
    });
    // The full-rate windows, leg after leg, while the budget lasts.
    let mut budget = FINE_MAX_SAMPLES;
    let (mut kept, mut all) = (0usize, 0usize);
    let mut out = Vec::with_capacity(traces.len());
    for ((trace, lms), mut data) in traces.iter().zip(&legs_lms).zip(coarse_legs) {
        let env = &trace.envelope;
        let (fs, block) = (trace.fs_hz, env.block());
        let st = stretches(trace);
        let wins = windows(trace, lms, pad);
        all += wins.len();
        for (a, b, i) in wins {
            if b - a > budget {
                budget = 0;
                continue;
            }
            budget -= b - a;
            kept += 1;
            let s = st[i];
            let t = |k: usize| s.grid_s + (k as f64 - s.start as f64) / fs;
            data.fine.piece(t(a));
            for &v in &trace.signal[a..b] {
                data.fine.push(f64::from(v));
            }
            let (ka, kb) = (a.div_ceil(block), (b / block).min(env.blocks()));
            data.fine_env.piece(t(ka * block) + 0.5 * block as f64 / fs);
            for &v in &env.amplitude()[ka.min(kb)..kb] {
                data.fine_env.push(v);
            }
        }
        out.push(LegData {
            min: data.min.finish(),
            max: data.max.finish(),
            env: data.env.finish(),
            rest: data.rest.finish(),
            margin: data.margin.finish(),
            fine: data.fine.finish(),
            fine_env: data.fine_env.finish(),
        });
    }
    let note = (kept < all).then(|| {
        format!(
            "the full-rate signal is kept around {kept} of {all} movement windows (the page's {:.1}-MB budget); elsewhere it is drawn from {:.0}-ms minima and maxima",
            FINE_MAX_SAMPLES as f64 * 2.0 / 1e6,
            traces.first().map_or(BIN_S, block_bin_s) * 1e3
        )
    });
    (out, note)
}

/// A trace's coarse bin, s.
fn block_bin_s(trace: &LegTrace) -> f64 {
    let env = &trace.envelope;
    // (Less a hair, so that a bin of exactly `BIN_S` is not rounded up to the next.)
    let bin_blocks = (BIN_S * env.rate_hz() - 1e-9).ceil().max(1.0);
    bin_blocks / env.rate_hz()
}

/// A trace's level step, s.
fn level_s(trace: &LegTrace) -> f64 {
    let env = &trace.envelope;
    ((LEVEL_S * env.rate_hz()).round()).max(1.0) / env.rate_hz()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::envelope::{Envelope, EnvelopeParts};
    use crate::detect::{Piece, TraceUnit};

    #[test]
    fn codes_round_trip_within_their_resolution() {
        for (code, bytes, rel) in [
            (Code::U8, 1, 0.06),
            (Code::I8, 1, 0.11),
            (Code::U16, 2, 0.0004),
            (Code::I16, 2, 0.0007),
        ] {
            let (a, _, _) = code.constants();
            let signed = matches!(code, Code::I8 | Code::I16);
            for v in [0.0, 0.3, 1.0, 2.5, 8.0, 13.7, 150.0, 2400.0, 60_000.0] {
                for v in if signed { vec![v, -v] } else { vec![v] } {
                    let mut out = Vec::new();
                    code.push(v, &mut out);
                    assert_eq!(out.len(), bytes);
                    let back = code.decode(&out);
                    // Half a step of relative error, on |v| + A.
                    let tol = (v.abs() + a) * rel / 2.0 + 1e-12;
                    assert!((back - v).abs() <= tol, "{code:?} {v} → {back}");
                }
            }
            let mut out = Vec::new();
            code.push(f64::NAN, &mut out);
            assert!(code.decode(&out).is_nan(), "{code:?}");
            // Beyond the range: the largest code, not a wrap or the gap code.
            let mut out = Vec::new();
            code.push(1e12, &mut out);
            assert!(
                code.decode(&out).is_finite() && code.decode(&out) > 1e4,
                "{code:?}"
            );
        }
    }

    /// A trace of `n` samples at 100 Hz in 1-sample blocks, split into stretches at
    /// `pieces`.
    fn trace(signal: Vec<f32>, pieces: &[(usize, f64)]) -> LegTrace {
        let n = signal.len();
        let parts = EnvelopeParts {
            amplitude: signal.iter().map(|v| f64::from(v.abs())).collect(),
            block_mean: vec![0.0; n],
            fine: vec![0.0; n],
            rest: vec![1.0; n],
            margin: vec![2.0; n],
            fine_margin: vec![2.0; n],
        };
        let env = Envelope::from_parts(100.0, 1, n, 25, parts).unwrap();
        let mut t = LegTrace::new(
            Side::Left,
            "left",
            TraceUnit::Uv,
            100.0,
            signal,
            env,
            crate::detect::movements::wasm(),
        );
        t.pieces = pieces
            .iter()
            .map(|&(start, grid_s)| Piece { start, grid_s })
            .collect();
        t
    }

    fn decode(s: &Series) -> Vec<f64> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&s.data)
            .unwrap();
        let w = if matches!(s.code, Code::U16 | Code::I16) {
            2
        } else {
            1
        };
        bytes.chunks(w).map(|c| s.code.decode(c)).collect()
    }

    #[test]
    fn bins_hold_the_minimum_and_maximum_of_their_samples() {
        let signal: Vec<f32> = (0..1000)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.7)
            .collect();
        let t = trace(signal.clone(), &[(0, 0.0)]);
        let (legs, note) = pack(&[t], &[]);
        assert!(note.is_none());
        let leg = &legs[0];
        // 4 samples (40 ms) per bin.
        assert_eq!(leg.min.dt_s, 0.04);
        assert_eq!(leg.min.pieces, vec![(0.0, 250)]);
        let (lo, hi) = (decode(&leg.min), decode(&leg.max));
        for (b, chunk) in signal.chunks(4).enumerate() {
            let want_lo = chunk.iter().copied().fold(f32::INFINITY, f32::min);
            let want_hi = chunk.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            for (got, want) in [(lo[b], want_lo), (hi[b], want_hi)] {
                let want = f64::from(want);
                assert!(
                    (got - want).abs() <= (want.abs() + 0.5) * 0.06,
                    "{b}: {got} vs {want}"
                );
            }
        }
        assert_eq!(leg.rest.pieces, vec![(0.005, 20)]);
        assert!(decode(&leg.rest).iter().all(|v| (v - 1.0).abs() < 1e-3));
    }

    #[test]
    fn windows_surround_movements_merge_and_stop_at_skips() {
        // Two stretches: samples 0..500 at 0 s, 500..1000 at 100 s (a 95-s skip).
        let t = trace(vec![1.0; 1000], &[(0, 0.0), (500, 100.0)]);
        let lm = |on: f64, off: f64| LegMovement::new(on, off, Side::Left);
        let lms = [lm(1.0, 1.5), lm(2.0, 2.5), lm(4.5, 6.0), lm(101.0, 102.0)];
        let refs: Vec<&LegMovement> = lms.iter().collect();
        // Pad 0.25 s: the first two merge (0.75–2.75 s), the third stops at the stretch's
        // end (500), the fourth starts in the second stretch.
        let w = windows(&t, &refs, 0.25);
        assert_eq!(w, vec![(75, 275, 0), (425, 500, 0), (575, 725, 1)]);
        let (legs, note) = pack(&[t], &lms);
        assert!(note.is_none());
        let fine = &legs[0].fine;
        // The largest pad that fits: 3 s.
        assert_eq!(fine.pieces.len(), 2, "{:?}", fine.pieces);
        assert_eq!(fine.pieces[1].0, 100.0);
        assert_eq!(legs[0].min.pieces, vec![(0.0, 125), (100.0, 125)]);
    }
}
