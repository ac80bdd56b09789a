//! Which blocks of a leg can be scored, and the stretches that cannot (rules digest §1: a
//! stretch too noisy to score is reported as excluded time, not silently scored).
//!
//! Input: an [`Envelope`], the [`LmThresholds`] and the highest resting level that can be
//! scored (`max_rest_uv`, 20 µV; MATPLM uses 15 µV, S-PLMAD about 50 µV; accelerometers:
//! `max_floor_mg`, 100 mg). Output: a flag per block, and the excluded intervals in
//! seconds — the unscorable blocks and those without an amplitude or a resting level
//! (gaps). A block is unscorable when its resting level is above the highest, or when its
//! noise alone would cross the onset level ([`LmThresholds::noise_reaches_onset`]).

use super::envelope::Envelope;
use super::movements::LmThresholds;
use super::profile::for_each_chunk;
use crate::events::Interval;

/// The unscorable flags of `env`'s blocks and its excluded intervals, s (module docs).
pub(crate) fn scorability(
    env: &Envelope,
    thresholds: &LmThresholds,
    max_rest: f64,
) -> (Vec<bool>, Vec<Interval>) {
    let mut runs = Runs {
        env,
        flags: Vec::with_capacity(env.blocks()),
        excluded: Vec::new(),
        open: None,
    };
    if thresholds.onset_noise_factor.is_some() {
        // The onset grows with the noise: only the resting level decides, and the margins
        // need not be evaluated.
        for_each_chunk([env.rest()], 0, |k0, [rest]| {
            runs.push(k0, rest, rest.iter().map(|&r| r > max_rest));
        });
    } else {
        for_each_chunk([env.rest(), env.margin()], 0, |k0, [rest, margin]| {
            let flags = rest
                .iter()
                .zip(margin)
                .map(|(&r, &m)| r > max_rest || thresholds.noise_reaches_onset(m));
            runs.push(k0, rest, flags);
        });
    }
    if let Some(s) = runs.open {
        runs.excluded.push(Interval {
            onset_s: env.start_s(s),
            offset_s: env.start_s(env.blocks()),
        });
    }
    (runs.flags, runs.excluded)
}

/// The flags and the excluded runs of blocks found so far.
struct Runs<'a> {
    env: &'a Envelope,
    flags: Vec<bool>,
    excluded: Vec<Interval>,
    /// The first block of the excluded run under way.
    open: Option<usize>,
}

impl Runs<'_> {
    /// Adds the blocks `k0 ..` whose resting levels are `rest` and unscorable flags
    /// `flags`: the flags in one sweep, then the runs of blocks that are unscorable or
    /// unknown, looked at only where a run starts or ends.
    fn push(&mut self, k0: usize, rest: &[f64], flags: impl Iterator<Item = bool>) {
        let first = self.flags.len();
        self.flags.extend(flags);
        let amplitude = &self.env.amplitude()[k0..];
        let chunk = self.flags[first..].iter().zip(rest).zip(amplitude);
        for (i, ((&u, &r), &a)) in chunk.enumerate() {
            let bad = u | !a.is_finite() | !r.is_finite();
            if bad != self.open.is_some() {
                match self.open.take() {
                    None => self.open = Some(k0 + i),
                    Some(s) => self.excluded.push(Interval {
                        onset_s: self.env.start_s(s),
                        offset_s: self.env.start_s(k0 + i),
                    }),
                }
            }
        }
    }
}
