//! A device's clock: from the time stamps a file carries to the time of every sample, and
//! from there onto a uniform grid.
//!
//! **What it computes.** A device file stamps blocks of samples (a CWA block of 80–120
//! samples, a GT3X record of one second, a GENEActiv page of 300): the local clock time
//! at a sample position ([`Stamp`]). Consecutive stamps that agree with the nominal rate
//! (within half a second plus 5 % of their distance) belong to one [`Run`]; a stamp that
//! does not starts a new run (a gap, a corrupt block left out, the clock set back). Within
//! a run, samples are evenly spaced at the rate fitted to all its stamps by least squares:
//! the sample clock may run off nominal (an AX3's by up to a few %, any crystal by tens of
//! ppm), while the stamps come from the real-time clock. The fit also averages away the
//! stamps' rounding (GT3X stamps whole seconds).
//!
//! A [`Sampler`] then reads the samples at any increasing times by linear interpolation
//! within runs; between runs it is a gap (`NaN`) or, for a silence the device spent in
//! idle sleep (GT3X), the last sample held; [`coverage`] says which grid points have
//! data, so that a night's long gaps can be stored as one sample.
//!
//! **Tested against** a direct evaluation of every grid point (find the run, interpolate)
//! and against stamps of known drift.

/// The longest silence filled as idle sleep, s (two days): a longer one is a gap — the
/// device was off or full, not still on a leg.
pub(crate) const HOLD_MAX_S: f64 = 2.0 * 86_400.0;

/// A time stamp: the first stored sample of the block it came with, and the sample
/// position (relative to the file's stored samples, fractional allowed) at which the
/// clock read `time_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stamp {
    /// The block's first stored sample.
    pub(crate) block: usize,
    /// The sample position the stamp is for.
    pub(crate) index: f64,
    /// Local clock time, s since 1970.
    pub(crate) time_s: f64,
}

/// Stored samples `first .. first + len`, evenly spaced at `rate_hz` from `t0_s`, then
/// (idle sleep) the last sample held for `hold_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Run {
    pub(crate) first: usize,
    pub(crate) len: usize,
    pub(crate) t0_s: f64,
    pub(crate) rate_hz: f64,
    pub(crate) hold_s: f64,
}

impl Run {
    /// Clock time of the run's last sample.
    pub(crate) fn last_s(&self) -> f64 {
        self.t0_s + (self.len - 1) as f64 / self.rate_hz
    }

    /// Clock time just after the run (its last sample's period and any held stretch).
    pub(crate) fn end_s(&self) -> f64 {
        self.last_s() + 1.0 / self.rate_hz + self.hold_s
    }
}

/// The runs of `total` stored samples with `stamps` (in block order), at nominal rate
/// `nominal_hz`; silences are held when `hold_silences` (GT3X idle sleep), the last up to
/// `end_s` when the file states where the recording ended. What was done (gaps, idle sleep
/// filled, the clock set back) goes to `notes`.
pub(crate) fn runs(
    stamps: &[Stamp],
    total: usize,
    nominal_hz: f64,
    hold_silences: bool,
    end_s: Option<f64>,
    notes: &mut Vec<String>,
) -> Result<Vec<Run>, String> {
    let stamps: Vec<Stamp> = stamps
        .iter()
        .copied()
        .filter(|s| s.block < total && s.time_s.is_finite() && s.index.is_finite())
        .collect();
    if stamps.is_empty() {
        return Err("no block carries a time stamp".into());
    }
    // Split where a stamp disagrees with the previous one at the nominal rate.
    let mut groups: Vec<(usize, usize)> = Vec::new(); // stamp ranges
    let mut start = 0;
    for j in 1..stamps.len() {
        let (a, b) = (stamps[j - 1], stamps[j]);
        let dt = (b.index - a.index) / nominal_hz;
        let err = b.time_s - a.time_s - dt;
        if b.block <= a.block || err.abs() > 0.5 + 0.05 * dt.abs() {
            groups.push((start, j));
            start = j;
        }
    }
    groups.push((start, stamps.len()));
    let mut out: Vec<Run> = Vec::with_capacity(groups.len());
    let mut fitted_off = 0usize;
    for (g, &(a, b)) in groups.iter().enumerate() {
        let first = if g == 0 { 0 } else { stamps[a].block };
        let end = groups.get(g + 1).map_or(total, |&(n, _)| stamps[n].block);
        if end <= first {
            continue;
        }
        let (rate, t_at, at) = fit(&stamps[a..b], nominal_hz);
        let rate = if rate / nominal_hz > 0.8 && rate / nominal_hz < 1.25 {
            rate
        } else {
            fitted_off += 1;
            nominal_hz
        };
        out.push(Run {
            first,
            len: end - first,
            t0_s: t_at - (at - first as f64) / rate,
            rate_hz: rate,
            hold_s: 0.0,
        });
    }
    if fitted_off > 0 {
        notes.push(format!(
            "{fitted_off} stretches had time stamps more than 20 % off the nominal {nominal_hz} Hz: the nominal rate was used there"
        ));
    }
    let (mut held, mut held_n, mut gaps, mut gaps_s, mut back, mut back_s) =
        (0.0, 0usize, 0usize, 0.0, 0usize, 0.0f64);
    for i in 1..out.len() {
        let silence = out[i].t0_s - out[i - 1].end_s();
        if silence < -0.5 {
            back += 1;
            back_s = back_s.max(-silence);
        } else if hold_silences && silence > 0.0 && silence <= HOLD_MAX_S {
            out[i - 1].hold_s = silence;
            held += silence;
            held_n += 1;
        } else if silence > 0.5 / nominal_hz {
            gaps += 1;
            gaps_s += silence;
        }
    }
    if let (true, Some(end), Some(last)) = (hold_silences, end_s, out.last_mut()) {
        let silence = end - last.end_s();
        if silence > 0.5 / nominal_hz && silence <= HOLD_MAX_S {
            last.hold_s = silence;
            held += silence;
            held_n += 1;
        }
    }
    if held_n > 0 {
        notes.push(format!(
            "idle sleep: the device wrote nothing while still for {} in {held_n} stretches; filled with the last sample, as ActiLife does (stillness, not a gap)",
            duration(held)
        ));
    }
    if gaps > 0 {
        notes.push(format!(
            "{gaps} gaps in the device's recording ({} in all) are no data",
            duration(gaps_s)
        ));
    }
    if back > 0 {
        notes.push(format!(
            "the device clock went back {back} times (by up to {}): samples at times already covered were left out",
            duration(back_s)
        ));
    }
    Ok(out)
}

/// A duration in words: `40 s`, `12.5 min`, `3.2 h`.
pub(crate) fn duration(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// The least-squares line of stamp time on sample position: `(rate, time, position)`, a
/// point on the line and its slope as a rate (the nominal one for a single stamp).
fn fit(stamps: &[Stamp], nominal_hz: f64) -> (f64, f64, f64) {
    let n = stamps.len() as f64;
    let (x0, t0) = (stamps[0].index, stamps[0].time_s);
    let (mut sx, mut st) = (0.0, 0.0);
    for s in stamps {
        sx += s.index - x0;
        st += s.time_s - t0;
    }
    let (mx, mt) = (sx / n, st / n);
    let (mut sxx, mut sxt) = (0.0, 0.0);
    for s in stamps {
        let (dx, dt) = (s.index - x0 - mx, s.time_s - t0 - mt);
        sxx += dx * dx;
        sxt += dx * dt;
    }
    let rate = if stamps.len() >= 2 && sxt > 0.0 {
        sxx / sxt
    } else {
        nominal_hz
    };
    (rate, t0 + mt, x0 + mx)
}

/// The grid indices `k < n_grid` whose times `start_s + k / fs_hz` the runs cover (their
/// samples, or a held stretch), as sorted, disjoint `[from, to)` ranges.
pub(crate) fn coverage(
    runs: &[Run],
    start_s: f64,
    n_grid: usize,
    fs_hz: f64,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for r in runs {
        let last = if r.hold_s > 0.0 {
            r.end_s() - 1e-9
        } else {
            r.last_s()
        };
        let a = ((r.t0_s - start_s) * fs_hz - 1e-9).ceil().max(0.0);
        let b = (((last - start_s) * fs_hz + 1e-9).floor() + 1.0).min(n_grid as f64);
        if b > a {
            let (a, b) = (a as usize, b as usize);
            match out.last_mut() {
                Some(l) if a <= l.1 => l.1 = l.1.max(b),
                _ => out.push((a, b)),
            }
        }
    }
    out
}

/// Reads a device's samples at increasing clock times: linear interpolation within a
/// run, the last sample over a held stretch, `NaN` elsewhere.
pub(crate) struct Sampler<'a, G: Fn(usize, usize) -> f64> {
    runs: &'a [Run],
    g: G,
    /// The first run that may hold the next time asked for.
    at: usize,
}

impl<'a, G: Fn(usize, usize) -> f64> Sampler<'a, G> {
    /// A sampler of `runs`, whose stored samples `g(i, axis)` reads.
    pub(crate) fn new(runs: &'a [Run], g: G) -> Self {
        Self { runs, g, at: 0 }
    }

    /// The three axes at `t_s` (not before the time last asked for).
    pub(crate) fn at(&mut self, t_s: f64) -> [f64; 3] {
        while self.at < self.runs.len() && self.runs[self.at].end_s() <= t_s - 1e-9 {
            self.at += 1;
        }
        // Runs may overlap (the clock set back): the first that covers `t_s` wins.
        for r in &self.runs[self.at..] {
            if t_s < r.t0_s - 1e-9 {
                break;
            }
            if t_s <= r.last_s() + 1e-9 {
                let u = ((t_s - r.t0_s) * r.rate_hz).max(0.0);
                let i = (u.floor() as usize).min(r.len - 1);
                let w = u - i as f64;
                return [0, 1, 2].map(|axis| {
                    let a = (self.g)(r.first + i, axis);
                    if i + 1 < r.len && w > 0.0 {
                        a + w * ((self.g)(r.first + i + 1, axis) - a)
                    } else {
                        a
                    }
                });
            }
            if r.hold_s > 0.0 && t_s < r.end_s() - 1e-9 {
                return [0, 1, 2].map(|axis| (self.g)(r.first + r.len - 1, axis));
            }
        }
        [f64::NAN; 3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamps_every(block: usize, n_blocks: usize, fs_true: f64, t0: f64) -> Vec<Stamp> {
        (0..n_blocks)
            .map(|b| Stamp {
                block: b * block,
                index: (b * block) as f64,
                time_s: t0 + (b * block) as f64 / fs_true,
            })
            .collect()
    }

    #[test]
    fn the_rate_is_fitted_to_the_stamps() {
        // A sample clock 50 ppm fast: 100.005 samples per real second.
        let fs_true = 100.0 * (1.0 + 50e-6);
        let st = stamps_every(120, 1000, fs_true, 1000.0);
        let mut notes = Vec::new();
        let r = runs(&st, 120_000, 100.0, false, None, &mut notes).unwrap();
        assert_eq!(r.len(), 1);
        assert!((r[0].rate_hz - fs_true).abs() < 1e-9, "{}", r[0].rate_hz);
        assert!((r[0].t0_s - 1000.0).abs() < 1e-9);
        assert!(notes.is_empty());
    }

    #[test]
    fn rounded_stamps_average_out() {
        // Blocks of 30 samples stamped to a tenth of a second, at 30.3 Hz true.
        let st: Vec<Stamp> = (0..3600)
            .map(|s| Stamp {
                block: s * 30,
                index: (s * 30) as f64,
                time_s: ((500.0 + (s * 30) as f64 / 30.3) * 10.0).floor() / 10.0,
            })
            .collect();
        let r = runs(&st, 108_000, 30.0, false, None, &mut Vec::new()).unwrap();
        assert_eq!(r.len(), 1);
        assert!((r[0].rate_hz - 30.3).abs() < 1e-4, "{}", r[0].rate_hz);
    }

    #[test]
    fn jumps_split_runs_and_silences_are_gaps_or_held() {
        let mut st = stamps_every(100, 10, 100.0, 0.0);
        // Block 10 arrives 60 s late (a gap), blocks 11.. follow it.
        for b in 10..20 {
            st.push(Stamp {
                block: b * 100,
                index: (b * 100) as f64,
                time_s: 60.0 + (b * 100) as f64 / 100.0,
            });
        }
        let mut notes = Vec::new();
        let r = runs(&st, 2000, 100.0, false, None, &mut notes).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[1].first, r[1].len), (1000, 1000));
        assert!((r[1].t0_s - 70.0).abs() < 1e-9);
        assert!(notes[0].contains("1 gaps"), "{notes:?}");
        let mut notes = Vec::new();
        let held = runs(&st, 2000, 100.0, true, Some(95.0), &mut notes).unwrap();
        assert!((held[0].hold_s - 60.0).abs() < 1e-9);
        // Held to the end the file states, too.
        assert!((held[1].end_s() - 95.0).abs() < 1e-9, "{}", held[1].end_s());
        assert!(notes[0].contains("idle sleep"), "{notes:?}");
    }

    /// The oracle: every grid point evaluated on its own.
    fn direct(runs: &[Run], g: &dyn Fn(usize) -> f64, start: f64, n: usize, fs: f64) -> Vec<f64> {
        (0..n)
            .map(|k| {
                let t = start + k as f64 / fs;
                for r in runs {
                    if t >= r.t0_s - 1e-9 && t <= r.last_s() + 1e-9 {
                        let u = ((t - r.t0_s) * r.rate_hz).max(0.0);
                        let i = (u.floor() as usize).min(r.len - 1);
                        let w = u - i as f64;
                        return if i + 1 < r.len && w > 0.0 {
                            g(r.first + i) + w * (g(r.first + i + 1) - g(r.first + i))
                        } else {
                            g(r.first + i)
                        };
                    }
                    if r.hold_s > 0.0 && t > r.last_s() && t < r.end_s() - 1e-9 {
                        return g(r.first + r.len - 1);
                    }
                }
                f64::NAN
            })
            .collect()
    }

    #[test]
    fn the_sampler_matches_the_direct_evaluation() {
        let runs = vec![
            Run {
                first: 0,
                len: 500,
                t0_s: 10.013,
                rate_hz: 50.002,
                hold_s: 0.0,
            },
            Run {
                first: 500,
                len: 300,
                t0_s: 25.5,
                rate_hz: 49.99,
                hold_s: 7.25,
            },
            Run {
                first: 800,
                len: 400,
                t0_s: 40.0,
                rate_hz: 50.0,
                hold_s: 0.0,
            },
        ];
        let g = |i: usize| (i as f64 * 0.37).sin();
        let mut sampler = Sampler::new(&runs, |i, a| g(i) + a as f64);
        let want = direct(&runs, &g, 9.0, 2600, 50.0);
        for (k, b) in want.iter().enumerate() {
            let got = sampler.at(9.0 + k as f64 / 50.0);
            let a = got[0];
            assert!(
                (a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-12,
                "grid {k}: {a} vs {b}"
            );
            assert!(a.is_nan() || (got[2] - a - 2.0).abs() < 1e-12);
        }
        // Coverage: the runs' samples and the held stretch, as grid ranges.
        let cov = coverage(&runs, 9.0, 2600, 50.0);
        let covered = |k: usize| cov.iter().any(|&(a, b)| k >= a && k < b);
        for (k, b) in want.iter().enumerate() {
            assert_eq!(covered(k), !b.is_nan(), "grid {k}");
        }
    }
}
