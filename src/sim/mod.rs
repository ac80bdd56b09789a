//! Simulated nights with known truth, for tests, benchmarks and users' own validation:
//! [`simulate`] (leg EMG) and [`simulate_accel`] (ankle accelerometers), and the files
//! `plm detect` reads ([`SimNight::write`], [`AccelSimNight::write`]).
//!
//! Output: a [`SimNight`]: a two-leg EMG [`Recording`](crate::Recording) (µV), the true monolateral leg
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
//!   marked `certain = false` and count neither way in [`compare`](fn@crate::compare)).
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

mod accel;
pub mod devices;
mod emg;
mod plan;
mod write;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

pub use accel::{AccelSimConfig, AccelSimNight, simulate_accel};
pub use emg::{SimConfig, SimNight, simulate};

use crate::dsp::butterworth::Section;
use crate::error::Result;
use crate::events::{LegMovement, ReferenceMovement};
use crate::io::{Hypnogram, Stage};

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
    /// The movement as a reference for [`compare`](fn@crate::compare) (uncertain ones count neither
    /// way there).
    #[must_use]
    pub fn reference(&self) -> ReferenceMovement {
        ReferenceMovement {
            lm: self.lm,
            certain: self.certain,
        }
    }
}

/// Mean of |x| for a unit Gaussian: √(2/π).
pub(crate) const MEAN_ABS: f64 = 0.797_884_560_802_865_4;

/// Raised-cosine ramp: 0 for u ≤ 0, 1 for u ≥ 1.
pub(crate) fn raised(u: f64) -> f64 {
    if u <= 0.0 {
        0.0
    } else if u >= 1.0 {
        1.0
    } else {
        0.5 - 0.5 * (std::f64::consts::PI * u).cos()
    }
}

/// Unit-variance Gaussian noise filtered by `sos` (forward), re-normalised to unit σ.
pub(crate) fn coloured_noise(rng: &mut ChaCha8Rng, n: usize, sos: &[Section]) -> Vec<f64> {
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
pub(crate) fn slow_drift(rng: &mut ChaCha8Rng, _dur: f64) -> impl Fn(f64) -> f64 + use<> {
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
pub(crate) fn heartbeats(rng: &mut ChaCha8Rng, dur: f64, bpm: f64) -> Vec<f64> {
    let mut t = rng.random_range(0.0..1.0);
    let mut out = Vec::new();
    while t < dur {
        out.push(t);
        t += 60.0 / bpm * rng.random_range(0.9..1.1);
    }
    out
}

/// A Poisson-distributed count with mean `lambda` (Knuth; λ is small here).
pub(crate) fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> usize {
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
pub(crate) fn hypnogram(rng: &mut ChaCha8Rng, dur: f64) -> Result<Hypnogram> {
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
