//! Where the edges of a movement found on the amplitude lie, in seconds.
//!
//! Input: an [`Envelope`] and the blocks `[onset, offset)` where [`super::movements`]
//! found a movement. Output: its onset and offset times, s.
//!
//! The amplitude is a 0.25-s running median, which blurs a burst's edges inwards by up to
//! half its window, and a burst rises and falls over ~0.1 s. Both edges are therefore
//! placed on the 40-ms edge amplitude ([`Envelope::fine`]) where the burst leaves and
//! re-enters the resting band (the offset level above rest, +2 µV): the onset moves back,
//! the offset forward, through contiguous blocks above that level, each by at most
//! [`EDGE_REACH_S`], and the crossing is interpolated within a block. For the offset this
//! is the standard's rule itself (activity above +2 µV before the quiet period belongs to
//! the LM); measuring the onset the same way keeps durations from being biased short by
//! the rise time, which matters at the 0.5-s and 10-s limits. Accelerometer movements are
//! also back-extrapolated along their flanks ([`extrapolate_flanks`]).

use super::envelope::Envelope;

/// Largest edge adjustment, s: the offset's own quiet period (0.5 s); anything further
/// away is separated from the burst by a stretch that would end an LM.
pub(crate) const EDGE_REACH_S: f64 = 0.5;

/// Moves `onset` back and `offset` (the first quiet block) forward through contiguous
/// blocks whose edge amplitude is above `level_uv` over rest (see module docs). `None` when
/// the activity reaches back into a gap or the start of the recording: its onset is
/// unknown.
pub(crate) fn widen_edges(
    env: &Envelope,
    onset: usize,
    offset: usize,
    level_uv: &dyn Fn(usize) -> f64,
) -> Option<(usize, usize)> {
    let (amplitude, fine, rest) = (env.amplitude(), env.fine(), env.rest());
    let usable =
        |b: usize| amplitude[b].is_finite() && fine[b].is_finite() && rest.at(b).is_finite();
    let active = |b: usize| usable(b) && fine[b] > rest.at(b) + level_uv(b);
    let reach = (EDGE_REACH_S * env.rate_hz()).round() as usize;
    let mut on = onset;
    while on > onset.saturating_sub(reach) && active(on - 1) {
        on -= 1;
    }
    if on == 0 || !usable(on - 1) {
        return None;
    }
    let hi = (offset + reach).min(env.blocks());
    let mut off = offset;
    while off < hi && active(off) {
        off += 1;
    }
    Some((on, off))
}

/// Back-extrapolates both flanks of the movement spanning blocks `[onset, offset)` (see
/// [`super::movements::LmThresholds::flank_extrapolation_s`]); never moves an edge inwards, into a gap, or
/// by more than `max_s`.
pub(crate) fn extrapolate_flanks(
    env: &Envelope,
    onset: usize,
    offset: usize,
    on_s: f64,
    off_s: f64,
    max_s: f64,
) -> (f64, f64) {
    let (fine, rest) = (env.fine(), env.rest());
    let level = |b: usize| fine[b] - rest.at(b);
    let usable = |b: usize| fine[b].is_finite() && rest.at(b).is_finite();
    if offset <= onset || offset > env.blocks() {
        return (on_s, off_s);
    }
    let peak = (onset..offset)
        .filter(|&b| usable(b))
        .map(level)
        .fold(f64::NEG_INFINITY, f64::max);
    if !(peak.is_finite() && peak > 0.0) {
        return (on_s, off_s);
    }
    let (half, quarter) = (peak / 2.0, peak / 4.0);
    let mut on = on_s;
    if let Some(b50) = (onset..offset).find(|&b| usable(b) && level(b) >= half) {
        let mut b25 = b50;
        while b25 > 0 && usable(b25 - 1) && level(b25 - 1) >= quarter {
            b25 -= 1;
        }
        let t0 = 2.0 * env.time_s(b25) - env.time_s(b50);
        let floor = env.time_s(onset.saturating_sub((max_s * env.rate_hz()) as usize));
        if t0 < on
            && (0..onset)
                .rev()
                .take((max_s * env.rate_hz()).ceil() as usize)
                .all(usable)
        {
            on = t0.max(on_s - max_s).max(floor.min(on_s)).max(0.0);
        }
    }
    let mut off = off_s;
    if let Some(b50) = (onset..offset)
        .rev()
        .find(|&b| usable(b) && level(b) >= half)
    {
        let mut b25 = b50;
        while b25 + 1 < env.blocks() && usable(b25 + 1) && level(b25 + 1) >= quarter {
            b25 += 1;
        }
        let t1 = 2.0 * env.time_s(b25) - env.time_s(b50);
        let reach = (max_s * env.rate_hz()).ceil() as usize;
        if t1 > off
            && (offset..(offset + reach).min(env.blocks())).all(usable)
            && offset + reach <= env.blocks()
        {
            off = t1.min(off_s + max_s);
        }
    }
    (on, off)
}

/// Times of the edges with sub-block precision: where the edge amplitude crosses
/// `level_uv` over rest, linearly interpolated between the last quiet and the first active
/// block (onset) and the last active and the first quiet block (offset).
pub(crate) fn edge_times(
    env: &Envelope,
    onset: usize,
    offset: usize,
    level_uv: &dyn Fn(usize) -> f64,
) -> (f64, f64) {
    let margin = |b: usize| {
        env.fine()
            .get(b)
            .map(|v| v - env.rest().at(b) - level_uv(b))
            .filter(|m| m.is_finite())
    };
    // Fraction of a block between `quiet` (margin ≤ 0) and `active` (margin > 0).
    let cross = |quiet: usize, active: usize| -> Option<f64> {
        let (dq, da) = (margin(quiet)?, margin(active)?);
        (dq <= 0.0 && da > 0.0).then(|| -dq / (da - dq))
    };
    let on = match onset.checked_sub(1).and_then(|q| cross(q, onset)) {
        Some(f) => env.time_s(onset) - (1.0 - f) / env.rate_hz(),
        None => env.time_s(onset),
    };
    let off = match offset.checked_sub(1).and_then(|a| cross(offset, a)) {
        Some(f) => env.time_s(offset) - f / env.rate_hz(),
        None => env.time_s(offset),
    };
    (on, off.max(on))
}
