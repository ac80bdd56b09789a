//! Scoring: from monolateral leg movements to candidate movements, PLM series and indices,
//! by the WASM 2016 standard (the default) or the AASM manual.
//!
//! Input: monolateral [`LegMovement`]s (s) — detected on a night, or scored by hand — a
//! [`Context`] (hypnogram, respiratory events, arousals), the [`Rules`], the recording's
//! length and the stretches excluded from scoring (s). Output, in a
//! [`Report`](crate::Report): the candidate movements with their IMI, series, stage and
//! associations, the series, and the [`Summary`] of counts and indices per hour.
//!
//! | file | rule |
//! |---|---|
//! | [`Rules`] (`rules.rs`) | every number below, with its unit and source, in one typed config |
//! | `candidates.rs` | steps 1–4: joining, short LMs, nonCLMs, combining the legs |
//! | `series.rs` | step 5: IMIs and PLM series |
//! | `association.rs` | respiratory-related CLMs, arousal association |
//! | `indices.rs` | counts, indices, periodicity index, IMI histograms |
//!
//! # The rules digest
//!
//! The rules as implemented, numbered as the rest of the crate cites them ("rules digest
//! §1").
//!
//! Sources: WASM 2016 — Ferri R, Fulda S, Allen RP, et al., *World Association of Sleep
//! Medicine (WASM) 2016 standards for recording and scoring leg movements in
//! polysomnograms*, Sleep Med 2016;26:86–95. AASM — the AASM Manual for the Scoring of
//! Sleep and Associated Events (the limb-movement rules of v1, 2007, kept by v2.x).
//! WASM 2006 — Zucconi M, et al., Sleep Med 2006;7:175–183. PLMScoRe — the reference
//! implementation by a WASM 2016 author, whose counts `plm score` reproduces.
//!
//! ## §1 Leg movement, on one leg
//!
//! A leg movement (both rule sets) starts where the rectified EMG rises
//! 8 µV or more above the resting level, and ends at the *start* of the first stretch of at
//! least 0.5 s in which it stays within 2 µV of rest. Activity resuming sooner belongs to
//! the same movement. Anything shorter than 0.5 s is not a leg movement at all. For
//! computer scoring, WASM 2016 also asks that the movement hold half a second of sustained
//! activity — the 0.5-s running median of the rectified signal above +2 µV somewhere
//! inside it (Skeba et al., Sleep Breath 2016) — so that spiky "empty" detections are
//! dropped. The resting level must be local and adaptive; the standards leave the
//! estimator open (this crate's is in `detect/`, its method in the README), and a stretch too noisy to
//! score is reported as excluded, never scored silently.
//!
//! ## §2 Candidate movements
//!
//! The order of operations is PLMScoRe's, so that counts agree
//! with it on the same list:
//!
//! 1. on each leg, movements whose next onset comes less than 0.5 s after the current
//!    offset are joined;
//! 2. movements shorter than 0.5 s are dropped;
//! 3. monolateral movements longer than 10 s are nonCLMs (WASM 2016: kept, and they break
//!    any series) or not leg movements at all (AASM: dropped);
//! 4. the movements of both legs are walked in onset order. WASM 2016: a movement joins
//!    the one being built when its onset comes before that one's (growing) offset plus
//!    0.5 s — the two overlap or are less than 0.5 s apart — and chains are absorbed; the
//!    result is bilateral when built from more than one movement, and a nonCLM when it has
//!    more than 4 parts, lasts more than 15 s or holds a nonCLM. AASM: movements on
//!    different legs whose onsets are less than 5 s apart count as one (a movement joins
//!    when its onset is within 5 s of the building one's and that one has no part on its
//!    leg yet). A CLM is a candidate movement that is not a nonCLM.
//!
//! ## §3 IMIs and PLM series
//!
//! Step 5: the inter-movement interval is measured onset to onset between
//! consecutive CLMs (Compumedics Profusion measures offset to onset: a known vendor
//! difference), never across a nonCLM nor across excluded time. A PLM series is 4 or
//! more consecutive CLMs whose IMIs all lie in [10, 90] s, both bounds inclusive (AASM:
//! [5, 90] s). An IMI that is too long, a nonCLM or excluded time ends a series. A CLM
//! closing an IMI that is too short is not periodic through it, but may start a new series
//! — PLMScoRe's reading and the default ([`ShortImi::Restart`]); SOMAS lets it start none
//! ([`ShortImi::Break`]); WASM 2006 skips it and measures the next IMI from the last CLM
//! kept ([`ShortImi::Intervening`]).
//!
//! ## §4 Context
//!
//! A movement takes the stage of the 30-s epoch that holds its onset; PLMS
//! are PLMs whose onset is in N1, N2, N3 or REM, PLMW those in wake, and a series may
//! cross a sleep/wake boundary. Without a hypnogram the whole recording counts as sleep
//! and the report says so. A CLM is respiratory-related (CLMr) when any part of it
//! overlaps `[event end − 2.0 s, event end + 10.25 s]` (WASM 2016, after Manconi et al.,
//! Sleep 2015) or `[onset − 0.5 s, end + 0.5 s]` (AASM) of an apnea, hypopnea or RERA.
//! CLMr stay in the PLMS index; the "nr" scoring removes them, measures the IMIs again and
//! rebuilds the series. A movement and an arousal are associated when they overlap or
//! less than 0.5 s separates the end of one from the onset of the other, in either order.
//!
//! ## §5 Indices
//!
//! Per hour of the matching denominator: PLMS index = PLMs in sleep per hour
//! of sleep (adult cut-off > 15/h, children > 5/h); PLMW = PLMs in wake per hour of wake;
//! CLMS and CLMW likewise for CLMs; PLMS-arousal = PLMS with an arousal per hour of sleep;
//! PLMSnr from the nr scoring; NREM and REM indices per hour of each. Sleep here is
//! *scored* sleep: excluded time is taken out of every denominator. The periodicity index
//! (Ferri et al., Sleep 2006) is the share of IMIs that lie in runs of at least 3
//! consecutive IMIs with 10 < IMI ≤ 90 s, over the sequence of sleep CLMs (a nonCLM,
//! excluded time or a wake CLM interrupts a run). The PLM/CLM ratio (what PLMScoRe and
//! SOMAS print as "PI") is reported under its own name. IMI histograms: 2-s bins over
//! 0–90 s, and ln(IMI) in 0.1 bins over 0–4.5; the mean and SD of ln(IMI) over sleep IMIs
//! in the periodic range.
//!
//! ## §6 Accelerometers
//!
//! No standard defines accelerometer leg movements. Devices and studies: PAM-RL (ankle,
//! 40 Hz, 0.3–20 Hz band, onset about 200 mg, offset about 100 mg), Actiwatch at the ankle
//! (under-counts), SOMNOwatch, Axivity AX6 (100 Hz, 0.1–10 Hz, about 15 mg). A sound
//! pipeline removes gravity, takes the magnitude of the dynamic acceleration, builds a
//! short envelope, estimates an adaptive noise floor, and applies onset/offset hysteresis
//! in mg; the duration and series rules then apply unchanged. `detect/accel` documents the
//! mg analogue used here. Reports from accelerometers say that the AASM advises against
//! actigraphy as a substitute for EMG in diagnosing PLMD.
//!
//! ## §7 Numbers that must be exact
//!
//! And are, by default: +8 µV onset; within +2 µV for
//! 0.5 s to end, the offset at the start of that quiet; LM ≥ 0.5 s; monolateral CLM
//! ≤ 10 s; bilateral CLM ≤ 15 s and ≤ 4 parts; bilateral gap < 0.5 s (AASM onsets
//! < 5 s); IMI onset to onset in [10, 90] s (AASM [5, 90] s); ≥ 4 CLMs; respiratory window
//! [end − 2.0, end + 10.25] s (AASM ±0.5 s); arousal gap < 0.5 s; 30-s epochs, stage by
//! onset.
//!
//! ## §8 Pitfalls seen in published code, avoided here
//!
//! window lengths rounded to whole
//! samples then treated as exact seconds (time drifts over a night: seconds are
//! converted with the true rate, in one place); the sample rate taken from the first two
//! time stamps of a rounded CSV (it is estimated from all of them); silent caps on the
//! number of events; bilateral pairs split into two LMs (which breaks series); the LM end
//! taken at the 8-µV crossing instead of the 2-µV/0.5-s rule; LMs over 10 s dropped
//! instead of kept as series breakers; one global baseline for a whole night.
//!

mod association;
mod candidates;
mod indices;
mod rules;
mod series;
#[cfg(test)]
mod tests;

pub use candidates::{CandidateMovement, MovementSide};
pub use indices::{Histogram, SleepSource, Summary};
pub use rules::{Bilateral, LongMovement, RespiratoryAnchor, RespiratoryWindow, Rules, ShortImi};
pub use series::Series;

use association::{overlaps_any, overlaps_any_strict, respiratory_windows};
use candidates::{combine_legs, join_and_filter};
use indices::summarise;
use series::periodic_series;

use crate::error::{Error, Location, Result};
use crate::events::{Interval, LegMovement, validate_intervals};
use crate::io::context::{Context, Stage};

/// The scored night.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scored {
    /// Monolateral LMs after same-leg joining and dropping LMs shorter than `min_lm_s`,
    /// sorted by onset.
    pub leg_movements: Vec<LegMovement>,
    /// Candidate movements in time order.
    pub candidate_movements: Vec<CandidateMovement>,
    /// PLM series in time order.
    pub series: Vec<Series>,
    /// Counts and indices.
    pub summary: Summary,
}

/// The stretch of recording leg movements are scored over ([`score`](fn@crate::score)).
#[derive(Debug, Clone, Copy, Default)]
pub struct Span<'a> {
    /// Recording length, s; `None`: the hypnogram's end, else the last offset.
    pub duration_s: Option<f64>,
    /// Stretches excluded from scoring (artefacts, gaps), s: no IMI is measured across
    /// them and they are not in the denominators.
    pub excluded: &'a [Interval],
}

/// Scores monolateral leg movements (rules digest §2–5).
///
/// # Errors
/// [`Error::Input`] when an LM or context item has non-finite times, a negative onset or
/// an offset before its onset, or the duration is not a positive finite number;
/// [`Error::Config`] when the rules are invalid.
pub(crate) fn score_night(
    lms: &[LegMovement],
    context: &Context,
    rules: &Rules,
    duration_s: f64,
    excluded: &[Interval],
) -> Result<Scored> {
    rules.validate()?;
    context.validate()?;
    validate_intervals("leg movement", lms.iter().map(|m| (m.onset_s, m.offset_s)))?;
    validate_intervals(
        "excluded stretch",
        excluded.iter().map(|e| (e.onset_s, e.offset_s)),
    )?;
    if !(duration_s.is_finite() && duration_s > 0.0) {
        return Err(Error::input(
            Location::default(),
            format!("recording duration must be positive, got {duration_s} s"),
        ));
    }
    let mut excluded = excluded.to_vec();
    excluded.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));

    let leg_movements = join_and_filter(lms, rules);
    let mut cands = combine_legs(&leg_movements, rules);

    // Context of each candidate.
    let resp_windows = respiratory_windows(context, rules);
    for c in &mut cands {
        c.stage = context
            .hypnogram
            .as_ref()
            .and_then(|h| h.stage_at(c.onset_s));
        c.respiratory = c.clm && overlaps_any(&resp_windows, c.onset_s, c.offset_s, 0.0);
        c.arousal = overlaps_any_strict(
            &context.arousals,
            c.onset_s,
            c.offset_s,
            rules.arousal_gap_s,
        );
    }

    // Main scoring.
    let main = periodic_series(&cands, |_| true, rules, &excluded);
    for (i, c) in cands.iter_mut().enumerate() {
        c.imi_s = main.imi[i];
        c.series = main.series_of[i];
        c.periodic = c.series.is_some();
    }
    // "nr" scoring: respiratory-related CLMs removed, IMIs recomputed, series rebuilt.
    let nr = periodic_series(&cands, |c| !c.respiratory, rules, &excluded);
    for (i, c) in cands.iter_mut().enumerate() {
        c.periodic_nr = nr.series_of[i].is_some();
    }

    let in_sleep = |c: &CandidateMovement| match &context.hypnogram {
        Some(_) => c.stage.is_some_and(Stage::is_sleep),
        None => true,
    };
    let in_wake = |c: &CandidateMovement| context.hypnogram.is_some() && c.stage == Some(Stage::W);

    let mut series: Vec<Series> = Vec::with_capacity(main.n_series);
    for c in &cands {
        if let Some(id) = c.series {
            if series.len() < id {
                series.push(Series {
                    id,
                    onset_s: c.onset_s,
                    offset_s: c.offset_s,
                    count: 0,
                    sleep_count: 0,
                });
            }
            let s = &mut series[id - 1];
            s.offset_s = s.offset_s.max(c.offset_s);
            s.count += 1;
            s.sleep_count += usize::from(in_sleep(c));
        }
    }

    let summary = summarise(
        &leg_movements,
        &cands,
        series.len(),
        context,
        rules,
        duration_s,
        &excluded,
        in_sleep,
        in_wake,
    );
    Ok(Scored {
        leg_movements,
        candidate_movements: cands,
        series,
        summary,
    })
}
