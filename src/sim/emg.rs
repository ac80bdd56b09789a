//! Simulated leg EMG nights (the model: [`super`]).
//!
//! Input: a [`SimConfig`] (seed, length in s, rate in Hz, amplitudes in µV, hum in Hz,
//! rates of the planned events). Output: a [`SimNight`]: a two-leg [`Recording`] in µV,
//! its hypnogram and respiratory events, and the truth — every planned movement with its
//! onset and offset in s and whether it is barely visible. The plan ([`super::plan`])
//! places series whose intervals lie inside the rules' 10–90 s (rules digest §3) beside
//! movements the rules must reject: short-interval intruders and movements over 10 s
//! (§1).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::plan::{PlanSpec, plan_movements};
use super::{
    MEAN_ABS, TrueMovement, coloured_noise, heartbeats, hypnogram, poisson, raised, slow_drift,
};
use crate::dsp::butterworth::{Band, butterworth};
use crate::error::{Error, Location, Result};
use crate::events::{LegMovement, Side};
use crate::io::{Hypnogram, Recording, RespiratoryEvent, TimeBase};

/// Parameters of a simulated night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Random seed.
    pub seed: u64,
    /// Length, s.
    pub duration_s: f64,
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Mean rectified resting EMG, µV.
    pub rest_uv: f64,
    /// Relative depth of the slow drift of the resting level (0 = none, 1 = doubles).
    pub rest_drift: f64,
    /// ECG QRS peak amplitude in the leg leads, µV (0 = none).
    pub ecg_uv: f64,
    /// Mean heart rate, beats per minute.
    pub heart_rate_bpm: f64,
    /// Mains frequency, Hz.
    pub mains_hz: f64,
    /// Mains hum amplitude, µV (0 = none).
    pub mains_uv: f64,
    /// Electrode pops per hour.
    pub pops_per_hour: f64,
    /// PLM series per hour.
    pub series_per_hour: f64,
    /// Isolated movements per hour.
    pub isolated_per_hour: f64,
    /// Too-long (> 10 s) movements per hour.
    pub long_per_hour: f64,
    /// Apnoea clusters per hour (each 3–8 events with a movement after most).
    pub apnea_clusters_per_hour: f64,
    /// Decimal places of the time column when written (`None` = full precision).
    pub time_decimals: Option<usize>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            duration_s: 3600.0,
            sample_rate_hz: 256.0,
            rest_uv: 1.5,
            rest_drift: 0.5,
            ecg_uv: 10.0,
            heart_rate_bpm: 65.0,
            mains_hz: 50.0,
            mains_uv: 0.0,
            pops_per_hour: 10.0,
            series_per_hour: 1.5,
            isolated_per_hour: 10.0,
            long_per_hour: 1.0,
            apnea_clusters_per_hour: 0.5,
            time_decimals: Some(6),
        }
    }
}

/// A simulated night.
#[derive(Debug, Clone)]
pub struct SimNight {
    /// The signals.
    pub recording: Recording,
    /// True monolateral leg movements, sorted by onset.
    pub truth: Vec<TrueMovement>,
    /// Sleep stages.
    pub hypnogram: Hypnogram,
    /// Respiratory events.
    pub respiratory: Vec<RespiratoryEvent>,
    /// The configuration used.
    pub config: SimConfig,
}

/// Simulates a night.
///
/// # Errors
/// [`Error::Config`] when a parameter is out of range (a rate outside 100 Hz–10 kHz, a
/// duration outside 60 s–24 h, event rates outside 0–3600 per hour, levels outside
/// 0–10 000 µV).
pub fn simulate(cfg: &SimConfig) -> Result<SimNight> {
    // Rates per hour up to one a second, levels up to 10 mV: beyond, a night would only
    // ask for memory and time out of proportion.
    let fin_nonneg = |f: &'static str, v: f64| {
        let max = if f.ends_with("_per_hour") {
            3_600.0
        } else {
            10_000.0
        };
        Error::require_in(f, v, [0.0, max], "")
    };
    Error::require_in(
        "sample_rate_hz",
        cfg.sample_rate_hz,
        [100.0, 10_000.0],
        "Hz",
    )?;
    if !(cfg.duration_s.is_finite() && cfg.duration_s >= 60.0 && cfg.duration_s <= 86_400.0) {
        return Err(Error::config("duration_s", "must be between 60 s and 24 h"));
    }
    for (f, v) in [
        ("rest_uv", cfg.rest_uv),
        ("rest_drift", cfg.rest_drift),
        ("ecg_uv", cfg.ecg_uv),
        ("heart_rate_bpm", cfg.heart_rate_bpm),
        ("mains_uv", cfg.mains_uv),
        ("pops_per_hour", cfg.pops_per_hour),
        ("series_per_hour", cfg.series_per_hour),
        ("isolated_per_hour", cfg.isolated_per_hour),
        ("long_per_hour", cfg.long_per_hour),
        ("apnea_clusters_per_hour", cfg.apnea_clusters_per_hour),
        ("mains_hz", cfg.mains_hz),
    ] {
        fin_nonneg(f, v)?;
    }
    if cfg.heart_rate_bpm < 30.0 || cfg.heart_rate_bpm > 180.0 {
        return Err(Error::config("heart_rate_bpm", "must be 30–180"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let dur = cfg.duration_s;
    let fs = cfg.sample_rate_hz;
    let hyp = hypnogram(&mut rng, dur)?;
    let spec = PlanSpec {
        series_per_hour: cfg.series_per_hour,
        isolated_per_hour: cfg.isolated_per_hour,
        long_per_hour: cfg.long_per_hour,
        apnea_clusters_per_hour: cfg.apnea_clusters_per_hour,
        amplitude: (10.0, 80.0),
        faint: (4.0, 8.0),
        long_min: 15.0,
    };
    let (kept, respiratory) = plan_movements(&mut rng, dur, &spec);
    let hours = dur / 3600.0;

    // Signals.
    let n = (dur * fs).round() as usize;
    let band = butterworth(4, Band::BandPass(20.0, 100f64.min(0.45 * fs)), fs)?;
    let ecg_beats = heartbeats(&mut rng, dur, cfg.heart_rate_bpm);
    let mut channels = Vec::new();
    for side in [Side::Left, Side::Right] {
        let rest_noise = coloured_noise(&mut rng, n, &band);
        let burst_noise = coloured_noise(&mut rng, n, &band);
        let drift = slow_drift(&mut rng, dur);
        let mut x = vec![0.0; n];
        // Resting EMG + drift + wander.
        let wander_phase: f64 = rng.random_range(0.0..std::f64::consts::TAU);
        for (i, v) in x.iter_mut().enumerate() {
            let t = i as f64 / fs;
            let rest = cfg.rest_uv * (1.0 + cfg.rest_drift * drift(t));
            *v = rest / MEAN_ABS * rest_noise[i]
                + 15.0 * (std::f64::consts::TAU * 0.3 * t + wander_phase).sin();
        }
        // Movements: the total σ is such that the mean rectified amplitude rises by A.
        for p in kept.iter().filter(|p| p.side == side) {
            let ramp_on = rng.random_range(0.04..0.15f64).min(p.duration_s / 4.0);
            let ramp_off = rng.random_range(0.04..0.15f64).min(p.duration_s / 4.0);
            let i0 = (p.onset_s * fs).ceil() as usize;
            let i1 = (((p.onset_s + p.duration_s) * fs).floor() as usize).min(n);
            let modulation_period = rng.random_range(0.3..1.5);
            for (i, v) in x.iter_mut().enumerate().take(i1).skip(i0) {
                let t = i as f64 / fs - p.onset_s;
                let env = raised(t / ramp_on) * raised((p.duration_s - t) / ramp_off);
                let m = 0.8 + 0.2 * (std::f64::consts::TAU * t / modulation_period).sin();
                let rest = cfg.rest_uv * (1.0 + cfg.rest_drift * drift(i as f64 / fs));
                let total = (rest + p.amplitude * m) / MEAN_ABS;
                let extra_sigma = (total * total - (rest / MEAN_ABS).powi(2)).max(0.0).sqrt();
                *v += env * extra_sigma * burst_noise[i];
            }
        }
        // ECG.
        if cfg.ecg_uv > 0.0 {
            let gain = if side == Side::Left { 1.0 } else { -0.7 };
            let half = (0.06 * fs) as isize;
            for &b in &ecg_beats {
                let c = (b * fs) as isize;
                for j in -half..=half {
                    let i = c + j;
                    if i < 0 || i as usize >= n {
                        continue;
                    }
                    let u = j as f64 / fs / 0.012; // QRS ≈ 80 ms wide
                    x[i as usize] += gain * cfg.ecg_uv * (1.0 - u * u) * (-u * u / 2.0).exp();
                }
            }
        }
        // Mains.
        if cfg.mains_uv > 0.0 {
            let ph: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            for (i, v) in x.iter_mut().enumerate() {
                let w = std::f64::consts::TAU * cfg.mains_hz * i as f64 / fs + ph;
                *v += cfg.mains_uv * (w.sin() + 0.2 * (3.0 * w).sin());
            }
        }
        // Pops: away from movements on this leg.
        for _ in 0..poisson(&mut rng, cfg.pops_per_hour * hours) {
            let t0 = rng.random_range(1.0..dur - 1.0);
            if kept.iter().any(|p| {
                p.side == side && t0 > p.onset_s - 1.5 && t0 < p.onset_s + p.duration_s + 1.5
            }) {
                continue;
            }
            let a = rng.random_range(50.0..300.0) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            let tau = rng.random_range(0.01..0.04);
            let i0 = (t0 * fs) as usize;
            for (j, v) in x.iter_mut().skip(i0).take((0.2 * fs) as usize).enumerate() {
                let t = j as f64 / fs;
                *v += a * (-t / tau).exp() * if j < 2 { 1.0 } else { -0.3 };
            }
        }
        channels.push((side, format!("{}_uv", side.as_str()), x));
    }
    let truth = kept
        .into_iter()
        .map(|p| TrueMovement {
            lm: LegMovement::new(p.onset_s, p.onset_s + p.duration_s, p.side),
            amplitude_uv: p.amplitude,
            certain: p.certain,
        })
        .collect();
    // The model's samples are finite: no scan for infinite ones.
    let recording = Recording::from_legs(
        fs,
        channels,
        None,
        TimeBase::InMemory,
        &Location::default(),
        true,
    )?;
    Ok(SimNight {
        recording,
        truth,
        hypnogram: hyp,
        respiratory,
        config: cfg.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_is_deterministic_and_valid() {
        let cfg = SimConfig {
            duration_s: 600.0,
            ..SimConfig::default()
        };
        let a = simulate(&cfg).unwrap();
        let b = simulate(&cfg).unwrap();
        assert_eq!(a.truth, b.truth);
        assert_eq!(
            a.recording.channels()[0].samples_uv()[1000],
            b.recording.channels()[0].samples_uv()[1000]
        );
        for side in [Side::Left, Side::Right] {
            let t: Vec<_> = a.truth.iter().filter(|t| t.lm.side == side).collect();
            assert!(
                t.windows(2)
                    .all(|w| w[1].lm.onset_s > w[0].lm.offset_s + 1.0)
            );
        }
        assert!(
            simulate(&SimConfig {
                sample_rate_hz: 50.0,
                ..SimConfig::default()
            })
            .is_err()
        );
    }
}
