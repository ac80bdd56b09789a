//! One leg of ankle or leg 3-axis accelerometry, through the same leg-movement detector as
//! EMG.
//!
//! Input: the leg's axes, g at a uniform rate (10–200 Hz; `NaN` = gap), the
//! [`AccelConfig`] and the EMG [`LmThresholds`] (whose durations apply unchanged). Output:
//! a [`LegOutcome`]: monolateral [`LegMovement`](crate::LegMovement)s (s) whose amplitudes are in mg
//! (`peak_mg`, `mean_mg`, `rest_mg`), the stretches excluded from scoring and the posture
//! changes; the pipeline then scores them exactly as EMG leg movements (one scoring path,
//! one report type).
//!
//! No standard defines accelerometer leg movements (rules digest §6). The design, and where
//! each number comes from:
//!
//! 1. **Gravity**: per axis, the running median of 0.1-s block means over
//!    `gravity_window_s` (2 s), interpolated back to the samples. A median follows a
//!    posture change (the sensor turning over: a step of up to 2 g in each axis) as soon as
//!    half its window lies on the new side, with no overshoot, so a turn leaves at most a
//!    transient as long as the turn itself — no burst of false movements, no dead zone —
//!    while leg movements, which swing around a resting orientation for 0.5–10 s, stay in
//!    the residual. (A high-pass filter would ring for seconds after every turn.)
//! 2. **Dynamic acceleration**: raw − gravity per axis, low-pass `lowpass_hz` (8 Hz,
//!    capped at 0.45 × rate; zero-phase Butterworth order 4): periodic leg movements
//!    carry their energy at 0.5–8 Hz, sensor noise is white, so the low-pass removes noise
//!    without touching movements (PAM-RL uses 0.3–20 Hz, Axivity studies 0.1–10 Hz). The
//!    edge sits at the top of the movement band: white noise power scales with the band,
//!    so 8 Hz passes a third less sensor noise than 12 Hz did, and sensor noise is what
//!    hides small movements (on development nights — simulator seeds apart from the
//!    tests' — the PLMS index error fell from 2.4 to 1.5/h and the noisy-sensor LM F1 rose
//!    from 0.986 to 0.997; on the independent development night onset errors stayed at
//!    0.05 s median). Lower edges smear the edges further for little more gain.
//! 3. **Magnitude** in mg, direction-free: movements of any direction count alike.
//! 4. **Envelope and floor**: the EMG machinery ([`super::envelope`]) on the magnitude:
//!    block means (20 ms), isolated transients < 0.3 s clipped (taps, the turn itself),
//!    0.25-s running median, adaptive noise floor (30th percentile per 5-s segment, lower
//!    quartile over ±30 s), offset margin grown with the floor's own fluctuation. Edges
//!    are placed on a 0.2-s average (one period at 5 Hz, the centre of the movement band:
//!    a shorter window ripples with every swing of the leg; EMG uses 40 ms).
//! 5. **Hysteresis** in mg: offset at the start of ≥ 0.5 s at ≤ the offset margin above the
//!    floor (at least `offset_mg`, 4 mg, grown with the floor's fluctuation: 3 × its
//!    30th − 5th percentile spread), onset at `onset_noise_factor` (3) × that margin, at
//!    least `onset_mg` (12 mg) — the EMG rule's 8 : 2 µV structure (a 3–4 : 1 hysteresis)
//!    and its 0.5-s quiet period. On a good sensor (magnitude floor ~5 mg after the
//!    low-pass, fluctuating by ~1 mg) that is 12 mg, a twentieth of PAM-RL's 200-mg onset,
//!    so small ankle movements are kept; on a noisy one both levels rise with the noise,
//!    so noise does not become movements. Only where the floor exceeds `max_floor_mg`
//!    (100 mg) is the stretch excluded and reported: unlike EMG, whose fixed +8 µV onset
//!    makes a stretch unscorable once its noise reaches it, a noisy sensor here raises both
//!    levels and keeps its large movements (on the independent development night with
//!    25 mg of added noise per axis, excluding stretches whose margin reached `onset_mg`
//!    had lost every PLM; LM F1 0.82 → 0.97).
//! 6. **Edges**: a leg's acceleration rises and falls smoothly, so the thresholds see only
//!    the middle of a movement (its first and last tenths are buried in the floor). Each
//!    edge is back-extrapolated along its flank — the line through the flank's 25 % and
//!    50 % of peak points, extended to the floor, as in biomechanical onset detection — by
//!    at most `flank_extrapolation_s` (0.3 s), before the 0.5-s and 10-s rules apply.
//!    Without it, short movements would be measured under 0.5 s and bilateral pairs would
//!    drift apart.
//! 7. **Posture changes**: a detected burst across which the orientation turns by more
//!    than `posture_change_deg` (30°; a dorsiflexion changes the ankle's tilt only while it
//!    lasts) — median acceleration over the second before the onset against the second
//!    after the offset — is a change of posture, not a leg movement; it is counted per
//!    channel and left out. A turn seconds before or after a movement does not count.
//!    A burst may hold a movement and a turn together (a kick, then the leg rolls over
//!    0.5 s later: the turn's transient bridges the quiet between them). So each turn is
//!    located on the gravity track — the run of gravity blocks rotating faster than
//!    5°/s around its fastest rotation, ±0.3 s for the transient — and cut out, and the
//!    leg detected again: a movement beside a turn ends or starts at the cut
//!    ([`super::movements::detect_with_cuts`]) instead of vanishing with the turn. (On the
//!    independent development night with 10–20 turns per leg placed 0.5–2 s from
//!    movements, LM F1 rose from 0.90–0.96 to 0.99–1.00.) The cut spans are what the
//!    report counts as posture changes; they are not excluded time, so a turn inside a
//!    PLM series does not break it.
//!
//! The LM duration rules (0.5 s, 10 s), bilateral combination, IMIs and series then apply
//! unchanged. Reports from accelerometers say so: the AASM advises against actigraphy as a
//! substitute for EMG in diagnosing PLMD.

mod condition;
mod posture;
pub(crate) mod sleep_window;

use super::LegOutcome;
use super::config::AccelConfig;
use super::movements::{LmThresholds, detect};
use super::scorability::scorability;
use super::trace::{LegTrace, TraceUnit};
use crate::error::Result;
use crate::events::Side;
use condition::condition;

/// The detection thresholds of an accelerometer leg, mg: the onset and offset levels of
/// `cfg`, the onset growing with the noise, the edges extrapolated along the flanks, and
/// the durations and morphology rule of the EMG thresholds `emg`.
#[must_use]
pub fn thresholds(cfg: &AccelConfig, emg: &LmThresholds) -> LmThresholds {
    LmThresholds {
        onset_above_rest: cfg.onset_mg,
        offset_above_rest: cfg.offset_mg,
        onset_noise_factor: Some(cfg.onset_noise_factor),
        flank_extrapolation_s: cfg.flank_extrapolation_s,
        ..*emg
    }
}

/// Detects the leg movements of one accelerometer leg (all steps of the module docs);
/// `emg` are the EMG thresholds whose durations apply ([`thresholds`]). With `trace`,
/// the outcome also holds what detection saw (the magnitude and its envelope, in mg).
///
/// # Errors
/// As [`condition()`].
pub fn detect_accel_leg(
    axes_g: &[Vec<f64>; 3],
    fs_hz: f64,
    side: Side,
    name: &str,
    cfg: &AccelConfig,
    emg: &LmThresholds,
    trace: bool,
) -> Result<LegOutcome> {
    let thresholds = thresholds(cfg, emg);
    let mut conditioned = condition(axes_g, fs_hz, cfg, &thresholds, name, trace)?;
    let magnitude_mg = conditioned.magnitude_mg.take();
    let env = &conditioned.envelope;
    // Only the floor makes a stretch unscorable: the onset threshold grows with the
    // floor's fluctuation (step 5), so a noisy sensor raises the bar instead of losing the
    // night (EMG's fixed +8 µV onset is what makes its noisy stretches unscorable).
    let (unscorable, excluded) = scorability(env, &thresholds, cfg.max_floor_mg);
    let mut movements = detect(env, side, &thresholds, &unscorable);
    let mut posture_changes = Vec::new();
    if let Some(max_deg) = cfg.posture_change_deg {
        let leg = posture::Leg {
            axes_g,
            fs_hz,
            side,
            conditioned: &conditioned,
            thresholds: &thresholds,
            unscorable: &unscorable,
        };
        (movements, posture_changes) = posture::cut_posture_changes(&leg, movements, max_deg);
    }
    for m in &mut movements {
        m.peak_mg = m.peak_uv.take();
        m.mean_mg = m.mean_uv.take();
        m.rest_mg = m.rest_uv.take();
    }
    let median_rest = conditioned.envelope.rest().median_finite(&mut Vec::new());
    let trace = magnitude_mg.map(|signal| {
        let mut trace = LegTrace::new(
            side,
            name,
            TraceUnit::Mg,
            fs_hz,
            signal,
            conditioned.envelope,
            thresholds,
        );
        trace.posture_changes.clone_from(&posture_changes);
        Box::new(trace)
    });
    Ok(LegOutcome {
        movements,
        excluded,
        band_hz: [0.0, conditioned.lowpass_hz],
        filter_order: 4,
        mains: Vec::new(),
        median_rest,
        posture_changes: Some(posture_changes),
        trace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::movements::wasm;

    /// A quiet leg lying still, turning over at 60 s, with a 2-s 3-Hz movement at 30 s.
    fn leg(fs: f64, seconds: f64) -> [Vec<f64>; 3] {
        noisy_leg(fs, seconds, 0.01, 0.15)
    }

    /// [`leg`] with uniform sensor noise of `noise_g` peak to peak (standard deviation
    /// `noise_g / √12`) and a movement of `movement_g` peak along x.
    fn noisy_leg(fs: f64, seconds: f64, noise_g: f64, movement_g: f64) -> [Vec<f64>; 3] {
        let n = (seconds * fs) as usize;
        let mut state = 7u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * noise_g
        };
        let mut axes = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
        for i in 0..n {
            let t = i as f64 / fs;
            let axes = &mut axes;
            // Turn over within 0.3 s at 60 s: gravity from +z to −x.
            let u = ((t - 60.0) / 0.3).clamp(0.0, 1.0);
            let ang = u * std::f64::consts::FRAC_PI_2;
            let (mut x, y, mut z) = (-ang.sin(), 0.0, ang.cos());
            if (30.0..32.0).contains(&t) {
                let s = movement_g * (2.0 * std::f64::consts::PI * 3.0 * (t - 30.0)).sin();
                x += s;
                z += 0.5 * s;
            }
            axes[0][i] = x + noise();
            axes[1][i] = y + noise();
            axes[2][i] = z + noise();
        }
        axes
    }

    /// A left leg's detection with the default settings and WASM 2016.
    fn left_leg(axes: &[Vec<f64>; 3], fs: f64) -> LegOutcome {
        detect_accel_leg(
            axes,
            fs,
            Side::Left,
            "left",
            &AccelConfig::default(),
            &wasm(),
            false,
        )
        .unwrap()
    }

    /// The posture changes of an outcome.
    fn turns(r: &LegOutcome) -> &[crate::events::Interval] {
        r.posture_changes.as_deref().unwrap_or_default()
    }

    #[test]
    fn finds_the_movement_and_not_the_turn() {
        for fs in [25.0, 50.0, 100.0] {
            let axes = leg(fs, 120.0);
            let r = left_leg(&axes, fs);
            assert_eq!(r.movements.len(), 1, "{fs} Hz: {:?}", r.movements);
            let m = r.movements[0];
            assert!(
                (m.onset_s - 30.0).abs() < 0.3 && (m.offset_s - 32.0).abs() < 0.3,
                "{fs} Hz: {m:?}"
            );
            assert!(m.peak_mg.unwrap() > 50.0 && m.peak_uv.is_none());
            assert!(r.excluded.is_empty(), "{:?}", r.excluded);
        }
    }

    #[test]
    fn a_noisy_sensor_raises_the_bar_without_losing_the_night() {
        // 29 mg of noise per axis: the floor's fluctuation lifts the offset margin past
        // `onset_mg`, which must raise the onset, not exclude the stretch.
        let fs = 50.0;
        let axes = noisy_leg(fs, 120.0, 0.1, 0.3);
        let r = left_leg(&axes, fs);
        let cfg = AccelConfig::default();
        let conditioned =
            condition(&axes, fs, &cfg, &thresholds(&cfg, &wasm()), "left", false).unwrap();
        let margin = conditioned.envelope.margin().iter().fold(0.0, f64::max);
        assert!(margin > AccelConfig::default().onset_mg, "{margin}");
        assert!(r.excluded.is_empty(), "{:?}", r.excluded);
        assert_eq!(r.movements.len(), 1, "{:?}", r.movements);
        let m = r.movements[0];
        assert!(
            (m.onset_s - 30.0).abs() < 0.4 && (m.offset_s - 32.0).abs() < 0.4,
            "{m:?}"
        );
    }

    #[test]
    fn a_movement_next_to_a_turn_survives_it() {
        // A 2-s movement at 30 s, then the sensor turns over (an instant 90° step) 0.6 s
        // after it, or 0.6 s before it; the turn's transient joins the movement into one
        // burst across the turn.
        let fs = 50.0;
        for (turn_s, movement_s) in [(32.6, 30.0), (29.4, 30.0)] {
            let axes = noisy_leg(fs, 120.0, 0.01, 0.15);
            let mut turned = axes.clone();
            for i in (turn_s * fs) as usize..axes[0].len() {
                // Rotate 90° about y: (x, z) → (z, −x).
                turned[0][i] = axes[2][i];
                turned[2][i] = -axes[0][i];
            }
            let r = left_leg(&turned, fs);
            let near: Vec<_> = r
                .movements
                .iter()
                .filter(|m| m.offset_s > 25.0 && m.onset_s < 40.0)
                .collect();
            assert_eq!(
                near.len(),
                1,
                "turn at {turn_s} s: {:?} {:?}",
                r.movements,
                turns(&r)
            );
            assert!(
                (near[0].onset_s - movement_s).abs() < 0.3
                    && (near[0].offset_s - movement_s - 2.0).abs() < 0.3,
                "turn at {turn_s} s: {:?}",
                near[0]
            );
            let turn = turns(&r)
                .iter()
                .find(|p| p.onset_s < turn_s && p.offset_s > turn_s);
            assert!(turn.is_some(), "turn at {turn_s} s: {:?}", turns(&r));
        }
    }

    #[test]
    fn slow_rates_and_bad_settings_are_errors() {
        assert!(
            condition(
                &[vec![0.0; 100], vec![0.0; 100], vec![0.0; 100]],
                5.0,
                &AccelConfig::default(),
                &wasm(),
                "l",
                false
            )
            .is_err()
        );
        assert!(
            AccelConfig {
                offset_mg: 50.0,
                ..AccelConfig::default()
            }
            .validate()
            .is_err()
        );
        assert!((posture::angle_deg([0.0, 0.0, 1.0], [1.0, 0.0, 0.0]) - 90.0).abs() < 1e-9);
    }
}
