//! Simulated nights with known truth, for tests, benchmarks and users' own validation.
//!
//! Output: a [`SimNight`]: a two-leg EMG [`Recording`] (µV), the true monolateral leg
//! movements (s, with a `certain` flag), a [`Hypnogram`] and respiratory events. Writers
//! produce the files `plm detect` reads (`NAME.csv`, `NAME.truth.csv`, `NAME.hyp.csv`,
//! `NAME.resp.csv`).
//!
//! The model, all parameters in [`SimConfig`]:
//! * **Resting EMG**: Gaussian noise band-limited to 20–100 Hz (capped at 0.45 × rate), so
//!   amplitudes are those a scorer sees through the AASM 10–100 Hz leg-EMG filter,
//!   scaled so its mean rectified amplitude is `rest_uv`, times a slow random drift of
//!   relative depth `rest_drift` (periods of 3–60 min), plus 0.3 Hz baseline wander.
//! * **Leg movements**: the same noise with a raised-cosine envelope (ramps 40–150 ms),
//!   amplitude modulated inside; the *increase* of the mean rectified amplitude over rest
//!   is the movement's amplitude (log-uniform 10–80 µV; "barely visible" ones 4–8 µV are
//!   marked `certain = false` and count neither way in [`evaluate`]).
//! * **Sequences**: PLM series (4–40 movements, IMI 12–60 s with 10 % jitter), unilateral
//!   or bilateral (legs 0–0.4 s apart), short-IMI intruders (3–8 s after a series member),
//!   isolated movements, too-long movements (11–30 s), and post-apnoea movements 0–3 s after
//!   the end of apnoeas arriving in clusters.
//! * **Contamination**: ECG (QRS ≈ 80 ms, `ecg_uv` peak, heart rate with variability),
//!   mains hum at `mains_hz` with a 3rd harmonic, electrode pops (< 0.2 s, up to 300 µV).
//! * **Hypnogram**: a wake period (5–15 min, at most a tenth of the night), then ~90-min NREM/REM cycles with brief awakenings.
//!
//! The model was written with this crate; nights from an independent model are in the
//! project's shared dev set. Deterministic for a given seed (ChaCha8).

use std::io::Write;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::context::{Hypnogram, RespiratoryEvent, Stage};
use crate::error::{Error, Result};
use crate::events::{LegMovement, Side};
use crate::filter::{Band, butterworth};
use crate::signal::{Channel, Recording, TimeBase};

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

/// A true leg movement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrueMovement {
    /// The movement.
    pub lm: LegMovement,
    /// EMG: increase of the mean rectified amplitude over rest, µV. Accelerometer
    /// nights: peak dynamic acceleration, mg.
    pub amplitude_uv: f64,
    /// `false` for barely visible movements (count neither way).
    pub certain: bool,
}

impl TrueMovement {
    /// The movement as a reference for [`compare`](mod@crate::compare) (uncertain ones count neither
    /// way there).
    #[must_use]
    pub fn reference(&self) -> crate::compare::ReferenceMovement {
        crate::compare::ReferenceMovement {
            lm: self.lm,
            certain: self.certain,
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

struct Planned {
    side: Side,
    onset_s: f64,
    duration_s: f64,
    /// µV (EMG) or mg (accelerometer).
    amplitude: f64,
    certain: bool,
}

/// Simulates a night.
///
/// # Errors
/// [`Error::Config`] when a parameter is out of range (rate below 100 Hz, non-positive
/// duration, negative rates or amplitudes).
pub fn simulate(cfg: &SimConfig) -> Result<SimNight> {
    let fin_nonneg = |f: &'static str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(Error::config(f, format!("must be ≥ 0, got {v}")))
        }
    };
    if !(cfg.sample_rate_hz.is_finite() && cfg.sample_rate_hz >= 100.0) {
        return Err(Error::config(
            "sample_rate_hz",
            "must be at least 100 Hz for EMG",
        ));
    }
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
    let hyp = hypnogram(&mut rng, dur);
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
        channels.push(Channel {
            name: format!("{}_uv", side.as_str()),
            side,
            samples_uv: x,
        });
    }
    let truth = kept
        .into_iter()
        .map(|p| TrueMovement {
            lm: LegMovement::new(p.onset_s, p.onset_s + p.duration_s, p.side),
            amplitude_uv: p.amplitude,
            certain: p.certain,
        })
        .collect();
    let recording = Recording {
        sample_rate_hz: fs,
        channels,
        start_time: None,
        time_base: TimeBase::InMemory,
    };
    Ok(SimNight {
        recording,
        truth,
        hypnogram: hyp,
        respiratory,
        config: cfg.clone(),
    })
}

/// What to plan: rates per hour and amplitudes (log-uniform range, faint range, floor of
/// too-long movements), in the simulated signal's unit.
struct PlanSpec {
    series_per_hour: f64,
    isolated_per_hour: f64,
    long_per_hour: f64,
    apnea_clusters_per_hour: f64,
    amplitude: (f64, f64),
    faint: (f64, f64),
    long_min: f64,
}

/// Plans the movements and respiratory events of a night (shared by the EMG and
/// accelerometer simulators): PLM series, short-IMI intruders, isolated and faint
/// movements, too-long movements, apnoea clusters with post-apnoea movements; movements on
/// one leg at least 1 s apart.
fn plan_movements(
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

/// Mean of |x| for a unit Gaussian: √(2/π).
const MEAN_ABS: f64 = 0.797_884_560_802_865_4;

/// Raised-cosine ramp: 0 for u ≤ 0, 1 for u ≥ 1.
fn raised(u: f64) -> f64 {
    if u <= 0.0 {
        0.0
    } else if u >= 1.0 {
        1.0
    } else {
        0.5 - 0.5 * (std::f64::consts::PI * u).cos()
    }
}

/// Unit-variance Gaussian noise filtered by `sos` (forward), re-normalised to unit σ.
fn coloured_noise(rng: &mut ChaCha8Rng, n: usize, sos: &[crate::filter::Section]) -> Vec<f64> {
    let mut x: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
    let mut z = vec![[0.0f64; 2]; sos.len()];
    for v in &mut x {
        let mut s = *v;
        for (c, zk) in sos.iter().zip(z.iter_mut()) {
            let y = c[0] * s + zk[0];
            zk[0] = c[1] * s - c[4] * y + zk[1];
            zk[1] = c[2] * s - c[5] * y;
            s = y;
        }
        *v = s;
    }
    let var = x.iter().map(|v| v * v).sum::<f64>() / n.max(1) as f64;
    let k = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
    for v in &mut x {
        *v *= k;
    }
    x
}

/// A smooth random function of time in [0, 1] (sum of slow sinusoids).
fn slow_drift(rng: &mut ChaCha8Rng, _dur: f64) -> impl Fn(f64) -> f64 + use<> {
    let comps: Vec<(f64, f64)> = (0..4)
        .map(|_| {
            (
                std::f64::consts::TAU / rng.random_range(180.0..3600.0),
                rng.random_range(0.0..std::f64::consts::TAU),
            )
        })
        .collect();
    move |t| {
        let s: f64 = comps.iter().map(|(w, p)| (w * t + p).sin()).sum::<f64>() / 4.0;
        f64::midpoint(s, 1.0)
    }
}

/// Heartbeat times, s.
fn heartbeats(rng: &mut ChaCha8Rng, dur: f64, bpm: f64) -> Vec<f64> {
    let mut t = rng.random_range(0.0..1.0);
    let mut out = Vec::new();
    while t < dur {
        out.push(t);
        t += 60.0 / bpm * rng.random_range(0.9..1.1);
    }
    out
}

/// A Poisson-distributed count with mean `lambda` (Knuth; λ is small here).
fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> usize {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 50.0 {
        let g: f64 = StandardNormal.sample(rng);
        return (lambda + lambda.sqrt() * g).round().max(0.0) as usize;
    }
    let l = (-lambda).exp();
    let (mut k, mut p) = (0, 1.0);
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// A cyclic hypnogram of 30-s epochs.
fn hypnogram(rng: &mut ChaCha8Rng, dur: f64) -> Hypnogram {
    let n = (dur / 30.0).ceil() as usize;
    let mut stages = Vec::with_capacity(n);
    let push = |s: Stage, minutes: f64, stages: &mut Vec<Stage>| {
        for _ in 0..((minutes * 2.0).round() as usize).max(1) {
            stages.push(s);
        }
    };
    // Wake after lights-off: 5–15 min, at most a tenth of the night.
    push(
        Stage::W,
        rng.random_range(5.0..15.0f64).min(dur / 600.0),
        &mut stages,
    );
    let mut cycle = 0;
    while stages.len() < n {
        push(Stage::N1, rng.random_range(2.0..6.0), &mut stages);
        push(Stage::N2, rng.random_range(10.0..25.0), &mut stages);
        push(
            Stage::N3,
            rng.random_range(5.0..30.0) / f64::from(cycle + 1),
            &mut stages,
        );
        push(Stage::N2, rng.random_range(5.0..15.0), &mut stages);
        if rng.random_bool(0.4) {
            push(Stage::W, rng.random_range(0.5..3.0), &mut stages);
        }
        push(
            Stage::R,
            rng.random_range(5.0..10.0) * f64::from(cycle + 1).min(3.0),
            &mut stages,
        );
        cycle += 1;
    }
    stages.truncate(n);
    Hypnogram::from_stages(30.0, &stages)
}

/// An I/O error mapper for `p`.
fn io(p: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(Some(p), e)
}

impl SimNight {
    /// Writes `PREFIX.csv` (`time_s,left_uv,right_uv`), `PREFIX.truth.csv`
    /// (`onset_s,offset_s,side,certain`), `PREFIX.hyp.csv` and `PREFIX.resp.csv`.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written.
    pub fn write(&self, prefix: &Path) -> Result<()> {
        let with = |ext: &str| {
            let mut p = prefix.as_os_str().to_owned();
            p.push(ext);
            std::path::PathBuf::from(p)
        };
        let create = |p: &Path| -> Result<std::io::BufWriter<std::fs::File>> {
            Ok(std::io::BufWriter::new(
                std::fs::File::create(p).map_err(|e| Error::io(Some(p), e))?,
            ))
        };
        let night = with(".csv");
        let mut w = create(&night)?;
        self.write_signals(&mut w).map_err(io(&night))?;
        w.flush().map_err(io(&night))?;
        write_context(prefix, &self.truth, &self.hypnogram, &self.respiratory)
    }

    /// Writes the signal CSV (`time_s,left_uv,right_uv`) to `w`, times rounded to
    /// `time_decimals`, values to 0.001 µV.
    ///
    /// # Errors
    /// I/O errors from `w`.
    pub fn write_signals<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        let r = &self.recording;
        let names: Vec<&str> = r.channels.iter().map(|c| c.name.as_str()).collect();
        writeln!(w, "time_s,{}", names.join(","))?;
        let dec = self.config.time_decimals.unwrap_or(9);
        for i in 0..r.len() {
            write!(w, "{:.*}", dec, r.time_s(i))?;
            for c in &r.channels {
                write!(w, ",{:.3}", c.samples_uv[i])?;
            }
            w.write_all(b"\n")?;
        }
        Ok(())
    }
}

pub use crate::compare::Agreement;

/// Matches `detected` intervals (s) against `truth` (certain) with `unsure` ones ignored:
/// [`crate::compare::match_intervals`]'s counts.
#[must_use]
pub fn evaluate(
    truth: &[(f64, f64)],
    unsure: &[(f64, f64)],
    detected: &[(f64, f64)],
    tol_s: f64,
) -> Agreement {
    crate::compare::match_intervals(truth, unsure, detected, tol_s).agreement
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
            a.recording.channels[0].samples_uv[1000],
            b.recording.channels[0].samples_uv[1000]
        );
        a.recording.validate().unwrap();
        a.hypnogram.validate().unwrap();
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

    #[test]
    fn evaluation_matches_one_to_one() {
        let truth = [(10.0, 11.0), (20.0, 21.0)];
        let det = [(10.2, 11.1), (10.5, 11.5), (30.0, 31.0), (40.0, 41.0)];
        let a = evaluate(&truth, &[(40.0, 40.5)], &det, 0.5);
        assert_eq!((a.truth, a.detected, a.matched), (2, 3, 1));
        assert!((a.f1() - 0.4).abs() < 1e-12);
    }
}

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
    pub recording: crate::accel::AccelRecording,
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
        if !(v.is_finite() && v >= 0.0) {
            return Err(Error::config(f, format!("must be ≥ 0, got {v}")));
        }
    }
    if !(cfg.clock_drift_ppm.is_finite() && cfg.clock_drift_ppm.abs() < 10_000.0) {
        return Err(Error::config(
            "clock_drift_ppm",
            "must be within ±10 000 ppm",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let (dur, fs) = (cfg.duration_s, cfg.sample_rate_hz);
    let hyp = hypnogram(&mut rng, dur);
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
        legs.push(crate::accel::AccelLeg {
            names: ["x", "y", "z"].map(|ax| format!("{}_{ax}", side.as_str())),
            side,
            axes_g: axes,
        });
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
    let recording = crate::accel::AccelRecording {
        sample_rate_hz: fs,
        legs,
        start_time: None,
        time_base: TimeBase::InMemory,
    };
    Ok(AccelSimNight {
        recording,
        truth,
        posture_changes: turns
            .iter()
            .map(|&(s, t, l, _)| (s, t * scale, (t + l) * scale))
            .collect(),
        hypnogram: Hypnogram::from_stages(
            30.0 * scale,
            &hyp.epochs.iter().map(|e| e.1).collect::<Vec<_>>(),
        ),
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

impl AccelSimNight {
    /// Writes `PREFIX.csv` (`time_s,left_x,left_y,left_z,right_x,right_y,right_z`, g; the
    /// time column with the configured drift, jitter and rounding), `PREFIX.truth.csv`,
    /// `PREFIX.hyp.csv` and `PREFIX.resp.csv`.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written.
    pub fn write(&self, prefix: &Path) -> Result<()> {
        let with = |ext: &str| {
            let mut p = prefix.as_os_str().to_owned();
            p.push(ext);
            std::path::PathBuf::from(p)
        };
        let night = with(".csv");
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&night).map_err(|e| Error::io(Some(&night), e))?,
        );
        self.write_signals(&mut w).map_err(io(&night))?;
        w.flush().map_err(io(&night))?;
        write_context(prefix, &self.truth, &self.hypnogram, &self.respiratory)
    }

    /// Writes the signal CSV to `w` (see [`AccelSimNight::write`]).
    ///
    /// # Errors
    /// I/O errors from `w`.
    pub fn write_signals<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        let r = &self.recording;
        let names: Vec<String> = r
            .legs
            .iter()
            .flat_map(|l| l.names.iter().cloned())
            .collect();
        writeln!(w, "time_s,{}", names.join(","))?;
        let dec = self.config.time_decimals.unwrap_or(9);
        let scale = 1.0 + self.config.clock_drift_ppm * 1e-6;
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ 0x5eed);
        let mut prev = f64::NEG_INFINITY;
        for i in 0..r.len() {
            let jitter: f64 = if self.config.time_jitter_s > 0.0 {
                let z: f64 = StandardNormal.sample(&mut rng);
                self.config.time_jitter_s * z
            } else {
                0.0
            };
            // Stamps stay increasing however large the jitter.
            let step = 10f64.powi(-(dec as i32));
            let t = (i as f64 / r.sample_rate_hz * scale + jitter)
                .max(prev + step)
                .max(0.0);
            prev = t;
            write!(w, "{t:.dec$}")?;
            for leg in &r.legs {
                for axis in &leg.axes_g {
                    write!(w, ",{:.5}", axis[i])?;
                }
            }
            w.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Writes `PREFIX.truth.csv`, `PREFIX.hyp.csv` and `PREFIX.resp.csv`.
fn write_context(
    prefix: &Path,
    truth: &[TrueMovement],
    hyp: &Hypnogram,
    resp: &[RespiratoryEvent],
) -> Result<()> {
    let with = |ext: &str| {
        let mut p = prefix.as_os_str().to_owned();
        p.push(ext);
        std::path::PathBuf::from(p)
    };
    let create = |p: &Path| -> Result<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| Error::io(Some(p), e))?,
        ))
    };
    let truth_path = with(".truth.csv");
    let mut w = create(&truth_path)?;
    writeln!(w, "onset_s,offset_s,side,certain").map_err(io(&truth_path))?;
    for t in truth {
        writeln!(
            w,
            "{:.3},{:.3},{},{}",
            t.lm.onset_s,
            t.lm.offset_s,
            t.lm.side.as_str(),
            u8::from(t.certain)
        )
        .map_err(io(&truth_path))?;
    }
    w.flush().map_err(io(&truth_path))?;
    let hyp_path = with(".hyp.csv");
    let mut w = create(&hyp_path)?;
    writeln!(w, "epoch_start_s,stage").map_err(io(&hyp_path))?;
    for (start, s) in &hyp.epochs {
        writeln!(w, "{start},{s:?}").map_err(io(&hyp_path))?;
    }
    w.flush().map_err(io(&hyp_path))?;
    let resp_path = with(".resp.csv");
    let mut w = create(&resp_path)?;
    writeln!(w, "onset_s,offset_s,kind").map_err(io(&resp_path))?;
    for e in resp {
        writeln!(
            w,
            "{:.3},{:.3},{}",
            e.onset_s,
            e.offset_s,
            e.kind.as_deref().unwrap_or("")
        )
        .map_err(io(&resp_path))?;
    }
    w.flush().map_err(io(&resp_path))
}
