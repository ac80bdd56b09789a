//! Nights from ankle device files: [`AnkleNights`].
//!
//! One file per ankle (either alone is fine; the formats may differ). Only the span both
//! devices cover is scored. A recording is split into nights from noon to noon (local
//! time); each night's sleep window comes from a hypnogram's span or clock times when
//! given ([`WindowChoice`]), else is estimated with HDCZA adapted for the ankle
//! (`detect/accel/sleep_window.rs`), and the time a device was not worn is excluded.
//! Each night is then built on demand ([`AnkleNights::recording`]), so a week is
//! processed one night at a time.

use crate::detect::accel::sleep_window::{EPOCH_S, HDCZA_METHOD, epochs, non_wear, sleep_period};
use crate::error::{Error, Location, Result, num};
use crate::events::Side;
use crate::io::device::iso;
use crate::io::{
    AccelRecording, Ankle, DeviceFile, SleepWindow, WindowSource, ankle_night, device_info,
    grid_rate_hz,
};

const DAY_S: f64 = 86_400.0;
const NOON_S: f64 = 43_200.0;
/// A window shorter than this is not a night, s (ten minutes).
const MIN_WINDOW_S: f64 = 600.0;

/// How each night's sleep window is found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowChoice {
    /// Estimated from the sensors (HDCZA adapted for the ankle).
    Estimate,
    /// The same clock times every night: from `from_s` to `to_s` s after midnight (22:30
    /// to 07:00 is `81_000` to `25_200`); the window starts in the evening of the night's
    /// day, or after midnight when `from_s` is before noon.
    ClockTimes {
        /// Start, s after midnight.
        from_s: f64,
        /// End, s after midnight.
        to_s: f64,
    },
    /// One window of local clock times (s since 1970), given as date-times.
    Span {
        /// Start.
        from_s: f64,
        /// End.
        to_s: f64,
    },
    /// One window: the span of a hypnogram, local clock s since 1970.
    Hypnogram {
        /// The hypnogram's first epoch.
        from_s: f64,
        /// The end of its last epoch.
        to_s: f64,
    },
}

/// A night of the recording: its window and the stretches each ankle was not worn.
#[derive(Debug, Clone, PartialEq)]
pub struct AnkleNight {
    /// The night's window (what is scored).
    pub window: SleepWindow,
    /// Window start and end, local clock s since 1970.
    pub from_s: f64,
    /// Window end.
    pub to_s: f64,
    /// Per ankle (in the order given), the stretches not worn, clock s.
    pub not_worn: Vec<Vec<(f64, f64)>>,
}

/// The ankles of a recording and its nights.
///
/// ```rust,no_run
/// use plm_detect::{AnkleNights, Context, Detector, DetectorConfig, DeviceFile, Rules, Side};
///
/// fn main() -> Result<(), plm_detect::Error> {
///     let left = DeviceFile::read_path("left.cwa")?;
///     let right = DeviceFile::read_path("right.gt3x")?;
///     let ankles = vec![(Side::Left, &left, None), (Side::Right, &right, None)];
///     let plan = AnkleNights::plan(ankles, plm_detect::WindowChoice::Estimate)?;
///     let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default())?;
///     for (i, night) in plan.nights.iter().enumerate() {
///         let report = detector.run_accel(&plan.recording(i)?, &Context::default())?;
///         println!("{}: PLMS index {:?}/h", night.window.start, report.summary.plms_index);
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct AnkleNights<'a> {
    ankles: Vec<(Side, &'a DeviceFile, Option<String>)>,
    /// The nights, in order.
    pub nights: Vec<AnkleNight>,
    /// What the planning noticed (nights without a sleep period, the common span …).
    pub notes: Vec<String>,
    /// The grid rate, Hz.
    pub rate_hz: f64,
    /// The span both devices cover, clock s.
    pub span_s: (f64, f64),
}

impl<'a> AnkleNights<'a> {
    /// The nights of ankles `(side, device, file name)`, at most one per side, with
    /// windows found as `choice` says.
    ///
    /// # Errors
    /// [`Error::Input`] when no ankle or two for one side are given, the devices share no
    /// time, or a given window lies outside the recording.
    pub fn plan(
        ankles: Vec<(Side, &'a DeviceFile, Option<String>)>,
        choice: WindowChoice,
    ) -> Result<Self> {
        let loc = Location::default();
        match ankles.as_slice() {
            [] => return Err(Error::input(loc, "no ankle device file given")),
            [a, b] if a.0 == b.0 => {
                return Err(Error::input(
                    loc,
                    format!("two device files for the {} ankle", a.0.as_str()),
                ));
            }
            [_, _, _, ..] => return Err(Error::input(loc, "more than two ankle device files")),
            _ => {}
        }
        let from = ankles
            .iter()
            .map(|a| a.1.first_s())
            .fold(f64::MIN, f64::max);
        let to = ankles.iter().map(|a| a.1.end_s()).fold(f64::MAX, f64::min);
        let mut notes = Vec::new();
        if to - from < MIN_WINDOW_S {
            let short = format!(
                "{} min, less than the {} min a night needs",
                num(((to - from) / 6.0).round() / 10.0),
                MIN_WINDOW_S / 60.0
            );
            let what = match (ankles.len(), to > from) {
                (1, _) => format!("the ankle recording lasts {short}"),
                (_, true) => format!("the ankle devices share {short}"),
                (_, false) => "the ankle devices share no time to score".to_owned(),
            };
            return Err(Error::input(
                loc,
                format!(
                    "{what} ({})",
                    ankles
                        .iter()
                        .map(|a| format!(
                            "{}: {} to {}",
                            a.0.as_str(),
                            iso(a.1.first_s()),
                            iso(a.1.end_s())
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ));
        }
        if ankles.len() == 2 {
            notes.push(format!(
                "only the span both ankle devices recorded is scored: {} to {}",
                iso(from),
                iso(to)
            ));
        }
        let rate = grid_rate_hz(ankles.iter().map(|a| a.1.nominal_rate_hz()));
        // Noon-to-noon days over the common span.
        let first_noon = ((from - NOON_S) / DAY_S).floor() * DAY_S + NOON_S;
        let n_days = ((to - first_noon) / DAY_S).ceil().max(0.0) as usize;
        let days: Vec<(usize, f64, f64)> = (0..n_days)
            .map(|d| first_noon + d as f64 * DAY_S)
            .take_while(|&b| b < to)
            .enumerate()
            .map(|(i, b)| (i + 1, b.max(from), (b + DAY_S).min(to)))
            .collect();
        let mut nights = Vec::new();
        // Per ankle and day, the seconds of data: one pass over the runs (a run covers
        // the days it overlaps, a day at most for the data it holds).
        let covered: Vec<Vec<f64>> = ankles
            .iter()
            .map(|x| {
                let mut per_day = vec![0.0; days.len()];
                for r in &x.1.runs {
                    let (a, b) = (r.t0_s.max(from), r.end_s().min(to));
                    let mut d = ((a - first_noon) / DAY_S).floor().max(0.0) as usize;
                    while d < days.len() && days[d].1 < b {
                        per_day[d] += (b.min(days[d].2) - a.max(days[d].1)).max(0.0);
                        d += 1;
                    }
                }
                per_day
            })
            .collect();
        // Whether every ankle has at least ten minutes of data on the day starting at `a`.
        let has_data = |a: f64, _b: f64| {
            let d = ((a - first_noon) / DAY_S).floor().max(0.0) as usize;
            covered
                .iter()
                .all(|c| c.get(d).is_some_and(|&s| s >= MIN_WINDOW_S))
        };
        let single = |from_w: f64, to_w: f64, source: WindowSource, what: &str| {
            let (a, b) = (from_w.max(from), to_w.min(to));
            if b - a < MIN_WINDOW_S {
                return Err(Error::input(
                    Location::default(),
                    format!(
                        "the {what} {} to {} lies outside the ankle recording ({} to {})",
                        iso(from_w),
                        iso(to_w),
                        iso(from),
                        iso(to)
                    ),
                ));
            }
            let night = days.iter().find(|d| a >= d.1 && a < d.2).map_or(1, |d| d.0);
            Ok((night, a, b, source))
        };
        let windows: Vec<(usize, f64, f64, WindowSource)> = match choice {
            WindowChoice::Span { from_s, to_s } => {
                vec![single(from_s, to_s, WindowSource::Given, "window")?]
            }
            WindowChoice::Hypnogram { from_s, to_s } => {
                vec![single(from_s, to_s, WindowSource::Hypnogram, "hypnogram's span")?]
            }
            WindowChoice::ClockTimes { from_s, to_s } => days
                .iter()
                .filter(|&&(_, a, b)| has_data(a, b))
                .filter_map(|&(night, a, b)| {
                    let noon = first_noon + (night - 1) as f64 * DAY_S;
                    let start = noon + (from_s - NOON_S).rem_euclid(DAY_S);
                    let mut end = noon + (to_s - NOON_S).rem_euclid(DAY_S);
                    if end <= start {
                        end += DAY_S;
                    }
                    let (s, e) = (start.max(a), end.min(b));
                    if e - s < MIN_WINDOW_S {
                        notes.push(format!(
                            "{} to {} (noon to noon): the recording does not cover the window {} to {}: not scored",
                            iso(a),
                            iso(b),
                            iso(start),
                            iso(end)
                        ));
                        None
                    } else {
                        Some((night, s, e, WindowSource::Given))
                    }
                })
                .collect(),
            // Only days with data (a stamp years away must not make years of days).
            WindowChoice::Estimate => days
                .iter()
                .filter(|&&(_, a, b)| has_data(a, b))
                .map(|&(night, a, b)| (night, a, b, WindowSource::Estimated))
                .collect(),
        };
        for (night, a, b, source) in windows {
            // Epochs over the whole noon-to-noon day (for the estimate) or the window.
            let (ea, eb) = if source == WindowSource::Estimated {
                (a, b)
            } else {
                let d = days.iter().find(|d| d.0 == night).copied();
                d.map_or((a, b), |d| (d.1.min(a), d.2.max(b)))
            };
            let n = ((eb - ea) / EPOCH_S).ceil() as usize;
            let per_leg: Vec<_> = ankles.iter().map(|x| epochs(x.1, ea, n)).collect();
            let off: Vec<Vec<(f64, f64)>> = per_leg.iter().map(|e| non_wear(e, ea)).collect();
            let (wa, wb, method) = if source == WindowSource::Estimated {
                let legs: Vec<_> = per_leg
                    .iter()
                    .zip(&off)
                    .map(|(e, o)| (e.as_slice(), o.as_slice()))
                    .collect();
                match sleep_period(&legs, ea) {
                    Some((s, e)) if e - s >= MIN_WINDOW_S => (s, e, HDCZA_METHOD.to_owned()),
                    _ => {
                        notes.push(format!(
                            "{} to {} (noon to noon): no sleep period found (no still stretch of more than 30 min while worn): not scored",
                            iso(a),
                            iso(b)
                        ));
                        continue;
                    }
                }
            } else {
                let method = match source {
                    WindowSource::Hypnogram => "the span of the hypnogram given",
                    _ => "the clock times given",
                };
                (a, b, method.to_owned())
            };
            let not_worn: Vec<Vec<(f64, f64)>> = off
                .into_iter()
                .map(|o| {
                    o.into_iter()
                        .filter_map(|(x, y)| {
                            let (x, y) = (x.max(wa), y.min(wb));
                            (y > x).then_some((x, y))
                        })
                        .collect()
                })
                .collect();
            let non_wear_s = union_s(&not_worn);
            nights.push(AnkleNight {
                window: SleepWindow {
                    night: nights.len() + 1,
                    start: iso(wa),
                    end: iso(wb),
                    source,
                    method,
                    non_wear_s,
                },
                from_s: wa,
                to_s: wb,
                not_worn,
            });
        }
        Ok(Self {
            ankles,
            nights,
            notes,
            rate_hz: rate,
            span_s: (from, to),
        })
    }

    /// The recording of night `i` (an index into [`AnkleNights::nights`]), with its
    /// devices, window and notes.
    ///
    /// # Errors
    /// As [`ankle_night`].
    pub fn recording(&self, i: usize) -> Result<AccelRecording> {
        let night = &self.nights[i];
        let legs: Vec<Ankle<'_>> = self
            .ankles
            .iter()
            .zip(&night.not_worn)
            .map(|(a, o)| (a.0, a.1, o.as_slice()))
            .collect();
        let rec = ankle_night(&legs, night.from_s, night.to_s, self.rate_hz)?;
        let devices: Vec<_> = self
            .ankles
            .iter()
            .map(|a| device_info(a.1, a.0, a.2.clone(), night.from_s, night.to_s))
            .collect();
        let mut notes = Vec::new();
        for (a, info) in self.ankles.iter().zip(&devices) {
            notes.push(format!(
                "{} ankle: {} {}{}: sample clock {:+.0} ppm against the device's time stamps ({:+.2} s over the window); samples placed by the time stamps on a {} Hz grid",
                a.0.as_str(),
                a.1.format().name(),
                a.1.model(),
                a.1.serial().map(|s| format!(" #{s}")).unwrap_or_default(),
                info.clock_drift_ppm,
                info.drift_over_window_s,
                self.rate_hz
            ));
            notes.extend(
                a.1.notes()
                    .iter()
                    .map(|n| format!("{} ankle: {n}", a.0.as_str())),
            );
        }
        if devices.len() == 2 {
            let d = devices[0].clock_drift_ppm - devices[1].clock_drift_ppm;
            notes.push(format!(
                "the two devices' sample clocks differ by {:.0} ppm ({:.2} s over the window): corrected by aligning both on their time stamps",
                d.abs(),
                (d * 1e-6 * (night.to_s - night.from_s)).abs()
            ));
        }
        notes.push(format!(
            "night {}: window {} to {}, {}",
            night.window.night, night.window.start, night.window.end, night.window.method
        ));
        if night.window.non_wear_s > 0.0 {
            notes.push(format!(
                "{:.0} min of the window a device was not worn (60 min still: SD < 13 mg and range < 50 mg in two axes): excluded",
                night.window.non_wear_s / 60.0
            ));
        }
        notes.extend(self.notes.iter().cloned());
        Ok(rec.with_devices(devices, Some(night.window.clone()), notes))
    }
}

/// The time the union of the legs' stretches covers, s.
fn union_s(legs: &[Vec<(f64, f64)>]) -> f64 {
    let mut all: Vec<(f64, f64)> = legs.iter().flatten().copied().collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut cur: Option<(f64, f64)> = None;
    for (a, b) in all {
        match &mut cur {
            Some(c) if a <= c.1 => c.1 = c.1.max(b),
            _ => {
                if let Some(c) = cur {
                    total += c.1 - c.0;
                }
                cur = Some((a, b));
            }
        }
    }
    total + cur.map_or(0.0, |c| c.1 - c.0)
}
