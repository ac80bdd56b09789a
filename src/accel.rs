//! Accelerometer nights: ankle/leg 3-axis sensors through the same leg-movement detector
//! and the same scoring as EMG.
//!
//! Input: an [`AccelRecording`], acceleration per axis in g at a uniform rate (10–200 Hz;
//! `NaN` = gap). Output: per leg, monolateral [`LegMovement`]s (s) whose amplitudes are in
//! mg (`peak_mg`, `mean_mg`, `rest_mg`), and the stretches excluded from scoring; the
//! [`crate::Detector`] then scores them exactly as EMG leg movements (one scoring path,
//! one report type).
//!
//! No standard defines accelerometer leg movements (SCORING.md §6). The design, and where
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
//! 4. **Envelope and floor**: the EMG machinery ([`crate::envelope`]) on the magnitude:
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
//!    ([`crate::detect::detect_with_cuts`]) instead of vanishing with the turn. (On the
//!    independent development night with 10–20 turns per leg placed 0.5–2 s from
//!    movements, LM F1 rose from 0.90–0.96 to 0.99–1.00.) The cut spans are what the
//!    report counts as posture changes; they are not excluded time, so a turn inside a
//!    PLM series does not break it.
//!
//! The LM duration rules (0.5 s, 10 s), bilateral combination, IMIs and series then apply
//! unchanged. Reports from accelerometers say so: the AASM advises against actigraphy as a
//! substitute for EMG in diagnosing PLMD.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::detect::{LmThresholds, detect, detect_with_cuts};
use crate::envelope::{self, EnvelopeConfig, running_median};
use crate::error::{Error, Location, Result};
use crate::events::{Interval, LegMovement, Side};
use crate::filter::{self, Band, ZeroPhase};
use crate::rules::Rules;
use crate::signal::TimeBase;

/// One leg's 3-axis acceleration.
#[derive(Debug, Clone, PartialEq)]
pub struct AccelLeg {
    /// Column names of the x, y, z axes.
    pub names: [String; 3],
    /// The leg.
    pub side: Side,
    /// Acceleration per axis, g (`NaN` = gap).
    pub axes_g: [Vec<f64>; 3],
}

impl AccelLeg {
    /// A leg built in memory: axes named `left_x` … `right_z`.
    fn in_memory(side: Side, axes_g: [Vec<f64>; 3]) -> Self {
        AccelLeg {
            names: ["x", "y", "z"].map(|a| format!("{}_{a}", side.as_str())),
            side,
            axes_g,
        }
    }
}

/// A night of one- or two-leg accelerometry.
#[derive(Debug, Clone, PartialEq)]
pub struct AccelRecording {
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// One or two legs, at most one per side, all axes the same length.
    pub legs: Vec<AccelLeg>,
    /// Wall-clock time of the first sample, when the file gave date-times.
    pub start_time: Option<String>,
    /// How the grid was built.
    pub time_base: TimeBase,
}

impl AccelRecording {
    /// Builds a recording from per-leg `[x, y, z]` slices in g (`NaN` = gap).
    ///
    /// # Errors
    /// [`Error::Input`] when no leg is given, lengths differ, a value is infinite, the
    /// rate is not positive, or there are no samples.
    pub fn from_slices(
        sample_rate_hz: f64,
        left_g: Option<[&[f64]; 3]>,
        right_g: Option<[&[f64]; 3]>,
    ) -> Result<Self> {
        let mut legs = Vec::new();
        for (side, axes) in [(Side::Left, left_g), (Side::Right, right_g)] {
            if let Some(a) = axes {
                legs.push(AccelLeg::in_memory(side, a.map(<[f64]>::to_vec)));
            }
        }
        Self::in_memory(sample_rate_hz, legs)
    }

    /// Builds a recording from `(samples, 3)` arrays per leg (columns x, y, z, in g).
    ///
    /// # Errors
    /// As [`AccelRecording::from_slices`], and when an array does not have 3 columns.
    pub fn from_array<'a>(
        sample_rate_hz: f64,
        left_g: Option<ArrayView2<'a, f64>>,
        right_g: Option<ArrayView2<'a, f64>>,
    ) -> Result<Self> {
        let cols = |a: ArrayView2<'_, f64>| -> Result<[Vec<f64>; 3]> {
            if a.ncols() != 3 {
                return Err(Error::input(
                    Location::default(),
                    format!("expected 3 columns (x, y, z), got {}", a.ncols()),
                ));
            }
            Ok([
                a.column(0).to_vec(),
                a.column(1).to_vec(),
                a.column(2).to_vec(),
            ])
        };
        let mut legs = Vec::new();
        for (side, arr) in [(Side::Left, left_g), (Side::Right, right_g)] {
            if let Some(a) = arr {
                legs.push(AccelLeg::in_memory(side, cols(a)?));
            }
        }
        Self::in_memory(sample_rate_hz, legs)
    }

    /// A validated in-memory recording of `legs`.
    fn in_memory(sample_rate_hz: f64, legs: Vec<AccelLeg>) -> Result<Self> {
        let rec = Self {
            sample_rate_hz,
            legs,
            start_time: None,
            time_base: TimeBase::InMemory,
        };
        rec.validate()?;
        Ok(rec)
    }

    /// Checks the invariants listed on the fields.
    ///
    /// # Errors
    /// [`Error::Input`] describing the first violation.
    pub fn validate(&self) -> Result<()> {
        let sides: Vec<Side> = self.legs.iter().map(|l| l.side).collect();
        let series: Vec<(&str, &[f64])> = self
            .legs
            .iter()
            .flat_map(|l| {
                l.names
                    .iter()
                    .zip(&l.axes_g)
                    .map(|(n, a)| (n.as_str(), a.as_slice()))
            })
            .collect();
        crate::signal::validate_layout(
            self.sample_rate_hz,
            &sides,
            "leg accelerometer",
            &series,
            true,
        )
    }

    /// Samples per axis.
    #[must_use]
    pub fn len(&self) -> usize {
        self.legs.first().map_or(0, |l| l.axes_g[0].len())
    }

    /// `true` when there are no samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Duration, s.
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.len() as f64 / self.sample_rate_hz
    }
}

/// Settings of the accelerometer path (see the module docs for each default's reason).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccelConfig {
    /// Running-median window of the gravity estimate, s. Default 2.
    pub gravity_window_s: f64,
    /// Low-pass edge of the dynamic acceleration, Hz (capped at 0.45 × rate). Default 8.
    pub lowpass_hz: f64,
    /// Smallest onset above the noise floor, mg. Default 12.
    pub onset_mg: f64,
    /// The onset is at least this many times the offset margin (which follows the floor's
    /// fluctuation). Default 3.
    pub onset_noise_factor: f64,
    /// Smallest offset level above the noise floor, mg. Default 4.
    pub offset_mg: f64,
    /// Largest back-extrapolation of a movement's edges along its flanks, s; `null` keeps
    /// the threshold edges. Default 0.3.
    pub flank_extrapolation_s: Option<f64>,
    /// Floor above which a stretch is too noisy to score, mg. Default 100.
    pub max_floor_mg: f64,
    /// A burst across which gravity turns by more than this is a posture change, degrees;
    /// `null` disables the rule. Default 30.
    pub posture_change_deg: Option<f64>,
    /// Envelope and floor settings, in mg (block 20 ms, spike level 8 mg, edge window
    /// 0.2 s).
    pub envelope: EnvelopeConfig,
}

impl Default for AccelConfig {
    fn default() -> Self {
        Self {
            gravity_window_s: 2.0,
            lowpass_hz: 8.0,
            onset_mg: 12.0,
            onset_noise_factor: 3.0,
            offset_mg: 4.0,
            flank_extrapolation_s: Some(0.3),
            max_floor_mg: 100.0,
            posture_change_deg: Some(30.0),
            envelope: EnvelopeConfig {
                block_s: 0.02,
                spike_level_uv: 8.0,
                max_rest_uv: 100.0,
                edge_smooth_s: 0.2,
                ..EnvelopeConfig::default()
            },
        }
    }
}

impl AccelConfig {
    /// Checks ranges.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let pos = Error::require_positive;
        pos("accel.gravity_window_s", self.gravity_window_s)?;
        pos("accel.lowpass_hz", self.lowpass_hz)?;
        pos("accel.onset_mg", self.onset_mg)?;
        pos("accel.offset_mg", self.offset_mg)?;
        pos("accel.onset_noise_factor", self.onset_noise_factor)?;
        pos("accel.max_floor_mg", self.max_floor_mg)?;
        if self.offset_mg > self.onset_mg {
            return Err(Error::config("accel.offset_mg", "must not exceed onset_mg"));
        }
        if let Some(x) = self.flank_extrapolation_s {
            if !(x.is_finite() && (0.0..=2.0).contains(&x)) {
                return Err(Error::config(
                    "accel.flank_extrapolation_s",
                    format!("must be 0–2 s, got {x}"),
                ));
            }
        }
        if let Some(d) = self.posture_change_deg {
            if !(d.is_finite() && d > 0.0 && d < 180.0) {
                return Err(Error::config(
                    "accel.posture_change_deg",
                    format!("must be in (0, 180), got {d}"),
                ));
            }
        }
        self.envelope.validate()
    }

    /// The detection thresholds (mg) with the durations from `rules`.
    #[must_use]
    pub fn thresholds(&self, rules: &Rules) -> LmThresholds {
        LmThresholds {
            onset_above_rest: self.onset_mg,
            offset_above_rest: self.offset_mg,
            offset_quiet_s: rules.offset_quiet_s,
            min_lm_s: rules.min_lm_s,
            morphology_check: rules.morphology_check,
            onset_noise_factor: Some(self.onset_noise_factor),
            flank_extrapolation_s: self.flank_extrapolation_s,
        }
    }
}

/// One leg after conditioning: its envelope (mg), and gravity per block for the posture
/// rule.
#[derive(Debug, Clone)]
pub struct AccelConditioned {
    /// Envelope of the dynamic-acceleration magnitude, mg.
    pub envelope: envelope::Envelope,
    /// Low-pass edge used, Hz.
    pub lowpass_hz: f64,
    /// Gravity estimate per 0.1-s gravity block, `[x, y, z]` in g.
    pub gravity_g: Vec<[f64; 3]>,
    /// Gravity block length, s.
    pub gravity_block_s: f64,
}

/// Gravity block length, s: short enough to follow a turn within a few blocks, long enough
/// to average sensor noise before the median.
const GRAVITY_BLOCK_S: f64 = 0.1;

/// Conditions one leg (steps 1–4 of the module docs).
///
/// # Errors
/// [`Error::Input`] when the rate is below 10 Hz or no gap-free stretch is long enough to
/// filter; [`Error::Config`] for invalid settings.
pub fn condition(
    axes_g: &[Vec<f64>; 3],
    fs_hz: f64,
    cfg: &AccelConfig,
    rules: &Rules,
    name: &str,
) -> Result<AccelConditioned> {
    cfg.validate()?;
    if !(fs_hz.is_finite() && fs_hz >= 10.0) {
        return Err(Error::input(
            Location::default(),
            format!(
                "`{name}`: a sample rate of {fs_hz} Hz is too low for leg movements (needs ≥ 10 Hz)"
            ),
        ));
    }
    let n = axes_g[0].len();
    // 1. Gravity per block, interpolated to the samples.
    let gb = ((GRAVITY_BLOCK_S * fs_hz).round() as usize).max(1);
    let nb = n.div_ceil(gb);
    let w = (((cfg.gravity_window_s / (gb as f64 / fs_hz)).round() as usize).max(1)) | 1;
    let mut gravity_blocks: Vec<[f64; 3]> = vec![[f64::NAN; 3]; nb];
    let mut means = Vec::with_capacity(nb);
    let mut med = vec![0.0; nb];
    for (a, axis) in axes_g.iter().enumerate() {
        means.clear();
        means.extend(
            axis.chunks(gb)
                .map(|c| c.iter().sum::<f64>() / c.len() as f64),
        );
        running_median(&means, w, &mut med);
        for (g, m) in gravity_blocks.iter_mut().zip(&med) {
            g[a] = *m;
        }
    }
    // 2. Dynamic acceleration per axis, low-passed per gap-free stretch.
    let lowpass_hz = cfg.lowpass_hz.min(0.45 * fs_hz);
    let zp = ZeroPhase::new(filter::butterworth(4, Band::LowPass(lowpass_hz), fs_hz)?)?;
    let min_len = zp.min_len().max((2.0 * fs_hz).ceil() as usize);
    let centre = |b: usize| (b * gb) as f64 + (gb.min(n - b * gb) as f64 - 1.0) / 2.0;
    let mut dynamic = vec![0.0; n];
    let mut magnitude_sq = vec![0.0; n];
    let mut scratch = Vec::new();
    for (a, axis) in axes_g.iter().enumerate() {
        let mut j = 0usize;
        for (i, (d, &x)) in dynamic.iter_mut().zip(axis).enumerate() {
            let t = i as f64;
            while j + 1 < nb && centre(j + 1) <= t {
                j += 1;
            }
            let g = if j + 1 < nb && t > centre(j) {
                let (g0, g1) = (gravity_blocks[j][a], gravity_blocks[j + 1][a]);
                g0 + (g1 - g0) * (t - centre(j)) / (centre(j + 1) - centre(j))
            } else {
                gravity_blocks[j][a]
            };
            *d = x - g;
        }
        zp.filter_stretches(
            &mut dynamic,
            min_len,
            &mut scratch,
            &format!("`{name}`"),
            fs_hz,
        )?;
        for (m, f) in magnitude_sq.iter_mut().zip(&dynamic) {
            *m += f * f;
        }
    }
    // 3. Magnitude, mg.
    for m in &mut magnitude_sq {
        *m = 1000.0 * m.sqrt();
    }
    // 4. Envelope and floor.
    let env_cfg = EnvelopeConfig {
        max_rest_uv: cfg.max_floor_mg,
        ..cfg.envelope
    };
    let envelope = envelope::envelope_owned(
        magnitude_sq,
        fs_hz,
        &env_cfg,
        rules.morphology_window_s,
        cfg.offset_mg,
    )?;
    Ok(AccelConditioned {
        envelope,
        lowpass_hz,
        gravity_g: gravity_blocks,
        gravity_block_s: gb as f64 / fs_hz,
    })
}

/// What the accelerometer path found on one leg.
#[derive(Debug, Clone)]
pub struct AccelLegResult {
    /// Leg movements (amplitudes in the `_mg` fields).
    pub movements: Vec<LegMovement>,
    /// Bursts left out as posture changes.
    pub posture_changes: Vec<Interval>,
    /// Excluded stretches, s.
    pub excluded: Vec<Interval>,
    /// The conditioned leg.
    pub conditioned: AccelConditioned,
}

/// Detects the leg movements of one leg (all steps of the module docs).
///
/// # Errors
/// As [`condition`].
pub fn detect_leg(
    axes_g: &[Vec<f64>; 3],
    fs_hz: f64,
    side: Side,
    cfg: &AccelConfig,
    rules: &Rules,
    name: &str,
) -> Result<AccelLegResult> {
    let conditioned = condition(axes_g, fs_hz, cfg, rules, name)?;
    let env = &conditioned.envelope;
    // Only the floor makes a stretch unscorable: the onset threshold grows with the
    // floor's fluctuation (step 5), so a noisy sensor raises the bar instead of losing the
    // night (EMG's fixed +8 µV onset is what makes its noisy stretches unscorable).
    let (unscorable, excluded) =
        crate::detector::scorability(env, fs_hz, axes_g[0].len(), false, |r, _| {
            r > cfg.max_floor_mg
        });
    let thresholds = cfg.thresholds(rules);
    let mut movements = detect(env, side, &thresholds, &unscorable);
    let mut posture_changes = Vec::new();
    if let Some(max_deg) = cfg.posture_change_deg {
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
            let block_s = env.block as f64 / fs_hz;
            for &(on_s, off_s) in &turns {
                let span = turn_span(
                    &conditioned.gravity_g,
                    conditioned.gravity_block_s,
                    on_s,
                    off_s,
                    env.duration_s,
                );
                let last = ((span.offset_s / block_s).ceil() as usize).min(cut.len());
                let first = ((span.onset_s / block_s).floor() as usize).min(last);
                cut[first..last].fill(true);
                posture_changes.push(Interval {
                    onset_s: first as f64 * block_s,
                    offset_s: (last as f64 * block_s).min(env.duration_s),
                });
            }
            movements = detect_with_cuts(env, side, &thresholds, &unscorable, &cut);
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
    }
    for m in &mut movements {
        m.peak_mg = m.peak_uv.take();
        m.mean_mg = m.mean_uv.take();
        m.rest_mg = m.rest_uv.take();
    }
    Ok(AccelLegResult {
        movements,
        posture_changes,
        excluded,
        conditioned,
    })
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
fn angle_deg(a: [f64; 3], b: [f64; 3]) -> f64 {
    let dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let na = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    let nb = (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]).sqrt();
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na * nb)).clamp(-1.0, 1.0).acos().to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn left_leg(axes: &[Vec<f64>; 3], fs: f64) -> AccelLegResult {
        detect_leg(
            axes,
            fs,
            Side::Left,
            &AccelConfig::default(),
            &Rules::wasm2016(),
            "left",
        )
        .unwrap()
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
        let env = &r.conditioned.envelope;
        let margin = env.margin().iter().fold(0.0, f64::max);
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
                r.posture_changes
            );
            assert!(
                (near[0].onset_s - movement_s).abs() < 0.3
                    && (near[0].offset_s - movement_s - 2.0).abs() < 0.3,
                "turn at {turn_s} s: {:?}",
                near[0]
            );
            let turn = r
                .posture_changes
                .iter()
                .find(|p| p.onset_s < turn_s && p.offset_s > turn_s);
            assert!(
                turn.is_some(),
                "turn at {turn_s} s: {:?}",
                r.posture_changes
            );
        }
    }

    #[test]
    fn validation_and_constructors() {
        assert!(AccelRecording::from_slices(50.0, None, None).is_err());
        let x = [0.0; 100];
        let r = AccelRecording::from_slices(50.0, Some([&x, &x, &x]), None).unwrap();
        assert_eq!(r.len(), 100);
        assert!(AccelRecording::from_slices(50.0, Some([&x, &x, &x[..50]]), None).is_err());
        let a = ndarray::Array2::<f64>::zeros((10, 3));
        assert!(AccelRecording::from_array(50.0, Some(a.view()), Some(a.view())).is_ok());
        let b = ndarray::Array2::<f64>::zeros((10, 2));
        assert!(AccelRecording::from_array(50.0, Some(b.view()), None).is_err());
        assert!(
            condition(
                &[vec![0.0; 100], vec![0.0; 100], vec![0.0; 100]],
                5.0,
                &AccelConfig::default(),
                &Rules::wasm2016(),
                "l"
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
        assert!((angle_deg([0.0, 0.0, 1.0], [1.0, 0.0, 0.0]) - 90.0).abs() < 1e-9);
    }
}
