//! Posture changes on an accelerometer leg (step 7 of [`super`]): a burst across which
//! the sensor's orientation turns is a change of posture, not a leg movement.
//!
//! Input: the leg's movements found so far, its axes (g), its envelope and gravity track,
//! and the largest turn a movement may hold, degrees. Output: the movements with the
//! turns cut out, and the turns (s), which the report counts per channel. A turn is not
//! excluded time, so a turn inside a PLM series does not break it.

use super::super::envelope::Envelope;
use super::super::movements::{LmThresholds, detect_with_cuts};
use super::condition::AccelConditioned;
use crate::events::{Interval, LegMovement, Side};

/// What [`cut_posture_changes`] works on: one conditioned leg.
pub(crate) struct Leg<'a> {
    /// The axes, g.
    pub axes_g: &'a [Vec<f64>; 3],
    /// Sample rate, Hz.
    pub fs_hz: f64,
    /// The leg.
    pub side: Side,
    /// Its conditioning (envelope, gravity track).
    pub conditioned: &'a AccelConditioned,
    /// Detection thresholds, mg.
    pub thresholds: &'a LmThresholds,
    /// Unscorable blocks of the envelope.
    pub unscorable: &'a [bool],
}

/// The movements of `leg` without the bursts across which the orientation turns by more
/// than `max_deg`, and those turns, sorted (module docs). Each turn is located on the
/// gravity track and cut out, and the leg detected again: a movement just before or
/// after a turn is not lost with it, but ends or starts at the cut.
pub(crate) fn cut_posture_changes(
    leg: &Leg<'_>,
    movements: Vec<LegMovement>,
    max_deg: f64,
) -> (Vec<LegMovement>, Vec<Interval>) {
    let Leg {
        axes_g,
        fs_hz,
        side,
        conditioned,
        thresholds,
        unscorable,
    } = *leg;
    let env: &Envelope = &conditioned.envelope;
    let mut movements = movements;
    let mut posture_changes = Vec::new();
    let n = axes_g[0].len();
    let mut buf = Vec::new();
    // Median orientation over [t0, t1) s, per axis; `None` over less than 0.2 s.
    let min_len = ((0.2 * fs_hz).ceil() as usize).max(1);
    let mut orientation = |t0: f64, t1: f64| -> Option<[f64; 3]> {
        let (a, b) = (
            ((t0 * fs_hz).max(0.0) as usize).min(n),
            ((t1 * fs_hz).max(0.0) as usize).min(n),
        );
        if b < a + min_len {
            return None;
        }
        let mut out = [0.0; 3];
        for (o, axis) in out.iter_mut().zip(axes_g) {
            buf.clear();
            buf.extend(axis[a..b].iter().copied().filter(|v| v.is_finite()));
            if buf.is_empty() {
                return None;
            }
            let mid = buf.len() / 2;
            *o = *buf.select_nth_unstable_by(mid, f64::total_cmp).1;
        }
        Some(out)
    };
    // Whether the orientation turned across `m`, from the second before its onset
    // to the second after its offset, both kept clear of the turns already cut.
    let mut turned = |m: &LegMovement, cut_turns: &[Interval]| {
        let before = cut_turns
            .iter()
            .map(|t| t.offset_s)
            .filter(|&t| t <= m.onset_s)
            .fold(m.onset_s - 1.0, f64::max);
        let after = cut_turns
            .iter()
            .map(|t| t.onset_s)
            .filter(|&t| t >= m.offset_s)
            .fold(m.offset_s + 1.0, f64::min);
        match (
            orientation(before, m.onset_s),
            orientation(m.offset_s, after),
        ) {
            (Some(a), Some(b)) => angle_deg(a, b) > max_deg,
            _ => false,
        }
    };
    let turns: Vec<(f64, f64)> = movements
        .iter()
        .filter(|m| turned(m, &[]))
        .map(|m| (m.onset_s, m.offset_s))
        .collect();
    if !turns.is_empty() {
        // Each turn is cut out where the gravity track turns, and the leg detected
        // again: a movement just before or after a turn is not lost with it, but ends
        // or starts at the cut.
        let mut cut = vec![false; unscorable.len()];
        let block_s = env.block() as f64 / fs_hz;
        for &(on_s, off_s) in &turns {
            let span = turn_span(
                &conditioned.gravity_g,
                conditioned.gravity_block_s,
                on_s,
                off_s,
                env.duration_s(),
            );
            let last = ((span.offset_s / block_s).ceil() as usize).min(cut.len());
            let first = ((span.onset_s / block_s).floor() as usize).min(last);
            cut[first..last].fill(true);
            posture_changes.push(Interval {
                onset_s: first as f64 * block_s,
                offset_s: (last as f64 * block_s).min(env.duration_s()),
            });
        }
        movements = detect_with_cuts(env, side, thresholds, unscorable, &cut);
        // A turn slower than its cut span can leave a burst across it.
        let spans = posture_changes.clone();
        movements.retain(|m| {
            let t = turned(m, &spans);
            if t {
                posture_changes.push(Interval {
                    onset_s: m.onset_s,
                    offset_s: m.offset_s,
                });
            }
            !t
        });
        posture_changes.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    }
    (movements, posture_changes)
}

/// Rotation rate of the gravity track that marks a turn in progress, degrees per second: a
/// turn of 30–180° within 0.3–3 s rotates at ≥ 10°/s; the track's own wander at rest (a
/// running median) is below 1°/s, and the tilt of a leg movement, a few degrees, moves the
/// 2-s median far slower still.
const TURN_RATE_DEG_PER_S: f64 = 5.0;

/// Margin around a turn's rotation, s. An instant turn leaves a step in the residual (the
/// gravity track moves between block centres) that the 8-Hz low-pass, the 0.25-s median
/// and the 0.2-s edge average spread over ±0.25 s: so measured at the 12 turns of the
/// independent development night. A movement beyond the margin ends or starts at it.
const TURN_PAD_S: f64 = 0.3;

/// Where a turn happened inside the burst `[on_s, off_s]` s that it produced: the run of
/// gravity blocks (`block_s` long) around the fastest rotation in which the track rotates
/// faster than [`TURN_RATE_DEG_PER_S`] (and than a fifth of that peak rate, for a slow
/// turn's tails), widened by [`TURN_PAD_S`] and kept within `[0, duration_s]`. The whole
/// burst when the track shows no rotation there.
fn turn_span(
    gravity: &[[f64; 3]],
    block_s: f64,
    on_s: f64,
    off_s: f64,
    duration_s: f64,
) -> Interval {
    let whole = Interval {
        onset_s: on_s,
        offset_s: off_s,
    };
    let nb = gravity.len();
    if nb < 3 {
        return whole;
    }
    // Rotation rate at block k from its neighbours, degrees per second.
    let rate = |k: usize| {
        let r = angle_deg(gravity[k - 1], gravity[k + 1]) / (2.0 * block_s);
        if r.is_finite() { r } else { 0.0 }
    };
    let a = ((on_s / block_s).floor() as usize).clamp(1, nb - 2);
    let b = ((off_s / block_s).ceil() as usize).clamp(a, nb - 2);
    let Some((peak_k, peak)) = (a..=b)
        .map(|k| (k, rate(k)))
        .max_by(|x, y| x.1.total_cmp(&y.1))
    else {
        return whole;
    };
    if peak < TURN_RATE_DEG_PER_S {
        return whole;
    }
    let level = TURN_RATE_DEG_PER_S.max(0.2 * peak);
    let (mut lo, mut hi) = (peak_k, peak_k);
    while lo > 1 && rate(lo - 1) >= level {
        lo -= 1;
    }
    while hi < nb - 2 && rate(hi + 1) >= level {
        hi += 1;
    }
    Interval {
        onset_s: (lo as f64 * block_s - TURN_PAD_S).max(0.0),
        offset_s: ((hi + 1) as f64 * block_s + TURN_PAD_S).min(duration_s),
    }
}

/// Angle between two vectors, degrees.
pub(crate) fn angle_deg(a: [f64; 3], b: [f64; 3]) -> f64 {
    let dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let na = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    let nb = (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]).sqrt();
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na * nb)).clamp(-1.0, 1.0).acos().to_degrees()
}
