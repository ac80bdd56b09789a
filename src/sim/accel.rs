//! Simulated ankle-accelerometer nights: the same kind of night as [`super::emg`]'s, as
//! 3-axis acceleration with gravity, posture changes, sensor noise, and (when written out)
//! clock drift and jitter in the time stamps.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::plan::{PlanSpec, plan_movements};
use super::{TrueMovement, hypnogram, poisson};
use crate::error::{Error, Location, Result};
use crate::events::{LegMovement, Side};
use crate::io::{AccelRecording, Hypnogram, RespiratoryEvent, TimeBase};

/// Parameters of a simulated accelerometer night (ankle sensors, both legs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccelSimConfig {
    /// Random seed.
    pub seed: u64,
    /// Length, s.
    pub duration_s: f64,
    /// Sample rate, Hz (10–200).
    pub sample_rate_hz: f64,
    /// Sensor noise per axis (standard deviation), mg.
    pub noise_mg: f64,
    /// Smallest and largest peak movement amplitude (log-uniform), mg.
    pub amplitude_mg: (f64, f64),
    /// PLM series per hour.
    pub series_per_hour: f64,
    /// Isolated movements per hour (15 % of them faint: 6–14 mg). Movements whose peak is
    /// below 5 × `noise_mg` are marked `certain = false`.
    pub isolated_per_hour: f64,
    /// Too-long (> 10 s) movements per hour.
    pub long_per_hour: f64,
    /// Apnoea clusters per hour.
    pub apnea_clusters_per_hour: f64,
    /// Posture changes per hour (turns of 40–160° over 0.3–2 s; both legs together 70 %).
    pub posture_changes_per_hour: f64,
    /// Clock drift of the time column, parts per million (wearables drift).
    pub clock_drift_ppm: f64,
    /// Standard deviation of time-stamp jitter, s.
    pub time_jitter_s: f64,
    /// Decimal places of the time column when written.
    pub time_decimals: Option<usize>,
}

impl Default for AccelSimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            duration_s: 3600.0,
            sample_rate_hz: 50.0,
            noise_mg: 5.0,
            amplitude_mg: (40.0, 300.0),
            series_per_hour: 2.5,
            isolated_per_hour: 10.0,
            long_per_hour: 1.0,
            apnea_clusters_per_hour: 0.5,
            posture_changes_per_hour: 6.0,
            clock_drift_ppm: 0.0,
            time_jitter_s: 0.0,
            time_decimals: Some(4),
        }
    }
}

/// A simulated accelerometer night.
#[derive(Debug, Clone)]
pub struct AccelSimNight {
    /// The signals (on the sensor's own uniform sample grid).
    pub recording: AccelRecording,
    /// True leg movements, in the time of the written time column (drift applied).
    pub truth: Vec<TrueMovement>,
    /// Posture changes (start, end) per leg, s, for reference.
    pub posture_changes: Vec<(Side, f64, f64)>,
    /// Sleep stages.
    pub hypnogram: Hypnogram,
    /// Respiratory events.
    pub respiratory: Vec<RespiratoryEvent>,
    /// The configuration used.
    pub config: AccelSimConfig,
}

/// A uniformly random unit vector.
fn unit_vector(rng: &mut ChaCha8Rng) -> [f64; 3] {
    loop {
        let v: [f64; 3] = [
            StandardNormal.sample(rng),
            StandardNormal.sample(rng),
            StandardNormal.sample(rng),
        ];
        let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        if n > 1e-6 {
            return [v[0] / n, v[1] / n, v[2] / n];
        }
    }
}

/// Rotates `v` towards a direction `angle` radians away, about an axis perpendicular to it.
fn turned(rng: &mut ChaCha8Rng, v: [f64; 3], angle: f64) -> [f64; 3] {
    let r = unit_vector(rng);
    // Perpendicular component of a random vector.
    let d = r[0] * v[0] + r[1] * v[1] + r[2] * v[2];
    let mut p = [r[0] - d * v[0], r[1] - d * v[1], r[2] - d * v[2]];
    let n = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt().max(1e-9);
    for x in &mut p {
        *x /= n;
    }
    let (c, s) = (angle.cos(), angle.sin());
    [
        c * v[0] + s * p[0],
        c * v[1] + s * p[1],
        c * v[2] + s * p[2],
    ]
}

/// Normalised linear interpolation between two unit vectors (`u` in 0–1).
fn blend(a: [f64; 3], b: [f64; 3], u: f64) -> [f64; 3] {
    let w = [
        a[0] + (b[0] - a[0]) * u,
        a[1] + (b[1] - a[1]) * u,
        a[2] + (b[2] - a[2]) * u,
    ];
    let n = (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).sqrt().max(1e-9);
    [w[0] / n, w[1] / n, w[2] / n]
}

/// Simulates an accelerometer night (see [`AccelSimConfig`]); movements are planned as for
/// EMG nights, with peak amplitudes in mg, Hann-shaped envelopes over their whole duration
/// (so their first and last tens of ms are buried in the noise, as in real recordings),
/// oscillations of 1–8 Hz along a random direction, and a small temporary tilt.
///
/// # Errors
/// [`Error::Config`] when a parameter is out of range.
pub fn simulate_accel(cfg: &AccelSimConfig) -> Result<AccelSimNight> {
    if !(cfg.sample_rate_hz.is_finite() && (10.0..=200.0).contains(&cfg.sample_rate_hz)) {
        return Err(Error::config(
            "sample_rate_hz",
            "must be 10–200 Hz for accelerometers",
        ));
    }
    if !(cfg.duration_s.is_finite() && cfg.duration_s >= 60.0 && cfg.duration_s <= 86_400.0) {
        return Err(Error::config("duration_s", "must be between 60 s and 24 h"));
    }
    let (lo, hi) = cfg.amplitude_mg;
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > lo) {
        return Err(Error::config(
            "amplitude_mg",
            "must be an increasing pair of positive numbers",
        ));
    }
    for (f, v) in [
        ("noise_mg", cfg.noise_mg),
        ("series_per_hour", cfg.series_per_hour),
        ("isolated_per_hour", cfg.isolated_per_hour),
        ("long_per_hour", cfg.long_per_hour),
        ("apnea_clusters_per_hour", cfg.apnea_clusters_per_hour),
        ("posture_changes_per_hour", cfg.posture_changes_per_hour),
        ("time_jitter_s", cfg.time_jitter_s),
    ] {
        // Rates per hour up to one a second, noise up to 10 g, jitter up to 1 s.
        let max = match f {
            "noise_mg" => 10_000.0,
            "time_jitter_s" => 1.0,
            _ => 3_600.0,
        };
        Error::require_in(f, v, [0.0, max], "")?;
    }
    if !(cfg.clock_drift_ppm.is_finite() && cfg.clock_drift_ppm.abs() < 10_000.0) {
        return Err(Error::config(
            "clock_drift_ppm",
            "must be within ±10 000 ppm",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let (dur, fs) = (cfg.duration_s, cfg.sample_rate_hz);
    let hyp = hypnogram(&mut rng, dur)?;
    let spec = PlanSpec {
        series_per_hour: cfg.series_per_hour,
        isolated_per_hour: cfg.isolated_per_hour,
        long_per_hour: cfg.long_per_hour,
        apnea_clusters_per_hour: cfg.apnea_clusters_per_hour,
        amplitude: cfg.amplitude_mg,
        faint: (6.0, 14.0),
        long_min: lo.max(60.0),
    };
    let (kept, respiratory) = plan_movements(&mut rng, dur, &spec);
    // Posture changes, away from movements on either leg.
    let mut turns: Vec<(Side, f64, f64, f64)> = Vec::new(); // side, start, length, angle
    for _ in 0..poisson(&mut rng, cfg.posture_changes_per_hour * dur / 3600.0) {
        let t = rng.random_range(5.0..dur - 5.0);
        let len = rng.random_range(0.3..2.0);
        let both = rng.random_bool(0.7);
        let first = if rng.random_bool(0.5) {
            Side::Left
        } else {
            Side::Right
        };
        for side in [
            first,
            if first == Side::Left {
                Side::Right
            } else {
                Side::Left
            },
        ]
        .into_iter()
        .take(if both { 2 } else { 1 })
        {
            let angle = rng.random_range(40f64.to_radians()..160f64.to_radians());
            let clear = !kept.iter().any(|p| {
                p.side == side && t < p.onset_s + p.duration_s + 3.0 && t + len > p.onset_s - 3.0
            }) && !turns
                .iter()
                .any(|&(s, a, l, _)| s == side && t < a + l + 5.0 && t + len > a - 5.0);
            if clear {
                turns.push((side, t, len, angle));
            }
        }
    }
    turns.sort_by(|a, b| a.1.total_cmp(&b.1));

    let n = (dur * fs).round() as usize;
    let noise_g = cfg.noise_mg / 1000.0;
    let mut legs = Vec::new();
    for side in [Side::Left, Side::Right] {
        // Gravity timeline: orientation before and after each turn.
        let mut orientation = unit_vector(&mut rng);
        let mut timeline: Vec<(f64, f64, [f64; 3], [f64; 3])> = Vec::new();
        for &(_, t, len, angle) in turns.iter().filter(|x| x.0 == side) {
            let next = turned(&mut rng, orientation, angle);
            timeline.push((t, len, orientation, next));
            orientation = next;
        }
        let start = timeline.first().map_or(orientation, |x| x.2);
        let mut axes = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
        let mut g_now = start;
        let mut ti = 0;
        for i in 0..n {
            let t = i as f64 / fs;
            while ti < timeline.len() && t >= timeline[ti].0 + timeline[ti].1 {
                g_now = timeline[ti].3;
                ti += 1;
            }
            let g = match timeline.get(ti) {
                Some(&(t0, len, a, b)) if t >= t0 => {
                    let u = (t - t0) / len;
                    blend(a, b, u * u * (3.0 - 2.0 * u))
                }
                _ => g_now,
            };
            for (axis, gv) in axes.iter_mut().zip(g) {
                let z: f64 = StandardNormal.sample(&mut rng);
                axis[i] = gv + noise_g * z;
            }
        }
        // Movements.
        for p in kept.iter().filter(|p| p.side == side) {
            let dir = unit_vector(&mut rng);
            let (f1, f2) = (rng.random_range(1.0..5.0), rng.random_range(2.0..8.0));
            let (ph1, ph2) = (
                rng.random_range(0.0..std::f64::consts::TAU),
                rng.random_range(0.0..std::f64::consts::TAU),
            );
            let tilt = rng.random_range(0.0..5f64.to_radians());
            let tilt_dir = unit_vector(&mut rng);
            let i0 = (p.onset_s * fs).ceil() as usize;
            let i1 = (((p.onset_s + p.duration_s) * fs).floor() as usize).min(n);
            let a = p.amplitude / 1000.0;
            for i in i0..i1 {
                let t = i as f64 / fs;
                let u = (t - p.onset_s) / p.duration_s;
                let w = (std::f64::consts::PI * u).sin().powi(2);
                let osc = 0.7 * (std::f64::consts::TAU * f1 * t + ph1).sin()
                    + 0.3 * (std::f64::consts::TAU * f2 * t + ph2).sin();
                for (k, axis) in axes.iter_mut().enumerate() {
                    // Oscillation along `dir`, plus a slight tilt of the gravity vector.
                    axis[i] += a * w * osc * dir[k] + tilt * w * tilt_dir[k];
                }
            }
        }
        legs.push((
            side,
            ["x", "y", "z"].map(|ax| format!("{}_{ax}", side.as_str())),
            axes,
        ));
    }
    let scale = 1.0 + cfg.clock_drift_ppm * 1e-6;
    // A movement whose peak is below 5× the per-axis noise (its RMS no larger than the
    // noise magnitude's) is barely visible: it counts neither way.
    let truth = kept
        .into_iter()
        .map(|p| TrueMovement {
            lm: LegMovement::new(
                p.onset_s * scale,
                (p.onset_s + p.duration_s) * scale,
                p.side,
            ),
            amplitude_uv: p.amplitude,
            certain: p.certain && p.amplitude >= 5.0 * cfg.noise_mg,
        })
        .collect();
    let recording =
        AccelRecording::from_legs(fs, legs, None, TimeBase::InMemory, &Location::default())?;
    Ok(AccelSimNight {
        recording,
        truth,
        posture_changes: turns
            .iter()
            .map(|&(s, t, l, _)| (s, t * scale, (t + l) * scale))
            .collect(),
        hypnogram: Hypnogram::from_stages(
            30.0 * scale,
            &hyp.epochs().iter().map(|e| e.1).collect::<Vec<_>>(),
        )?,
        respiratory: respiratory
            .into_iter()
            .map(|e| RespiratoryEvent {
                onset_s: e.onset_s * scale,
                offset_s: e.offset_s * scale,
                ..e
            })
            .collect(),
        config: cfg.clone(),
    })
}
