//! Leg movements on one leg: the +8 µV / +2 µV rule of both standards (rules digest §1),
//! applied here and nowhere else.
//!
//! Input: an [`Envelope`] (amplitude, resting level, margins per block, in µV for EMG or
//! mg for accelerometers) and the [`LmThresholds`] in the same unit (for EMG, the numbers
//! of the [`Rules`](crate::Rules)). Output: monolateral [`LegMovement`]s in seconds, sorted
//! by onset, whose `peak_uv`/`mean_uv`/`rest_uv` hold the envelope's unit (the
//! accelerometer path moves them to the `_mg` fields).
//!
//! * **Onset**: the first block whose amplitude is at least `onset_above_rest` (8 µV)
//!   above the resting level.
//! * **Offset**: the *start* of the first run of at least `offset_quiet_s` (0.5 s) in which
//!   the amplitude stays within `offset_above_rest` (2 µV) of the resting level — within
//!   the envelope's offset margin, which exceeds +2 µV only on a baseline too noisy for it
//!   ([`super::envelope`]). Activity resuming sooner belongs to the same LM (same-leg
//!   joining follows from this rule).
//! * **Edges** are placed on the edge amplitude where the burst leaves and re-enters the
//!   resting band ([`super::edges`]).
//! * **Duration** at least `min_lm_s` (0.5 s); shorter activity is not an LM at all.
//! * **Morphology** (WASM 2016, computer scoring): the morphology median must exceed the
//!   offset level somewhere inside the LM, else it is an "empty" spiky detection.
//! * An LM whose offset cannot be established because a gap (`NaN`), an unscorable block
//!   or the end of the recording comes first is dropped, and so is one whose activity
//!   reaches back into a gap or an unscorable block (its onset is unknown): its duration,
//!   hence whether it is a CLM, is unknown. Gaps are excluded time anyway.
//! * **Noise**: a block whose offset margin reaches a fixed onset level cannot be scored
//!   ([`LmThresholds::noise_reaches_onset`], which [`super::scorability`] asks).
//!
//! Electrode pops (< 0.2 s) never become LMs: the envelope median ignores them, and what
//! remains is shorter than 0.5 s and fails the morphology check.
//!
//! The whole detector is one pass over the blocks, O(n), without allocation besides the
//! output.

use super::edges::{EDGE_REACH_S, edge_times, extrapolate_flanks, widen_edges};
use super::envelope::Envelope;
use crate::events::{LegMovement, Side};

/// The numbers leg-movement detection needs, in the envelope's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmThresholds {
    /// Onset level above rest (EMG: `onset_above_rest_uv`, 8 µV).
    pub onset_above_rest: f64,
    /// Offset level above rest (EMG: `offset_above_rest_uv`, 2 µV); the envelope's margin
    /// may raise it on a noisy baseline.
    pub offset_above_rest: f64,
    /// Quiet period that ends an LM, s (0.5).
    pub offset_quiet_s: f64,
    /// Shortest LM, s (0.5).
    pub min_lm_s: f64,
    /// Apply the morphology check (WASM 2016).
    pub morphology_check: bool,
    /// Window of the morphology running median, s (0.5).
    pub morphology_window_s: f64,
    /// When set, each edge is also back-extrapolated along its flank (the line through the
    /// flank's 25 % and 50 % of peak points, extended to the floor), by at most this many
    /// seconds, before the duration check. Accelerometers only: a leg's acceleration rises
    /// and falls smoothly, so a threshold sees only the middle of a movement; EMG keeps the
    /// standard's threshold edges (`None`).
    pub flank_extrapolation_s: Option<f64>,
    /// When set, the onset level is at least this many times the block's offset margin
    /// (accelerometers: the onset follows a noisy sensor's floor); `None` for EMG, whose
    /// +8 µV is the standard's.
    pub onset_noise_factor: Option<f64>,
}

impl LmThresholds {
    /// Whether noise with the offset margin `margin` would alone cross the onset level, so
    /// that a block cannot be scored: with a fixed onset (EMG's +8 µV) once the margin
    /// reaches it; never with an onset that grows with the noise (accelerometers).
    #[must_use]
    pub fn noise_reaches_onset(&self, margin: f64) -> bool {
        self.onset_noise_factor.is_none() && margin >= self.onset_above_rest
    }

    /// The onset level above rest where the offset margin is `margin`: the fixed
    /// `onset_above_rest` (EMG's +8 µV), or for accelerometers at least
    /// `onset_noise_factor` × the margin.
    #[must_use]
    pub fn onset_level(&self, margin: f64) -> f64 {
        match self.onset_noise_factor {
            Some(f) => self.onset_above_rest.max(f * margin),
            None => self.onset_above_rest,
        }
    }
}

/// Detects the leg movements of one leg. `unscorable[k]` marks blocks excluded for noise;
/// they act like gaps.
#[must_use]
pub fn detect(
    env: &Envelope,
    side: Side,
    thresholds: &LmThresholds,
    unscorable: &[bool],
) -> Vec<LegMovement> {
    detect_with_cuts(env, side, thresholds, unscorable, &[])
}

/// [`detect`] with blocks that bound movements without hiding them: an LM never spans a
/// `cut[k]` block, but one that runs into a cut ends there (its offset is the cut's start,
/// or the start of its quiet run if that came first) and one that emerges from a cut starts
/// there, where after a gap or an unscorable block either would be dropped as unknown. The
/// accelerometer path cuts at turns of the sensor: the turn is known, and so is the
/// movement beside it. An empty `cut` cuts nothing.
#[must_use]
pub fn detect_with_cuts(
    env: &Envelope,
    side: Side,
    thresholds: &LmThresholds,
    unscorable: &[bool],
    cut: &[bool],
) -> Vec<LegMovement> {
    let n = env.blocks();
    let quiet_blocks = (thresholds.offset_quiet_s * env.rate_hz()).ceil().max(1.0) as usize;
    let is_cut = |k: usize| cut.get(k).copied().unwrap_or(false);
    let (amplitude, rest) = (env.amplitude(), env.rest());
    let mut rest_cursor = rest.cursor();
    // The resting level at `k` where the block is usable (amplitude and rest known,
    // scorable, not a cut).
    let mut usable_rest = |k: usize| {
        if !amplitude[k].is_finite() || unscorable.get(k).copied().unwrap_or(false) || is_cut(k) {
            return None;
        }
        let r = rest_cursor.at(k);
        r.is_finite().then_some(r)
    };
    let mut margin_cursor = env.margin().cursor();
    let n_margin = env.margin().len();
    let mut margin = |b: usize| {
        if b < n_margin {
            margin_cursor.at(b)
        } else {
            thresholds.offset_above_rest
        }
    };
    // How far the edges can move outwards: widening plus flank extrapolation.
    let extrapolation_s = thresholds
        .flank_extrapolation_s
        .filter(|x| x.is_finite())
        .map_or(0.0, |x| x.clamp(0.0, 60.0));
    let edge_reach = ((EDGE_REACH_S + extrapolation_s) * env.rate_hz()).ceil() as usize + 1;
    let mut scratch = Vec::new();
    let mut out = Vec::new();
    let mut k = 0;
    while k < n {
        let onset_level = thresholds.onset_level(margin(k));
        if usable_rest(k).is_none_or(|r| amplitude[k] < r + onset_level) {
            k += 1;
            continue;
        }
        let onset = k;
        // Scan for the first quiet run of `quiet_blocks`.
        let mut quiet_start: Option<usize> = None;
        let mut j = k;
        let mut end: Option<usize> = None; // offset block
        let mut aborted = false;
        while j < n {
            if is_cut(j) {
                end = Some(quiet_start.unwrap_or(j));
                break;
            }
            let Some(r) = usable_rest(j) else {
                // A gap before the quiet run completes: the offset is unknown unless the
                // run had already started (then the LM ended before the gap).
                aborted = quiet_start.is_none();
                end = quiet_start;
                break;
            };
            if amplitude[j] <= r + margin(j) {
                let s = *quiet_start.get_or_insert(j);
                if j + 1 - s >= quiet_blocks {
                    end = Some(s);
                    break;
                }
            } else {
                quiet_start = None;
            }
            j += 1;
        }
        if j >= n {
            end = quiet_start;
            aborted = quiet_start.is_none();
        }
        let resume = j.max(k + 1);
        k = resume;
        if aborted {
            continue;
        }
        let Some(offset) = end else { continue };
        let fine_margin = |b: usize| {
            env.fine_margin()
                .get(b)
                .unwrap_or(thresholds.offset_above_rest)
        };
        // Cuts bound the edges: the last cut block before the onset and the first one at
        // or after the offset (widening and extrapolation stop there).
        let (cut_before, cut_after) = if cut.is_empty() {
            (None, None)
        } else {
            (
                (onset.saturating_sub(edge_reach)..onset)
                    .rev()
                    .find(|&b| is_cut(b)),
                (offset..(offset + edge_reach).min(n)).find(|&b| is_cut(b)),
            )
        };
        let found = onset;
        let Some((mut onset, mut offset)) = widen_edges(env, onset, offset, &fine_margin) else {
            continue;
        };
        if let Some(c) = cut_before {
            onset = onset.max(c + 1);
        }
        if let Some(c) = cut_after {
            offset = offset.min(c);
        }
        // Activity reaching back into an unscorable block began there: its onset is as
        // unknown as after a gap.
        if (onset.saturating_sub(1)..found).any(|b| unscorable.get(b).copied().unwrap_or(false)) {
            continue;
        }
        let (mut on_s, mut off_s) = edge_times(env, onset, offset, &fine_margin);
        if let Some(max_s) = thresholds.flank_extrapolation_s {
            (on_s, off_s) = extrapolate_flanks(env, onset, offset, on_s, off_s, max_s);
        }
        let block_s = 1.0 / env.rate_hz();
        if let Some(c) = cut_before {
            on_s = on_s.max((c + 1) as f64 * block_s);
        }
        if let Some(c) = cut_after {
            off_s = off_s.min(c as f64 * block_s);
        }
        // Edges are block times (and flank extrapolations): keep them inside the signal.
        (on_s, off_s) = (on_s.max(0.0), off_s.min(env.duration_s()));
        if off_s - on_s < thresholds.min_lm_s {
            continue;
        }
        let inside = onset..offset;
        if thresholds.morphology_check
            && !inside
                .clone()
                .any(|b| env.morphology_at(b, &mut scratch) > rest.at(b) + margin(b))
        {
            continue;
        }
        let (mut peak, mut sum) = (f64::NEG_INFINITY, 0.0);
        for b in inside.clone() {
            peak = peak.max(amplitude[b]);
            sum += amplitude[b];
        }
        out.push(LegMovement {
            onset_s: on_s,
            offset_s: off_s,
            side,
            peak_uv: Some(peak),
            mean_uv: Some(sum / inside.len() as f64),
            rest_uv: Some(rest.at(onset)),
            peak_mg: None,
            mean_mg: None,
            rest_mg: None,
        });
    }
    out
}

/// The WASM 2016 thresholds (µV), for this layer's tests (which cannot reach the rules).
#[cfg(test)]
pub(crate) fn wasm() -> LmThresholds {
    LmThresholds {
        onset_above_rest: 8.0,
        offset_above_rest: 2.0,
        offset_quiet_s: 0.5,
        min_lm_s: 0.5,
        morphology_check: true,
        morphology_window_s: 0.5,
        flank_extrapolation_s: None,
        onset_noise_factor: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AASM's: no morphology check.
    fn aasm() -> LmThresholds {
        LmThresholds {
            morphology_check: false,
            ..wasm()
        }
    }

    /// An envelope at 100 blocks/s with rest 1 µV and the given (start, end, level) bursts.
    fn env(n: usize, bursts: &[(usize, usize, f64)]) -> Envelope {
        let amp = levels(n, bursts);
        env_of(amp.clone(), amp)
    }

    /// Block levels: 1 µV with the given (start, end, level) bursts.
    fn levels(n: usize, bursts: &[(usize, usize, f64)]) -> Vec<f64> {
        let mut amp = vec![1.0; n];
        for &(a, b, v) in bursts {
            for x in &mut amp[a..b] {
                *x = v;
            }
        }
        amp
    }

    /// An envelope at 100 blocks/s, rest 1 µV, of the amplitude (also the edge amplitude)
    /// `amp` and the block means `block_mean`.
    fn env_of(amp: Vec<f64>, block_mean: Vec<f64>) -> Envelope {
        let n = amp.len();
        let parts = crate::detect::envelope::EnvelopeParts {
            block_mean,
            rest: vec![1.0; n],
            fine: amp.clone(),
            margin: vec![2.0; n],
            fine_margin: vec![2.0; n],
            amplitude: amp,
        };
        Envelope::from_parts(100.0, 1, n, 25, parts).unwrap()
    }

    #[test]
    fn edges_stay_inside_the_signal() {
        // A burst up to the last (partial) block: its centre lies past the signal's end.
        let r = wasm();
        let amp = levels(1000, &[(900, 999, 20.0)]);
        let n = amp.len();
        let parts = crate::detect::envelope::EnvelopeParts {
            block_mean: amp.clone(),
            rest: vec![1.0; n],
            fine: amp.clone(),
            margin: vec![2.0; n],
            fine_margin: vec![2.0; n],
            amplitude: amp,
        };
        // 1000 blocks of 10 samples at 1 kHz, the last one 3 samples long.
        let e = Envelope::from_parts(1000.0, 10, 9993, 25, parts).unwrap();
        let lms = detect(&e, Side::Left, &r, &[]);
        assert_eq!(lms.len(), 1);
        assert!(lms[0].offset_s <= 9.993, "{}", lms[0].offset_s);
        assert!(lms[0].onset_s >= 0.0);
    }

    #[test]
    fn onset_at_8_uv_offset_at_start_of_half_second_quiet() {
        let r = wasm();
        let e = env(1000, &[(100, 200, 20.0)]);
        let lms = detect(&e, Side::Left, &r, &[]);
        assert_eq!(lms.len(), 1);
        // Block centres are at (k + 0.5) / 100 s; edges are interpolated within one block.
        assert!((lms[0].onset_s - 1.0).abs() <= 0.01, "{}", lms[0].onset_s);
        assert!((lms[0].offset_s - 2.0).abs() <= 0.01, "{}", lms[0].offset_s);
        assert_eq!(lms[0].peak_uv, Some(20.0));
        // 7 µV above rest is not an onset; 8 is.
        assert!(detect(&env(1000, &[(100, 200, 8.0)]), Side::Left, &r, &[]).is_empty());
        assert_eq!(
            detect(&env(1000, &[(100, 200, 9.0)]), Side::Left, &r, &[]).len(),
            1
        );
    }

    #[test]
    fn activity_resuming_within_half_a_second_is_one_lm() {
        let r = wasm();
        // Gap of 0.49 s at ≤ +2 µV between two bursts: one LM.
        let e = env(1000, &[(100, 150, 20.0), (199, 260, 20.0)]);
        let lms = detect(&e, Side::Left, &r, &[]);
        assert_eq!(lms.len(), 1);
        assert!((lms[0].offset_s - 2.6).abs() <= 0.01);
        // 0.5 s quiet: two movements (each ≥ 0.5 s).
        let e = env(1000, &[(100, 150, 20.0), (200, 260, 20.0)]);
        assert_eq!(detect(&e, Side::Left, &r, &[]).len(), 2);
        // Middle level (between +2 and +8) keeps the LM going.
        let e = env(1000, &[(100, 150, 20.0), (150, 400, 5.0)]);
        assert!((detect(&e, Side::Left, &r, &[])[0].offset_s - 4.0).abs() <= 0.01);
    }

    #[test]
    fn cuts_bound_movements_where_unscorable_blocks_drop_them() {
        let r = wasm();
        // One burst 1–4 s with blocks 2.5–3.0 s marked.
        let e = env(1000, &[(100, 400, 20.0)]);
        let mut mask = vec![false; 1000];
        mask[250..300].fill(true);
        // Cut: the burst becomes two LMs, ending at the cut and starting after it.
        let lms = detect_with_cuts(&e, Side::Left, &r, &[], &mask);
        assert_eq!(lms.len(), 2, "{lms:?}");
        assert!((lms[0].onset_s - 1.0).abs() <= 0.01, "{lms:?}");
        assert!((lms[0].offset_s - 2.5).abs() <= 0.01, "{lms:?}");
        assert!((lms[1].onset_s - 3.0).abs() <= 0.01, "{lms:?}");
        assert!((lms[1].offset_s - 4.0).abs() <= 0.01, "{lms:?}");
        // Unscorable: neither part has a known edge on the marked side.
        assert!(detect(&e, Side::Left, &r, &mask).is_empty());
        // A quiet run begun before the cut still ends the LM where it began.
        let e = env(1000, &[(100, 200, 20.0)]);
        mask.fill(false);
        mask[230..260].fill(true);
        let lms = detect_with_cuts(&e, Side::Left, &r, &[], &mask);
        assert_eq!(lms.len(), 1, "{lms:?}");
        assert!((lms[0].offset_s - 2.0).abs() <= 0.01, "{lms:?}");
        // No cuts: the same as `detect`.
        let e = env(1000, &[(100, 200, 20.0), (500, 560, 15.0)]);
        assert_eq!(
            detect_with_cuts(&e, Side::Left, &r, &[], &[]),
            detect(&e, Side::Left, &r, &[])
        );
    }

    #[test]
    fn short_activity_and_gaps() {
        let r = wasm();
        assert!(detect(&env(1000, &[(100, 149, 50.0)]), Side::Left, &r, &[]).is_empty());
        // An LM running into a gap has no offset: dropped.
        let mut amp = levels(1000, &[(100, 200, 20.0)]);
        amp[180] = f64::NAN;
        let e = env_of(amp.clone(), amp);
        assert!(detect(&e, Side::Left, &r, &[]).is_empty());
        // Running into the end of the recording: dropped.
        assert!(detect(&env(300, &[(100, 300, 20.0)]), Side::Left, &r, &[]).is_empty());
        // Ending just before the end (quiet run started): kept.
        assert_eq!(
            detect(&env(300, &[(100, 280, 20.0)]), Side::Left, &r, &[]).len(),
            1
        );
    }

    #[test]
    fn morphology_rejects_spiky_detections() {
        let r = wasm();
        let e = env_of(levels(1000, &[(100, 200, 20.0)]), vec![1.0; 1000]);
        assert!(detect(&e, Side::Left, &r, &[]).is_empty());
        assert_eq!(detect(&e, Side::Left, &aasm(), &[]).len(), 1);
    }
}
