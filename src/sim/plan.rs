//! Where a simulated night's leg movements are: series, intruders, isolated and
//! too-long movements and post-apnoea movements, with their amplitudes and whether they
//! are barely visible — the same plan for EMG and accelerometer nights.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::poisson;
use crate::events::Side;
use crate::io::RespiratoryEvent;

pub(crate) struct Planned {
    pub(crate) side: Side,
    pub(crate) onset_s: f64,
    pub(crate) duration_s: f64,
    /// µV (EMG) or mg (accelerometer).
    pub(crate) amplitude: f64,
    pub(crate) certain: bool,
}

/// What to plan: rates per hour and amplitudes (log-uniform range, faint range, floor of
/// too-long movements), in the simulated signal's unit.
pub(crate) struct PlanSpec {
    pub(crate) series_per_hour: f64,
    pub(crate) isolated_per_hour: f64,
    pub(crate) long_per_hour: f64,
    pub(crate) apnea_clusters_per_hour: f64,
    pub(crate) amplitude: (f64, f64),
    pub(crate) faint: (f64, f64),
    pub(crate) long_min: f64,
}

/// Plans the movements and respiratory events of a night (shared by the EMG and
/// accelerometer simulators): PLM series, short-IMI intruders, isolated and faint
/// movements, too-long movements, apnoea clusters with post-apnoea movements; movements on
/// one leg at least 1 s apart.
pub(crate) fn plan_movements(
    rng: &mut ChaCha8Rng,
    dur: f64,
    spec: &PlanSpec,
) -> (Vec<Planned>, Vec<RespiratoryEvent>) {
    let mut plan: Vec<Planned> = Vec::new();
    let mut respiratory = Vec::new();
    let hours = dur / 3600.0;
    let amp = |rng: &mut ChaCha8Rng| -> f64 {
        rng.random_range(spec.amplitude.0.ln()..spec.amplitude.1.ln())
            .exp()
    };
    let lm_dur = |rng: &mut ChaCha8Rng| -> f64 {
        // Shortest 0.55 s: a burst's ramps spend a few tens of ms below the +2 µV resting
        // band, where no rule-faithful detector can see them, so a true 0.50 s burst is not
        // an LM by the standard's measure (the shared dev model keeps the same margin).
        if rng.random_bool(0.15) {
            rng.random_range(0.55..0.8)
        } else {
            rng.random_range(0.8..4.0)
        }
    };
    // PLM series.
    for _ in 0..poisson(rng, spec.series_per_hour * hours) {
        let n = rng.random_range(4..=40);
        let imi = rng.random_range(12.0..60.0);
        let mut t = rng.random_range(0.0..dur);
        let mode = rng.random_range(0..4); // 0 left, 1 right, 2 bilateral, 3 alternating
        for k in 0..n {
            let sides: Vec<Side> = match mode {
                0 => vec![Side::Left],
                1 => vec![Side::Right],
                2 => vec![Side::Left, Side::Right],
                _ => vec![if k % 2 == 0 { Side::Left } else { Side::Right }],
            };
            let d = lm_dur(rng);
            for (i, side) in sides.into_iter().enumerate() {
                let shift = if i == 0 {
                    0.0
                } else {
                    rng.random_range(-0.4..0.4)
                };
                let dd = if i == 0 {
                    d
                } else {
                    (d + rng.random_range(-0.3..0.3)).max(0.6)
                };
                plan.push(Planned {
                    side,
                    onset_s: t + shift,
                    duration_s: dd,
                    amplitude: amp(rng),
                    certain: true,
                });
            }
            if rng.random_bool(0.05) {
                // A short-IMI intruder.
                let side = if rng.random_bool(0.5) {
                    Side::Left
                } else {
                    Side::Right
                };
                let at = t + rng.random_range(3.0..8.0);
                plan.push(Planned {
                    side,
                    onset_s: at,
                    duration_s: lm_dur(rng),
                    amplitude: amp(rng),
                    certain: true,
                });
            }
            t += imi * rng.random_range(0.9..1.1);
        }
    }
    // Isolated, barely visible and too-long movements.
    for _ in 0..poisson(rng, spec.isolated_per_hour * hours) {
        let side = if rng.random_bool(0.5) {
            Side::Left
        } else {
            Side::Right
        };
        let faint = rng.random_bool(0.15);
        let a = if faint {
            rng.random_range(spec.faint.0..spec.faint.1)
        } else {
            amp(rng)
        };
        plan.push(Planned {
            side,
            onset_s: rng.random_range(0.0..dur),
            duration_s: lm_dur(rng),
            amplitude: a,
            certain: !faint,
        });
    }
    for _ in 0..poisson(rng, spec.long_per_hour * hours) {
        let side = if rng.random_bool(0.5) {
            Side::Left
        } else {
            Side::Right
        };
        plan.push(Planned {
            side,
            onset_s: rng.random_range(0.0..dur),
            duration_s: rng.random_range(11.0..30.0),
            amplitude: amp(rng).max(spec.long_min),
            certain: true,
        });
    }
    // Apnoea clusters with post-apnoea movements.
    for _ in 0..poisson(rng, spec.apnea_clusters_per_hour * hours) {
        let mut t = rng.random_range(0.0..dur);
        for _ in 0..rng.random_range(3..=8) {
            let len = rng.random_range(10.0..35.0);
            let (on, off) = (t, t + len);
            if off + 5.0 < dur {
                respiratory.push(RespiratoryEvent {
                    onset_s: on,
                    offset_s: off,
                    kind: Some(
                        if rng.random_bool(0.6) {
                            "obstructive_apnea"
                        } else {
                            "hypopnea"
                        }
                        .into(),
                    ),
                });
                if rng.random_bool(0.8) {
                    let at = off + rng.random_range(0.0..3.0);
                    let both = rng.random_bool(0.5);
                    let d = lm_dur(rng);
                    for side in [Side::Left, Side::Right]
                        .into_iter()
                        .take(if both { 2 } else { 1 })
                    {
                        plan.push(Planned {
                            side,
                            onset_s: at,
                            duration_s: d,
                            amplitude: amp(rng),
                            certain: true,
                        });
                    }
                }
            }
            t = off + rng.random_range(15.0..40.0);
        }
    }
    respiratory.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    // Keep movements inside the night and at least 1 s apart on the same leg.
    plan.retain(|p| p.onset_s >= 2.0 && p.onset_s + p.duration_s <= dur - 2.0);
    plan.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    let mut kept: Vec<Planned> = Vec::new();
    let mut last_end = [f64::NEG_INFINITY; 2];
    for p in plan {
        let i = usize::from(p.side == Side::Right);
        if p.onset_s > last_end[i] + 1.0 {
            last_end[i] = p.onset_s + p.duration_s;
            kept.push(p);
        }
    }

    (kept, respiratory)
}
